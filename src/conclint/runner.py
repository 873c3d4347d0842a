"""Lint or fix many files: reading, parallelism, safe writes."""

from __future__ import annotations

import errno
import gc
import os
import signal
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from conclint.engine import PARSE_ERROR, lint_source
from conclint.findings import Finding
from conclint.settings import Settings

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 16
# Reading is cheap, but not unbounded: a file this large is not source code. (Files
# that reach the parser have a much lower limit: parsing.MAX_PARSE_BYTES.)
MAX_READ_BYTES = 64 * 1024 * 1024


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


class Unreadable(Exception):
    """Why a path named as a Python file cannot be read."""


def read_source(path: str) -> bytes:
    """The file's bytes; raises ``Unreadable`` with a reason fit for a CCL000 finding."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Unreadable(_os_reason(path, exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise Unreadable("it is a directory")
    # FIFOs, sockets and devices would block or never end.
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable("not a regular file")
    if st.st_size > MAX_READ_BYTES:
        raise Unreadable(f"file too large ({st.st_size // (1024 * 1024)} MiB > {MAX_READ_BYTES // (1024 * 1024)} MiB); skipped")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise Unreadable(_os_reason(path, exc)) from None


def _os_reason(path: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"broken symbolic link (to {os.readlink(path)})"
    return exc.strerror or str(exc)


def _load(outcome: FileOutcome, settings: Settings, data: Optional[bytes]) -> Optional[bytes]:
    """``data`` or the file's bytes; None (with a CCL000 finding if enabled) when unreadable."""
    if data is not None:
        return data
    try:
        return read_source(outcome.path)
    except Unreadable as exc:
        if PARSE_ERROR in settings.codes_for(outcome.path):
            # "cannot read" tells the cache not to remember this result.
            outcome.findings.append(Finding(PARSE_ERROR, f"cannot read file: {exc}", outcome.path, 1, 1, 1, 1))
        return None


# Test hook: analysing a path that contains this variable's value raises, as a bug in a
# rule would (an internal error: exit code 2).
RAISE_HOOK = "CONCLINT_TEST_RAISE_ON"


def _raise_for_tests(path: str) -> None:
    raise_on = os.environ.get(RAISE_HOOK)
    if raise_on and raise_on in path:
        raise RuntimeError(f"raised by {RAISE_HOOK}")


def lint_one(path: str, settings: Settings, with_edits: bool = False, data: Optional[bytes] = None) -> FileOutcome:
    outcome = FileOutcome(path)
    data = _load(outcome, settings, data)
    if data is None:
        return outcome
    try:
        _raise_for_tests(path)
        result = lint_source(data, path, settings, with_edits=with_edits)
    except Exception as exc:  # a rule crashed: report it, keep going
        outcome.error = f"{path}: internal error: {type(exc).__name__}: {exc}"
        return outcome
    outcome.findings = result.findings
    return outcome


def fix_one(path: str, settings: Settings, unsafe: bool, data: Optional[bytes] = None) -> FileOutcome:
    from conclint.fixer import fix_source

    outcome = FileOutcome(path)
    data = _load(outcome, settings, data)
    if data is None:
        return outcome
    try:
        _raise_for_tests(path)
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
# A task is (index, kind, path, arg). Pool workers record in a byte array shared with
# the parent which task they are on, so that when one dies the parent knows which files
# it may have died of.
_RUNNING, _DONE = 1, 2
# Test hook: a worker process (never the main one) dies on the spot, as on a crash in
# the native parser, when the path it is about to analyse contains this variable's value.
CRASH_HOOK = "CONCLINT_TEST_CRASH_ON"

_worker_settings: Optional[Settings] = None
_worker_state: Any = None


def _init_worker(settings: Settings, state: Any = None) -> None:
    global _worker_settings, _worker_state
    _worker_settings = settings
    _worker_state = state


def _init_pool_worker(settings: Settings, state: Any = None) -> None:
    _init_worker(settings, state)
    _collect_less()


# Parsing allocates millions of tree nodes that live until the file is done. LibCST's and
# CPython's trees hold no reference cycles, so reference counting frees them; the cyclic
# collector only re-walks every live object each time enough are allocated, which cost a
# quarter of the parse and the screen (measured with benchmarks/phases.py). What is loaded
# at start is frozen out of its sight, and it runs less often.
_GC_THRESHOLD = (10_000, 20, 100)


