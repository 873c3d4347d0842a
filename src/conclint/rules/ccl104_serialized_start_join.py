"""``x.start()`` and ``x.join()`` in the same loop iteration: the workers run one at a time."""

from __future__ import annotations

from typing import List, Optional, Sequence

import libcst as cst

from conclint.analysis.catalogue import WORKER_TYPES
from conclint.analysis.cstutil import has_comments, is_call_on, names_in
from conclint.interest import Imports, Interest, Methods, InOrder
from conclint.rule import Applicability, Rule


class SerializedStartJoin(Rule):
    """A thread or process started and joined in the same iteration of a loop."""

    code = "CCL104"
    name = "serialized-start-join"
    message = "started and joined in the same loop iteration: the workers run one at a time, not in parallel"
    fix = Applicability.UNSAFE
    # `x.start()` then `x.join()`, each a statement of its own, in the body of one loop.
    interest = Interest(
        Imports("threading", "multiprocessing"),
        InOrder(Methods("start", statement=True), Methods("join", statement=True), block="loop"),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "join":
            return
        stack = self.sem.stack
        if len(stack) < 6 or not isinstance(stack[-2], cst.Expr) or not isinstance(stack[-5], (cst.For, cst.While)):
            return
        line, body, loop = stack[-3], stack[-4], stack[-5]
        receiver = func.value
        if body is not loop.body or not isinstance(receiver, cst.Name):
            return
        if not isinstance(body, cst.IndentedBlock) or not isinstance(line, cst.SimpleStatementLine):
            return  # (they are: a statement of the loop's own block)
        if self.sem.type_of(receiver) not in WORKER_TYPES:
            return
        statements = list(body.body)
        position = statements.index(line)
        start = _started_at(statements[:position], receiver)
        # A worker inspected between start and join, or after the join (exit code, results),
        # is run one at a time on purpose (tests do this); only a bare start/join pair is flagged.
        if start is None or _mentions(statements[start + 1: position] + statements[position + 1:], receiver):
            return
        collection = _collected_in(statements, receiver) or _iterated_over(loop, receiver)
        # A worker neither kept in a list nor taken from one is run one at a time on purpose
        # (tests of thread and process machinery do this with a fresh worker per iteration)...
        if collection is None:
            # ... unless the worker is given the loop's item: the textbook "one worker per
            # item", meant to run in parallel (reported without a fix: no list to join over).
            if _given_the_item(loop, statements[:start], receiver):
                self.report(node)
            return
        block = stack[-6]
        if (
            not isinstance(collection, cst.Name)
            or loop.orelse is not None
            or has_comments(line)
            or not isinstance(block, (cst.IndentedBlock, cst.Module))
            # The list changed or rebound in the loop (`workers.remove(w)`, `workers = []`)
            # may not hold the workers when the loop ends: joining over it could join none.
            or _list_changed(statements, receiver, collection.value)
        ):
            self.report(node)
            return
        joined = cst.For(
            target=receiver,
            iter=collection,
            body=cst.IndentedBlock(body=[line.with_changes(leading_lines=[])]),
        )
        new_loop = loop.with_changes(body=body.with_changes(body=statements[:position] + statements[position + 1:]))
        new_body: List[cst.BaseStatement] = []
        for stmt in block.body:
            new_body.extend([new_loop, joined] if stmt is loop else [stmt])
        self.report(
            node,
            changes={block: block.with_changes(body=new_body)},
            fix_message=f"Join the workers after the loop, over `{cst.Module([]).code_for_node(collection)}`",
        )


def _given_the_item(loop: cst.CSTNode, statements: Sequence[cst.BaseStatement], receiver: cst.Name) -> bool:
    """Whether ``receiver`` is created in ``statements`` (before its start) by a call given the
    ``for`` loop's target among its arguments (``Thread(target=f, args=(item,))``)."""
    if not isinstance(loop, cst.For):
        return False
    items = set(names_in(loop.target))
    for stmt in statements:
        for small in _small(stmt):
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and small.targets[0].target.deep_equals(receiver)
                and isinstance(small.value, cst.Call)
                and any(items & set(names_in(arg.value)) for arg in small.value.args)
            ):
                return True
    return False


def _started_at(statements: Sequence[cst.BaseStatement], receiver: cst.Name) -> Optional[int]:
    for index in range(len(statements) - 1, -1, -1):
        if any(is_call_on(n, receiver, ("start",)) for n in _small(statements[index])):
            return index
    return None


def _small(stmt: cst.BaseStatement) -> Sequence[cst.CSTNode]:
    return stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ()


def _mentions(statements: Sequence[cst.BaseStatement], receiver: cst.Name) -> bool:
    """Whether ``statements`` use ``receiver`` other than to collect it in a list."""
    return any(_collector(stmt, receiver) is None and receiver.value in names_in(stmt) for stmt in statements)


def _collected_in(statements: Sequence[cst.BaseStatement], receiver: cst.Name) -> Optional[cst.BaseExpression]:
    """``workers`` when the loop body does ``workers.append(receiver)``."""
    return next((c for c in (_collector(s, receiver) for s in statements) if c is not None), None)


def _iterated_over(loop: cst.CSTNode, receiver: cst.Name) -> Optional[cst.BaseExpression]:
    """``workers`` for ``for receiver in workers:``."""
    if isinstance(loop, cst.For) and loop.target.deep_equals(receiver):
        return loop.iter
    return None


def _list_changed(statements: Sequence[cst.BaseStatement], receiver: cst.Name, name: str) -> bool:
    """Whether the loop body uses the list ``name`` other than in ``name.append(receiver)``
    (``workers.pop()``, ``workers = []``, ``workers.clear()`` after the append on its line)."""
    for stmt in statements:
        for part in _small(stmt) or (stmt,):
            if _appended_to(part, receiver) is None and name in names_in(part):
                return True
    return False


def _collector(stmt: cst.BaseStatement, receiver: cst.Name) -> Optional[cst.Name]:
    """``workers`` when ``stmt`` is the line ``workers.append(receiver)``."""
    return next((c for c in (_appended_to(n, receiver) for n in _small(stmt)) if c is not None), None)


def _appended_to(node: cst.CSTNode, receiver: cst.Name) -> Optional[cst.Name]:
    """``workers`` when ``node`` is the statement ``workers.append(receiver)``."""
    call = node.value if isinstance(node, cst.Expr) else None
    if (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "append"
        and isinstance(call.func.value, cst.Name)
        and len(call.args) == 1
        and call.args[0].value.deep_equals(receiver)
    ):
        return call.func.value
    return None
