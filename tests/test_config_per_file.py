"""Configuration per file, as ruff has it: each file's nearest configuration file, `extend`,
--config, --isolated, --show-settings, --show-files, repository-relative paths in reports and
baselines, and a cache that keeps subprojects apart. The real command in subprocesses, on
real files in real git repositories."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import git, run_cli

# CCL201 at line 3 (the lock is never released) and CCL301 at line 5 (setDaemon).
PITFALLS = textwrap.dedent(
    """\
    import threading
    lock = threading.Lock()
    lock.acquire()
    worker = threading.Thread(target=print)
    worker.setDaemon(True)
    """
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def found(result, exits=(0, 1)) -> set:
    """{(path, code)} from a run with --output-format json (paths as the run names them)."""
    assert result.returncode in exits, result.stderr
    return {(f["path"], f["code"]) for f in json.loads(result.stdout)}


@pytest.fixture
def repo(tmp_path):
    """A git repository with two subprojects configured differently: ``one`` selects CCL2,
    ``two`` ignores CCL201 (spelled in lower case: codes are case-insensitive)."""
    git(tmp_path, "init", "-q")
    write(tmp_path / "one" / "pyproject.toml", '[project]\nname = "one"\n[tool.conclint]\nselect = ["CCL2"]\n')
    write(tmp_path / "two" / "pyproject.toml", '[tool.conclint]\nignore = ["ccl201"]\n')
    for sub in ("one", "two"):
        write(tmp_path / sub / "pkg" / "m.py", PITFALLS)
    return tmp_path


def test_each_file_gets_its_nearest_configuration(repo):
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL201"), ("two/pkg/m.py", "CCL301")}
    # Named one by one, from inside one subproject, the same.
    result = run_cli("--no-cache", "--output-format", "json", "pkg/m.py", "../two/pkg/m.py", cwd=repo / "one")
    assert found(result) == {("pkg/m.py", "CCL201"), ("../two/pkg/m.py", "CCL301")}


def test_same_directory_precedence_is_dot_conclint_then_conclint_then_pyproject(repo):
    sub = repo / "two"
    write(sub / "conclint.toml", 'select = ["CCL3"]\n')
    assert found(run_cli("--no-cache", "--output-format", "json", ".", cwd=sub)) == {("pkg/m.py", "CCL301")}
    write(sub / ".conclint.toml", 'select = ["CCL201"]\n')
    assert found(run_cli("--no-cache", "--output-format", "json", ".", cwd=sub)) == {("pkg/m.py", "CCL201")}
    # A pyproject.toml without [tool.conclint] is no configuration: the one above applies.
    write(sub / "pkg" / "pyproject.toml", '[project]\nname = "inner"\n')
    assert found(run_cli("--no-cache", "--output-format", "json", "pkg", cwd=sub)) == {("pkg/m.py", "CCL201")}


def test_extend_inherits_and_the_child_overrides(repo):
    write(repo / "pyproject.toml", '[tool.conclint]\nignore = ["CCL301"]\nunsafe-fixes = true\n')
    # one/conclint.toml beats one/pyproject.toml. Rule selection layers as ruff's does: the
    # child's ignore adds to the parent's, its select starts anew.
    write(repo / "one" / "conclint.toml", 'extend = "../pyproject.toml"\nignore = ["CCL201"]\n')
    write(repo / "one" / "pkg" / "other.py", "import threading\nthreading.Thread(target=print).setDaemon(True)\n")
    result = run_cli("--no-cache", "--output-format", "json", "one", cwd=repo)
    assert found(result) == set()
    write(repo / "one" / "conclint.toml", 'extend = "../pyproject.toml"\nselect = ["CCL2", "CCL3"]\n')
    every = {("one/pkg/m.py", "CCL201"), ("one/pkg/m.py", "CCL301"), ("one/pkg/other.py", "CCL301")}
    assert found(run_cli("--no-cache", "--output-format", "json", "one", cwd=repo)) == every
    # An empty list adds nothing: the parent's ignore stands.
    write(repo / "one" / "conclint.toml", 'extend = "../pyproject.toml"\nignore = []\n')
    result = run_cli("--no-cache", "--output-format", "json", "one", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL201")}
    # Other keys: the child's replaces the parent's.
    write(repo / "one" / "conclint.toml", 'extend = "../pyproject.toml"\nunsafe-fixes = false\nignore = []\n')
    assert "unsafe-fixes = false" in run_cli("--show-settings", "one/pkg/m.py", cwd=repo).stdout.splitlines()
    write(repo / "one" / "conclint.toml", 'extend = "../pyproject.toml"\nignore = []\n')
    shown = run_cli("--show-settings", "one/pkg/m.py", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert f"  {repo / 'one' / 'conclint.toml'}" in lines
    assert f"  {repo / 'pyproject.toml'} (extended)" in lines
    assert "unsafe-fixes = true" in lines and "ignore = []" in lines


def test_extend_cycle_and_missing_file_are_named_and_other_files_still_linted(repo):
    write(repo / "one" / "conclint.toml", 'extend = "../two/conclint.toml"\n')
    write(repo / "two" / "conclint.toml", 'extend = "../one/conclint.toml"\n')
    write(repo / "three" / "pyproject.toml", '[tool.conclint]\nextend = "nowhere.toml"\n')
    write(repo / "three" / "m.py", PITFALLS)
    write(repo / "four" / "m.py", PITFALLS)  # no configuration of its own: linted with the defaults
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=repo)
    assert found(result, exits=(2,)) == {("four/m.py", "CCL201"), ("four/m.py", "CCL301")}
    assert f"{repo / 'one' / 'conclint.toml'}: extend: '../two/conclint.toml' makes a cycle" in result.stderr
    assert f"{repo / 'three' / 'pyproject.toml'}: tool.conclint.extend: 'nowhere.toml': no such file" in result.stderr
    assert len(result.stderr.splitlines()) == 3  # each configuration's error once


def test_bad_configuration_in_one_subproject_does_not_stop_the_other(repo):
    write(repo / "two" / "pyproject.toml", "[tool.conclint]\nselekt = []\n")
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=repo)
    assert found(result, exits=(2,)) == {("one/pkg/m.py", "CCL201")}
    assert f"{repo / 'two' / 'pyproject.toml'}: tool.conclint: unknown key 'selekt'" in result.stderr


def test_config_option_overrides_discovery_for_every_file(repo):
    other = write(repo / "elsewhere" / "strict.toml", 'select = ["CCL301"]\n')
    result = run_cli("--no-cache", "--output-format", "json", "--config", str(other), "one", "two", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL301"), ("two/pkg/m.py", "CCL301")}
    shown = run_cli("--config", str(other), "--show-settings", "one/pkg/m.py", cwd=repo)
    assert f"  {other}" in shown.stdout.splitlines() and 'select = ["CCL301"]' in shown.stdout


def test_isolated_ignores_every_configuration_file(repo):
    result = run_cli("--no-cache", "--output-format", "json", "--isolated", ".", cwd=repo)
    assert found(result) == {(f"{s}/pkg/m.py", c) for s in ("one", "two") for c in ("CCL201", "CCL301")}
    result = run_cli("--no-cache", "--output-format", "json", "--isolated", "--select", "ccl3", ".", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL301"), ("two/pkg/m.py", "CCL301")}
    shown = run_cli("--isolated", "--show-settings", "two/pkg/m.py", cwd=repo)
    assert shown.returncode == 0 and "  none: --isolated" in shown.stdout and "ignore = []" in shown.stdout
    both = run_cli("--isolated", "--config", str(repo / "one" / "pyproject.toml"), ".", cwd=repo)
    assert both.returncode == 2 and "--config and --isolated cannot be used together" in both.stderr


def test_show_settings_names_the_file_and_the_rules_for_it(repo):
    write(repo / "two" / "pyproject.toml", '[tool.conclint]\nignore = ["ccl201"]\nper-file-ignores = { "pkg/m.py" = ["ccl3"] }\n')
    result = run_cli("--show-settings", "two/pkg/m.py", cwd=repo)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Settings for two/pkg/m.py"
    assert f"  {repo / 'two' / 'pyproject.toml'}" in lines
    assert 'ignore = ["CCL201"]' in lines
    rules = json.loads(next(line for line in lines if line.startswith("rules for this file = ")).split(" = ", 1)[1])
    assert "CCL201" not in rules and "CCL301" not in rules and "CCL202" in rules
    # The per-file ignore is relative to two/, the configuration's directory.
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL201")}
    # A directory gets what its files get, not what its parent's do.
    for directory in ("two", "two/pkg"):
        shown = run_cli("--show-settings", directory, cwd=repo).stdout.splitlines()
        assert f"  {repo / 'two' / 'pyproject.toml'}" in shown, directory
    (repo / "pyproject.toml").write_text("[tool.conclint]\n")
    assert f"  {repo / 'pyproject.toml'}" in run_cli("--show-settings", ".", cwd=repo).stdout.splitlines()


def test_show_files_lists_what_would_be_linted(repo):
    write(repo / "pyproject.toml", '[tool.conclint]\nextend-exclude = ["two/pkg"]\n')
    write(repo / "one" / "notes.txt", "not python\n")
    result = run_cli("--show-files", ".", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["one/pkg/m.py"]


def test_a_subprojects_own_excludes_apply_below_it(repo):
    """`extend-exclude` in two/pyproject.toml, relative to two/, holds when the run starts at
    the repository's top (whose configuration says nothing of it), as ruff's nested ones do."""
    write(repo / "two" / "pyproject.toml", '[tool.conclint]\nignore = ["ccl201"]\nextend-exclude = ["generated"]\n')
    write(repo / "two" / "generated" / "stub.py", PITFALLS)
    write(repo / "one" / "generated" / "stub.py", PITFALLS)
    listed = run_cli("--show-files", ".", cwd=repo)
    assert listed.stdout.splitlines() == ["one/generated/stub.py", "one/pkg/m.py", "two/pkg/m.py"], listed.stderr
    linted = run_cli("--no-cache", "--output-format", "json", ".", cwd=repo)
    assert ("two/generated/stub.py", "CCL301") not in found(linted)
    # Named on the command line, a file is linted all the same (--force-exclude aside).
    named = run_cli("--no-cache", "--output-format", "json", "two/generated/stub.py", cwd=repo)
    assert found(named) == {("two/generated/stub.py", "CCL301")}


def test_cache_keeps_subprojects_apart(repo):
    cache = repo / "cache"
    for _ in range(2):  # cold, then warm
        result = run_cli("--cache-dir", str(cache), "--output-format", "json", "one", "two", cwd=repo)
        assert found(result) == {("one/pkg/m.py", "CCL201"), ("two/pkg/m.py", "CCL301")}
    assert len(list(cache.glob("results-*.json"))) == 2
    # A subproject's configuration changes: its files are linted again, the other's are not wrongly reused.
    write(repo / "two" / "pyproject.toml", '[tool.conclint]\nselect = ["CCL2"]\n')
    result = run_cli("--cache-dir", str(cache), "--output-format", "json", "one", "two", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL201"), ("two/pkg/m.py", "CCL201")}


def test_sarif_and_baseline_paths_are_relative_to_the_repository_root(repo):
    inner = repo / "two" / "pkg"
    result = run_cli("--no-cache", "--output-format", "sarif", ".", cwd=inner)
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations == [{"uri": "two/pkg/m.py", "uriBaseId": "%SRCROOT%"}]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    baseline = repo / "baseline.json"
    written = run_cli("--no-cache", "--write-baseline", str(baseline), ".", cwd=inner)
    assert written.returncode == 0, written.stderr
    assert [e["path"] for e in json.loads(baseline.read_text())["findings"]] == ["two/pkg/m.py"]
    # Read back from the top: the same entry matches.
    again = run_cli("--no-cache", "--baseline", str(baseline), "--output-format", "json", "two", cwd=repo)
    assert found(again) == set()


def test_rule_codes_are_case_insensitive_everywhere(repo):
    write(repo / "one" / "pyproject.toml", '[tool.conclint]\nselect = ["ccl2", "Ccl301"]\nper-file-ignores = { "pkg/*" = ["ccl201"] }\n')
    result = run_cli("--no-cache", "--output-format", "json", "--extend-select", "ccl1", "one", cwd=repo)
    assert found(result) == {("one/pkg/m.py", "CCL301")}
    result = run_cli("--no-cache", "--output-format", "json", "--ignore", "ccl301", "one", cwd=repo)
    assert found(result) == set()


def test_language_server_resolves_like_the_command(repo):
    from conclint.engine import codes_for
    from conclint.session import Document, Session

    write(repo / "two" / "conclint.toml", 'extend = "pyproject.toml"\nselect = ["CCL3"]\n')
    session = Session(repo)
    for sub in ("one", "two"):
        path = repo / sub / "pkg" / "m.py"
        settings, _ = session.settings_for(Document(path.as_uri(), PITFALLS, 1, path))
        shown = run_cli("--show-settings", str(path), cwd=repo)
        rules = json.loads(shown.stdout.splitlines()[-1].split(" = ", 1)[1])
        assert sorted(codes_for(settings, str(path))) == rules
    assert "CCL301" in rules and "CCL201" not in rules


def test_a_negated_per_file_ignore_applies_to_the_files_it_does_not_match(tmp_path):
    # As ruff: "!src/keep.py" = [...] ignores the codes everywhere but src/keep.py.
    (tmp_path / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "!src/keep.py" = ["CCL201"] }\n')
    (tmp_path / "src").mkdir()
    leak = "import threading\nlock = threading.Lock()\nlock.acquire()\n"
    for name in ("keep.py", "other.py"):
        (tmp_path / "src" / name).write_text(leak)
    found = json.loads(run_cli("--no-cache", "--format", "json", ".", cwd=tmp_path).stdout)
    assert [(f["path"], f["code"]) for f in found] == [("src/keep.py", "CCL201")]


def test_command_line_excludes_and_per_file_ignores_go_over_every_configuration(repo):
    # As ruff's options: --exclude replaces what a configuration (or the default) excludes,
    # --extend-exclude adds to it; --per-file-ignores replaces a configuration's table,
    # --extend-per-file-ignores adds to it; each applies to every subproject's file.
    write(repo / "two" / "pyproject.toml", '[tool.conclint]\nper-file-ignores = {"pkg/m.py" = ["CCL301"]}\n')
    write(repo / "two" / "pkg" / "n.py", PITFALLS)
    write(repo / "two" / "build" / "b.py", PITFALLS)  # "build" is a default exclude
    base = ("--no-cache", "--output-format", "json", ".")
    assert found(run_cli(*base, cwd=repo)) == {
        ("one/pkg/m.py", "CCL201"), ("two/pkg/m.py", "CCL201"), ("two/pkg/n.py", "CCL201"), ("two/pkg/n.py", "CCL301"),
    }
    assert {p for p, _ in found(run_cli(*base, "--extend-exclude", "n.py,one", cwd=repo))} == {"two/pkg/m.py"}
    assert "two/build/b.py" in {p for p, _ in found(run_cli(*base, "--exclude", "one", cwd=repo))}
    extended = found(run_cli(*base, "--extend-per-file-ignores", "two/pkg/n.py:CCL2", cwd=repo))
    assert ("two/pkg/n.py", "CCL201") not in extended and ("two/pkg/m.py", "CCL301") not in extended
    assert ("one/pkg/m.py", "CCL201") in extended
    # The command line's patterns are relative to the current directory (as ruff's), not to
    # the root of the configuration governing the file.
    assert found(run_cli(*base, "--extend-per-file-ignores", "pkg/n.py:CCL2", cwd=repo)) >= {("two/pkg/n.py", "CCL201")}
    replaced = found(run_cli(*base, "--per-file-ignores", "two/pkg/n.py:CCL201,two/pkg/n.py:CCL301", cwd=repo))
    assert ("two/pkg/m.py", "CCL301") in replaced and not any(p == "two/pkg/n.py" for p, _ in replaced)
    bad = run_cli(*base, "--per-file-ignores", "pkg/n.py", cwd=repo)
    assert bad.returncode == 2 and "is not PATTERN:CODE" in bad.stderr
    shown = run_cli("--show-settings", "two/pkg/m.py", "--extend-exclude", "gen", cwd=repo)
    assert 'extend-exclude = ["gen"]' in shown.stdout


def test_force_exclude_applies_a_subprojects_excludes_to_the_files_named(repo):
    # pre-commit names every staged file at once: their common directory's configuration is
    # the run's, and a subproject's own excludes must still hold for the files below it.
    write(repo / "two" / "pyproject.toml", '[tool.conclint]\nextend-exclude = ["generated"]\n')
    write(repo / "two" / "generated" / "stub.py", PITFALLS)
    write(repo / "top.py", PITFALLS)
    named = ["two/pkg/m.py", "two/generated/stub.py", "top.py"]
    listed = run_cli("--force-exclude", "--show-files", *named, cwd=repo)
    assert sorted(listed.stdout.splitlines()) == ["top.py", "two/pkg/m.py"], listed.stderr
    fixed = run_cli("--no-cache", "--force-exclude", "--fix", *named, cwd=repo)
    assert fixed.returncode in (0, 1) and (repo / "two" / "generated" / "stub.py").read_text() == PITFALLS
    assert "generated" not in run_cli("--force-exclude", "--show-files", "two/generated", "top.py", cwd=repo).stdout


def test_command_line_per_file_ignores_are_relative_to_the_current_directory_whatever_is_extended(tmp_path):
    # A configuration extending another keeps that file's patterns relative to its directory;
    # the command line's are relative to the current directory, as ruff's are.
    write(tmp_path / "configs" / "base.toml", 'per-file-ignores = {"gen/*" = ["CCL301"]}\n')
    write(tmp_path / "proj" / "pyproject.toml", '[tool.conclint]\nextend = "../configs/base.toml"\n')
    write(tmp_path / "proj" / "tests" / "a.py", PITFALLS)
    args = ("--no-cache", "--output-format", "json", "--extend-per-file-ignores")
    every = {("proj/tests/a.py", "CCL201"), ("proj/tests/a.py", "CCL301")}
    assert found(run_cli(*args, "proj/tests/*:CCL201", "proj", cwd=tmp_path)) == every - {("proj/tests/a.py", "CCL201")}
    assert found(run_cli(*args, "tests/*:CCL201", "proj", cwd=tmp_path)) == every
    assert found(run_cli(*args, "tests/*:CCL201", ".", cwd=tmp_path / "proj")) == {("tests/a.py", "CCL301")}
    shown = run_cli("--show-settings", "proj/tests/a.py", "--extend-per-file-ignores", "tests/*:CCL201", cwd=tmp_path)
    assert 'command-line per-file-ignores = {"tests/*": ["CCL201"]}' in shown.stdout


def test_patterns_written_from_here_or_as_absolute_paths_match(tmp_path):
    # `./pkg/w.py` and `/abs/path/pkg/w.py` name the file as ruff and flake8 read them.
    write(tmp_path / "pyproject.toml", "[tool.conclint]\n")
    write(tmp_path / "pkg" / "w.py", PITFALLS)
    write(tmp_path / "pkg" / "sub" / "pkg" / "w.py", PITFALLS)
    base = ("--no-cache", "--output-format", "json", ".")
    inner = {("pkg/sub/pkg/w.py", "CCL201"), ("pkg/sub/pkg/w.py", "CCL301")}
    for pattern in ("./pkg/w.py", f"{tmp_path}/pkg/w.py", ".//./pkg/w.py"):
        assert found(run_cli(*base, "--extend-exclude", pattern, cwd=tmp_path)) == inner, pattern
        ignored = found(run_cli(*base, "--extend-per-file-ignores", f"{pattern}:CCL2", cwd=tmp_path))
        assert ignored == inner | {("pkg/w.py", "CCL301")}, pattern
    write(tmp_path / "pyproject.toml", '[tool.conclint]\nextend-exclude = ["./pkg/w.py"]\n'
          f'per-file-ignores = {{"{tmp_path}/pkg/sub/pkg/w.py" = ["CCL3"]}}\n')
    assert found(run_cli(*base, cwd=tmp_path)) == {("pkg/sub/pkg/w.py", "CCL201")}


def test_a_shared_cache_directory_keeps_runs_from_different_places_apart(tmp_path):
    write(tmp_path / "pkg" / "x.py", PITFALLS)
    cache = str(tmp_path / "cache")
    args = ("--isolated", "--cache-dir", cache, "--output-format", "json", "--per-file-ignores", "pkg/*:CCL201")
    for _ in range(2):  # each order, warm
        assert found(run_cli(*args, ".", cwd=tmp_path / "pkg")) == {("x.py", "CCL201"), ("x.py", "CCL301")}
        assert found(run_cli(*args, ".", cwd=tmp_path)) == {("pkg/x.py", "CCL301")}


def test_per_file_ignores_of_a_file_elsewhere_give_one_answer_whatever_the_spelling(tmp_path):
    # Patterns of a configuration in another directory (an extended file, --config) are
    # relative to that directory: a file outside it matches only a pattern without a `/`
    # (by its name), however its path is typed (it matched `tests/*` typed one way only).
    (tmp_path / "shared").mkdir()
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (tmp_path / "shared" / "conclint.toml").write_text('per-file-ignores = { "tests/*" = ["CCL301"], "legacy_*.py" = ["CCL301"] }\n')
    (repo / "pyproject.toml").write_text('[tool.conclint]\nextend = "../shared/conclint.toml"\n')
    source = "import threading\nt = threading.Thread(target=print)\nt.setDaemon(True)\n"
    (repo / "tests" / "test_x.py").write_text(source)
    (repo / "tests" / "legacy_y.py").write_text(source)
    for cwd, path in ((repo, "."), (repo, "tests"), (repo, str(repo)), (repo / "tests", "."), (repo, "tests/test_x.py")):
        result = run_cli("--no-cache", "--output-format", "concise", path, cwd=cwd)
        assert "test_x.py:3:3: CCL301" in result.stdout and "legacy_y.py" not in result.stdout, (cwd, path, result.stdout)


def test_per_file_ignores_match_a_file_reached_through_a_directory_link(tmp_path):
    # `vendor` links to a directory outside the project: its files are where they are reached.
    (tmp_path / "ext" / "vendor").mkdir(parents=True)
    (tmp_path / "ext" / "vendor" / "x.py").write_text("import threading\nt = threading.Thread(target=print)\nt.setDaemon(True)\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "vendor").symlink_to(tmp_path / "ext" / "vendor", target_is_directory=True)
    (repo / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "vendor/*" = ["CCL301"] }\n')
    for paths in ((".",), ("vendor/x.py",), (str(repo / "vendor" / "x.py"),)):
        result = run_cli("--no-cache", "--output-format", "concise", *paths, cwd=repo)
        assert "CCL301" not in result.stdout, (paths, result.stdout)