def _collect_less() -> Tuple[int, int, int]:
    """Tune the cyclic collector for linting; returns the thresholds it replaced."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLD)
    return previous


def _work(task: tuple) -> FileOutcome:
    index, kind, path, arg = task
    assert _worker_settings is not None
    if _worker_state is not None:
        _worker_state[index] = _RUNNING
        crash_on = os.environ.get(CRASH_HOOK)
        if crash_on and crash_on in path:
            os._exit(70)
    outcome = fix_one(path, _worker_settings, arg) if kind == "fix" else lint_one(path, _worker_settings, arg)
    if _worker_state is not None:
        _worker_state[index] = _DONE
    return outcome


def _work_chunk(tasks: List[tuple]) -> List[FileOutcome]:
    return [_work(task) for task in tasks]


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
    tasks = [(i, "fix" if fix else "lint", p, unsafe if fix else with_edits) for i, p in enumerate(paths)]
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        _init_worker(settings)
        previous = _collect_less()
        try:
            return [_work(t) for t in tasks]
        finally:
            gc.set_threshold(*previous)
            gc.unfreeze()
    return _run_pool(tasks, settings, jobs)


def _run_pool(tasks: List[tuple], settings: Settings, jobs: int) -> List[FileOutcome]:
    """Run ``tasks`` in worker processes; a worker that dies costs only the file it was on.

    When a worker dies the pool breaks and stops every worker. The files then marked
    running are the suspects (the culprit and at most ``jobs - 1`` bystanders): each is
    retried alone in its own process, and all other unfinished files go to a new pool.
    """
    import multiprocessing

    settings._triggers.clear()
    # fork is cheap and sees the loaded rules; spawn is the fallback where fork is absent.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    state = context.RawArray("b", len(tasks))
    results: List[Optional[FileOutcome]] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    while pending and _pool_round(pending, tasks, results, settings, jobs, context, state):
        pending = [i for i in pending if results[i] is None]
        # No suspect means a worker died outside any task: isolate everything left.
        suspects = [i for i in pending if state[i] == _RUNNING] or pending
        for i in suspects:
            results[i] = _run_isolated(tasks[i], settings, context, state)
        pending = [i for i in pending if results[i] is None]
    return [r for r in results if r is not None]


def _pool_round(
    indices: List[int], tasks: List[tuple], results: List[Optional[FileOutcome]],
    settings: Settings, jobs: int, context: Any, state: Any,
) -> bool:
    """Run the tasks at ``indices`` in a pool, filling ``results``; True if a worker died."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks([(i, tasks[i][2]) for i in indices], jobs)
    try:
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_pool_worker, initargs=(settings, state)
        ) as pool:
            futures = {pool.submit(_work_chunk, [tasks[i] for i in chunk]): chunk for chunk in chunks}
            for future in as_completed(futures):
                for index, outcome in zip(futures[future], future.result()):
                    results[index] = outcome
    except BrokenProcessPool:
        return True
    return False


def _chunks(items: List[Tuple[int, str]], jobs: int) -> List[List[int]]:
    """Tasks in chunks (fewer round trips), biggest files first and each chunk about the same
    number of bytes: a large file parsed last would keep one worker busy while the others
    idle (the idle share of a stdlib run went from 0.26 s to 0.15 s)."""
    sized = []
    for index, path in items:
        try:
            sized.append((os.stat(path).st_size, index))
        except OSError:
            sized.append((0, index))
    sized.sort(key=lambda item: -item[0])
    budget = max(1, sum(size for size, _ in sized) // (jobs * 16))
    chunks: List[List[int]] = []
    current: List[int] = []
    weight = 0
    for size, index in sized:
        current.append(index)
        weight += size
        if weight >= budget or len(current) >= 32:
            chunks.append(current)
            current, weight = [], 0
    if current:
        chunks.append(current)
    return chunks


def _run_isolated(task: tuple, settings: Settings, context: Any, state: Any) -> FileOutcome:
    """Run one task in a process of its own; its death becomes a CCL000 finding."""
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_isolated_main, args=(task, settings, state, sender))
    process.start()
    sender.close()
    try:
        outcome: Optional[FileOutcome] = receiver.recv()
    except EOFError:  # it died before sending
        outcome = None
    receiver.close()
    process.join()
    if outcome is not None:
        return outcome
    path = task[2]
    code = process.exitcode or 0
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    outcome = FileOutcome(path)
    if PARSE_ERROR in settings.codes_for(path):
        message = f"not analysed: the worker process died on this file ({how})"
        outcome.findings.append(Finding(PARSE_ERROR, message, path, 1, 1, 1, 1))
    return outcome


def _isolated_main(task: tuple, settings: Settings, state: Any, sender: Any) -> None:
    _init_worker(settings, state)
    sender.send(_work(task))
    sender.close()


# ---------------------------------------------------------------------- safe writes
class WriteRefused(Exception):
    pass


def write_atomic(path: str, data: bytes, root: Optional[Path] = None, expected: Optional[bytes] = None) -> bool:
    """Replace the file at ``path`` by ``data``; False when it already holds ``data``.

    The bytes go to a temporary file in the same directory, which then is renamed over
    the original: readers see the old file or the new one, never a torn one, and a full
    disk leaves the original intact. The file keeps its mode (and owner, where allowed).
    A symbolic link is written through to its target, but not when that lies outside
    ``root``. With ``expected``, the file must still hold those bytes (what was fixed),
    so that an edit made while conclint ran is not overwritten.
    """
    target = Path(os.path.realpath(path))
    if root is not None and target != Path(os.path.abspath(path)):
        top = Path(os.path.realpath(root))
        if top not in (target, *target.parents):
            raise WriteRefused(f"{path}: not fixed: it is a symbolic link to {target}, outside {root}")
    st = os.stat(target)
    with open(target, "rb") as handle:
        current = handle.read()
    if current == data:
        return False
    if expected is not None and current != expected:
        raise WriteRefused(f"{path}: not fixed: the file changed while conclint was fixing it")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".conclint-tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                pass  # only root may give files away; the content matters more
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True
