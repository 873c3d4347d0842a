"""``cond.wait()`` outside a loop that re-checks the predicate."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.catalogue import CONDITION_TYPES
from conclint.interest import Holds, Imports, Interest, Methods
from conclint.rule import Rule

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class ConditionWaitWithoutLoop(Rule):
    """A condition wait whose wakeup is trusted without re-checking the predicate."""

    code = "CCL204"
    name = "condition-wait-without-loop"
    message = "`wait()` outside a `while` loop that re-checks the condition; use `wait_for(predicate)`"
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), Holds(*CONDITION_TYPES), Methods("wait"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "wait":
            return
        if self.sem.type_of(func.value) not in CONDITION_TYPES:
            return
        # A timed wait already handles returning without the condition (the timeout path),
        # which is all a spurious or stolen wakeup can cause.
        if any(not _is_none(arg.value) for arg in node.args):
            return
        for ancestor in self.sem.ancestors():
            if isinstance(ancestor, cst.While):
                return
            if isinstance(ancestor, _SCOPES):
                break  # a loop around the def does not re-check anything for this call
        self.report(node)


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"
