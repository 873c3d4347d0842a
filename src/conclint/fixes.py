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
    moved: List[cst.BaseStatement] = []
    for stmt in statements:
        new = stmt.visit(transformer)
        assert isinstance(new, cst.BaseStatement), "the transformer changes blank lines only"
        moved.append(new)
    return moved


def keyword_arg(keyword: str, value: cst.BaseExpression) -> cst.Arg:
    """``keyword=value`` spelled the PEP 8 way (no spaces around ``=``)."""
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    return cst.Arg(value=value, keyword=cst.Name(keyword), equal=tight)


def append_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with ``keyword=value`` added last; a trailing comma (and its layout) stays last."""
    args = list(call.args)
    new = keyword_arg(keyword, value)
    if args and isinstance(args[-1].comma, cst.Comma):
        new = new.with_changes(comma=args[-1].comma)
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


def tuple_of(values: Sequence[cst.BaseExpression]) -> cst.Tuple:
    """``(a, b)`` / ``(a,)``: the values as a tuple, dropping parentheses a tuple element does not need."""
    return cst.Tuple([cst.Element(_unparenthesized(v)) for v in values])


def parenthesized(value: cst.BaseExpression) -> cst.BaseExpression:
    """``value`` in parentheses unless it has its own (a generator that was a call's only
    argument, say, which borrowed the call's)."""
    return value if value.lpar else value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


# Bare, these are not one element of a tuple: a tuple would lend it its elements (`(1, 2)`)
# or not parse (`()`, a generator, `x := 1`, `yield`).
_KEEP_PARENTHESES = (cst.Tuple, cst.GeneratorExp, cst.NamedExpr, cst.Yield)


def _unparenthesized(value: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(value, _KEEP_PARENTHESES):
        return parenthesized(value)
    return value.with_changes(lpar=[], rpar=[])
