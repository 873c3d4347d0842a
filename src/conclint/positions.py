"""Positions of reported nodes, computed for their top-level statements only.

LibCST's PositionProvider generates the code of the whole module, tracking every node:
on a large file with one finding it cost more than the rules. A node's position only
depends on the top-level statement holding it and on the line that statement starts at,
which CPython's parser tells cheaply; so only those statements are generated. Anything
unexpected falls back to the PositionProvider (a test compares both on real files).
"""

from __future__ import annotations

import ast
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from conclint.walk import walk

Position = Any  # libcst CodeRange


class _Collector:
    """What PositionProvidingCodegenState needs of a provider: a place to put ranges."""

    def __init__(self) -> None:
        self._computed: Dict[cst.CSTNode, Position] = {}


def positions_of(
    module: cst.Module,
    data: bytes,
    wanted: Sequence[Tuple[cst.CSTNode, Optional[cst.CSTNode]]],
    tree: Optional[ast.Module] = None,
) -> Dict[cst.CSTNode, Position]:
    """CodeRange of each wanted node; ``wanted`` pairs a node with its top-level statement
    when the caller knows it; ``tree`` is CPython's tree of ``data`` if already built."""
    fast = _by_statement(module, data, wanted, tree)
    if fast is not None:
        return fast
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


def _by_statement(
    module: cst.Module,
    data: bytes,
    wanted: Sequence[Tuple[cst.CSTNode, Optional[cst.CSTNode]]],
    tree: Optional[ast.Module] = None,
) -> Optional[Dict[cst.CSTNode, Position]]:
    index = {id(stmt): i for i, stmt in enumerate(module.body)}
    groups: Dict[int, List[cst.CSTNode]] = {}
    unplaced = set()
    for node, statement in wanted:
        if statement is not None and id(statement) in index:
            groups.setdefault(index[id(statement)], []).append(node)
        else:
            unplaced.add(node)
    for i, stmt in enumerate(module.body):
        if not unplaced:
            break
        for node in walk(stmt):
            if node in unplaced:
                groups.setdefault(i, []).append(node)
                unplaced.discard(node)
    if unplaced:  # the module itself, or trivia such as a comment
        return None
    starts = statement_lines(module, data, tree)
    if starts is None:
        return None
    out: Dict[cst.CSTNode, Position] = {}
    for i, nodes in groups.items():
        collector = _Collector()
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=collector
        )
        state.line = starts[i]
        module.body[i]._codegen(state)
        for node in nodes:
            if node not in collector._computed:
                return None
            out[node] = collector._computed[node]
    return out


def statement_lines(module: cst.Module, data: bytes, tree: Optional[ast.Module] = None) -> Optional[List[int]]:
    """The line each top-level statement's generated code starts at (its leading blank and
    comment lines included), from CPython's line numbers; None if the two trees disagree."""
    if tree is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    statements = tree.body
    out: List[int] = []
    taken = 0
    for stmt in module.body:
        if taken >= len(statements):
            return None
        first = statements[taken]
        line = first.lineno
        decorators = getattr(first, "decorator_list", None)
        leading = len(stmt.leading_lines)
        if decorators:
            line = min(d.lineno for d in decorators)
            leading += len(stmt.decorators[0].leading_lines) if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) else 0
        out.append(line - leading)
        taken += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    return out if taken == len(statements) else None
