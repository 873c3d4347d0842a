"""``cond.wait()`` outside a loop that re-checks the predicate."""

from __future__ import annotations


from typing import Optional, Sequence

import libcst as cst

from conclint.analysis.catalogue import CONDITION_TYPES
from conclint.analysis.cstutil import index_of, only_statement, statement_expr, walk_scope
from conclint.interest import NONE_OR_NAME, Holds, Imports, Interest, Methods
from conclint.rule import Rule

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_WAIT = Methods("wait", on=CONDITION_TYPES, outside=("own while",), arguments=NONE_OR_NAME)


class ConditionWaitWithoutLoop(Rule):
    """A condition wait whose wakeup is trusted without re-checking the predicate."""

    code = "CCL204"
    name = "condition-wait-without-loop"
    message = "`wait()` outside a `while` loop that re-checks the condition; use `wait_for(predicate)`"
    # A wait on a Condition outside a `while` of its def, untimed, or timed by what may be a
    # parameter defaulting to None.
    interest = Interest(
        Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"),
        Holds(*CONDITION_TYPES),
        _WAIT,
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or not _WAIT.matches(self.sem, node):
            return
        # A timed wait already handles returning without the condition (the timeout path),
        # which is all a spurious or stolen wakeup can cause.
        if any(not _is_none(arg.value) for arg in node.args):
            # ... unless the timeout is a parameter that defaults to None and what follows the
            # wait trusts it, as an untimed wait would (no `if` re-checks the state next).
            if not all(_is_none(a.value) or self._none_by_default(a.value) for a in node.args):
                return
            if _checked_next(self.sem.stack):
                return
        # A wait after which the def only returns (a plain `return`, or nothing) reads no state
        # that a stolen or spurious wakeup could have left wrong: it is a signal, not a guard.
        if _only_returns_after(self.sem.stack):
            return
        for ancestor in self.sem.ancestors():
            if isinstance(ancestor, cst.While):
                return
            if isinstance(ancestor, _SCOPES):
                break  # a loop around the def does not re-check anything for this call
        self.report(node)

    def _none_by_default(self, value: cst.BaseExpression) -> bool:
        """``timeout`` in ``def get(self, timeout=None): ... cond.wait(timeout)``: a parameter
        of the enclosing def defaulting to None and never rebound in it, so a caller that
        passes nothing gets an untimed wait."""
        if not isinstance(value, cst.Name):
            return False
        function = next((n for n in reversed(self.sem.stack) if isinstance(n, (cst.FunctionDef, cst.Lambda))), None)
        if not isinstance(function, cst.FunctionDef):
            return False
        params = function.params
        param = next((p for p in (*params.params, *params.kwonly_params) if p.name.value == value.value), None)
        if param is None or param.default is None or not _is_none(param.default):
            return False
        return not any(_binds(n, value.value) for n in walk_scope(function.body))


def _next_statement(stack: Sequence[cst.CSTNode]) -> Optional[cst.BaseStatement]:
    """The statement run after the one holding the visited node (the last of ``stack``) in its
    def: from that statement outwards through the blocks around it, the first one following;
    None when the def (or the module) ends there."""
    for index in range(len(stack) - 1, 0, -1):
        node, parent = stack[index], stack[index - 1]
        if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
        if isinstance(parent, (cst.IndentedBlock, cst.Module)) and isinstance(node, cst.BaseStatement):
            at = index_of(parent, node)
            if at is not None and at + 1 < len(parent.body):
                return parent.body[at + 1]
    return None


def _only_returns_after(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether the wait (the last node of ``stack``) is a statement of its own after which its
    def returns without doing anything else."""
    statement = statement_expr(stack, stack[-1])
    if statement is None or len(stack) < 3 or only_statement(stack[-3]) is not statement:
        return False
    if not any(isinstance(n, cst.FunctionDef) for n in stack):
        return False
    following = _next_statement(stack)
    if following is None:
        return True
    small = only_statement(following)
    return isinstance(small, cst.Return) and small.value is None


def _checked_next(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether the statement run next after the visited call tests something: an ``if``,
    ``assert``, ``while``, or a ``try`` (handling the state missing)."""
    following = _next_statement(stack)
    if isinstance(following, (cst.If, cst.While, cst.Try)):
        return True
    return isinstance(following, cst.SimpleStatementLine) and isinstance(following.body[0], cst.Assert)


def _binds(node: cst.CSTNode, name: str) -> bool:
    """Whether ``node`` (re)binds the plain name ``name``."""
    target: Optional[cst.BaseExpression]
    if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)):
        target = node.target
    elif isinstance(node, (cst.NamedExpr, cst.For, cst.CompFor)):
        target = node.target
    elif isinstance(node, cst.WithItem):
        target = node.asname.name if node.asname is not None else None
    elif isinstance(node, cst.ExceptHandler):
        target = node.name.name if node.name is not None else None
    elif isinstance(node, (cst.Global, cst.Nonlocal)):
        return any(n.name.value == name for n in node.names)
    else:
        return False
    if target is None:
        return False
    if isinstance(target, cst.Name):
        return target.value == name
    return isinstance(target, (cst.Tuple, cst.List)) and any(
        isinstance(e.value, cst.Name) and e.value.value == name for e in target.elements
    )


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"
