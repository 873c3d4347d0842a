"""A statement call closed at once by its pair on the same receiver, in both trees.

``lock.acquire()`` is closed at once when the statement right after it is a ``try`` whose
``finally`` releases the lock, when a ``try`` around it (in the same def, the call in its
body) releases the lock in its ``finally``, or when the line right after it is
``lock.release()`` alone (waiting for the lock to be free). The visitor's answer
(``paired_in_cst``) and the second gate's (``unpaired_calls``) are kept side by side: the
gate may only call a call paired where the visitor does, so it answers "unpaired" whenever
the source is not plainly one of the three forms (two statements on one line, a line
continued with a backslash, ``try``/``except*``).

Receivers are compared as CPython reads them on both sides (``same_expression``,
``ast.dump``): spaces, parentheses and NFKC look-alikes apart; the method's name as written,
as the byte triggers look for it.
"""

from __future__ import annotations

import ast
from typing import Iterator, List, Sequence, Set, Tuple

import libcst as cst

from conclint.analysis.cstutil import index_of, is_call_on, only_statement, walk
from conclint.analysis.facts import Facts, statement_lists

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


# ---------------------------------------------------------------------- LibCST
def closes_in_finally(stmt: cst.CSTNode, receiver: cst.BaseExpression, closer: str) -> bool:
    """Whether ``stmt`` is a ``try`` whose ``finally`` calls ``receiver.<closer>()``."""
    if not isinstance(stmt, cst.Try) or stmt.finalbody is None:
        return False
    return any(is_call_on(n, receiver, (closer,)) for n in walk(stmt.finalbody))


def paired_in_cst(stack: Sequence[cst.CSTNode], call: cst.Call, closer: str) -> bool:
    """Whether the statement call ``call`` (the last node of ``stack``, the traversal's
    ancestors) is closed at once by ``receiver.<closer>()`` (see the module's docstring)."""
    if len(stack) < 4 or not isinstance(call.func, cst.Attribute):
        return False
    line, block = stack[-3], stack[-4]
    if not isinstance(stack[-2], cst.Expr) or not isinstance(line, cst.SimpleStatementLine):
        return False
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return False
    receiver = call.func.value
    index = index_of(block, line)
    if index is None:
        return False
    following = block.body[index + 1] if index + 1 < len(block.body) else None
    if following is not None and closes_in_finally(following, receiver, closer):
        return True
    for position in range(len(stack) - 5, -1, -1):
        ancestor = stack[position]
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
            break
        if isinstance(ancestor, cst.Try) and stack[position + 1] is ancestor.body and closes_in_finally(ancestor, receiver, closer):
            return True
    small = only_statement(following) if following is not None else None
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and not small.value.args
        and is_call_on(small, receiver, (closer,))
    )


# ---------------------------------------------------------------------- CPython's tree
def unpaired_calls(facts: Facts, calls: List[ast.Call], closer: str) -> Iterator[ast.Call]:
    """Those of ``calls`` (statement calls ``x.method()``) that ``receiver.<closer>()`` may not
    close at once: whatever ``paired_in_cst`` may not call paired."""
    wanted = {id(call): call for call in calls}
    if not wanted:
        return
    seen: Set[int] = set()
    # (statement list, the ``try`` statements whose body holds it, within the same def)
    pending: List[Tuple[Sequence[ast.stmt], Tuple[ast.Try, ...]]] = [(facts.module_body, ())]
    while pending:
        body, tries = pending.pop()
        for index, stmt in enumerate(body):
            if type(stmt) is ast.Expr and id(stmt.value) in wanted:
                seen.add(id(stmt.value))
                call = wanted[id(stmt.value)]
                if not _paired(facts, body, index, call, tries, closer):
                    yield call
            _push_bodies(stmt, tries, pending)
    # (not expected: every statement call is in some statement list)
    yield from (call for call in calls if id(call) not in seen)


def _push_bodies(
    stmt: ast.stmt, tries: Tuple[ast.Try, ...], pending: List[Tuple[Sequence[ast.stmt], Tuple[ast.Try, ...]]]
) -> None:
    """The statement lists of ``stmt``, each with the ``try`` statements whose body holds it."""
    if type(stmt) in _DEFS:
        pending.append((stmt.body, ()))  # type: ignore[attr-defined]
        return
    # A `try`'s own body is held by it (not a `try/except*`'s: LibCST's `TryStar` is no `Try`).
    held = (*tries, stmt) if type(stmt) is ast.Try else tries
    for inner in statement_lists(stmt):
        pending.append((inner, held if inner is getattr(stmt, "body", None) else tries))


def _paired(
    facts: Facts, body: Sequence[ast.stmt], index: int, call: ast.Call, tries: Tuple[ast.Try, ...], closer: str
) -> bool:
    receiver = ast.dump(call.func.value)  # type: ignore[attr-defined]  # a method call
    following = body[index + 1] if index + 1 < len(body) else None
    if isinstance(following, ast.Try) and _closes(facts, following.finalbody, receiver, closer):
        return True
    if any(_closes(facts, t.finalbody, receiver, closer) for t in tries):
        return True
    if not isinstance(following, ast.Expr):
        return False
    value = following.value
    end = body[index].end_lineno
    return (
        type(value) is ast.Call
        and not value.args
        and not value.keywords
        and _is_call_on(facts, value, receiver, closer)
        and end is not None
        and following.lineno > end
        and facts.ends_line(body[index]) is True
        and facts.ends_line(following) is True
    )


def _closes(facts: Facts, stmts: Sequence[ast.stmt], receiver: str, closer: str) -> bool:
    return any(type(n) is ast.Call and _is_call_on(facts, n, receiver, closer) for s in stmts for n in ast.walk(s))


def _is_call_on(facts: Facts, call: ast.Call, receiver: str, closer: str) -> bool:
    # The method's name as written, as the visitor reads it (``is_call_on``); receivers are
    # compared as CPython reads them on both sides (``same_expression``).
    func = call.func
    return (
        type(func) is ast.Attribute
        and func.attr == closer
        and ast.dump(func.value) == receiver
        and facts.ends_with(func, closer.encode())
    )
