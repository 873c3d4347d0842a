"""``asyncio.run()`` or ``loop.run_until_complete()`` inside a coroutine: a loop already runs there."""

from __future__ import annotations

import libcst as cst

from conclint.analysis.cstutil import watched_by_test
from conclint.interest import All, Calls, Either, Imports, Interest, Methods, Syntax
from conclint.rule import Rule

RUN = Calls("asyncio.run", within=("async body",))
# Only event loops have these methods (``run_until_complete``, ``run_forever``) in the code
# measured: the receiver's type is not asked.
RUN_LOOP = Methods("run_until_complete", "run_forever", within=("async body",))


class NestedEventLoop(Rule):
    """A coroutine that starts an event loop: it raises ``RuntimeError`` (a loop is already running)."""

    code = "CCL410"
    name = "nested-event-loop"
    message = (
        "starting an event loop inside a coroutine raises `RuntimeError` (this thread's loop is "
        "running): `await` the coroutine instead"
    )
    # Syntax: implied by both alternatives; it decides most files at the byte level at once.
    interest = Interest(Syntax("async def"), Either(All(Imports("asyncio"), RUN), RUN_LOOP))

    def visit_Call(self, node: cst.Call) -> None:
        if not self.sem.in_async_function or not (RUN.matches(self.sem, node) or RUN_LOOP.matches(self.sem, node)):
            return
        # Tests that check it raises; nest_asyncio patches the loop to allow it.
        if watched_by_test(self.sem.stack) or "nest_asyncio" in self.sem.imported_modules:
            return
        self.report(node)
