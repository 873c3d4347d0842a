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
from typing import Dict, List, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from conclint.analysis.cstutil import index_of
from conclint.analysis.walk import walk

Position = CodeRange


class _Collector:
    """What PositionProvidingCodegenState needs of a provider: a place to put ranges."""

    def __init__(self) -> None:
        self._computed: Dict[cst.CSTNode, Position] = {}


Chain = Tuple[cst.CSTNode, ...]
_DEFS = (cst.FunctionDef, cst.ClassDef)


def positions_of(
    module: cst.Module,
    data: bytes,
    wanted: Sequence[Tuple[cst.CSTNode, Chain]],
    tree: Optional[ast.Module] = None,
) -> Dict[cst.CSTNode, Position]:
    """CodeRange of each wanted node; ``wanted`` pairs a node with the statements holding it
    when the caller knows them (``rule.statement_chain``, else ``()``); ``tree`` is CPython's
    tree of ``data`` if already built."""
    fast = _by_statement(module, data, wanted, tree)
    if fast is not None:
        return fast
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


def _by_statement(
    module: cst.Module,
    data: bytes,
    wanted: Sequence[Tuple[cst.CSTNode, Chain]],
    tree: Optional[ast.Module] = None,
) -> Optional[Dict[cst.CSTNode, Position]]:
    if tree is None:
        tree = _cpython_tree(data)
        if tree is None:
            return None
    starts = statement_lines(module, data, tree)
    if starts is None:
        return None
    index = {id(stmt): i for i, stmt in enumerate(module.body)}
    out: Dict[cst.CSTNode, Position] = {}
    groups: Dict[Chain, List[cst.CSTNode]] = {}
    unplaced = set()
    for node, chain in wanted:
        if chain and id(chain[0]) in index:
            groups.setdefault(chain, []).append(node)
        else:
            unplaced.add(node)
    # Innermost def or class first: generating a method is cheaper than its whole class.
    indexes = _Indexes()
    for chain, nodes in groups.items():
        top = index[id(chain[0])]
        place = _nested_start(module, tree, top, starts[top], chain, indexes)
        found = _generate(module, chain[-1], *place, nodes) if place is not None else {}
        out.update(found)
        unplaced.update(n for n in nodes if n not in found)
    by_top: Dict[int, List[cst.CSTNode]] = {}
    for i, stmt in enumerate(module.body):
        if not unplaced:
            break
        for node in walk(stmt):
            if node in unplaced:
                by_top.setdefault(i, []).append(node)
                unplaced.discard(node)
    if unplaced:  # the module itself, or trivia such as a comment
        return None
    for i, nodes in by_top.items():
        found = _generate(module, module.body[i], starts[i], [], nodes)
        if len(found) != len(nodes):
            return None
        out.update(found)
    return out


def _generate(
    module: cst.Module, statement: cst.CSTNode, line: int, indents: List[str], nodes: Sequence[cst.CSTNode]
) -> Dict[cst.CSTNode, Position]:
    """Positions of ``nodes`` found by generating ``statement`` alone from ``line``, inside
    blocks indented by ``indents``."""
    collector = _Collector()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=collector,  # type: ignore[arg-type]  # duck-typed: the state only fills provider._computed
    )
    state.line = line
    state.indent_tokens = list(indents)
    statement._codegen(state)
    return {node: collector._computed[node] for node in nodes if node in collector._computed}


def _nested_start(
    module: cst.Module, tree: ast.Module, top: int, line: int, chain: Chain, indexes: "_Indexes"
) -> Optional[Tuple[int, List[str]]]:
    """Where the last statement of ``chain`` (a def or class nested in defs and classes, the
    first being ``module.body[top]``, starting at ``line``) starts, and its blocks' indents,
    from CPython's line numbers; None if the trees disagree."""
    cpython: ast.stmt = tree.body[indexes.cpython(module.body, top)]
    indents: List[str] = []
    for parent, child in zip(chain, chain[1:]):
        if not isinstance(parent, _DEFS) or not isinstance(child, _DEFS):  # (what statement_chain gives)
            return None
        block = parent.body
        if not isinstance(block, cst.IndentedBlock) or not hasattr(cpython, "body"):
            return None
        at = index_of(block, child)
        if at is None:
            return None
        indents.append(module.default_indent if block.indent is None else block.indent)
        cpython = cpython.body[indexes.cpython(block.body, at)]
        if getattr(cpython, "name", None) != child.name.value:
            return None
        line = _first_line(child, cpython)
    return line, indents


class _Indexes:
    """Where a statement of LibCST's block sits in CPython's, each block counted once per
    file: counted per finding, a file of thousands of defs with findings took time
    quadratic in their number (LibCST's own index: ``cstutil.index_of``)."""

    def __init__(self) -> None:
        self._cpython: Dict[int, List[int]] = {}

    def cpython(self, body: Sequence[cst.CSTNode], at: int) -> int:
        """CPython's index of LibCST's statement ``body[at]``: a line of small statements
        is one statement per small statement there."""
        starts = self._cpython.get(id(body))
        if starts is None:
            starts = self._cpython[id(body)] = [0]
            for statement in body:
                starts.append(starts[-1] + (len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1))
        return starts[at]


def _first_line(statement: Union[cst.SimpleStatementLine, cst.BaseCompoundStatement], cpython: ast.stmt) -> int:
    """The line the generated code of ``statement`` starts at (its leading blank and comment
    lines included), from CPython's line numbers of the same statement."""
    line = cpython.lineno
    leading = len(statement.leading_lines)
    decorators = getattr(cpython, "decorator_list", None)
    if decorators:
        line = min(d.lineno for d in decorators)
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            leading += len(statement.decorators[0].leading_lines)
    return line - leading


def _cpython_tree(data: bytes) -> Optional[ast.Module]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def statement_lines(module: cst.Module, data: bytes, tree: Optional[ast.Module] = None) -> Optional[List[int]]:
    """The line each top-level statement's generated code starts at (its leading blank and
    comment lines included), from CPython's line numbers; None if the two trees disagree."""
    if tree is None:
        tree = _cpython_tree(data)
        if tree is None:
            return None
    statements = tree.body
    out: List[int] = []
    taken = 0
    for stmt in module.body:
        if taken >= len(statements):
            return None
        out.append(_first_line(stmt, statements[taken]))
        taken += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    return out if taken == len(statements) else None
