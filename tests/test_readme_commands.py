"""The README's install and integration steps, run as written: the wheel it tells users to
build, the pre-commit configuration it gives, the conclint steps of its CI workflow. And no
placeholder URL anywhere in the repository or in what conclint prints."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT, git, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
PITFALL = "import threading\n\nworker = threading.Thread(target=print)\nworker.setDaemon(True)\n"
FIXED = "import threading\n\nworker = threading.Thread(target=print)\nworker.daemon = True\n"
# Split so that this file does not hold the string it looks for.
PLACEHOLDER = "github.com/" + "conclint/conclint"


def readme_block(after: str, language: str) -> str:
    """The first ```language block of the README after the text ``after``."""
    start = README.index(after)
    match = re.compile(rf"^```{language}\n(.*?)^```$", re.M | re.S).search(README, start)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


@pytest.fixture
def on_path(tmp_path_factory) -> dict:
    """An environment where ``conclint`` is this checkout's command, as ``pip install`` of it
    would make it."""
    bin_dir = tmp_path_factory.mktemp("bin")
    script = bin_dir / "conclint"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m conclint "$@"\n')
    script.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", NO_COLOR="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def test_no_placeholder_url_in_the_repository():
    names = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    holding = []
    for name in filter(None, names):
        path = ROOT / name
        if path.is_file() and PLACEHOLDER.encode() in path.read_bytes():
            holding.append(name)
    assert holding == []


def test_no_url_in_the_output_until_pages_are_published(tmp_path):
    (tmp_path / "w.py").write_text(PITFALL)
    for fmt in ("sarif", "json", "rdjson", "full"):
        out = run_cli("--no-cache", "--output-format", fmt, "w.py", cwd=tmp_path).stdout
        assert "CCL301" in out
        if fmt == "sarif":  # the rules' pages are its help: the addresses in their examples stay
            document = json.loads(out)
            for rule in document["runs"][0]["tool"]["driver"]["rules"]:
                del rule["help"]
            out = json.dumps(document)
        # SARIF names its schema, and nothing else has an address to give yet.
        urls = set(re.findall(r"https?://[^\s\"]+", out)) - {"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"}
        assert urls == set(), fmt


def test_the_wheel_the_readme_builds_installs_and_runs(tmp_path):
    command = re.search(r"`(pip wheel [^`]*)`", README).group(1)
    assert command == "pip wheel --no-deps --wheel-dir dist path/to/conclint"
    args = shlex.split(command.replace("path/to/conclint", str(ROOT)))
    built = subprocess.run([sys.executable, "-m", *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("conclint-*.whl")
    assert wheel.name == "conclint-0.1.0-py3-none-any.whl"  # the name the README's workflow installs
    with zipfile.ZipFile(wheel) as archive:
        assert "conclint/_pages/CCL301.md" in archive.namelist()  # --explain and SARIF help
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "w.py").write_text(PITFALL)
    env = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run(
        [sys.executable, "-c", "import conclint, sys; print(conclint.__file__, file=sys.stderr); from conclint.cli import main; main()",
         "--no-cache", "--output-format", "sarif", "w.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.stderr.startswith(str(target)), result.stderr  # the installed copy ran
    rules = {r["id"]: r for r in json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CCL301"]["help"]["markdown"].startswith("# CCL301")


pytest.importorskip("pre_commit")


def test_the_readme_pre_commit_configuration(tmp_path, on_path):
    config = readme_block("### pre-commit", "yaml")
    assert "repo: local" in config
    git(tmp_path, "init", "-q")
    (tmp_path / ".pre-commit-config.yaml").write_text(config)
    (tmp_path / "worker.py").write_text(PITFALL)
    git(tmp_path, "add", ".")
    env = dict(on_path, PRE_COMMIT_HOME=str(tmp_path / ".home"))

    def run():
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600,
        )

    first = run()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (tmp_path / "worker.py").read_text() == FIXED
    git(tmp_path, "add", ".")
    again = run()
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_readme_workflow_conclint_steps(tmp_path, on_path):
    workflow = readme_block("### GitHub Actions", "yaml")
    steps = [line.split("run: ", 1)[1] for line in workflow.splitlines() if line.strip().startswith("- run: conclint") or line.strip().startswith("run: conclint")]
    assert len(steps) == 2
    lint_step, sarif_step = steps
    git(tmp_path, "init", "-q")
    (tmp_path / "old.py").write_text(PITFALL)
    # The baseline the first step reads, written as the README's baseline section says.
    baseline = re.search(r"^(conclint --write-baseline \S+ \.)", README, re.M).group(1)
    assert subprocess.run(baseline, shell=True, cwd=tmp_path, env=on_path).returncode == 0

    def step(command):
        return subprocess.run(command, shell=True, cwd=tmp_path, env=on_path, capture_output=True, text=True, timeout=300)

    assert step(lint_step).returncode == 0  # nothing new
    (tmp_path / "new.py").write_text(PITFALL)
    failing = step(lint_step)
    assert failing.returncode == 1
    assert failing.stdout.startswith("::error file=new.py,line=4,")
    assert step(sarif_step).returncode == 0
    sarif = json.loads((tmp_path / "conclint.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"old.py", "new.py"}
