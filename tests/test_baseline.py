"""Baselines through the real CLI: write, edit the code, see only what is new."""

from __future__ import annotations

import json
import textwrap

from helpers import run_cli

LOCKED = textwrap.dedent(
    """\
    def increment():
        counter_lock.acquire()
        print("counting")
        counter_lock.release()
    """
)
LEGACY = "import threading\n\ncounter_lock = threading.Lock()\nworker = threading.Thread(target=print)\n\n\n" + LOCKED + (
    "\n\ndef start():\n    worker.setDaemon(True)\n"
)


def lint(tmp_path, *args):
    # The one-line form: these tests read a finding per line.
    return run_cli("--no-cache", "--output-format", "concise", *args, ".", cwd=tmp_path)


def test_round_trip(tmp_path):
    legacy = tmp_path / "legacy.py"
    legacy.write_text(LEGACY)
    written = lint(tmp_path, "--write-baseline", "baseline.json")
    assert written.returncode == 0, written.stderr
    document = json.loads((tmp_path / "baseline.json").read_text())
    assert document["version"] == 1
    assert sorted(e["code"] for e in document["findings"]) == ["CCL201", "CCL301"]
    assert {e["path"] for e in document["findings"]} == {"legacy.py"}

    clean = lint(tmp_path, "--baseline", "baseline.json")
    assert (clean.returncode, clean.stdout) == (0, "All checks passed!\n")

    # Code moved down twenty lines: matched by its text, not its line number.
    legacy.write_text("".join(f"FLAG_{n} = {n}\n" for n in range(20)) + LEGACY)
    moved = lint(tmp_path, "--baseline", "baseline.json")
    assert (moved.returncode, moved.stdout) == (0, "All checks passed!\n")

    # A second copy of a recorded pitfall is new.
    legacy.write_text(legacy.read_text() + "\n\n" + LOCKED.replace("increment", "increment_again"))
    copied = lint(tmp_path, "--baseline", "baseline.json")
    assert copied.returncode == 1
    assert [line.split(" ")[:2] for line in copied.stdout.splitlines()[:-2]] == [["legacy.py:38:18:", "CCL201"]]

    # Fixing a recorded pitfall leaves its entry unmatched, which is reported (exit 0 if nothing is new).
    legacy.write_text(legacy.read_text().replace("worker.setDaemon(True)", "worker.daemon = True"))
    legacy.write_text(legacy.read_text().replace(LOCKED.replace("increment", "increment_again"), ""))
    fixed = lint(tmp_path, "--baseline", "baseline.json")
    assert fixed.returncode == 0, fixed.stdout
    assert fixed.stdout.splitlines() == [
        "All checks passed!",
        "1 baseline entry no longer matches (fixed?): trim the baseline with --write-baseline.",
    ]


def test_identical_copies_are_counted(tmp_path):
    twice = LEGACY.replace("worker.setDaemon(True)", "worker.setDaemon(True)\n    worker.setDaemon(True)")
    (tmp_path / "twice.py").write_text(twice)
    assert lint(tmp_path, "--write-baseline", "baseline.json").returncode == 0
    assert lint(tmp_path, "--baseline", "baseline.json").returncode == 0
    (tmp_path / "twice.py").write_text((tmp_path / "twice.py").read_text() + "    worker.setDaemon(True)\n")
    third = lint(tmp_path, "--baseline", "baseline.json")
    assert third.returncode == 1
    assert third.stdout.splitlines()[0].startswith("twice.py:16:") and "CCL301" in third.stdout


def test_entries_of_files_not_linted_are_not_stale(tmp_path):
    (tmp_path / "a.py").write_text(LEGACY)
    (tmp_path / "b.py").write_text(LEGACY)
    assert lint(tmp_path, "--write-baseline", "baseline.json").returncode == 0
    only_a = run_cli("--no-cache", "--baseline", "baseline.json", "a.py", cwd=tmp_path)
    assert (only_a.returncode, only_a.stdout) == (0, "All checks passed!\n")
    (tmp_path / "b.py").unlink()  # a deleted file's entries are stale whatever was linted
    only_a = run_cli("--no-cache", "--baseline", "baseline.json", "a.py", cwd=tmp_path)
    assert "2 baseline entries no longer match" in only_a.stdout


def test_unusable_baseline_is_a_usage_error(tmp_path):
    (tmp_path / "legacy.py").write_text(LEGACY)
    missing = lint(tmp_path, "--baseline", "missing.json")
    assert missing.returncode == 2 and "missing.json: cannot read baseline" in missing.stderr
    (tmp_path / "old.json").write_text(json.dumps({"version": 99, "findings": []}))
    old = lint(tmp_path, "--baseline", "old.json")
    assert old.returncode == 2 and "unsupported baseline version 99" in old.stderr
    (tmp_path / "junk.json").write_text("{")
    assert lint(tmp_path, "--baseline", "junk.json").returncode == 2


def test_entries_of_rules_not_run_are_not_stale(tmp_path):
    # LEGACY has a CCL201 and a CCL301: run with CCL3 alone, the CCL201 entry is not judged.
    (tmp_path / "a.py").write_text(LEGACY)
    assert lint(tmp_path, "--write-baseline", "baseline.json").returncode == 0
    for args in (("--select", "CCL3"), ("--ignore", "CCL201")):
        result = lint(tmp_path, "--baseline", "baseline.json", *args)
        assert (result.returncode, result.stdout) == (0, "All checks passed!\n"), args
    (tmp_path / "a.py").write_text(LEGACY.replace("worker.setDaemon(True)", "worker.daemon = True"))
    fixed = lint(tmp_path, "--baseline", "baseline.json", "--select", "CCL3")
    assert "1 baseline entry no longer matches" in fixed.stdout


def test_a_syntax_error_is_never_hidden_by_a_baseline(tmp_path):
    (tmp_path / "a.py").write_text("import threading\n\n\ndef broken(:\n")
    written = lint(tmp_path, "--write-baseline", "baseline.json")
    assert written.returncode == 0 and json.loads((tmp_path / "baseline.json").read_text())["findings"] == []
    assert "1 CCL000 finding(s) (a file that cannot be linted) not written" in written.stderr
    (tmp_path / "a.py").write_text("import threading\n\n\n\n\ndef other(:\n")
    result = lint(tmp_path, "--baseline", "baseline.json")
    assert result.returncode == 1 and "a.py:6:" in result.stdout and "CCL000" in result.stdout


def test_baseline_paths_do_not_depend_on_where_the_command_runs(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".git").mkdir()  # the top of a work tree
    (project / "pkg").mkdir()
    (project / "pkg" / "a.py").write_text(LEGACY)
    written = run_cli("--no-cache", "--write-baseline", str(project / "base.json"), ".", cwd=project)
    assert written.returncode == 0
    for cwd, target in ((tmp_path, str(project)), (project / "pkg", "."), (tmp_path, str(project / "pkg"))):
        result = run_cli("--no-cache", "--output-format", "concise", "--baseline", str(project / "base.json"), target, cwd=cwd)
        assert (result.returncode, result.stdout) == (0, "All checks passed!\n"), (cwd, target)


def test_outside_git_paths_are_relative_to_the_current_directory_whatever_is_linted(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text(LEGACY)
    (tmp_path / "b.py").write_text(LEGACY)
    assert lint(tmp_path, "--write-baseline", "base.json").returncode == 0
    for target in ("sub/a.py", "sub"):
        result = run_cli("--no-cache", "--output-format", "concise", "--baseline", "base.json", target, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (0, "All checks passed!\n"), target
