"""``--since REV`` in a real git repository, through the real CLI."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from helpers import git, run_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PITFALL = "import threading\n\nworker = threading.Thread(target=print)\nworker.setDaemon(True)\n"


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    for name in ("old.py", "committed.py", "staged.py", "unstaged.py", "deleted.py"):
        (tmp_path / name).write_text(PITFALL)
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "tag", "base")
    (tmp_path / "committed.py").write_text(PITFALL + "\n")
    (tmp_path / "notes.txt").write_text("not python")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "work")
    (tmp_path / "staged.py").write_text(PITFALL + "# staged\n")
    git(tmp_path, "add", "staged.py")
    (tmp_path / "unstaged.py").write_text(PITFALL + "# unstaged\n")
    (tmp_path / "deleted.py").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "untracked.py").write_text(PITFALL)
    (tmp_path / "ignored.py").write_text(PITFALL)
    return tmp_path


def linted(result):
    return sorted({line.split(":")[0] for line in result.stdout.splitlines() if ": CCL" in line})


def test_lints_committed_staged_unstaged_and_untracked_files(repo):
    result = run_cli("--no-cache", "--since", "base", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert linted(result) == ["committed.py", "staged.py", "sub/untracked.py", "unstaged.py"]


def test_limited_to_the_given_paths_relative_to_the_current_directory(repo):
    result = run_cli("--no-cache", "--since", "base", ".", cwd=repo / "sub")
    assert linted(result) == ["untracked.py"]
    result = run_cli("--no-cache", "--since", "base", "staged.py", "sub", cwd=repo)
    assert linted(result) == ["staged.py", "sub/untracked.py"]


def test_changes_that_landed_on_rev_later_do_not_count(repo):
    git(repo, "stash", "-u", "-q")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "checkout", "-q", "main")
    (repo / "old.py").write_text(PITFALL + "# later on main\n")
    git(repo, "commit", "-q", "-am", "main moves on")
    git(repo, "checkout", "-q", "feature")
    (repo / "feature.py").write_text(PITFALL)
    result = run_cli("--no-cache", "--since", "main", cwd=repo)
    assert linted(result) == ["feature.py"]


def test_nothing_changed_is_clean(repo):
    result = run_cli("--no-cache", "--since", "HEAD", "old.py", cwd=repo)
    assert (result.returncode, result.stdout) == (0, "All checks passed!\n")


def test_unknown_revision_and_no_repository_are_usage_errors(repo, tmp_path_factory):
    result = run_cli("--no-cache", "--since", "no-such-rev", cwd=repo)
    assert result.returncode == 2 and "unknown git revision 'no-such-rev'" in result.stderr
    elsewhere = tmp_path_factory.mktemp("not-a-repo")
    result = run_cli("--no-cache", "--since", "HEAD", cwd=elsewhere)
    assert result.returncode == 2 and result.stderr.startswith("conclint: error: --since needs a git repository")


# A repository's .git/config is as much the linted project's as its code: git must not run
# the commands it names. Each case makes git run a command that leaves a marker file.
def _fsmonitor(repo, marker):
    hook = marker.parent / "fsmonitor-hook"
    hook.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\nexit 1\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))


def _clean_filter(repo, marker):
    # Run on the working tree's copy of a tracked file whose stat data changed.
    (repo / ".gitattributes").write_text("*.py filter=evil\n")
    git(repo, "config", "filter.evil.clean", f"touch {shlex.quote(str(marker))}; cat")
    git(repo, "config", "filter.evil.required", "true")


def _lazy_fetch(repo, marker):
    # A partial clone fetches a missing object from its promisor remote, here a command.
    blob = git(repo, "rev-parse", "HEAD:unstaged.py").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    git(repo, "config", "core.repositoryFormatVersion", "1")
    git(repo, "config", "extensions.partialClone", "origin")
    git(repo, "config", "remote.origin.promisor", "true")
    git(repo, "config", "protocol.ext.allow", "always")
    git(repo, "config", "remote.origin.url", f"ext::sh -c touch% {marker}")


@pytest.mark.parametrize("configure", [_fsmonitor, _clean_filter, _lazy_fetch], ids=lambda f: f.__name__.strip("_"))
def test_the_repository_configuration_cannot_run_commands(repo, tmp_path_factory, configure):
    marker = tmp_path_factory.mktemp("outside") / "marker"
    configure(repo, marker)
    result = run_cli("--no-cache", "--since", "base", cwd=repo)
    assert not marker.exists(), result.stderr
    if configure is _lazy_fetch:  # the object is missing: git fails, and says so
        assert result.returncode == 2 and "transport 'ext' not allowed" in result.stderr, result.stderr
    else:
        assert result.returncode == 1, result.stderr
        assert linted(result) == ["committed.py", "staged.py", "sub/untracked.py", "unstaged.py"]


def test_a_shallow_clone_says_how_to_fetch_the_history(repo, tmp_path_factory):
    """CI checks out one commit: a revision beyond it, or a branch whose merge base is beyond
    it, gets the advice to deepen the clone, not a bare git failure."""
    git(repo, "checkout", "-q", "-b", "side", "HEAD~1")
    (repo / "side.py").write_text(PITFALL)
    git(repo, "add", "side.py")
    git(repo, "commit", "-q", "-m", "side work")
    git(repo, "checkout", "-q", "main")
    clone = tmp_path_factory.mktemp("ci") / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", repo.resolve().as_uri(), str(clone)],
        check=True, capture_output=True,
    )
    beyond = run_cli("--no-cache", "--since", "HEAD~1", cwd=clone)
    assert beyond.returncode == 2, beyond.stderr
    assert "unknown git revision 'HEAD~1': this is a shallow clone" in beyond.stderr
    assert "fetch-depth: 0" in beyond.stderr
    apart = run_cli("--no-cache", "--since", "origin/side", cwd=clone)
    assert apart.returncode == 2, apart.stderr
    assert "'origin/side' and HEAD have no common ancestor here: this is a shallow clone" in apart.stderr
