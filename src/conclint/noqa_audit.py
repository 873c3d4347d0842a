"""CCL900 (``rules/CCL900.md``): the conclint codes of ``# noqa`` comments that silence
nothing, or name no rule, found after the engine has applied the comments.

A code is judged only when this run could have used it:

- a code of another tool (``E501``, ``RUF100``: not ``CCL…``) never is;
- a ``CCL`` code that no rule's code starts with is *unknown*, whatever the selection;
- a code silencing a finding on its line (a ``# conclint: noqa: CODES`` comment: in its
  file) is *used*;
- any other code is *unused* only if every rule it names (a prefix names several) ran on
  the file: selected, not dropped by per-file ignores, not a project rule (CCL209's
  findings are silenced in the project phase, after this). Rules the gates skipped ran: the
  gates never change results.

A bare ``# noqa`` is never judged: it silences every tool's findings, and conclint cannot
know whether flake8 or another tool needs it. A code matching CCL900 itself silences the
finding its comment would get, so ``# noqa: CCL201, CCL900`` keeps a code on purpose; alone
it silences nothing and is reported.

The fix removes the codes reported, or the whole directive when none is left (the whole
line when the comment was all there was on it), and keeps every other byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import AbstractSet, Callable, FrozenSet, List, Optional, Sequence, Set, Tuple

from conclint.findings import Edit, Finding, FixInfo
from conclint.noqa import Listed, comment_tokens, listed_in_file_noqa, listed_in_line_noqa

_NEWLINES = re.compile(r"\r\n|\r|\n")
OURS = "CCL"


@lru_cache(maxsize=1)
def _known() -> FrozenSet[str]:
    from conclint.settings import known_codes

    return frozenset(known_codes())


@dataclass
class Scope:
    """What a run did to one file: the codes whose rules ran on its lines (``line_codes``)
    and on the whole file (``file_codes``: those with the ones a ``# conclint: noqa: CODES``
    turned off, run for this check), the findings line noqa silenced, by line, and the codes
    of the findings file directives silenced."""

    code: str  # the rule's own code, CCL900
    line_codes: FrozenSet[str]
    file_codes: FrozenSet[str]
    silenced: AbstractSet[Tuple[int, str]]
    file_silenced: AbstractSet[str]
    # Codes of rules with a project part: not judged on the lines ``deferred_lines`` gives
    # (asked only when such a code would be called unused), where the project phase may use
    # them, nor in a file-level noqa of a file with such lines.
    deferred: FrozenSet[str] = frozenset()
    deferred_lines: Callable[[str], AbstractSet[int]] = lambda code: frozenset()


def audit(source: str, path: str, scope: Scope, with_edits: bool) -> List[Finding]:
    """The findings of CCL900 in ``source`` (the file's text, positions as the file's),
    without fingerprints (the engine's to give)."""
    lines = _NEWLINES.split(source)
    out: List[Finding] = []
    for line, column, text in comment_tokens(source):
        listed = listed_in_file_noqa(text)
        if listed is not None and column > 1 and lines[line - 1][: column - 1].strip(" \t\f"):
            continue  # at the end of a line of code: no directive (CCL000 says so), nothing to judge
        if listed is not None:
            # A directive naming CCL900 turns the rule off: ``own`` never matters here.
            unused, unknown = _judge(listed, scope.file_silenced, scope.file_codes, scope.code)
            left = _deferred(unused, scope, None)
            if left:
                unused, unknown = _judge(listed, scope.file_silenced, scope.file_codes - left, scope.code)
            what = "this file-level noqa lists codes whose rules find nothing in the file"
        else:
            listed = listed_in_line_noqa(text)
            if listed is None:
                continue
            silenced = {code for at, code in scope.silenced if at == line}
            unused, unknown = _judge(listed, silenced, scope.line_codes, scope.code)
            left = _deferred(unused, scope, line)
            if left:
                unused, unknown = _judge(listed, silenced, scope.line_codes - left, scope.code)
            what = "this noqa lists codes that silence nothing on its line"
        if not unused and not unknown:
            continue
        out.append(_finding(path, lines, line, column - 1, text, listed, unused, unknown, what, scope.code, with_edits))
    return out


def _deferred(unused: List[str], scope: Scope, line: Optional[int]) -> FrozenSet[str]:
    """The codes of rules with a project part named by ``unused`` that the project phase may
    use on ``line`` (on some line, for a file-level noqa: ``line`` None)."""
    named = {c for code in unused for c in _covered(code.upper()) & scope.deferred}
    return frozenset(
        c for c in named if (line in scope.deferred_lines(c) if line is not None else scope.deferred_lines(c))
    )


def _covered(code: str) -> Set[str]:
    return {k for k in _known() if k.startswith(code)}


def _judge(listed: Listed, silenced: AbstractSet[str], ran: AbstractSet[str], own: str) -> Tuple[List[str], List[str]]:
    """The unused and the unknown codes of ``listed``, given the codes of the findings it
    silenced and those of the rules that ran; a code naming ``own`` (CCL900) is used exactly
    when the comment has something else to report, which it silences."""
    unused: List[str] = []
    unknown: List[str] = []
    selves: List[str] = []
    for written in listed.codes:
        code = written.upper()
        if not code.startswith(OURS):
            continue
        covered = _covered(code)
        if not covered:
            unknown.append(written)
        elif any(s.startswith(code) for s in silenced):
            continue
        elif own.startswith(code):
            selves.append(written)
        elif covered <= ran:
            unused.append(written)
    if unused or unknown:
        return ([], []) if selves else (unused, unknown)
    return [w for w in selves if _covered(w.upper()) <= ran], []


def _finding(
    path: str, lines: Sequence[str], line: int, start: int, comment: str, listed: Listed,
    unused: List[str], unknown: List[str], what: str, code: str, with_edits: bool,
) -> Finding:
    parts = []
    if unused:
        parts.append(f"unused: {', '.join(unused)}")
    if unknown:
        parts.append(f"unknown: {', '.join(unknown)}")
    text = f"{what} ({'; '.join(parts)})"
    dropped = {*unused, *unknown}
    kept = [c for c in listed.codes if c not in dropped]
    fix_message = "Remove the unused codes" if kept else "Remove the noqa comment"
    previous = lines[line - 2] if line >= 2 else ""
    edit = _edit(lines[line - 1], line, start, comment, listed, kept, previous.rstrip("\r\n").endswith("\\")) if with_edits else None
    first, last = listed.directive
    return Finding(
        code, text, path, line, start + first + 1, line, start + last + 1,
        FixInfo("safe", fix_message, [edit] if edit else []),
    )


def _edit(text: str, line: int, start: int, comment: str, listed: Listed, kept: List[str], continued: bool = False) -> Edit:
    """The edit that leaves ``kept`` of the listed codes: the comment rewritten, or removed
    with the blanks before it (the whole line when nothing else is on it, unless the line
    before ends with a backslash, ``continued``: that line needs this one)."""
    end = start + len(comment)
    if kept:
        new = f"{comment[: listed.start]}{', '.join(kept)}{comment[listed.end:]}"
        return Edit(line, start + 1, line, end + 1, new)
    first, last = listed.directive
    # (separators left after the codes go with them: a reason after a comma or a colon stays)
    before, after = comment[:first], comment[last:].lstrip(" \t,;:")
    if before.strip():  # an explanation before the directive stays
        rest = before.rstrip() + (f" {after}" if after else "")
        return Edit(line, start + 1, line, end + 1, rest)
    if after:  # an explanation after it stays, still a comment
        return Edit(line, start + 1, line, end + 1, after if after.startswith("#") else f"# {after}")
    code = text[:start]
    if not code.strip() and not continued:  # the comment was the line: the line goes
        return Edit(line, 1, line + 1, 1, "")
    if not code.strip():  # (a backslash joins it to the line before: the blank line stays)
        return Edit(line, 1, line, end + 1, "")
    kept_code = code.rstrip()
    return Edit(line, len(kept_code) + 1, line, end + 1, "")


def apply_edits(source: str, edits: Sequence[Edit]) -> str:
    """``source`` with ``edits`` (which must not overlap) made: 1-based lines and columns,
    end exclusive, lines broken as Python breaks them."""
    lines = [m.group(0) for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", source)]
    starts = [0]
    for text in lines:
        starts.append(starts[-1] + len(text))

    def offset(line: int, column: int) -> int:
        if line > len(lines):
            return len(source)
        return starts[line - 1] + column - 1

    out = source
    for edit in sorted(edits, key=lambda e: (e.line, e.column), reverse=True):
        out = out[: offset(edit.line, edit.column)] + edit.content + out[offset(edit.end_line, edit.end_column):]
    return out
