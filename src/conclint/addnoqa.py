"""``conclint --add-noqa``: a ``# noqa: CODES`` on each line where a finding remains (after
selection and the baseline), so that the next run reports nothing but the codes of noqa
comments that silence nothing (CCL900, which gets no comment: ``--fix`` removes them).

Where the comment goes, as ruff's ``--add-noqa`` does: codes are added to the line's own
``# noqa: …`` (its other codes and any text after them kept); a line without one gets
``  # noqa: CODES`` at its end, after any comment it has (``x()  # why`` becomes
``x()  # why  # noqa: CCL201``). The line is the one the finding starts on, the line noqa
is matched against (``engine.analyse``); for a line that ends inside a multi-line string or
with a backslash continuation, the line that run ends on (as ruff). A file the tokenizer
cannot read gets no comment: it is named, and its findings stay. Files are written through ``writes.write_fixed``, as ``--fix`` writes
them: a file saved since it was linted is left alone.
"""

from __future__ import annotations

import hashlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from conclint.findings import Finding
from conclint.noqa import comment_tokens, continuations, is_suppressed, listed_in_line_noqa

if TYPE_CHECKING:
    from conclint.runner import FileOutcome

PARSE_ERROR = "CCL000"  # no comment silences a file that cannot be parsed
UNUSED_NOQA = "CCL900"
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_END = re.compile(r"(?:\r\n|\r|\n)$")


@dataclass
class Added:
    """What ``add_noqa`` did: comments added or extended, lines it could not comment (with
    why), files not written (with why)."""

    comments: int = 0
    skipped: List[str] = field(default_factory=list)
    unwritten: List[str] = field(default_factory=list)


def run_add_noqa(findings: Sequence[Finding], outcomes: Sequence[FileOutcome], root: Path, *, quiet: bool, errors: int) -> int:
    """``--add-noqa`` for the command: write, say what was done; the exit code (2 after
    internal errors, 1 when a file could not be written, else 0)."""
    import click

    added = add_noqa(findings, {o.path: o.digest for o in outcomes}, root)
    for line in added.skipped:
        click.echo(f"conclint: warning: {line}", err=True)
    for line in added.unwritten:
        click.echo(f"conclint: error: {line}", err=True)
    if not quiet:
        click.echo(f"Added {added.comments} noqa comment{'s' if added.comments != 1 else ''}.", err=True)
    return 2 if errors else 1 if added.unwritten else 0


def add_noqa(findings: Sequence[Finding], digests: Mapping[str, Optional[str]], root: Path) -> Added:
    """Write the comments ``findings`` need; ``digests``: the sha256 of the bytes each path
    had when linted (a file changed since is not touched)."""
    from conclint.runner import ending_with_signals
    from conclint.writes import WriteRefused, write_fixed

    wanted: Dict[str, Dict[int, Set[str]]] = {}
    for finding in findings:
        # A noqa comment that silences nothing (CCL900) is not silenced in turn, as ruff's
        # --add-noqa never adds RUF100: that would hide it, and every later stale code on the
        # line, for good. It stays reported; --fix removes it.
        if finding.code not in (PARSE_ERROR, UNUSED_NOQA) and finding.path != "-":
            wanted.setdefault(finding.path, {}).setdefault(finding.line, set()).add(finding.code)
    added = Added()
    for path in sorted(wanted):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            added.unwritten.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        digest = digests.get(path)
        if digest is not None and hashlib.sha256(data).hexdigest() != digest:
            added.unwritten.append(f"{path}: changed since it was linted; no noqa comment added")
            continue
        new, count, skipped = with_comments(data, wanted[path])
        added.skipped.extend(f"{path}:{line}: {why}" for line, why in skipped)
        if not count:
            continue
        try:
            with ending_with_signals():
                write_fixed(path, new, expected=data, root=root)
        except WriteRefused as exc:
            added.unwritten.append(str(exc))
            continue
        except OSError as exc:
            added.unwritten.append(f"{path}: cannot write: {exc.strerror or exc}")
            continue
        added.comments += count
    return added


def with_comments(data: bytes, wanted: Mapping[int, Set[str]]) -> Tuple[bytes, int, List[Tuple[int, str]]]:
    """``data`` with a noqa for ``wanted`` codes on each of its lines; the comments added or
    extended; the lines skipped, each with why. Encoding, BOM and line breaks are kept."""
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return data, 0, [(min(wanted), f"no noqa comment added: cannot decode the file ({exc})")]
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    source = text[len(bom):]
    comments = {line: (column - 1, comment) for line, column, comment in comment_tokens(source)}
    lines = _LINES.findall(source)
    # A line inside a multi-line string or continued by a backslash: the comment goes at the
    # end of its run, where noqa is read for it (``noqa.continued_lines``).
    continued = continuations(source)
    if continued is None:
        return data, 0, [(min(wanted), "no noqa comment added: the file cannot be tokenized")]
    count = 0
    skipped: List[Tuple[int, str]] = []
    placed: Dict[int, Set[str]] = {}
    for line, codes_there in wanted.items():
        placed.setdefault(continued.get(line, line), set()).update(codes_there)
    for line in sorted(placed):
        codes = sorted(placed[line])
        if line > len(lines):
            continue
        physical = lines[line - 1]
        ending = _END.search(physical)
        body = physical[: ending.start()] if ending else physical
        new = commented_line(body, comments.get(line), codes)
        if new != body:
            lines[line - 1] = new + (ending.group(0) if ending else "")
            count += 1
    return (bom + "".join(lines)).encode(encoding), count, skipped


def commented_line(body: str, comment: Optional[Tuple[int, str]], codes: Sequence[str]) -> str:
    """The line ``body`` with ``codes`` in its noqa (``comment``: the line's comment, where)."""
    if comment is None:
        return f"{body.rstrip()}  # noqa: {', '.join(codes)}"
    start, text = comment
    missing = [c for c in codes if not is_suppressed(c, text)]
    if not missing:
        return body
    listed = listed_in_line_noqa(text)
    if listed is None:  # no noqa (a bare one would silence every code already)
        return f"{body.rstrip()}  # noqa: {', '.join(missing)}"
    new = f"{text[: listed.start]}{', '.join([*listed.codes, *missing])}{text[listed.end:]}"
    return body[:start] + new + body[start + len(text):]
