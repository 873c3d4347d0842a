"""Worker processes: conclint neither hangs nor leaves them behind, whatever the system
refuses it or does to it. Real CLI in a subprocess; every wait is bounded, so that a
regression fails instead of hanging.

A run uses worker processes from runner.PARALLEL_THRESHOLD (16) files on, with --jobs 2.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from helpers import run_cli

GOOD = "import threading\n\nt = threading.Thread()\nt.setDaemon(True)\n"
WARNING = re.compile(r"conclint: warning: cannot start worker processes \([^()\n]+\); running serially\n")
needs_prlimit = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")


def make_files(directory: Path, count: int = 40) -> None:
    for number in range(count):
        (directory / f"f{number:02}.py").write_text(GOOD)


def assert_like_one_job(directory: Path, result, warned: bool) -> None:
    """Exit code and findings as with --jobs 1; the warning, if ``warned``, and nothing else."""
    serial = run_cli("--no-cache", "--jobs", "1", ".", cwd=directory)
    assert serial.returncode == 1 and serial.stdout.count(": CCL301 ") == 40, serial.stdout
    assert (result.returncode, result.stdout) == (serial.returncode, serial.stdout), result.stderr
    assert result.stderr == "" or WARNING.fullmatch(result.stderr), result.stderr
    if warned:
        assert WARNING.fullmatch(result.stderr), result.stderr


@needs_prlimit
@pytest.mark.parametrize("limit", [8, 12, 16, 24])
def test_few_file_descriptors(tmp_path, limit):
    # At 16 the previous pool (concurrent.futures) waited forever for the worker it could
    # not start. At 8 a file at a time can be linted, but no worker be started.
    make_files(tmp_path)
    prefix = ["prlimit", f"--nofile={limit}", "--"]
    result = run_cli("--no-cache", "--jobs", "2", ".", cwd=tmp_path, prefix=prefix, timeout=120)
    assert_like_one_job(tmp_path, result, warned=limit == 8)


# Limits on processes do not apply to root: run as a user of our own (no other process
# counts against its limit), keeping only the capability to read what root can (the
# interpreter may live under /root).
AS_USER = [
    "setpriv", "--reuid=54321", "--regid=54321", "--clear-groups",
    "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
]


def can_run_as_user() -> bool:
    if shutil.which("setpriv") is None or shutil.which("prlimit") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run([*AS_USER, sys.executable, "-c", "import conclint"], capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.skipif(not can_run_as_user(), reason="needs root, setpriv with ambient capabilities, and prlimit")
@pytest.mark.parametrize("limit", [1, 2])
def test_too_few_processes_allowed(tmp_path, limit):
    # With 2 (the main process and one worker) the previous pool waited forever.
    make_files(tmp_path)
    tmp_path.chmod(0o755)  # click checks '.' with access(), which ignores capabilities
    prefix = [*AS_USER, "prlimit", f"--nproc={limit}", "--"]
    result = run_cli("--no-cache", "--jobs", "2", ".", cwd=tmp_path, prefix=prefix, timeout=120)
    assert_like_one_job(tmp_path, result, warned=True)


def _stat(pid: int) -> List[str]:
    """State, parent, ... of a process that has not ended; [] for one that has."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []
    return [] if fields[0] in ("Z", "X") else fields


def children(pid: int) -> List[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _stat(int(entry))[1:2] == [str(pid)]]


def wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@needs_proc
@pytest.mark.parametrize(
    "signum, returncode",
    [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGHUP, -signal.SIGHUP), (signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"],
)
def test_workers_end_with_the_main_process(tmp_path, signum, returncode):
    # testhooks.SLOW: each task takes 2 s in a worker, so the run is still going when
    # the signal comes. Workers that outlived the main process would hold its stdout
    # open: `conclint | cat` would never end.
    make_files(tmp_path)
    env = dict(os.environ, CONCLINT_TEST_SLOW_WORKER="2")
    main = subprocess.Popen(
        [sys.executable, "-m", "conclint", "--no-cache", "--jobs", "2", "."],
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    workers: List[int] = []
    try:
        wait_until(lambda: len(children(main.pid)) == 2)
        workers = children(main.pid)
        main.send_signal(signum)
        out, err = main.communicate(timeout=60)  # both pipes at end of file: nobody holds them
        assert main.returncode == returncode, err
        assert b"Traceback" not in err, err
        wait_until(lambda: not any(_stat(pid) for pid in workers))
    finally:
        main.kill()
        main.wait(timeout=60)
        for pid in workers:  # only on failure: do not leave them running
            if _stat(pid):
                os.kill(pid, signal.SIGKILL)
