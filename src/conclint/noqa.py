"""``# noqa`` comments, read as users read them: only real comments count (the tokenizer
says which ``#`` starts one), never text inside strings or docstrings.

- ``# noqa`` on the line a finding starts silences every rule there; ``# noqa: CCL201,CCL301``
  (any spacing, commas or spaces between codes, ``# noqa : CCL201`` too) those rules, or
  those prefixes. A line that ends inside a multi-line string or with a backslash cannot
  hold a comment: the one at the end of that string or continuation covers it
  (``continued_lines``), as in ruff and flake8.
- ``# conclint: noqa`` alone in a comment skips the whole file (so does flake8's
  ``# flake8: noqa`` on a line of its own, whatever follows it, as flake8 reads it); ``# conclint: noqa: CCL107[,…]``
  turns those rules off in the whole file. Either must be a comment on a line of its own (as
  ruff's ``# ruff: noqa``): at the end of a line of code it is reported and ignored. Anything
  else that starts like a conclint noqa (``# conclint: noqa CCL107``, a missing colon) is
  malformed: reported, never guessed at.

Codes are case-insensitive, as everywhere in conclint.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

_CODE = r"[A-Za-z]+[0-9]+"
_CODES = rf"{_CODE}(?:[\s,]+{_CODE})*"
# `# noqa`, `# noqa: CODES`, `# noqa : CODES`, `#noqa:CODES`; a bare noqa silences everything.
_LINE_RE = re.compile(rf"#\s*noqa(?:\s*:\s*(?P<codes>{_CODES}))?", re.IGNORECASE)
# At the start of a comment, as flake8 and ruff read theirs: prose that mentions one is no directive.
_FILE_RE = re.compile(r"#\s*conclint\s*:\s*noqa\b(?P<rest>.*)", re.IGNORECASE | re.S)
_FILE_CODES_RE = re.compile(rf"\s*:\s*(?P<codes>{_CODES})\s*,?\s*$")
# Cheap byte-level screens: a file without these holds no directive of either kind.
_FILE_HINTS = (re.compile(rb"conclint\s*:\s*noqa", re.IGNORECASE), re.compile(rb"flake8\s*[:=]\s*noqa", re.IGNORECASE))
# flake8's (and ruff's) `# flake8: noqa`, bare: every tool of the flake8 family skips the file.
# As flake8 reads it (`# flake8[:=]\s*noqa`, whatever follows: codes, words), so that the command
# and conclint's own flake8 plugin agree (ruff reads codes after it as the ones to skip).
_FLAKE8_FILE_RE = re.compile(r"#\s*flake8[:=]\s*noqa", re.IGNORECASE)
_LINE_HINT = re.compile(r"noqa", re.IGNORECASE)
_SPLIT_RE = re.compile(r"[,\s]+")


def _codes(text: str) -> Set[str]:
    return {c.upper() for c in _SPLIT_RE.split(text.strip()) if c}


def line_codes(comment: str) -> Optional[Set[str]]:
    """None when ``comment`` (or a line's text) has no noqa; an empty set for a bare noqa."""
    match = _LINE_RE.search(comment)
    if match is None:
        return None
    return _codes(match.group("codes") or "")


def is_suppressed(code: str, comment: str) -> bool:
    codes = line_codes(comment)
    if codes is None:
        return False
    return not codes or any(code.upper().startswith(c) for c in codes)


@dataclass(frozen=True)
class Listed:
    """The codes a noqa comment lists, where they are in it: ``codes`` as written, the span of
    the list (``start``, ``end``) and of the whole directive (``directive``) in the comment."""

    codes: Tuple[str, ...]
    start: int
    end: int
    directive: Tuple[int, int]


def listed_in_line_noqa(comment: str) -> Optional[Listed]:
    """The codes of the ``# noqa: CODES`` in ``comment``; None for none or a bare noqa."""
    match = _LINE_RE.search(comment)
    if match is None or match.group("codes") is None:
        return None
    return _listed(match.group("codes"), match.start("codes"), (match.start(), match.end()))


def listed_in_file_noqa(comment: str) -> Optional[Listed]:
    """The codes of a well-formed ``# conclint: noqa: CODES`` comment, else None."""
    match = _FILE_RE.match(comment)
    if match is None:
        return None
    listed = _FILE_CODES_RE.match(match.group("rest"))
    if listed is None:
        return None
    start = match.start("rest") + listed.start("codes")
    return _listed(listed.group("codes"), start, (0, len(comment)))


def _listed(text: str, start: int, directive: Tuple[int, int]) -> Listed:
    codes = tuple(c for c in _SPLIT_RE.split(text) if c)
    return Listed(codes, start, start + len(text), directive)


def comment_tokens(source: str) -> List[Tuple[int, int, str]]:
    """(line, 1-based column, text) of each comment of ``source``."""
    return _comment_tokens(source)


def continued_lines(source: str) -> Dict[int, int]:
    """For each line that cannot hold a comment of its own, because it ends inside a
    multi-line string or with a backslash continuation, the line where that run ends: a
    ``# noqa`` there covers it (as in ruff and flake8). A source the tokenizer gives up on
    has none."""
    return continuations(source) or {}


def continuations(source: str) -> Optional[Dict[int, int]]:
    """``continued_lines``, None when the tokenizer gives up on ``source``."""
    lines = io.StringIO(source, newline=None).readlines()
    follows: Dict[int, int] = {}
    commented: Set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source, newline=None).readline):
            if token.type == tokenize.COMMENT:
                commented.add(token.start[0])
            elif (token.type == tokenize.STRING or token.type in _STRING_PARTS) and token.end[0] > token.start[0]:
                for line in range(token.start[0], token.end[0]):
                    follows[line] = token.end[0]
    except (tokenize.TokenError, SyntaxError):
        return None
    for number, physical in enumerate(lines, 1):
        if number not in follows and number not in commented and physical.rstrip("\r\n").endswith("\\"):
            follows[number] = number + 1
    out: Dict[int, int] = {}
    for line in follows:
        end, hops = line, 0
        while end in follows and hops <= len(follows):  # a string ending on a continued line, and so on
            end, hops = follows[end], hops + 1
        out[line] = end
    return out


