"""``os.fork()`` (or the ``fork`` start method) after threads were started: the child may deadlock."""

from __future__ import annotations

import ast
from typing import Any, Set

import libcst as cst

from conclint.analysis.catalogue import THREAD_TYPES
from conclint.analysis.cstutil import string_value
from conclint.interest import All, Argument, Calls, Either, Holds, Imports, Interest, Methods, Shape
from conclint.rule import Rule

FORK_METHOD = Shape(
    "the string 'fork'",
    lambda facts, expr, call: type(expr) is ast.Constant and expr.value == "fork",
    lambda sem, expr: string_value(expr) == "fork",
)
FORK = Calls("os.fork", "os.forkpty", through_modules=True)
FORK_CONTEXT = Calls(
    "multiprocessing.set_start_method",
    "multiprocessing.get_context",
    argument=Argument(FORK_METHOD, positions=range(1), keywords=("method",)),
    through_modules=True,
)
START = Methods("start", on=THREAD_TYPES)
START_NEW = Calls("_thread.start_new_thread")


class ForkAfterThreads(Rule):
    """A fork after a thread was started earlier in the same function, or at import time."""

    code = "CCL110"
    name = "fork-after-threads"
    message = (
        "fork after a thread was started: the child gets only the forking thread, and a lock another "
        "thread held stays locked forever (Python 3.12 warns); start processes with 'spawn' or "
        "'forkserver', or fork before starting threads"
    )
    interest = Interest(
        Either(All(Imports("os"), FORK), All(Imports("multiprocessing"), FORK_CONTEXT)),
        # (Holds: the bytes must name a thread's constructor too, not only a `start`.)
        Either(All(Holds(*THREAD_TYPES), START), All(Imports("_thread", "thread"), START_NEW)),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The functions (by id of their node; 0 for module level) that started a thread so far.
        self._started: Set[int] = set()
        self._started_at_import = False

    def visit_Call(self, node: cst.Call) -> None:
        function = self.sem.function
        scope = id(function.node) if function is not None else 0
        if START.matches(self.sem, node) or START_NEW.matches(self.sem, node):
            self._started.add(scope)
            if function is None and not self.sem.enclosing_class():
                self._started_at_import = True
            return
        if FORK.matches(self.sem, node) or FORK_CONTEXT.matches(self.sem, node):
            if scope in self._started or self._started_at_import:
                self.report(node)
