"""The hooks in .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo``.

pre-commit installs the hook repository with pip into its own environment, so this
needs the package index once per test session (PRE_COMMIT_HOME is a temporary directory).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT, git

pytest.importorskip("pre_commit")

PITFALL = "import threading\n\nworker = threading.Thread(target=print)\nworker.setDaemon(True)\n"
FIXED = "import threading\n\nworker = threading.Thread(target=print)\nworker.daemon = True\n"


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """This checkout's working tree (uncommitted work included) as a one-commit git repository."""
    repo = tmp_path_factory.mktemp("conclint-hooks")
    names = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file():  # listed but deleted in the working tree: leave it out
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "snapshot of the working tree")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "worker.py").write_text(PITFALL)
    (tmp_path / "notes.txt").write_text("worker.setDaemon(True)\n")  # not Python: never passed
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "a pitfall")
    return tmp_path


def try_repo(project, hook_repo, pre_commit_home, hook):
    env = dict(os.environ, PRE_COMMIT_HOME=str(pre_commit_home), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--all-files", "--color", "never"],
        cwd=project, capture_output=True, text=True, env=env, timeout=600,
    )


def test_lint_hook_fails_and_shows_the_finding(project, hook_repo, pre_commit_home):
    result = try_repo(project, hook_repo, pre_commit_home, "conclint")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conclint" in result.stdout and "Failed" in result.stdout
    assert "worker.py:4:8: CCL301" in result.stdout
    assert "notes.txt" not in result.stdout
    assert (project / "worker.py").read_text() == PITFALL


def test_fix_hook_rewrites_the_file_and_fails(project, hook_repo, pre_commit_home):
    result = try_repo(project, hook_repo, pre_commit_home, "conclint-fix")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    assert (project / "worker.py").read_text() == FIXED
    assert (project / "notes.txt").read_text() == "worker.setDaemon(True)\n"

    # Once fixed, both hooks pass.
    git(project, "commit", "-q", "-am", "fixed")
    for hook in ("conclint-fix", "conclint"):
        again = try_repo(project, hook_repo, pre_commit_home, hook)
        assert again.returncode == 0, again.stdout + again.stderr


def test_lint_hook_applies_each_files_nearest_configuration(tmp_path, hook_repo, pre_commit_home):
    """Two subprojects configured differently, linted by one run of the hook."""
    git(tmp_path, "init", "-q")
    source = "import threading\nlock = threading.Lock()\nlock.acquire()\n" + PITFALL.split("\n", 2)[2]
    for sub, config in (("one", 'select = ["CCL2"]\n'), ("two", 'ignore = ["CCL201"]\n')):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "pyproject.toml").write_text("[tool.conclint]\n" + config)
        (tmp_path / sub / "worker.py").write_text(source)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "two subprojects")
    result = try_repo(tmp_path, hook_repo, pre_commit_home, "conclint")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "one/worker.py:3:6: CCL201" in result.stdout and "two/worker.py:5:8: CCL301" in result.stdout
    assert "one/worker.py:5:8: CCL301" not in result.stdout and "two/worker.py:3:6: CCL201" not in result.stdout