# Python 3.12 splits f-strings into tokens; their middle part may span lines.
_STRING_PARTS = frozenset(getattr(tokenize, name) for name in ("FSTRING_MIDDLE",) if hasattr(tokenize, name))


def comments(source: str) -> Dict[int, str]:
    """The comment on each line of ``source`` that has one (1-based line numbers, as the
    tokenizer counts them)."""
    return {line: text for line, _, text in _comment_tokens(source)}


def _comment_tokens(source: str) -> List[Tuple[int, int, str]]:
    """(line, 1-based column, text) of each comment; a source the tokenizer gives up on
    keeps those read so far."""
    out: List[Tuple[int, int, str]] = []
    try:
        # Universal newlines: a lone CR ends a line, as CPython reads it (lines and columns
        # are unchanged: CR and CRLF become one LF at the line's end).
        for token in tokenize.generate_tokens(io.StringIO(source, newline=None).readline):
            if token.type == tokenize.COMMENT:
                out.append((token.start[0], token.start[1] + 1, token.string))
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


@dataclass
class FileDirectives:
    """What the ``# conclint: noqa`` comments of one file say."""

    skip: bool = False  # `# conclint: noqa`: the whole file
    codes: FrozenSet[str] = frozenset()  # `# conclint: noqa: CODES`: these rules, everywhere
    # (line, column, comment, why) of each comment that looks like a directive but is not
    # one (``MALFORMED``), or is one at the end of a line of code (``NOT_ALONE``).
    malformed: List[Tuple[int, int, str, str]] = field(default_factory=list)

    def disables(self, code: str) -> bool:
        return any(code.startswith(c) for c in self.codes)


def says_noqa(data: bytes) -> bool:
    """Whether the bytes hold "noqa" in any case: what every directive needs. (A copy in
    lower case costs a fifth of a case-blind regex's scan over the standard library.)"""
    return b"noqa" in data.lower()


def file_directives(data: bytes) -> Optional[FileDirectives]:
    """The file-level directives of the source ``data``; None when it has none (the common
    case, decided on the bytes without tokenizing)."""
    # (one regex with both as alternatives cost three times as much over the standard library:
    # a scan for the word first, which most files fail, then each)
    if not says_noqa(data) or not any(hint.search(data) for hint in _FILE_HINTS):
        return None
    from conclint.reading import decode_source

    source = decode_source(data)
    found = FileDirectives()
    codes: Set[str] = set()
    lines: Optional[List[str]] = None
    for line, column, text in _comment_tokens(source):
        match = _FILE_RE.match(text)
        if match is None and not _FLAKE8_FILE_RE.match(text):
            continue
        alone = True
        if column > 1:
            if lines is None:  # as the tokenizer splits them
                lines = io.StringIO(source, newline=None).readlines()
            alone = not (line <= len(lines) and lines[line - 1][: column - 1].strip(" \t\f"))
        if match is None:  # flake8's: a file directive on a line of its own, none at the end of code
            found.skip = found.skip or alone
            continue
        if not alone:
            found.malformed.append((line, column, text.strip(), NOT_ALONE))
            continue
        rest = match.group("rest")
        if not rest.strip():
            found.skip = True
            continue
        listed = _FILE_CODES_RE.match(rest)
        if listed:
            codes |= _codes(listed.group("codes"))
        else:
            found.malformed.append((line, column, text.strip(), MALFORMED))
    found.codes = frozenset(codes)
    return found


def file_noqa(data: bytes) -> bool:
    """Whether a ``# conclint: noqa`` comment skips the whole file."""
    found = file_directives(data)
    return found is not None and found.skip


def may_have_line_noqa(source: str) -> bool:
    return _LINE_HINT.search(source) is not None


MALFORMED = (
    "malformed conclint noqa comment {comment!r}: write `# conclint: noqa` (the whole file) or "
    "`# conclint: noqa: CODE[,CODE]` (those rules in the whole file); it was ignored"
)
NOT_ALONE = (
    "file-level directive {comment!r} at the end of a line of code: it must be a comment on a "
    "line of its own (for this line alone, write `# noqa`); it was ignored"
)
