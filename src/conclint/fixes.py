"""Tree builders shared by rule fixes."""

from __future__ import annotations

from typing import List, Sequence, Union

import libcst as cst

Block = Union[cst.Module, cst.IndentedBlock]


def with_statement(
    receiver: cst.BaseExpression,
    acquire_line: cst.SimpleStatementLine,
    inner: Sequence[cst.BaseStatement],
    asynchronous: bool = False,
) -> cst.With:
    """``with receiver:`` around ``inner``, keeping the acquire line's comments."""
    body: List[cst.BaseStatement] = list(inner) or [cst.SimpleStatementLine(body=[cst.Pass()])]
    return cst.With(
        items=[cst.WithItem(item=receiver)],
        body=cst.IndentedBlock(body=body, header=acquire_line.trailing_whitespace),
        leading_lines=acquire_line.leading_lines,
        asynchronous=cst.Asynchronous() if asynchronous else None,
    )


def replace_statements(block: Block, start: int, end: int, new: Sequence[cst.BaseStatement]) -> Block:
    """``block`` with statements [start, end) replaced by ``new``."""
    body = list(block.body)
    body[start:end] = list(new)
    return block.with_changes(body=body)


class _UnindentBlankLines(cst.CSTTransformer):
    def leave_EmptyLine(self, original_node: cst.EmptyLine, updated_node: cst.EmptyLine) -> cst.EmptyLine:
        if updated_node.comment is None and updated_node.indent:
            return updated_node.with_changes(indent=False, whitespace=cst.SimpleWhitespace(""))
        return updated_node


def into_block(statements: Sequence[cst.BaseStatement]) -> List[cst.BaseStatement]:
    """Statements ready to move one level deeper: blank lines must not gain indentation
    (module-level blank lines are "indented" by nothing; nested, they would get spaces)."""
    transformer = _UnindentBlankLines()
    return [stmt.visit(transformer) for stmt in statements]  # type: ignore[misc]
