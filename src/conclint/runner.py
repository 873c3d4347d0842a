"""Lint or fix many files: reading, parallelism, safe writes."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

from conclint.engine import PARSE_ERROR, FileResult, lint_source
from conclint.findings import Finding
from conclint.settings import Settings

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 16
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class FileOutcome:
    path: str
    findings: List[Finding] = field(default_factory=list)
    # With fixing: the new content (None when unchanged), fixes applied, and problems.
    fixed: Optional[bytes] = None
    original: Optional[bytes] = None
    applied: int = 0
    error: Optional[str] = None  # an internal error: exit code 2
    notice: Optional[str] = None  # e.g. "fix skipped: ..." shown to the user


def read_source(path: str) -> bytes:
    """The file's bytes; raises OSError/ValueError with a message fit for CCL000."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory")
    if st.st_size > MAX_FILE_BYTES:
        raise ValueError(f"file too large ({st.st_size // (1024 * 1024)} MiB > {MAX_FILE_BYTES // (1024 * 1024)} MiB); skipped")
    with open(path, "rb") as handle:
        return handle.read()


def unreadable(path: str, exc: BaseException) -> Finding:
    if isinstance(exc, OSError):
        why = exc.strerror or str(exc)
        message = f"cannot read file: {why}"
    else:
        message = f"cannot read file: {exc}"
    return Finding(PARSE_ERROR, message, path, 1, 1, 1, 1)


def lint_one(path: str, settings: Settings, with_edits: bool = False, data: Optional[bytes] = None) -> FileOutcome:
    outcome = FileOutcome(path)
    try:
        if data is None:
            data = read_source(path)
    except (OSError, ValueError) as exc:
        if PARSE_ERROR in settings.codes_for(path):
            outcome.findings.append(unreadable(path, exc))
        return outcome
    try:
        result = lint_source(data, path, settings, with_edits=with_edits)
    except Exception as exc:  # a rule crashed: report it, keep going
        outcome.error = f"{path}: internal error: {type(exc).__name__}: {exc}"
        return outcome
    outcome.findings = result.findings
    return outcome


def fix_one(path: str, settings: Settings, unsafe: bool, data: Optional[bytes] = None) -> FileOutcome:
    from conclint.fixer import fix_source

    outcome = FileOutcome(path)
    try:
        if data is None:
            data = read_source(path)
    except (OSError, ValueError) as exc:
        if PARSE_ERROR in settings.codes_for(path):
            outcome.findings.append(unreadable(path, exc))
        return outcome
    try:
        fixed = fix_source(data, path, settings, unsafe=unsafe)
    except Exception as exc:
        outcome.error = f"{path}: internal error while fixing: {type(exc).__name__}: {exc}"
        return outcome
    outcome.original = data
    if fixed.error:
        outcome.notice = f"{path}: {fixed.error}"
    if fixed.changed:
        outcome.fixed = fixed.fixed
        outcome.applied = fixed.applied
    outcome.findings = fixed.remaining.findings if fixed.remaining else []
    return outcome


# ---------------------------------------------------------------------- parallel map
_worker_settings: Optional[Settings] = None


def _init_worker(settings: Settings) -> None:
    global _worker_settings
    _worker_settings = settings


def _work(task: tuple) -> FileOutcome:
    kind, path, arg = task
    assert _worker_settings is not None
    if kind == "fix":
        return fix_one(path, _worker_settings, arg)
    return lint_one(path, _worker_settings, arg)


def run(
    paths: Sequence[str],
    settings: Settings,
    *,
    fix: bool = False,
    unsafe: bool = False,
    with_edits: bool = False,
    jobs: Optional[int] = None,
) -> List[FileOutcome]:
    """Lint (or fix) every path; order of the result follows ``paths``."""
    tasks = [("fix" if fix else "lint", p, unsafe if fix else with_edits) for p in paths]
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        _init_worker(settings)
        return [_work(t) for t in tasks]
    return _run_pool(tasks, settings, jobs)


def _run_pool(tasks: List[tuple], settings: Settings, jobs: int) -> List[FileOutcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    settings._triggers.clear()
    # fork is cheap and sees the loaded rules; spawn is the fallback where fork is absent.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    results: List[Optional[FileOutcome]] = [None] * len(tasks)
    chunk = max(1, min(32, len(tasks) // (jobs * 8) or 1))
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(settings,)) as pool:
            for index, outcome in enumerate(pool.map(_work, tasks, chunksize=chunk)):
                results[index] = outcome
    except BrokenProcessPool:
        pass
    # Files a dead worker took with it are retried one at a time, each in its own process,
    # so one file that kills the interpreter costs only that file.
    for index, outcome in enumerate(results):
        if outcome is None:
            results[index] = _run_isolated(tasks[index], settings, context)
    return [r for r in results if r is not None]


def _run_isolated(task: tuple, settings: Settings, context: Any) -> FileOutcome:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(settings,)) as pool:
            return pool.submit(_work, task).result()
    except BrokenProcessPool:
        path = task[1]
        outcome = FileOutcome(path)
        outcome.findings.append(Finding(PARSE_ERROR, "the worker process died while analysing this file", path, 1, 1, 1, 1))
        return outcome


# ---------------------------------------------------------------------- safe writes
class WriteRefused(Exception):
    pass


def write_atomic(path: str, data: bytes, root: Optional[Path] = None) -> None:
    """Replace ``path`` with ``data`` via a temporary file in the same directory and a rename,
    keeping the file mode; refuses to write through a symlink that leaves ``root``."""
    target = Path(path)
    if target.is_symlink():
        real = target.resolve()
        if root is not None and root.resolve() not in (real, *real.parents):
            raise WriteRefused(f"{path}: not fixed: it is a symbolic link to {real}, outside {root}")
        target = real
    mode = stat.S_IMODE(os.stat(target).st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".conclint-tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
