"""A lock created just to be acquired: no other thread can ever see it, so it guards nothing."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.catalogue import ACQUIRABLE_TYPES, CONDITION_TYPES
from conclint.analysis.locks import statement_call
from conclint.interest import Calls, Either, Imports, Interest, Methods, call_of
from conclint.rule import Rule

# A lock constructor called as a `with` item or as the receiver of `.acquire()`.
_NEW_LOCK = Calls(*ACQUIRABLE_TYPES)
_USELESS = Either(Calls(*ACQUIRABLE_TYPES, used_as="with item"), Methods("acquire", statement=True, receiver=call_of(_NEW_LOCK)))


class UselessLock(Rule):
    """``with threading.Lock():`` or ``threading.Lock().acquire()``."""

    code = "CCL206"
    name = "useless-lock"
    message = "this lock is created where it is acquired: no other thread shares it, so it guards nothing"
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), _USELESS)

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
