"""Apply fixes: non-overlapping tree changes, re-lint, repeat until nothing changes."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from conclint.analysis.parsing import ParseFailure, parse_module
from conclint.applier import apply_changes, select_fixes
from conclint.engine import FileResult, compile_error, declared_encoding, lint_source
from conclint.findings import Edit, Finding
from conclint.noqa_audit import apply_edits
from conclint.settings import Settings

if TYPE_CHECKING:
    from conclint.analysis.incremental import ParseCache

# Each pass applies at least one fix, and fixes nested in another's wait for the next pass
# (`currentThread().getName()`: two fixes, one inside the other): a file with many of them
# takes many passes. Rules that undo each other are caught by a content seen before.
MAX_PASSES = 100


@dataclass
class FixOutcome:
    path: str
    original: bytes
    fixed: bytes
    applied: int = 0
    error: Optional[str] = None
    remaining: Optional[FileResult] = None
    # The original's findings: what stays true of the file if the fix is not written.
    initial: Optional[FileResult] = None
    # The findings whose fixes were applied, in order (``--show-fixes``), at their places in
    # the original (``_placed_in_original``).
    fixes: List[Finding] = field(default_factory=list)
    # Fixes left out because applying them gave code that does not parse or compile (each
    # "CODE at line N: why"); the others were applied.
    rejected: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original and self.error is None


def fix_source(
    data: bytes, path: str, settings: Settings, *, unsafe: bool = False, cache: Optional[ParseCache] = None,
    with_edits: bool = False,
) -> FixOutcome:
    """Apply fixes to ``data`` until none applies; ``cache`` (an editor buffer's, see
    ``lint_source``) spares each pass the parse of what the last one left unchanged;
    ``with_edits``: the findings (the first pass's and what remains) carry their fixes' edits.

    Guarantees, or the file is left unchanged with ``error`` saying why: every pass's
    output parses (with LibCST, and with CPython when the input did); the result is a
    fixed point, so fixing it again changes nothing. Untouched code keeps its bytes:
    LibCST regenerates it exactly, with the original encoding, BOM and newlines.
    """
    if b"\r" in data and b"\n" not in data:
        # Lines ended by CR alone: fixed as the LF copy (same lines and columns, which LibCST
        # writes back exactly), then given back their CRs (see ``engine.LONE_CR``).
        outcome = fix_source(data.replace(b"\r", b"\n"), path, settings, unsafe=unsafe, cache=cache, with_edits=with_edits)
        outcome.original = data
        outcome.fixed = outcome.fixed.replace(b"\n", b"\r")
        return outcome
    outcome = FixOutcome(path, data, data)
    current = data
    seen = {hashlib.blake2b(data).digest()}  # (digests: a hundred copies of a large file would not be small)
    # Findings whose fix gave broken code, by what names them from one pass to the next.
    refused: Set[Tuple[str, str, str]] = set()
    for passes in itertools.count():
        result = lint_source(current, path, settings, keep_tree=True, cache=cache, with_edits=with_edits)
        outcome.remaining = result
        if passes == 0:
            first = outcome.initial = result
        if result.parse_failed:
            break
        offered = [report for finding, report in result.reports if _named(finding) not in refused]
        try:
            fixes = select_fixes(result.module, offered, unsafe) if result.module is not None else []
        except RecursionError:  # LibCST's visitors recurse: a tree this deep cannot be rewritten
            return _unchanged(outcome, first, "the code is nested too deeply for fixes to be applied")
        # Text fixes (CCL900's, on comments) once no tree fix is left: the next pass re-lints.
        texts = [] if fixes else [f for f in result.text_fixes if f.fix is not None and (unsafe or f.fix.applicability == "safe")]
        edits = [e for f in texts if f.fix is not None for e in f.fix.edits]
        if not fixes and not edits:
            break
        if result.unfixable:
            return _unchanged(outcome, first, result.unfixable)
        if passes == MAX_PASSES:
            # What the passes wrote so far is kept (each pass's result was checked); the rest
            # is left for another run.
            outcome.rejected.append(f"fixes still apply after {MAX_PASSES} passes: the rest are left for another run")
            break
        encoding = result.module.encoding if result.module is not None else declared_encoding(current)
        if passes == 0:
            problem = _encoding_problem(data, encoding)
            if problem:
                return _unchanged(outcome, first, problem)
        try:
            new_bytes = apply_changes(result.module, fixes).bytes if fixes else _edited(current, encoding, edits)
        except Exception as exc:  # a fix that cannot be rendered is a bug: keep the file
            return _unchanged(outcome, first, f"a fix failed to apply ({type(exc).__name__}: {exc})")
        if new_bytes == current:
            break  # fixes that change nothing would be offered forever: stop
        digest = hashlib.blake2b(new_bytes).digest()
        if digest in seen:
            return _unchanged(outcome, first, "fixes undo each other (a pass gave back an earlier content)")
        seen.add(digest)
        problem = _reparse_problem(current, new_bytes)
        if problem and fixes:
            # One fix that breaks the code must not cost the file its other fixes: find the
            # ones that do alone, leave them out (and say so), and go on with the rest.
            module = result.module
            assert module is not None  # (there are tree fixes)
            alone = [
                (fix, problem if len(fixes) == 1 else _reparse_problem(current, apply_changes(module, [fix]).bytes))
                for fix in fixes
            ]
            broken = [(fix, why) for fix, why in alone if why]
            named = {id(report.fix): finding for finding, report in result.reports}
            for fix, why in broken:
                finding = named[id(fix)]
                refused.add(_named(finding))
                outcome.rejected.append(f"{finding.code} at line {finding.line}, the code would break: {why}")
            if broken:
                continue  # the same text again, without them
            # Each is fine alone, not together: one at a time.
            fixes = fixes[:1]
            new_bytes = apply_changes(module, fixes).bytes
            problem = _reparse_problem(current, new_bytes)
        if problem:
            return _unchanged(outcome, first, f"the fixed code was rejected: {problem}")
        outcome.applied += len(fixes) if fixes else len(texts)
        if fixes:
            chosen = {id(fix) for fix in fixes}
            outcome.fixes.extend(f for f, report in result.reports if id(report.fix) in chosen)
        else:  # CCL900's text fixes, each a finding of its own
            outcome.fixes.extend(texts)
        current = new_bytes
    outcome.fixed = current
    outcome.fixes = _placed_in_original(outcome.fixes, first.findings)
    if refused and outcome.remaining is not None:  # no longer offered as fixable: fixing them was just refused
        outcome.remaining.findings = [
            replace(f, fix=None) if f.fix is not None and _named(f) in refused else f for f in outcome.remaining.findings
        ]
    return outcome


def _named(finding: Finding) -> Tuple[str, str, str]:
    """What names a finding from one pass to the next (lines move: not its position)."""
    return finding.code, finding.message, finding.fingerprint


def _placed_in_original(fixes: List[Finding], original: List[Finding]) -> List[Finding]:
    """``fixes`` with the positions of the same findings in the original: a fix applied in a
    later pass was reported on the file an earlier pass left, whose lines may have moved. The
    same finding is the first unused one of the original with its code, message and
    fingerprint (the code of its lines, whitespace aside), else the only unused one with its
    code and message (an earlier fix on the same line changed the fingerprint). One the
    original does not have (an earlier fix made it) keeps the position it was reported at."""
    unused: Dict[Tuple[str, str], List[Finding]] = {}
    for o in original:
        unused.setdefault((o.code, o.message), []).append(o)
    placed = []
    for f in fixes:
        alike = unused.get((f.code, f.message), [])
        at = next((o for o in alike if o.fingerprint == f.fingerprint), alike[0] if len(alike) == 1 else None)
        if at is not None:
            alike.remove(at)
            f = replace(f, line=at.line, column=at.column, end_line=at.end_line, end_column=at.end_column)
        placed.append(f)
    return placed


def _edited(data: bytes, encoding: str, edits: List[Edit]) -> bytes:
    """``data`` with text ``edits`` (positions in its text, a BOM aside) made."""
    text = data.decode(encoding)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return (bom + apply_edits(text[len(bom):], edits)).encode(encoding)


# Encodings whose decoding is undone byte for byte by encoding (no need to check).
_FAITHFUL = frozenset({"utf-8", "utf-8-sig", "utf8", "ascii", "iso-8859-1", "latin-1"})


def _encoding_problem(data: bytes, encoding: str) -> Optional[str]:
    """Why the fixed file could not be written back in ``encoding`` with its untouched
    bytes kept, or None. LibCST writes text encoded again: under a cookie such as
    ``unicode_escape`` that would turn every newline into ``\\n``."""
    if encoding.lower() in _FAITHFUL:
        return None
    try:
        same = data.decode(encoding).encode(encoding) == data
    except Exception as exc:  # idna, for one, cannot encode labels over 63 characters
        return f"cannot fix: encoding the file back as {encoding} fails ({type(exc).__name__}: {exc})"
    if not same:
        return f"cannot fix: encoding the file back as {encoding} would change bytes no fix touches"
    return None


def _unchanged(outcome: FixOutcome, first: FileResult, why: str) -> FixOutcome:
    """Give up fixing: the original bytes, with the findings they have."""
    outcome.error = f"{why}; file left unchanged"
    outcome.fixed = outcome.original
    outcome.applied = 0
    outcome.fixes = []
    # Its findings stand, no longer offering the fixes this run just found it cannot apply.
    first.findings = [replace(f, fix=None) if f.fix is not None else f for f in first.findings]
    outcome.remaining = first
    return outcome


def _reparse_problem(before: bytes, after: bytes) -> Optional[str]:
    """Why ``after`` (fixed ``before``) does not parse, compile or read as the same text, or None."""
    try:
        parse_module(after)
    except ParseFailure as exc:
        return f"it would not parse (line {exc.line}: {exc.message})"
    if declared_encoding(after) != declared_encoding(before):
        # A removed first line can bring a third line's coding comment into the two Python
        # reads it from (or take one out): every non-ASCII character would change meaning.
        return f"it would make Python read the file as {declared_encoding(after)}, not {declared_encoding(before)}"
    # Compiled, not only parsed (the symbol table's errors too), unless CPython rejects the
    # original as well: then there is nothing to compare against.
    if compile_error(before) is not None:
        return None
    error = compile_error(after)
    if error is not None:
        return f"it would not compile ({type(error).__name__}: {error})"
    return None
