"""What the probe scripts (probe_interrupts.py, probe_race.py, probe_fuzz_mutations.py) share.

Running the real ``conclint`` command from any checkout, in a session of its own so that
its children can be found and stopped; snapshots of directory trees; CPython compile
checks; the corpus of fixture files; and the summary every probe ends with.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, DefaultDict, Dict, Iterable, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
TMP_SUFFIX = ".conclint-tmp"  # what runner.write_atomic names its temporary files
_ACTIVE: set = set()  # sessions of runs started and not yet finished, stopped if the probe stops


def make_parser(doc: str) -> argparse.ArgumentParser:
    """A probe's parser: the docstring's first line as description, the rest after the
    options, and the arguments every probe takes."""
    first, _, rest = doc.partition("\n")
    parser = argparse.ArgumentParser(description=first, epilog=rest, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conclint-src", type=Path, default=REPO / "src", metavar="PATH",
                        help="the src directory of the conclint checkout to probe (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs conclint (default: this one)")
    parser.add_argument("--jobs", type=int, default=None, help="pass -j/--jobs to conclint (default: conclint's own)")
    return parser


def seeded(args: argparse.Namespace) -> random.Random:
    """The probe's random generator; prints the seed so that a run can be repeated."""
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**32)
    print(f"seed: {args.seed} (repeat with --seed {args.seed})", flush=True)
    return random.Random(args.seed)


def check_src(src: Path) -> Path:
    src = src.resolve()
    if not (src / "conclint" / "__init__.py").is_file():
        sys.exit(f"error: {src} holds no conclint package (use --conclint-src)")
    return src


# ---------------------------------------------------------------------- running conclint
@dataclass
class Conclint:
    """How to start the conclint of one checkout."""

    src: Path
    python: str = sys.executable
    jobs: Optional[int] = None
    extra_env: Optional[Dict[str, str]] = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Conclint":
        return cls(check_src(args.conclint_src), args.python, args.jobs)

    def command(self, *arguments: str) -> List[str]:
        jobs = ["--jobs", str(self.jobs)] if self.jobs else []
        return [self.python, "-m", "conclint", *jobs, *arguments]

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.src), *filter(None, [env.get("PYTHONPATH")])])
        env.pop("NO_COLOR", None)
        env.update(self.extra_env or {})
        return env

    def start(self, *arguments: str, cwd: Path) -> "Run":
        """Start conclint in a new session (its id is the run's pid).

        Its output goes to temporary files, not pipes: children that outlive a killed run
        would hold pipes open, and reading them would wait for those children."""
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        started = time.monotonic()
        process = subprocess.Popen(
            self.command(*arguments), cwd=str(cwd), env=self.env(), stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True,
        )
        _ACTIVE.add(process.pid)
        return Run(process, started, out, err)

    def run(self, *arguments: str, cwd: Path, timeout: float) -> "Outcome":
        """Run conclint to its end or to ``timeout`` (then its whole session is killed)."""
        return self.start(*arguments, cwd=cwd).finish(timeout)


@dataclass
class Outcome:
    returncode: Optional[int]  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float
    leftovers: int = 0  # processes of the run's session still alive after it ended

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


@dataclass
class Run:
    """A conclint process started by ``Conclint.start``."""

    process: subprocess.Popen
    started: float  # time.monotonic() just before it was started
    out: IO[bytes]
    err: IO[bytes]
    hang_report: Optional[List[str]] = None  # what its processes were doing at the timeout

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def finish(self, timeout: float, grace: float = 1.0) -> Outcome:
        """Wait until ``timeout`` seconds from the start, then kill the run's session; count
        (then kill) processes of its session that outlive it by ``grace`` seconds."""
        try:
            code: Optional[int] = self.process.wait(timeout=max(timeout - (time.monotonic() - self.started), 0.01))
        except subprocess.TimeoutExpired:
            self.hang_report = describe_session(self.pid)
            kill_session(self.pid)
            self.process.wait()
            code = None
        seconds = time.monotonic() - self.started
        leftovers = reap_session(self.pid, grace)
        _ACTIVE.discard(self.pid)
        texts = []
        for handle in (self.out, self.err):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
            handle.close()
        return Outcome(code, texts[0], texts[1], seconds, leftovers)


