"""LibCST helpers the models and rules share: spellings and literal values of expressions,
arguments of calls, statements of blocks (no traversal state)."""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Sequence, Union

import libcst as cst

from conclint.analysis.walk import children


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


def blocks(stmt: cst.BaseCompoundStatement) -> Iterator[Sequence[cst.CSTNode]]:
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
