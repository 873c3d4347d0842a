"""An ``async def`` taking a ``timeout`` parameter instead of leaving timeouts to its caller."""

from __future__ import annotations

import libcst as cst

from conclint.interest import Interest, Parameter
from conclint.rule import Rule

TIMEOUT = Parameter("timeout", asynchronous=True)


class AsyncTimeoutParameter(Rule):
    """An ``async def`` with a ``timeout`` parameter (structured concurrency: the caller sets timeouts)."""

    code = "CCL407"
    name = "async-timeout-parameter"
    message = (
        "`async def` with a `timeout` parameter: let the caller wrap the call in `asyncio.timeout()` "
        "(`anyio.fail_after()`, `trio.move_on_after()`) instead"
    )
    # A design rule, not a bug: ruff's and flake8-async's ASYNC109 are opt-in too.
    default_enabled = False
    interest = Interest(TIMEOUT)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # An `@overload` stub or an `@override` keeps a signature it is given.
        if TIMEOUT.matches(self.sem, node) and not _overload_or_override(node):
            self.report(node.name)


def _overload_or_override(node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        expr = decorator.decorator
        name = expr.attr.value if isinstance(expr, cst.Attribute) else expr.value if isinstance(expr, cst.Name) else ""
        if name in ("overload", "override"):
            return True
    return False
