"""Small tree helpers shared by rules (no traversal state)."""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from conclint.names import string_value

Block = Union[cst.Module, cst.IndentedBlock]


def is_name_main_test(test: cst.BaseExpression) -> bool:
    """Whether ``test`` compares ``__name__`` with something (a main guard, spelled right or not)."""
    if isinstance(test, cst.Comparison):
        operands = [test.left] + [c.comparator for c in test.comparisons]
        return any(isinstance(o, cst.Name) and o.value == "__name__" for o in operands)
    if isinstance(test, cst.BooleanOperation):
        return is_name_main_test(test.left) or is_name_main_test(test.right)
    return False


def is_correct_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    comp = test.comparisons[0]
    if not isinstance(comp.operator, cst.Equal):
        return False
    pair = (test.left, comp.comparator)
    names = [o for o in pair if isinstance(o, cst.Name) and o.value == "__name__"]
    strings = [string_value(o) for o in pair]
    return len(names) == 1 and "__main__" in strings


def statement_expr(sem_stack: Sequence[cst.CSTNode], call: cst.CSTNode) -> Optional[cst.Expr]:
    """The ``Expr`` statement whose whole value is ``call`` (a call used as a statement)."""
    if len(sem_stack) >= 2 and isinstance(sem_stack[-2], cst.Expr) and sem_stack[-2].value is call:
        return sem_stack[-2]
    return None


def enclosing(stack: Sequence[cst.CSTNode], kinds: Tuple[type, ...]) -> Optional[cst.CSTNode]:
    for node in reversed(stack[:-1]):
        if isinstance(node, kinds):
            return node
    return None


def block_statements(block: Block) -> Sequence[cst.BaseStatement]:
    return block.body


def small_statements(stmt: cst.CSTNode) -> Sequence[cst.BaseSmallStatement]:
    if isinstance(stmt, cst.SimpleStatementLine):
        return stmt.body
    return ()


def only_statement(stmt: cst.CSTNode) -> Optional[cst.BaseSmallStatement]:
    """The single small statement of a line (``x.acquire()``), else None."""
    body = small_statements(stmt)
    return body[0] if len(body) == 1 else None


def is_call_on(node: cst.CSTNode, receiver: cst.CSTNode, methods: Sequence[str]) -> bool:
    """Whether ``node`` is the expression statement ``receiver.method()`` for one of ``methods``."""
    if isinstance(node, cst.Expr):
        node = node.value
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in methods
        and node.func.value.deep_equals(receiver)
    )


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (pre-order), without a visitor."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def walk_scope(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Like ``walk`` but does not enter nested functions, lambdas or classes."""
    stack: List[cst.CSTNode] = list(reversed(node.children))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(reversed(current.children))


def has_comments(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Comment) for n in walk(node))
