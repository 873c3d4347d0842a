"""A read-only traversal of LibCST trees that skips whitespace and punctuation.

``CSTNode.visit`` and ``CSTNode.children`` rebuild every node they pass (LibCST has
no read-only traversal yet), which makes a plain visit cost about as much as
parsing. Rules only read, so conclint walks the dataclass fields itself, in
lexical order, and never enters trivia: whitespace, comments, commas,
parentheses and operator tokens (rules read those through their parents'
attributes, e.g. ``comparison.operator``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Iterator, List, Tuple

import libcst as cst

_TRIVIA = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
    cst.Comma,
    cst.Semicolon,
    cst.Colon,
    cst.Dot,
    cst.AssignEqual,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Asynchronous,
    cst.ImportStar,
)
_TRIVIA_FIELDS = frozenset(
    "lpar rpar leading_lines lines_after_decorators header footer trailing_whitespace newline comma "
    "semicolon dot colon equal lbracket rbracket lbrace rbrace operator asynchronous".split()
)
# Where dataclass field order is not source order.
_ORDER: Dict[type, Tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "bases", "keywords", "body"),
    cst.Arg: ("keyword", "value"),
}
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _fields(cls: type) -> Tuple[str, ...]:
    names = _ORDER.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")
        )
    _FIELDS[cls] = names
    return names


# type -> whether a value of that type is a child to visit (a non-trivia node). Cached per
# concrete class: isinstance against LibCST's abstract bases costs an ABC check each time.
_VISITABLE: Dict[type, bool] = {}


def _visitable(kind: type) -> bool:
    answer = _VISITABLE.get(kind)
    if answer is None:
        answer = _VISITABLE[kind] = issubclass(kind, cst.CSTNode) and not issubclass(kind, _TRIVIA)
    return answer


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The node's non-trivia children in source order (no copies are made)."""
    # Written out: this runs once per node of every traversal (a generator expression per
    # sequence field, and a cached False answer asked again, cost a third of it).
    out: List[cst.CSTNode] = []
    append, visitable = out.append, _VISITABLE.get
    for name in _FIELDS.get(type(node)) or _fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is list or kind is tuple:
            for item in value:
                answer = visitable(type(item))
                if answer is None:
                    answer = _visitable(type(item))
                if answer:
                    append(item)
        else:
            answer = visitable(kind)
            if answer is None:
                answer = _visitable(kind)
            if answer:
                append(value)
    return out


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every non-trivia node below it, pre-order."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def traverse(
    node: cst.CSTNode,
    enter: Callable[[cst.CSTNode], None],
    leave: Callable[[cst.CSTNode], None],
) -> None:
    """Call ``enter`` before and ``leave`` after each non-trivia node's subtree.

    Iterative, so deep trees (a thousand implicitly concatenated strings) cannot
    exhaust the interpreter's recursion limit.
    """
    # Entries are (node, False) to enter it and (node, True) to leave it.
    stack: List[Tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        if leaving:
            leave(current)
            continue
        enter(current)
        stack.append((current, True))
        stack.extend((child, False) for child in reversed(children(current)))
