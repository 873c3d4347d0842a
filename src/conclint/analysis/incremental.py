"""Parse a new version of a document by reusing what did not change in the last one.

LibCST cannot parse incrementally, and its parse is half of what a lint of a large file
costs, so an editor's every keystroke would pay for the whole file. ``ParseCache`` cuts
the source into chunks, one per top-level statement (CPython's tree, which the screen
has built already, says where each starts: a decorated def at its first decorator),
parses each chunk on its own and keeps them; the next version parses only the chunks
whose text is new and assembles a module equal (``deep_equals``, same code) to what
``cst.parse_module`` gives for the whole text.

What makes a chunk's parse differ from the whole file's, and what is done about it:

* the blank and comment lines after a statement belong to the next statement's
  ``leading_lines`` (or to a block's footer, by their indentation), but to the module's
  footer at the end of a text, where LibCST 1.9 also drops blank lines before an indented
  comment. So every chunk but the last is parsed followed by a ``pass`` at column 0, which
  stands where the next statement stands in the file: it takes the lines the next
  statement takes, which are then moved onto it;
* LibCST's native parser detects the default newline (the first line break) and indent
  (the first block's) of each text it parses, and stores a block's indent or a line break
  only where it differs from those: a chunk whose detection differs from the file's is
  parsed again behind a statement that fixes both (``if 1:`` and an indented ``pass``);
* anything else unusual (no CPython tree, form feeds the screen removed, lone carriage
  returns, a line continued into a statement's first line, a chunk LibCST refuses or
  reads differently than expected) is parsed whole, as without a cache.

A chunk's nodes are used once per tree: rules and positions key their maps by node
identity. The same text twice in a file is parsed twice (and kept twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import libcst as cst

from conclint.analysis.parsing import Screened, trusting_the_parser, parse_screened

# What LibCST's native parser takes for an indent when a text has no indented block.
_FALLBACK_INDENT = "    "
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_SENTINEL = "pass\n"

Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]
Chunks = Dict[Tuple[str, str], List["_Chunk"]]


@dataclass
class _Chunk:
    """One chunk's parse: its statements (the sentinel and any prefix removed), the lines
    the sentinel took (``carry``: they go to the next chunk's first statement), and what
    LibCST detected in the chunk's text."""

    module: cst.Module
    statements: Tuple[Statement, ...]
    carry: Tuple[cst.EmptyLine, ...]
    indented: bool  # the text has an indented block: its detected indent is the file's first one


@dataclass
class CacheStats:
    """What the last ``parse`` did (for tests and benchmarks)."""

    chunks: int = 0
    reused: int = 0
    parsed: int = 0
    # Why the whole text was parsed instead, or None.
    whole: Optional[str] = None


class ParseCache:
    """The chunks of one document's last parsed version, for its next version to reuse.

    It holds one version's chunks at a time (those of the last ``parse``), so it costs
    about one tree; use one per document, on one thread."""

    def __init__(self) -> None:
        # (chunk text, how it was parsed) -> the chunks parsed from it, one per occurrence.
        self._chunks: Chunks = {}
        self.stats = CacheStats()

    def clear(self) -> None:
        self._chunks = {}

    def parse(self, data: bytes, screened: Screened) -> Any:
        """LibCST's module of ``data`` (which passed ``screen``), as ``parse_screened`` gives
        it; raises ``ParseFailure`` as it does."""
        self.stats = CacheStats()
        why = _not_chunkable(screened)
        if why is None:
            text = data.decode(screened.encoding)
            why = _not_chunkable_text(text)
            if why is None:
                try:
                    return self._assemble(text, screened)
                except Exception as exc:  # the cache only accelerates: the whole parse decides
                    why = f"{type(exc).__name__}: {exc}"
        self.clear()
        self.stats = CacheStats(whole=why)
        return parse_screened(data, screened)

    def _assemble(self, text: str, screened: Screened) -> cst.Module:
        assert screened.tree is not None  # (_not_chunkable said so)
        pieces = split(text, _first_lines(screened.tree.body))
        if pieces is None:
            raise _Unexpected("no statement")
        old = self._chunks
        new: Chunks = {}
        self._chunks = {}  # a failure below leaves nothing half-built behind
        newline_match = _LINE_BREAK_RE.search(text)
        newline = newline_match.group(0) if newline_match is not None else "\n"
        chunks: List[_Chunk] = []
        with trusting_the_parser():
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                chunks.append(self._chunk(old, new, piece, _how(index == 0, last), index == 0, last))
            indent = next((c.module.default_indent for c in chunks if c.indented), _FALLBACK_INDENT)
            for index, chunk in enumerate(chunks):
                if chunk.module.default_newline != newline or (chunk.indented and chunk.module.default_indent != indent):
                    if index == 0:  # it holds the first line break and, if any, the first block
                        raise _Unexpected("the first chunk disagrees with the file")
                    last = index == len(pieces) - 1
                    how = f"{_how(False, last)}\0{newline}\0{indent}"
                    chunks[index] = self._chunk(old, new, pieces[index], how, False, last, (newline, indent))
            body: List[Statement] = []
            carry: Tuple[cst.EmptyLine, ...] = ()
            for chunk in chunks:
                first, *rest = chunk.statements
                if carry:
                    first = first.with_changes(leading_lines=(*carry, *first.leading_lines))
                body.append(first)
                body.extend(rest)
                carry = chunk.carry
            head, tail = chunks[0].module, chunks[-1].module
            module = cst.Module(
                body=body,
                header=head.header,
                footer=tail.footer,
                encoding=screened.encoding,
                default_indent=indent,
                default_newline=newline,
                has_trailing_newline=tail.has_trailing_newline,
            )
        self._chunks = new
        self.stats.chunks = len(chunks)
        return module

    def _chunk(
        self,
        old: Chunks,
        new: Chunks,
        piece: str,
        how: str,
        first: bool,
        last: bool,
        config: Optional[Tuple[str, str]] = None,
    ) -> _Chunk:
        """The chunk of ``piece``: one the last version parsed the same way, else parsed now."""
        key = (piece, how)
        kept = old.get(key)
        if kept:
            chunk = kept.pop()
            self.stats.reused += 1
        else:
            chunk = _parse_chunk(piece, first, last, config)
            self.stats.parsed += 1
        new.setdefault(key, []).append(chunk)
        return chunk


def _how(first: bool, last: bool) -> str:
    """What a chunk's parse depends on besides its text: where it stands (and, for one parsed
    behind a prefix, the newline and indent it fixes)."""
    return ("first " if first else "") + ("last" if last else "")


class _Unexpected(Exception):
    """A chunk LibCST read otherwise than this module expects: the whole text is parsed."""


def split(text: str, first_lines: Sequence[int]) -> Optional[List[str]]:
    """``text`` cut before each of ``first_lines`` but the first (1-based, ascending; line
    breaks as CPython counts them): the first piece runs from the text's start through the
    first statement, whatever lines come before it; a line is not cut
    before when it does not start a statement at column 0 or the line before it is
    continued with a backslash. None when there is nothing to cut (no statement)."""
    if not first_lines:
        return None
    wanted = set(first_lines[1:])
    cuts = [0]
    line = 1
    for match in _LINE_BREAK_RE.finditer(text):
        line += 1
        if line in wanted:
            start, end = match.end(), match.start()
            continued = end > 0 and text[end - 1] == "\\"
            if start < len(text) and not text[start].isspace() and text[start] != "#" and not continued:
                cuts.append(start)
    cuts.append(len(text))
    return [text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a] or None


def _first_lines(body: Sequence[Any]) -> List[int]:
    """The line each top-level statement starts on: a decorated one at its first decorator."""
    lines = set()
    for statement in body:
        line = statement.lineno
        for decorator in getattr(statement, "decorator_list", ()):
            line = min(line, decorator.lineno)
        lines.add(line)
    return sorted(lines)


def _not_chunkable(screened: Screened) -> Optional[str]:
    if screened.tree is None:
        return "CPython could not parse it"
    if screened.normalised is not None:
        return "form feeds in indentation"
    if len(screened.tree.body) < 2:
        return "fewer than two statements"
    return None


def _not_chunkable_text(text: str) -> Optional[str]:
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return "lone carriage returns"  # LibCST does not give such files back as they were
    return None


def _parse_chunk(piece: str, first: bool, last: bool, config: Optional[Tuple[str, str]]) -> _Chunk:
    """Parse one piece: behind a statement fixing the newline and indent (``config``), and,
    unless it ends the file, followed by the sentinel statement."""
    prefix = "" if config is None else f"if 1:{config[0]}{config[1]}pass{config[0]}"
    source = prefix + piece + ("" if last else _SENTINEL)
    module = cst.parse_module(source)
    statements = list(module.body)
    if prefix:
        dummy = statements.pop(0)
        if not isinstance(dummy, cst.If) or not statements or statements[0].leading_lines:
            raise _Unexpected("the prefix was not read as one statement")
    carry: Tuple[cst.EmptyLine, ...] = ()
    if not last:
        sentinel = statements.pop() if statements else None
        if not _is_sentinel(sentinel) or module.footer:
            raise _Unexpected("the sentinel was not read as the last statement")
        assert sentinel is not None
        carry = tuple(sentinel.leading_lines)
    if not statements or (module.header and not first) or (statements[0].leading_lines and not first):
        raise _Unexpected("a chunk does not start with its statement")
    indented = module.default_indent != _FALLBACK_INDENT or any(_indents(s) for s in statements)
    return _Chunk(module, tuple(statements), carry, indented)


def _is_sentinel(node: Any) -> bool:
    return (
        isinstance(node, cst.SimpleStatementLine)
        and len(node.body) == 1
        and isinstance(node.body[0], cst.Pass)
        and node.trailing_whitespace.comment is None
    )


def _indents(node: Any) -> bool:
    """Whether a statement holds an indented block (an INDENT token: a block's or a match's)."""
    if isinstance(node, (cst.IndentedBlock, cst.Match)):
        return True
    if not isinstance(node, cst.CSTNode) or isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return False
    for name in ("body", "orelse", "handlers", "finalbody"):
        value = getattr(node, name, None)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if _indents(item):
                return True
    return False
