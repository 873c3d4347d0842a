"""LibCST helpers the models and rules share: spellings and literal values of expressions,
arguments of calls, statements of blocks, main guards, comments, small walks (no
traversal state)."""

from __future__ import annotations

import ast
import unicodedata
from collections import Counter
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from conclint.analysis.catalogue import TEST_EXPECTATIONS
from conclint.analysis.walk import children, walk as _fast_walk

Block = Union[cst.Module, cst.IndentedBlock]


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """The source spelling of a Name/Attribute chain (``a.b.c``), else None."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def string_value(node: cst.CSTNode) -> Optional[str]:
    """The value of a plain (non-f) string literal, else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        # LibCST reads what CPython refuses: `"\N{no such name}"`, `"str" b"bytes"`.
        except (SyntaxError, ValueError, TypeError, MemoryError):
            return None
        return value if isinstance(value, str) else None
    return None


def int_value(node: cst.CSTNode) -> Optional[int]:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def get_arg(call: cst.Call, keyword: str, position: Optional[int] = None) -> Optional[cst.Arg]:
    """The argument bound to ``keyword`` (or at ``position`` among positionals)."""
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg
        elif arg.star:
            return None if position is not None and positional <= position else None
        else:
            if position is not None and positional == position:
                return arg
            positional += 1
    return None


def names_in(node: cst.CSTNode) -> Iterable[str]:
    """Every plain Name used inside ``node`` (cheap recursive walk, no visitor)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current.value
        stack.extend(children(current))


def parameters(node: Union[cst.FunctionDef, cst.Lambda]) -> List[cst.Param]:
    """Every parameter of a def or lambda, in order: positional-only, plain, keyword-only, *args, **kwargs."""
    p = node.params
    out = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


def walk_statements(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Small statements and defs reachable without entering a function or class body."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            yield stmt
        elif isinstance(stmt, cst.BaseCompoundStatement):
            for block in blocks(stmt):
                yield from walk_statements(block)


# What holds a body of statements: compound statements and their clauses.
Clause = Union[cst.BaseCompoundStatement, cst.MatchCase, cst.Else, cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler]


def blocks(stmt: Clause) -> Iterator[Sequence[cst.CSTNode]]:
    """The statement lists directly under a compound statement (bodies, else, finally, handlers, cases)."""
    if isinstance(stmt, cst.Match):  # no body of its own: one block per case
        for case in stmt.cases:
            yield from blocks(case)
        return
    body = stmt.body
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        yield [cst.SimpleStatementLine(body=body.body)]
    for attr in ("orelse", "finalbody"):
        extra = getattr(stmt, attr, None)
        if extra is not None:  # an `elif` (an If) or an else/finally clause
            yield from blocks(extra)
    for handler in getattr(stmt, "handlers", ()):
        yield from blocks(handler)


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


def watched_by_test(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether the node is inside ``with self.assertRaises(...)`` / ``pytest.warns(...)``: a test
    calling it to see it fail or warn, not code that relies on what it does."""
    return any(
        isinstance(node, cst.With) and any(_called_name(item.item) in TEST_EXPECTATIONS for item in node.items)
        for node in stack
    )


def _called_name(expr: cst.BaseExpression) -> Optional[str]:
    """``f`` for ``f(...)`` and ``x.y.f(...)``."""
    if not isinstance(expr, cst.Call):
        return None
    if isinstance(expr.func, cst.Attribute):
        return expr.func.attr.value
    return expr.func.value if isinstance(expr.func, cst.Name) else None


def enclosing(stack: Sequence[cst.CSTNode], kinds: Tuple[type, ...]) -> Optional[cst.CSTNode]:
    for node in reversed(stack[:-1]):
        if isinstance(node, kinds):
            return node
    return None


def index_of(block: Block, stmt: cst.CSTNode) -> Optional[int]:
    """Position of ``stmt`` (by identity, not equality) in ``block``. Long blocks keep an
    index of their statements (rules ask once per statement: a module of thousands of
    acquires was quadratic); the cache holds its blocks, so their ids stay theirs."""
    body = block.body
    if len(body) < _INDEXED_FROM:
        for i, candidate in enumerate(body):
            if candidate is stmt:
                return i
        return None
    known = _POSITIONS.get(id(block))
    if known is None or known[0] is not block:
        if len(_POSITIONS) >= _POSITIONS_KEPT:
            _POSITIONS.clear()
        known = _POSITIONS[id(block)] = (block, {id(s): i for i, s in enumerate(body)})
    return known[1].get(id(stmt))


