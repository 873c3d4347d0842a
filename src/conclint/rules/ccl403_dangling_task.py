"""``asyncio.create_task(...)`` whose result is dropped."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.cstutil import dotted, statement_expr, watched_by_test
from conclint.analysis.facts import callee_name, terminals
from conclint.interest import All, Calls, Either, Imports, Interest, Methods, Shape
from conclint.rule import Rule

_TASK_FUNCTIONS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
_LOOP_TYPE = "asyncio.AbstractEventLoop"
_TASK_CALLEES = terminals(_TASK_FUNCTIONS)  # loop.create_task included
_ASYNCIO = frozenset({"asyncio", "tasks"})  # asyncio.create_task, asyncio.tasks.ensure_future
_LOOP_NAMES = ("loop", "event_loop")
_NAMED_LIKE_A_LOOP = Shape(
    "a name or attribute named like an event loop (`loop`, `self._loop`)",
    lambda facts, e, call: callee_name(e).lstrip("_") in _LOOP_NAMES,
    lambda sem, e: (dotted(e) or "").rsplit(".", 1)[-1].lstrip("_") in _LOOP_NAMES,
)


class DanglingTask(Rule):
    """A task the event loop holds only weakly: nothing keeps it alive until it finishes."""

    code = "CCL403"
    name = "dangling-task"
    message = "the task is dropped: the event loop keeps only a weak reference, it may be garbage-collected mid-flight"
    # A statement `asyncio.create_task(...)`/`ensure_future(...)`, or `x.create_task(...)` on
    # something that may be an event loop, or named like one.
    interest = Interest(
        Either(
            All(Imports("asyncio"), Calls(*_TASK_FUNCTIONS, statement=True, through_modules=True)),
            Methods("create_task", statement=True, on=frozenset({_LOOP_TYPE})),
            Methods("create_task", statement=True, receiver=_NAMED_LIKE_A_LOOP),
        )
    )

    def visit_Call(self, node: cst.Call) -> None:
        # Inside `with pytest.raises(...)` the call is expected to fail: nothing is dropped.
        if statement_expr(self.sem.stack, node) is None or watched_by_test(self.sem.stack):
            return
        if self.sem.qualname(node.func) in _TASK_FUNCTIONS or self._is_loop_create_task(node.func):
            self.report(node, f"{self.message}; keep a reference (a set of tasks, or a `TaskGroup`)")

    def _is_loop_create_task(self, func: cst.BaseExpression) -> bool:
        """``loop.create_task``: a receiver known to be an event loop, or named like one.

        A ``TaskGroup`` (or any other object with ``create_task``) keeps its tasks, so an
        unknown receiver counts only when its name says it is a loop (``loop``, ``self._loop``).
        """
        if not isinstance(func, cst.Attribute) or func.attr.value != "create_task":
            return False
        receiver_type = self.sem.type_of(func.value)
        if receiver_type is not None:
            return receiver_type == _LOOP_TYPE
        name = dotted(func.value)
        return name is not None and name.rsplit(".", 1)[-1].lstrip("_") in _LOOP_NAMES
