"""Baselines: record today's findings, then report only new ones.

A finding is matched by rule, path (relative to the project root) and fingerprint (a
hash of the rule and the normalised text of the reported lines), never by line number,
so edits elsewhere in a file keep it matched. Entries are counted: a baseline with
one entry absorbs one finding, and a second copy of the same pitfall is new.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from conclint import __version__
from conclint.findings import Finding
from conclint.settings import PARSE_ERROR_CODE as PARSE_ERROR, relative_path

VERSION = 1
# As large as a source file may be (runner.MAX_READ_BYTES): a baseline of ~300,000 findings.
MAX_BASELINE_BYTES = 64 * 1024 * 1024

Key = Tuple[str, str, str]


class BaselineError(Exception):
    """The baseline file is missing or malformed; the CLI exits 2 with this message."""


def project_path(path: str, root: Path) -> str:
    """``path`` relative to the project root, in POSIX form: the one per-file-ignores match."""
    return relative_path(path, root)


def _key(finding: Finding, root: Path) -> Key:
    return finding.code, project_path(finding.path, root), finding.fingerprint


def write_baseline(path: Path, findings: Sequence[Finding], root: Path) -> None:
    entries = sorted(
        (
            # line and message are for people reading the file; matching ignores them.
            {"code": f.code, "path": project_path(f.path, root), "fingerprint": f.fingerprint,
             "line": f.line, "message": f.message}
            for f in findings if f.code != PARSE_ERROR  # a file not linted is never accepted
        ),
        key=lambda e: (e["path"], e["line"], e["code"]),
    )
    document = {"version": VERSION, "tool": f"conclint {__version__}", "findings": entries}
    # Renaming over a FIFO or device would replace it (as root, even /dev/null).
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BaselineError(f"{path}: cannot write baseline: not a regular file")
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
    # Write next to the target and rename, so an interrupted run never leaves half a baseline.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None


def read_baseline(path: Path) -> "Counter[Key]":
    from conclint.reading import read_regular

    try:
        data = read_regular(path, MAX_BASELINE_BYTES)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError included
        raise BaselineError(f"{path}: not a conclint baseline (invalid JSON: {exc})") from None
    except RecursionError:
        raise BaselineError(f"{path}: not a conclint baseline (JSON nested too deep)") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        found = document.get("version") if isinstance(document, dict) else None
        raise BaselineError(
            f"{path}: unsupported baseline version {found!r} (expected {VERSION}); rewrite it with --write-baseline"
        )
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    keys: "Counter[Key]" = Counter()
    for number, entry in enumerate(entries, 1):
        try:
            key = (entry["code"], entry["path"], entry["fingerprint"])
        except (TypeError, KeyError):
            raise BaselineError(f"{path}: entry {number} needs 'code', 'path' and 'fingerprint'") from None
        if not all(isinstance(part, str) for part in key):
            raise BaselineError(f"{path}: entry {number}: 'code', 'path' and 'fingerprint' must be strings")
        keys[key] += 1
    return keys


def filter_baseline(
    path: Path, findings: Sequence[Finding], root: Path, linted: Optional[Iterable[str]] = None,
    judged: Optional[Callable[[str, str], bool]] = None,
) -> Tuple[List[Finding], int]:
    """(findings not in the baseline, number of baseline entries nothing matched).

    With ``linted`` (the files this run looked at), only entries for those files, or for
    files that no longer exist, count as unmatched: linting a few changed files must not
    make the rest of the baseline look fixed; with ``judged(code, linted path)``, only
    entries of rules this run applied to their file (``--select CCL3`` says nothing of the
    others). A ``CCL000`` (a file that could not be linted) is never matched: a baseline
    must not hide a syntax error, whichever.
    """
    remaining = read_baseline(path)
    new = []
    # Findings arrive sorted by position, so of two identical copies the first one is
    # taken as the recorded one and the later one is reported.
    for finding in findings:
        key = _key(finding, root)
        if finding.code != PARSE_ERROR and remaining[key] > 0:
            remaining[key] -= 1
        else:
            new.append(finding)
    if linted is None:
        return new, sum(remaining.values())
    looked_at = {project_path(p, root): p for p in linted}
    stale = sum(
        count for (code, file, _), count in remaining.items()
        if not (root / file).exists()
        or (file in looked_at and (judged is None or code == PARSE_ERROR or judged(code, looked_at[file])))
    )
    return new, stale
