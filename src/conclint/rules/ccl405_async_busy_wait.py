"""``while cond: await asyncio.sleep(...)`` in a coroutine: polling where an event would wake it."""

from __future__ import annotations

import libcst as cst

from conclint.analysis.cstutil import walk
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Rule

# A sleep in a `while` loop of a coroutine: what the rule looks for, and (the same object)
# what its visitor asks of each awaited call.
SLEEP = Calls("asyncio.sleep", within=("while", "async def"))
# What a condition may watch that changes outside the process: the file system (another
# process writes the file), a child process's status.
_OUTSIDE = frozenset({
    "os.path.exists", "os.path.lexists", "os.path.isfile", "os.path.isdir", "os.path.islink", "os.path.getsize",
    "os.path.getmtime", "os.stat", "os.lstat", "os.listdir", "os.scandir", "os.access", "os.waitpid", "glob.glob",
})
# Methods of the same kind: pathlib's, subprocess.Popen.poll(); and a process's or thread's
# liveness (`is_alive()`, under any prefix).
_OUTSIDE_METHODS = frozenset({"exists", "is_file", "is_dir", "is_symlink", "stat", "iterdir", "glob", "poll"})


class AsyncBusyWait(Rule):
    """A coroutine's ``while`` loop that only sleeps until its condition changes."""

    code = "CCL405"
    name = "async-busy-wait"
    message = "async busy-wait: the loop only sleeps until its condition changes; await an `asyncio.Event` instead"
    interest = Interest(Imports("asyncio"), SLEEP)

    def visit_While(self, node: cst.While) -> None:
        if not self.sem.in_async_function or _always_true(node.test) or node.orelse is not None:
            return
        if self._watches_outside(node.test):
            return
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        small = [s for line in body if isinstance(line, cst.SimpleStatementLine) for s in line.body]
        if len(small) != len(body) or not small:
            return
        sleeps = [s for s in small if self._is_sleep(s)]
        if sleeps and all(isinstance(s, cst.Pass) or s in sleeps for s in small):
            self.report(node)

    def _watches_outside(self, test: cst.BaseExpression) -> bool:
        """Whether the condition looks at state outside the process (a file another process
        writes, a child process's status): no event of this event loop can announce that
        change, and polling is the way to wait for it."""
        for node in walk(test):
            if isinstance(node, cst.Call):
                func = node.func
                if self.sem.qualname(func) in _OUTSIDE:
                    return True
                method = func.attr.value if isinstance(func, cst.Attribute) else ""
                if method in _OUTSIDE_METHODS or method.endswith("is_alive"):  # (`_async_is_alive()`)
                    return True
        return False

    def _is_sleep(self, statement: cst.BaseSmallStatement) -> bool:
        value = statement.value if isinstance(statement, cst.Expr) else None
        return isinstance(value, cst.Await) and SLEEP.matches(self.sem, value.expression)


def _always_true(test: cst.BaseExpression) -> bool:
    """``while True:`` or ``while 1:``: a keep-alive loop, nothing is polled."""
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and test.value not in ("0", "0x0", "0o0", "0b0")
