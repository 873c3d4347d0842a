"""A lock created just to be acquired: no other thread can ever see it, so it guards nothing."""

from __future__ import annotations

import ast
from typing import Any, Mapping

import libcst as cst

from conclint.analysis.catalogue import ACQUIRABLE_TYPES, CONDITION_TYPES
from conclint.analysis.facts import Facts, callee_name, terminals
from conclint.analysis.locks import statement_call
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Rule

_LOCKS = terminals(ACQUIRABLE_TYPES)


class UselessLock(Rule):
    """``with threading.Lock():`` or ``threading.Lock().acquire()``."""

    code = "CCL206"
    name = "useless-lock"
    message = "this lock is created where it is acquired: no other thread shares it, so it guards nothing"
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), Calls(*ACQUIRABLE_TYPES))

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A lock constructor called as a `with` item or as the receiver of `.acquire()`.
        callees = facts.names_for(_LOCKS)
        if any(type(i.context_expr) is ast.Call and callee_name(i.context_expr.func) in callees for i in facts.with_items):
            return True
        return any(
            type(call.func) is ast.Attribute  # (always, as methods_called gives them)
            and type(call.func.value) is ast.Call
            and callee_name(call.func.value.func) in callees
            for call in facts.methods_called(("acquire",), statements_only=True)
        )

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._fresh_lock(node.item):
            self.report(node)

    def visit_Call(self, node: cst.Call) -> None:
        receiver = statement_call(self.sem, node, ("acquire",))
        if receiver is not None and self._fresh_lock(receiver):
            self.report(node)

    def _fresh_lock(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Call):
            return False
        type_ = self.sem.call_result_type(expr)
        # Condition(lock) acquires the lock it is given, which others may share.
        return type_ in ACQUIRABLE_TYPES and not (type_ in CONDITION_TYPES and expr.args)
