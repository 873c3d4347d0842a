"""A timeout or cancel scope whose body never awaits: it cannot cancel anything."""

from __future__ import annotations

import libcst as cst

from conclint.analysis.cstutil import walk_scope
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Applicability, Rule

# Context managers that cancel what awaits in their body when time runs out.
_ASYNCIO = ("asyncio.timeout", "asyncio.timeout_at", "async_timeout.timeout", "async_timeout.timeout_at")
_SCOPES = tuple(
    f"{lib}.{f}" for lib in ("anyio", "trio") for f in ("fail_after", "fail_at", "move_on_after", "move_on_at", "CancelScope")
)
TIMEOUT = Calls(*_ASYNCIO, *_SCOPES, used_as="with item", within=("async def",))


def _checkpoints(body: cst.CSTNode) -> bool:
    """Whether the block may suspend: an ``await``, ``async for``/``async with`` (comprehensions
    too), or a ``yield`` (the caller may await meanwhile); nested defs and lambdas do not count."""
    for node in walk_scope(body):
        if isinstance(node, (cst.Await, cst.Yield)):
            return True
        if isinstance(node, (cst.For, cst.With, cst.CompFor)) and node.asynchronous is not None:
            return True
    return False


class TimeoutWithoutAwait(Rule):
    """A timeout context (``asyncio.timeout``, ``anyio.fail_after``, ...) with no ``await`` inside."""

    code = "CCL406"
    name = "timeout-without-await"
    message = "timeout context with no `await` inside: the timeout can never cancel its body; move the awaits into it"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("asyncio", "async_timeout", "anyio", "trio"), TIMEOUT)

    def visit_With(self, node: cst.With) -> None:
        if not self.sem.in_async_function:
            return
        for index, item in enumerate(node.items):
            # In `async with timeout(), other:`, entering and leaving `other` are awaited inside the scope.
            later_awaited = node.asynchronous is not None and index < len(node.items) - 1
            if TIMEOUT.matches(self.sem, item.item) and not later_awaited and not _checkpoints(node.body):
                name = self.sem.qualname(item.item.func) if isinstance(item.item, cst.Call) else None
                # A cancel scope has no deadline unless given one: "the timeout" would mislead.
                what = "cancel scope" if (name or "").endswith(".CancelScope") else "timeout"
                message = (
                    f"`{name}()` with no `await` inside: the {what} can never cancel its body; "
                    "move the awaits into it or drop it"
                )
                self._report(node, item.item, message, what)
                return

    def _report(self, node: cst.With, call: cst.BaseExpression, message: str, what: str = "timeout") -> None:
        """The fix drops the context and keeps its body, when the context is the only item and
        its value is not used (no ``as``), in an indented block."""
        parent = self.sem.parent
        if (
            len(node.items) == 1
            and node.items[0].asname is None
            and isinstance(node.body, cst.IndentedBlock)
            and isinstance(parent, cst.IndentedBlock)
        ):
            body = list(node.body.body)
            first = body[0]
            if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                body[0] = first.with_changes(leading_lines=[*node.leading_lines, *first.leading_lines])
            self.report(
                call,
                message,
                # The `with` statement, not its block: the file's other fixes are not made to wait.
                changes={node: cst.FlattenSentinel(body)},
                fix_message=f"Remove the {what}, keep its body",
            )
            return
        self.report(call, message)
