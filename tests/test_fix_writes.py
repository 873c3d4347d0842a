"""--fix never loses what the user wrote: saves that land while it writes, files the user may
not write, metadata, hard links, FIFOs, interrupts and stranded temporary files. Real CLI,
real files; the races use conclint's pause points (``conclint.testhooks``) instead
of timing luck."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run_cli
from conclint.testhooks import NO_EXCHANGE, PAUSE

BEFORE = b"import threading\nt = threading.Thread()\nt.setDaemon(True)\n"
AFTER = BEFORE.replace(b"t.setDaemon(True)", b"t.daemon = True")
SAVED = b"import threading\nt = threading.Thread()\nt.setDaemon(True)  # the user's save\n"


def fix(directory: Path, *names: str, prefix=()):
    return run_cli("--no-cache", "--fix", *names, cwd=directory, prefix=prefix)


def start_paused_fix(directory: Path, hook: Path, stage: str = "check") -> subprocess.Popen:
    """``conclint --fix mod.py`` stopped at ``stage`` (right before its last check, or right
    before it swaps the files), until ``hook/resume``."""
    hook.mkdir()
    (hook / "stage").write_text(stage)
    env = {**os.environ, PAUSE: str(hook)}
    process = subprocess.Popen(
        [sys.executable, "-m", "conclint", "--no-cache", "--fix", "mod.py"],
        cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (hook / "paused").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the writer never reached its pause point"
        time.sleep(0.01)
    return process


def finish(process: subprocess.Popen, hook: Path):
    (hook / "resume").touch()
    out, err = process.communicate(timeout=60)
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(params=["exchange", "no-exchange"])
def swap(request, monkeypatch):
    """Each race on both ways of putting the fix in place: names swapped atomically (Linux),
    and the target renamed aside then the fix linked in (file systems that cannot swap)."""
    if request.param == "no-exchange":
        monkeypatch.setenv(NO_EXCHANGE, "1")
    return request.param


def entries(directory: Path):
    return sorted(p.name for p in directory.iterdir() if p.name != "hook")


@pytest.mark.parametrize("how", ["in-place", "rename"])
def test_a_save_during_the_write_wins(tmp_path, how, swap):
    """The save lands after the fixed content is written and synced, before the rename:
    the check before the rename sees it, and the fix is refused and reported."""
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    process = start_paused_fix(project, tmp_path / "hook")
    if how == "in-place":
        target.write_bytes(SAVED)
    else:  # as editors that write a new file and rename it over the old one
        (project / "mod.py.swp").write_bytes(SAVED)
        os.replace(project / "mod.py.swp", target)
    code, out, err = finish(process, tmp_path / "hook")
    assert target.read_bytes() == SAVED
    assert "mod.py: not fixed: the file changed while conclint was fixing it" in err
    # Not "All checks passed": the original's finding stands, and the exit code says so.
    assert "mod.py:3:3: CCL301" in out and code == 1
    assert entries(project) == ["mod.py"]


def test_a_save_opened_before_the_swap_and_written_after_it_wins(tmp_path, swap):
    """The check passed; then an editor opens the file (truncating it) and writes only after
    conclint swapped in its fix. The original is swapped back, so the editor's writes,
    through its still open descriptor, end up in the file at the path."""
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    process = start_paused_fix(project, tmp_path / "hook", stage="swap")
    with open(target, "wb") as editor:  # opened and truncated before the swap
        code, out, err = finish(process, tmp_path / "hook")
        editor.write(SAVED)  # written after it
    assert target.read_bytes() == SAVED
    assert "mod.py: not fixed: the file changed while conclint was fixing it" in err
    assert code == 1 and entries(project) == ["mod.py"]


def test_a_save_by_rename_just_before_the_swap_wins(tmp_path, swap):
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    process = start_paused_fix(project, tmp_path / "hook", stage="swap")
    (project / "mod.py.swp").write_bytes(SAVED)
    os.replace(project / "mod.py.swp", target)
    code, _, err = finish(process, tmp_path / "hook")
    assert target.read_bytes() == SAVED and code == 1 and "changed while" in err
    assert entries(project) == ["mod.py"]


def test_a_same_size_save_with_the_old_mtime_is_seen(tmp_path, swap):
    """Content is compared, not only size and time: a save that restores the mtime still wins."""
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    st = os.stat(target)
    process = start_paused_fix(project, tmp_path / "hook")
    same_size = BEFORE.replace(b"t = threading", b"u = threading").replace(b"t.setDaemon", b"u.setDaemon")
    with open(target, "r+b") as handle:
        handle.write(same_size)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, _, err = finish(process, tmp_path / "hook")
    assert target.read_bytes() == same_size and code == 1 and "changed while" in err


def test_a_file_replaced_by_a_fifo_is_not_opened(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    process = start_paused_fix(project, tmp_path / "hook")
    target.unlink()
    os.mkfifo(target)
    code, _, err = finish(process, tmp_path / "hook")  # would block forever on open()
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert "mod.py: not fixed: no longer a regular file" in err and code == 1


@pytest.mark.parametrize("stage", ["check", "swap"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_write_leaves_the_file_and_no_temporary_file(tmp_path, signum, stage, swap):
    """At "swap" the temporary file has its name: the signal must unwind the write (which
    removes it) before the process dies of it."""
    project = tmp_path / "p"
    project.mkdir()
    target = project / "mod.py"
    target.write_bytes(BEFORE)
    process = start_paused_fix(project, tmp_path / "hook", stage=stage)
    process.send_signal(signum)
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert target.read_bytes() == BEFORE
    assert entries(project) == ["mod.py"]


def test_stale_temporary_files_of_killed_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # exited: its temporary files are strays
    (tmp_path / "mod.py").write_bytes(BEFORE)
    stray = tmp_path / f".mod.py.{dead_pid}.0123abcd.conclint-tmp"
    stray.write_bytes(b"half a fix")
    live = tmp_path / f".mod.py.{os.getpid()}.0123abcd.conclint-tmp"  # a run still writing
    live.write_bytes(b"being written")
    other = tmp_path / ".mod.py.notes"  # not conclint's
    other.write_bytes(b"keep")
    result = fix(tmp_path, "mod.py")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mod.py").read_bytes() == AFTER
    assert not stray.exists() and live.exists() and other.exists()


# ---------------------------------------------------------------------- metadata, as root
def test_setuid_setgid_owner_and_xattrs_are_kept(tmp_path):
    target = tmp_path / "mod.py"
    target.write_bytes(BEFORE)
    try:
        os.setxattr(target, "user.conclint-test", b"kept")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    uid = os.geteuid()
    if uid == 0:
        os.chown(target, 65534, 65534)
    os.chmod(target, 0o6755)
    result = fix(tmp_path, "mod.py")
    assert result.returncode == 0, result.stderr
    st = os.stat(target)
    assert target.read_bytes() == AFTER
    if uid == 0:  # only root may keep another user's ownership (and the setuid bits with it)
        assert (st.st_uid, st.st_gid) == (65534, 65534)
        assert stat.S_IMODE(st.st_mode) == 0o6755
    assert os.getxattr(target, "user.conclint-test") == b"kept"


def test_hard_linked_files_are_not_split(tmp_path):
    target = tmp_path / "mod.py"
    target.write_bytes(BEFORE)
    os.link(target, tmp_path / "twin.py")
    result = fix(tmp_path, "mod.py")
    assert target.read_bytes() == BEFORE and (tmp_path / "twin.py").read_bytes() == BEFORE
    assert os.stat(target).st_nlink == 2
    assert "mod.py: not fixed: it has 2 hard links" in result.stderr
    assert "mod.py:3:3: CCL301" in result.stdout and result.returncode == 1


# ---------------------------------------------------------------------- as another user
def _as_nobody():
    """A prefix running the CLI as user nobody, or a skip where that cannot be done."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run as another user")
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import conclint, libcst, click"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run this Python")
    return prefix