def session_members(sid: int) -> List[int]:
    """Live (not zombie) processes of session ``sid`` (Linux /proc; elsewhere none are seen)."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry))
    return members


def describe_session(sid: int) -> List[str]:
    """One line per live process of session ``sid``: role, state, threads and kernel wait."""
    lines = []
    for pid in session_members(sid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0].decode()
            with open(f"/proc/{pid}/wchan") as handle:
                wchan = handle.read() or "-"
            threads = len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
        lines.append(f"pid {pid} ({'main' if pid == sid else 'child'}): state {state}, {threads} threads, waiting in {wchan}")
    return lines


def kill_session(sid: int) -> None:
    """SIGKILL every process of the session (and process group) ``sid``, which a probe started."""
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(sid, signal.SIGKILL)
    except OSError:
        pass


def reap_session(sid: int, grace: float) -> int:
    """How many processes of session ``sid`` are still alive ``grace`` seconds from now
    (they are given that long to exit on their own); those are then killed."""
    deadline = time.monotonic() + grace
    while session_members(sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = session_members(sid)
    if left:
        kill_session(sid)
        for _ in range(40):  # bounded: SIGKILL takes effect at once
            if not session_members(sid):
                break
            time.sleep(0.05)
    return len(left)


def internal_error(outcome: Outcome) -> Optional[str]:
    """What in a run's result shows a crash of conclint itself, in one line, or None.

    Exit codes 0 and 1 are results; 2 is an error (internal, or a usage error, which a
    probe never provokes on purpose); anything else (a signal, an uncaught exception's 1
    comes with a traceback) is a crash."""
    lines = outcome.stderr.splitlines()
    for marker in ("Traceback (most recent call last)", "internal error"):
        for line in lines:
            if marker in line:
                if marker.startswith("Traceback"):
                    return "Traceback: " + (lines[-1].strip() if lines else "")
                return line.strip()
    if outcome.returncode not in (0, 1):
        errors = [line for line in lines if line.startswith("conclint: error:")]
        return f"exit code {outcome.returncode}: " + (errors[0] if errors else (lines[-1] if lines else "no message"))
    return None


# ---------------------------------------------------------------------- files
def corpus() -> List[Path]:
    """Real files with fixable findings: each fixture that has a ``.fixed.py`` twin, and the seeds."""
    files = [p for p in FIXTURES.rglob("*.py")
             if not p.name.endswith(".fixed.py") and p.with_name(p.stem + ".fixed.py").exists()]
    files += [p for p in (FIXTURES / "seeds").glob("*.py") if p not in files]
    return sorted(files)


def snapshot(root: Path) -> Dict[str, bytes]:
    """Every file below ``root`` (hidden ones too): relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def listing(root: Path) -> set:
    """Every entry below ``root``, directories and hidden files included."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@functools.lru_cache(maxsize=512)
def compiles(data: bytes, name: str = "<probe>") -> bool:
    """Whether CPython compiles ``data`` (any failure of the compiler counts as no)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, name, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError, UnicodeError, LookupError, TypeError):
            return False
    return True


class TempDir:
    """A temporary directory removed on exit, whatever happened."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        for sid in list(_ACTIVE):  # a probe stopped mid-run (Ctrl-C reaches only its own group)
            kill_session(sid)
            _ACTIVE.discard(sid)
        shutil.rmtree(self.path, ignore_errors=True)


def directories(root: Path) -> List[Path]:
    return [root, *(p for p in root.rglob("*") if p.is_dir())]


class DirectoryWatch:
    """Notices the first write to any of some directories (a file created, renamed or removed
    changes its directory's mtime): how a probe learns when conclint starts writing."""

    def __init__(self, dirs: Iterable[Path]) -> None:
        self.stamps = {d: d.stat().st_mtime_ns for d in dirs}

    def changed(self) -> bool:
        for directory, stamp in self.stamps.items():
            try:
                if directory.stat().st_mtime_ns != stamp:
                    return True
            except OSError:
                return True
        return False


@dataclass
class Timing:
    """A run measured without interference: its duration and when it began to write."""

    seconds: float
    first_write: Optional[float]  # seconds from the start; None when it wrote nothing

    @property
    def writing(self) -> float:
        """How long it wrote (from its first write to its end)."""
        start = self.first_write if self.first_write is not None else 0.85 * self.seconds
        return max(self.seconds - start, 0.0)

    def pick(self, rng: random.Random) -> float:
        """A moment to strike, uniform over the run."""
        return rng.uniform(0.0, self.seconds)

    def strike_while_writing(self, run: "Run", watcher: "DirectoryWatch", rng: random.Random, timeout: float) -> float:
        """Wait for ``run``'s first write, then a delay drawn uniformly up to the length of this
        run's writing phase: a moment within the live run's writing, however long it took to
        get there. Returns the seconds since the start (the run may have ended meanwhile)."""
        if wait_for_first_write(run, watcher, timeout):
            time.sleep(rng.uniform(0.0, self.writing))
        return time.monotonic() - run.started


def measure(conclint: Conclint, arguments: Sequence[str], cwd: Path, watch: Path, timeout: float) -> Tuple[Timing, Outcome]:
    """Run conclint once and time it, noting when the first directory below ``watch`` changed."""
    watcher = DirectoryWatch(directories(watch))
    run = conclint.start(*arguments, cwd=cwd)
    first_write = None
    deadline = run.started + timeout
    while run.running() and time.monotonic() < deadline:
        if first_write is None and watcher.changed():
            first_write = time.monotonic() - run.started
        time.sleep(0.002)
    outcome = run.finish(timeout)
    if first_write is None and watcher.changed():
        first_write = outcome.seconds
    return Timing(outcome.seconds, first_write), outcome


def wait_for_first_write(run: Run, watcher: DirectoryWatch, timeout: float) -> bool:
    """Wait (polling every millisecond) until the run writes below the watched directories;
    False if it ended first or ``timeout`` seconds from its start passed."""
    deadline = run.started + timeout
    while run.running() and time.monotonic() < deadline:
        if watcher.changed():
            return True
        time.sleep(0.001)
    return False


def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# ---------------------------------------------------------------------- reporting
def summary(title: str, rows: Sequence[Tuple[str, object]]) -> None:
    print(f"\n== {title} ==")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def tallies() -> "DefaultDict[str, Counter]":
    """Named counters, made on first use: ``counts["exit codes"][code] += 1``."""
    return defaultdict(Counter)


def show_total(counter: "Dict[str, int]") -> str:
    """``7 (a: 4, b: 3)``."""
    return f"{sum(counter.values())} ({show_counter(counter)})"


def show_counter(counter: "Dict[str, int]", most: int = 20) -> str:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return ", ".join(f"{k}: {v}" for k, v in items[:most]) or "none"
