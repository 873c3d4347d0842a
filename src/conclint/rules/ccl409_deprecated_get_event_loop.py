"""``asyncio.get_event_loop()`` where no loop runs (deprecated since 3.12, an error in 3.14)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from conclint.analysis.cstutil import statement_expr, walk_scope, watched_by_test
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Applicability, Rule

GET_LOOP = Calls("asyncio.get_event_loop", through_modules=True)
# What runs a loop: called on the result, the loop was not running.
_RUNS = frozenset({"run_until_complete", "run_forever"})


class DeprecatedGetEventLoop(Rule):
    """``asyncio.get_event_loop()`` with no running loop: at import time, or to run the loop it gets."""

    code = "CCL409"
    name = "deprecated-get-event-loop"
    message = (
        "`asyncio.get_event_loop()` with no running loop is deprecated (an error from Python 3.14): "
        "use `asyncio.run()`, or `asyncio.new_event_loop()` to manage a loop yourself"
    )
    fix = Applicability.UNSAFE
    interest = Interest(Imports("asyncio"), GET_LOOP)

    def visit_Call(self, node: cst.Call) -> None:
        if not GET_LOOP.matches(self.sem, node) or node.args or watched_by_test(self.sem.stack):
            return
        if self.sem.in_async_function:
            self._in_coroutine(node)
        elif self.sem.function is None:
            # Module or class level: runs at import, when no loop is running.
            self._report_run(node)
        elif self._runs_loop(node):
            self._report_run(node)

    def _asyncio(self) -> Optional[str]:
        """The name to reach asyncio by in a fix ("asyncio" when it must be imported); None when
        that name means something else here."""
        alias = self.sem.module_alias("asyncio")
        if alias is None:
            taken = self.sem.is_shadowed("asyncio") or "asyncio" in self.sem.functions or "asyncio" in self.sem.classes
            return None if taken else "asyncio"
        return alias if self.sem.qualname(cst.Name(alias)) == "asyncio" else None

    def _in_coroutine(self, node: cst.Call) -> None:
        message = "`asyncio.get_event_loop()` in a coroutine: use `asyncio.get_running_loop()`"
        asyncio = self._asyncio()
        if asyncio is None:
            self.report(node, message)
            return
        func = cst.Attribute(value=cst.Name(asyncio), attr=cst.Name("get_running_loop"))
        self.report(
            node,
            message,
            replacement=node.with_changes(func=func),
            fix_message="Use `asyncio.get_running_loop()`",
            add_imports=() if self.sem.module_alias("asyncio") else ("asyncio",),
        )

    def _runs_loop(self, node: cst.Call) -> bool:
        """The loop got is run in the same function: ``get_event_loop().run_until_complete(...)``,
        or ``loop = get_event_loop()`` and later ``loop.run_forever()``."""
        parent = self.sem.parent
        if isinstance(parent, cst.Attribute) and parent.attr.value in _RUNS:
            return True
        if not isinstance(parent, cst.Assign) or len(parent.targets) != 1:
            return False
        target = parent.targets[0].target
        function = self.sem.function
        if not isinstance(target, cst.Name) or function is None:
            return False
        return any(
            isinstance(n, cst.Call)
            and isinstance(n.func, cst.Attribute)
            and n.func.attr.value in _RUNS
            and isinstance(n.func.value, cst.Name)
            and n.func.value.value == target.value
            for n in walk_scope(function.node)
        )

    def _report_run(self, node: cst.Call) -> None:
        """``asyncio.get_event_loop().run_until_complete(main())`` as a statement becomes
        ``asyncio.run(main())``: unsafe, as ``run`` makes a new loop and closes it after."""
        parent = self.sem.parent
        outer = self.sem.stack[-3] if len(self.sem.stack) > 2 else None
        asyncio = self._asyncio()
        if (
            isinstance(parent, cst.Attribute)
            and parent.attr.value == "run_until_complete"
            and isinstance(outer, cst.Call)
            and len(outer.args) == 1
            and outer.args[0].keyword is None
            and not outer.args[0].star
            and statement_expr(self.sem.stack[:-2], outer) is not None
            and asyncio is not None
        ):
            run = outer.with_changes(func=cst.Attribute(value=cst.Name(asyncio), attr=cst.Name("run")))
            self.report(
                node,
                changes={outer: run},
                fix_message="Use `asyncio.run()`",
                add_imports=() if self.sem.module_alias("asyncio") else ("asyncio",),
            )
            return
        self.report(node)
