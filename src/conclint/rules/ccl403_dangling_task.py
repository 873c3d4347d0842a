"""``asyncio.create_task(...)`` whose result is dropped."""

from __future__ import annotations

import ast
from typing import Any, Mapping

import libcst as cst

from conclint.analysis.cstutil import dotted, statement_expr, watched_by_test
from conclint.analysis.facts import Facts, callee_name, facts_watched_by_test, terminals
from conclint.interest import Calls, Either, Interest, Methods
from conclint.rule import Rule

_TASK_FUNCTIONS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
_LOOP_TYPE = "asyncio.AbstractEventLoop"
_TASK_CALLEES = terminals(_TASK_FUNCTIONS)  # loop.create_task included
_ASYNCIO = frozenset({"asyncio", "tasks"})  # asyncio.create_task, asyncio.tasks.ensure_future
_LOOP_NAMES = ("loop", "event_loop")


class DanglingTask(Rule):
    """A task the event loop holds only weakly: nothing keeps it alive until it finishes."""

    code = "CCL403"
    name = "dangling-task"
    message = "the task is dropped: the event loop keeps only a weak reference, it may be garbage-collected mid-flight"
    interest = Interest(Either(Calls(*_TASK_FUNCTIONS), Methods("create_task", "ensure_future")))

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A statement `asyncio.create_task(...)`/`ensure_future(...)` (by name, or on the asyncio
        # module), or `x.create_task(...)` on something that may be an event loop.
        # (asyncio.create_task and a typed event loop need an import of asyncio; a receiver
        # named like a loop does not.)
        asyncio = facts.imports_any("asyncio")
        modules = facts.names_for(_ASYNCIO)
        loops = asyncio and facts.may_hold(frozenset({_LOOP_TYPE}))
        for call in facts.calls_to(_TASK_CALLEES, statements_only=True):
            if facts_watched_by_test(facts, call):
                continue
            func = call.func
            # (func is a name or an attribute: calls_to files calls by their callee's name)
            if asyncio and (type(func) is ast.Name or (type(func) is ast.Attribute and callee_name(func.value) in modules)):
                return True
            if type(func) is not ast.Attribute:
                continue
            if func.attr == "create_task" and (loops or callee_name(func.value).lstrip("_") in _LOOP_NAMES):
                return True
        return False

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