@pytest.fixture
def shared(tmp_path):
    """A directory user nobody owns, on a path it can reach (pytest's own is root's alone)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="conclint-shared-"))
    os.chmod(base, 0o755)
    directory = base / "shared"
    directory.mkdir()
    os.chown(directory, 65534, 65534)
    yield directory
    shutil.rmtree(base)


def test_a_read_only_file_is_not_replaced(shared):
    prefix = _as_nobody()
    directory = shared
    target = directory / "mod.py"
    target.write_bytes(BEFORE)
    os.chown(target, 65534, 65534)
    os.chmod(target, 0o444)
    result = fix(directory, "mod.py", prefix=prefix)
    assert target.read_bytes() == BEFORE and stat.S_IMODE(os.stat(target).st_mode) == 0o444
    assert "mod.py: not fixed: you may not write it (permission denied)" in result.stderr
    assert result.returncode == 1


def test_a_read_only_file_is_not_replaced_by_root_either(tmp_path):
    # Root may write anything; a file whose mode grants no write to anyone is still one its
    # owner made read-only.
    if os.geteuid() != 0:
        pytest.skip("runs as root only")
    target = tmp_path / "mod.py"
    target.write_bytes(BEFORE)
    os.chmod(target, 0o444)
    result = fix(tmp_path, "mod.py")
    assert target.read_bytes() == BEFORE and stat.S_IMODE(os.stat(target).st_mode) == 0o444
    assert "mod.py: not fixed: it is read-only" in result.stderr
    assert result.returncode == 1


def test_another_users_file_keeps_its_owner(shared):
    prefix = _as_nobody()
    directory = shared
    target = directory / "mod.py"
    target.write_bytes(BEFORE)
    os.chmod(target, 0o666)  # root's, writable by all: replacing it would make it nobody's
    result = fix(directory, "mod.py", prefix=prefix)
    assert target.read_bytes() == BEFORE and os.stat(target).st_uid == 0
    assert "mod.py: not fixed: it belongs to another user (uid 0)" in result.stderr
    assert result.returncode == 1


def test_a_fix_not_written_through_a_linked_directory_is_reported(tmp_path):
    """Item 6: a project reached through a symbolic link to a directory outside it is not
    written (the policy for links leading out of the project); the run says so and exits 1,
    and never prints "All checks passed!"."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "mod.py").write_bytes(BEFORE)
    (tmp_path / "work").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "work" / "link")
    result = fix(tmp_path / "work", "link/")
    assert (tmp_path / "real" / "mod.py").read_bytes() == BEFORE
    assert "link/mod.py: not fixed: it is a symbolic link to" in result.stderr
    assert "1 file not fixed" in result.stderr
    assert "link/mod.py:3:3: CCL301" in result.stdout and "All checks passed" not in result.stdout
    assert result.returncode == 1