_INDEXED_FROM = 64
_POSITIONS_KEPT = 64
_POSITIONS: Dict[int, Tuple[Any, Dict[int, int]]] = {}


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
        and node.func.attr.value in methods  # as spelled: the byte triggers look for the name
        and same_expression(node.func.value, receiver)
    )


def identifier(name: str) -> str:
    """A name as CPython reads it: NFKC-normalised (``ｌock`` is ``lock``), as CPython's tree,
    and so the second gates, spell it."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def same_expression(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """Whether ``a`` and ``b`` are the same expression as CPython reads them: spaces, line
    breaks, comments and parentheses apart (``self._lock`` and ``(self . _lock)``), which is
    how the second gates compare expressions in CPython's tree (``ast.dump``)."""
    if a.deep_equals(b):  # (the same text: the same names)
        return True
    return bool(_expression_key(a) == _expression_key(b))


def _expression_key(node: cst.CSTNode) -> Any:
    """A key equal for two expressions exactly when CPython's trees of them are: names and
    attribute chains spelled out (cheap, and nearly every receiver is one), anything else
    as CPython's tree of its code."""
    if isinstance(node, cst.Name):
        return ("name", identifier(node.value))
    if isinstance(node, cst.Attribute):
        return ("attribute", _expression_key(node.value), identifier(node.attr.value))
    code = cst.Module(body=[]).code_for_node(node)
    try:
        return ("tree", ast.dump(ast.parse(f"(\n{code}\n)", mode="eval").body))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ("code", code)


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every non-trivia node from ``node`` down (pre-order), without a visitor."""
    return _fast_walk(node)


def walk_scope(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Like ``walk`` but does not enter nested functions, lambdas or classes."""
    stack: List[cst.CSTNode] = list(reversed(children(node)))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(reversed(children(current)))


def comments(node: Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]) -> "Counter[str]":
    """The text of every comment in ``node`` (or in what a sentinel stands for), counted."""
    found: "Counter[str]" = Counter()
    if isinstance(node, cst.RemovalSentinel):
        return found
    stack: List[cst.CSTNode] = list(node.nodes) if isinstance(node, cst.FlattenSentinel) else [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            found[current.value.rstrip()] += 1
        else:
            stack.extend(current.children)
    return found


def has_comments(node: cst.CSTNode) -> bool:
    """Whether a comment sits anywhere in ``node`` (comments are trivia: walk everything)."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            return True
        stack.extend(current.children)
    return False


def touched_names(statement: cst.CSTNode) -> Iterator[str]:
    """The names ``statement`` binds, declares or changes the object of (``a.b = ...``,
    ``a[i] = ...``, ``del a.b``: ``a``), nested defs' bodies included; ``*`` for a star
    import, which may bind any."""
    for node in [statement, *walk_scope(statement)]:
        targets: Sequence[cst.CSTNode] = ()
        if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.Del, cst.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            targets = [node.asname.name]
        elif isinstance(node, cst.AsName):
            targets = [node.name]
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            targets = [node.name]
        elif isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
            yield "*"  # binds names nobody can list: "*" stands for any
            continue
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            targets = [item.name for item in node.names]
        elif isinstance(node, cst.ImportAlias) and node.asname is None:
            targets = [cst.Name(_first(node.name))]
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            targets = [node.name.name]
        elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            targets = [node.name]
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            targets = [node.rest]
        for target in targets:
            yield from _target_names(target)


def _target_names(target: cst.CSTNode) -> Iterator[str]:
    """The names a target binds (each of an unpacking's), or whose object it changes
    (``a.b[i] = ...``: ``a``)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)
    elif isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
        name = _first(target)
        if name:
            yield name


def _first(name: cst.BaseExpression) -> str:
    while isinstance(name, (cst.Attribute, cst.Subscript)):
        name = name.value
    return name.value if isinstance(name, cst.Name) else ""
