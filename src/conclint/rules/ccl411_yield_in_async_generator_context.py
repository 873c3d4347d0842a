"""An async generator yielding inside a ``with``/``async with``: its cleanup waits on the consumer."""

from __future__ import annotations

import libcst as cst

from conclint.analysis.cstutil import dotted
from conclint.interest import Interest, Syntax
from conclint.rule import Rule

# Decorators that make the generator's one yield the body of a context manager (or a fixture
# whose teardown the framework drives), or that run it in a task of its own and close it when
# the consumer's block ends (trio's `as_safe_channel`): the yield is the point, not a pitfall.
_DRIVEN = frozenset({"asynccontextmanager", "fixture", "async_generator", "as_safe_channel"})


class YieldInAsyncGeneratorContext(Rule):
    """A ``yield`` inside a ``with`` or ``async with`` block of an async generator."""

    code = "CCL411"
    name = "yield-in-async-generator-context"
    message = (
        "async generator yields inside a context manager: if the consumer stops early, the block is "
        "left only when the generator is closed (`aclose()`, or the garbage collector, in another task); "
        "use `@asynccontextmanager`, or close it with `contextlib.aclosing()`"
    )
    # The first two are implied by the third; they make the byte triggers ask for all three words.
    interest = Interest(Syntax("async def"), Syntax("with"), Syntax("async yield in with"))

    def visit_Yield(self, node: cst.Yield) -> None:
        function = self.sem.function
        if function is None or not function.is_async or not isinstance(function.node, cst.FunctionDef):
            return
        if any(_decorator_name(d) in _DRIVEN for d in function.node.decorators):
            return
        for ancestor in self.sem.ancestors():
            if ancestor is function.node:
                return
            if isinstance(ancestor, cst.With):
                self.report(node)
                return


def _decorator_name(decorator: cst.Decorator) -> str:
    """``fixture`` for ``@pytest.fixture`` and ``@pytest.fixture(scope="module")``."""
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    return (dotted(expr) or "").rpartition(".")[2]
