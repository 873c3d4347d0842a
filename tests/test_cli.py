"""The real ``conclint`` command on real files: formats, exit codes, config, noqa, fixes."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from conclint.rule import all_rules
from conclint.runner import PARALLEL_THRESHOLD
from helpers import run_cli

PITFALLS = textwrap.dedent(
    """\
    import threading

    lock = threading.Lock()


    def work():
        lock.acquire()
        print(threading.currentThread().getName())
        lock.release()
    """
)
CLEAN = "import threading\n\nlock = threading.Lock()\n\n\ndef work():\n    with lock:\n        print(threading.current_thread().name)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(PITFALLS)
    (tmp_path / "pkg" / "good.py").write_text(CLEAN)
    return tmp_path


def apply_edits(text: str, edits) -> str:
    """Apply JSON fix edits (1-based, end exclusive) from the last to the first."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return offsets[line - 1] + column - 1

    for edit in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        start, end = offset(edit["line"], edit["column"]), offset(edit["end_line"], edit["end_column"])
        text = text[:start] + edit["content"] + text[end:]
    return text


def test_text_output_and_exit_code_one(project):
    result = run_cli("pkg", cwd=project)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "pkg/bad.py:7:10: CCL201 lock acquired without a guaranteed release" in lines[0]
    assert any(line.startswith("pkg/bad.py:8:21: CCL301 [*] `currentThread()`") for line in lines)
    assert "good.py" not in result.stdout
    assert lines[-2] == "Found 3 problems (2 fixable with --fix)."
    assert lines[-1] == "1 more fix available with --unsafe-fixes."
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"


def test_clean_tree_exits_zero(project):
    result = run_cli("pkg/good.py", cwd=project)
    assert result.returncode == 0
    assert result.stdout.strip() == "All checks passed!"


def test_json_schema_and_edits_reproduce_the_fix(project):
    result = run_cli("--format", "json", "--unsafe-fixes", "pkg/bad.py", cwd=project)
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ["CCL201", "CCL301", "CCL301"]
    for f in findings:
        assert set(f) == {
            "code", "name", "url", "message", "path", "line", "column", "end_line", "end_column", "fix",
            "fingerprint", "related",
        }
        # The rule's name; no URL while the rule pages have no public home.
        assert f["name"] == {"CCL201": "acquire-without-release", "CCL301": "deprecated-threading-alias"}[f["code"]]
        assert f["url"] is None
        assert f["path"] == "pkg/bad.py"
        assert f["line"] >= 1 and f["column"] >= 1
        assert (f["end_line"], f["end_column"]) > (f["line"], f["column"])
        assert f["fix"]["applicability"] in ("safe", "unsafe")
        assert f["fix"]["edits"], "with --format json every fix carries its edits"
    acquire = findings[0]
    assert (acquire["line"], acquire["column"], acquire["end_line"], acquire["end_column"]) == (7, 10, 7, 17)
    assert acquire["fix"]["applicability"] == "unsafe"
    # Applying one finding's edits gives exactly what --fix writes for that finding alone.
    getname = findings[2]
    assert apply_edits(PITFALLS, getname["fix"]["edits"]).splitlines()[7] == "    print(threading.currentThread().name)"


def test_json_fix_is_null_without_fix(tmp_path):
    (tmp_path / "spin.py").write_text("import threading\n\nwhile threading.active_count() > 1:\n    pass\n")
    findings = json.loads(run_cli("--format", "json", "spin.py", cwd=tmp_path).stdout)
    assert [(f["code"], f["fix"]) for f in findings] == [("CCL202", None)]


def test_usage_errors_exit_two(project):
    unknown = run_cli("--select", "CCL999", "pkg", cwd=project)
    assert unknown.returncode == 2 and "unknown rule selector 'CCL999'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    empty = run_cli("--select", "", "pkg", cwd=project)
    assert empty.returncode == 2 and "--select names no rule" in empty.stderr


def test_a_missing_path_is_reported_and_the_others_are_linted(project):
    # As ruff's and flake8's E902: a list of changed files may name one deleted since.
    result = run_cli("--format", "json", "--no-cache", "nope.py", "pkg", cwd=project)
    found = json.loads(result.stdout)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("nope.py", "CCL000", "cannot read: no such file or directory") in {(f["path"], f["code"], f["message"]) for f in found}
    assert any(f["path"].startswith("pkg/") and f["code"] != "CCL000" for f in found)
    alone = run_cli("--no-cache", "nope.py", cwd=project)
    assert alone.returncode == 1 and "nope.py:1:1: CCL000 cannot read: no such file or directory" in alone.stdout
    assert "no Python files found" not in alone.stderr


def test_select_ignore_and_prefixes(project):
    only_aliases = run_cli("--select", "CCL3", "--format", "json", "pkg", cwd=project)
    assert {f["code"] for f in json.loads(only_aliases.stdout)} == {"CCL301"}
    ignored = run_cli("--ignore", "CCL301", "--format", "json", "pkg", cwd=project)
    assert {f["code"] for f in json.loads(ignored.stdout)} == {"CCL201"}
    # The more specific selector wins over a broader ignore.
    specific = run_cli("--ignore", "CCL", "--extend-select", "CCL201", "--format", "json", "pkg", cwd=project)
    assert {f["code"] for f in json.loads(specific.stdout)} == {"CCL201"}


def test_exit_zero_and_quiet(project):
    result = run_cli("--exit-zero", "--quiet", "pkg", cwd=project)
    assert result.returncode == 0
    assert "Found" not in result.stdout and result.stdout.count("CCL") == 3


def test_statistics(project):
    result = run_cli("--statistics", "pkg", cwd=project)
    # Only the table on stdout (ruff's columns: count, code, fixable marker, name).
    assert result.stdout == "2\tCCL301\t[*] deprecated-threading-alias\n1\tCCL201\t[ ] acquire-without-release\n"
    assert result.returncode == 1


def test_noqa_comments(tmp_path):
    source = PITFALLS.replace("lock.acquire()", "lock.acquire()  # noqa: CCL201").replace(
        "print(threading.currentThread().getName())", "print(threading.currentThread().getName())  # noqa"
    )
    (tmp_path / "a.py").write_text(source)
    assert run_cli("a.py", cwd=tmp_path).returncode == 0
    wrong_code = PITFALLS.replace("lock.acquire()", "lock.acquire()  # noqa: CCL999")
    (tmp_path / "a.py").write_text(wrong_code)
    assert "CCL201" in run_cli("a.py", cwd=tmp_path).stdout
    (tmp_path / "a.py").write_text("# conclint: noqa\n" + PITFALLS)
    assert run_cli("a.py", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("code", ["CCL201", "CCL306", "CCL000"])
def test_explain_renders_the_page_for_a_terminal(code):
    """On a terminal (FORCE_COLOR stands in for one) the page is rendered: headings without
    `#`, prose and list items wrapped to the width, code blocks indented and as written;
    piped, it stays Markdown, byte for byte the page."""
    from conclint.docs import read_page, visible_width

    page = read_page(code)
    assert page is not None
    piped = run_cli("--explain", code)
    assert piped.stdout == page + "\n"
    shown = run_cli("--explain", code, env={"FORCE_COLOR": "1", "COLUMNS": "60"})
    assert shown.returncode == 0, shown.stderr
    assert "\x1b[" in shown.stdout  # styled
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.stdout.splitlines()]
    assert "Why is this bad?" in lines and "What it does" in lines
    assert not any(line.startswith(("## ", f"# {code}")) or "```" in line for line in lines)
    code_lines = {line[4:] for line in lines if line.startswith("    ") and not line.lstrip().startswith("•")}
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", page, re.M | re.S):
        assert {line for line in block.splitlines() if line.strip()} <= code_lines | {""}
    prose = [line for line in lines if not line.startswith("    ") or line.lstrip().startswith("•")]
    assert all(visible_width(line) <= 60 for line in prose if not line.startswith("|")), prose


def test_explain_and_list_rules():
    explained = run_cli("--explain", "CCL201")
    assert explained.returncode == 0
    assert explained.stdout.startswith("# CCL201: acquire-without-release")
    assert "## Why is this bad?" in explained.stdout
    assert run_cli("--explain", "ccl201").stdout == explained.stdout
    bad = run_cli("--explain", "CCL999")
    assert bad.returncode == 2 and "unknown rule" in bad.stderr
    listed = run_cli("--list-rules")
    assert listed.returncode == 0
    codes = [line.split()[0] for line in listed.stdout.splitlines()]
    assert codes == sorted(all_rules())


def test_version_does_not_import_libcst():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("conclint ")
    probe = run_cli("--version", env={"PYTHONVERBOSE": "1"})
    assert "import 'libcst'" not in probe.stderr


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[tool.conclint]\n" + textwrap.dedent(body))


def test_pyproject_select_ignore_and_per_file_ignores(project):
    write_pyproject(project, 'ignore = ["CCL301"]\nper-file-ignores = { "pkg/bad.py" = ["CCL201"] }\n')
    result = run_cli("pkg", cwd=project)
    assert result.returncode == 0, result.stdout
    # The nearest pyproject.toml above the linted paths applies, wherever conclint runs from.
    assert run_cli(str(project / "pkg")).returncode == 0


def test_pyproject_unknown_key_and_bad_value_exit_two(project):
    write_pyproject(project, "selekt = []\n")
    result = run_cli("pkg", cwd=project)
    assert result.returncode == 2 and "unknown key 'selekt'" in result.stderr
    write_pyproject(project, 'unsafe-fixes = "yes"\n')
    result = run_cli("pkg", cwd=project)
    assert result.returncode == 2 and "tool.conclint.unsafe-fixes: must be true or false, not string 'yes'" in result.stderr
    write_pyproject(project, 'ignore = ["CCL777"]\n')
    assert run_cli("pkg", cwd=project).returncode == 2
    write_pyproject(project, "[tool.conclint.busy-wait]\nnot-an-option = 1\n")
    result = run_cli("pkg", cwd=project)
    assert result.returncode == 2 and "unknown option 'not-an-option' for rule busy-wait" in result.stderr


def test_pyproject_unsafe_fixes_and_explicit_config(project):
    write_pyproject(project, "unsafe-fixes = true\n")
    assert "Found 3 problems (3 fixable with --fix)." in run_cli("pkg", cwd=project).stdout
    other = project / "conclint.toml"
    other.write_text('select = ["CCL201"]\n')
    result = run_cli("--config", str(other), "--format", "json", "pkg", cwd=project)
    assert {f["code"] for f in json.loads(result.stdout)} == {"CCL201"}


def test_excludes_and_gitignore(project):
    (project / ".gitignore").write_text("generated/\n")
    for name in ("generated", ".venv", "build", "node_modules"):
        (project / name).mkdir()
        (project / name / "x.py").write_text(PITFALLS)
    (project / "env").mkdir()
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / "env" / "y.py").write_text(PITFALLS)
    result = run_cli("--format", "json", ".", cwd=project)
    assert {f["path"] for f in json.loads(result.stdout)} == {"pkg/bad.py"}
    write_pyproject(project, 'extend-exclude = ["pkg/bad.py"]\n')
    assert run_cli(".", cwd=project).returncode == 0
    # A file named explicitly is linted anyway, unless --force-exclude (as in ruff).
    assert run_cli("pkg/bad.py", cwd=project).returncode == 1
    assert run_cli("--force-exclude", "pkg/bad.py", cwd=project).returncode == 0


def test_a_directory_glob_excludes_a_file_below_it_as_git_would(project):
    # `foo/*` excludes `foo/b/c.py` in Git (the directory foo/b is excluded, so all below
    # it): so for a file named on the command line (pre-commit, --since) as for the walk.
    deep = project / "foo" / "b"
    deep.mkdir(parents=True)
    (deep / "c.py").write_text(PITFALLS)
    write_pyproject(project, 'extend-exclude = ["foo/*"]\n')
    assert not any("foo" in line for line in run_cli("--show-files", ".", cwd=project).stdout.splitlines())
    assert run_cli("--show-files", "--force-exclude", "foo/b/c.py", cwd=project).stdout == ""
    assert run_cli("--force-exclude", "foo/b/c.py", cwd=project).returncode == 0
    assert run_cli("foo/b/c.py", cwd=project).returncode == 1


def test_fix_writes_safe_fixes_and_diff_writes_nothing(project):
    bad = project / "pkg" / "bad.py"
    diff = run_cli("--diff", "pkg", cwd=project)
    assert diff.returncode == 1
    assert "-    print(threading.currentThread().getName())" in diff.stdout
    assert "+    print(threading.current_thread().name)" in diff.stdout
    assert bad.read_text() == PITFALLS
    fixed = run_cli("--fix", "pkg", cwd=project)
    assert fixed.returncode == 1, "the unsafe-only finding remains"
    assert "Fixed 2 problems." in fixed.stdout
    assert "print(threading.current_thread().name)" in bad.read_text()
    assert "lock.acquire()" in bad.read_text()
    unsafe = run_cli("--fix", "--unsafe-fixes", "pkg", cwd=project)
    assert unsafe.returncode == 0, unsafe.stdout
    assert bad.read_text() == CLEAN
    assert run_cli("pkg", cwd=project).returncode == 0


def test_stdin(project):
    result = run_cli("--stdin-filename", "pkg/bad.py", "-", stdin=PITFALLS, cwd=project)
    assert result.returncode == 1
    assert result.stdout.startswith("pkg/bad.py:7:10: CCL201")
    fixed = run_cli("--fix", "--unsafe-fixes", "-", stdin=PITFALLS, cwd=project)
    assert fixed.returncode == 0
    assert fixed.stdout == CLEAN



@pytest.mark.parametrize("mode", [(), ("--fix",), ("--diff",)], ids=["lint", "fix", "diff"])
def test_internal_errors_exit_two_for_stdin_and_files(project, mode):
    # testhooks.RAISE makes analysing these paths raise, as a bug in a rule would.
    hook = {"CONCLINT_TEST_RAISE_ON": "bad.py"}
    stdin = run_cli(*mode, "--stdin-filename", "pkg/bad.py", "-", stdin=PITFALLS, cwd=project, env=hook)
    assert stdin.returncode == 2, (stdin.stdout, stdin.stderr)
    assert "conclint: error: pkg/bad.py: internal error" in stdin.stderr
    assert "raised by CONCLINT_TEST_RAISE_ON" in stdin.stderr
    assert "+++" not in stdin.stdout
    files = run_cli(*mode, "--no-cache", "pkg", cwd=project, env=hook)
    assert files.returncode == 2, (files.stdout, files.stderr)
    assert "conclint: error: pkg/bad.py: internal error" in files.stderr
    assert (project / "pkg" / "bad.py").read_text() == PITFALLS

def test_an_internal_error_is_not_all_checks_passed_and_verbose_shows_its_traceback(tmp_path):
    (tmp_path / "bad.py").write_text(PITFALLS)
    (tmp_path / "good.py").write_text("import threading\n\nthreading.Thread(target=print).start()\n")
    hook = {"CONCLINT_TEST_RAISE_ON": "bad.py"}
    quiet = run_cli("--no-cache", ".", cwd=tmp_path, env=hook)
    assert quiet.returncode == 2
    assert "All checks passed!" not in quiet.stdout + quiet.stderr
    assert "No problems found; 1 file not checked (see the errors above)." in quiet.stdout
    assert "Traceback" not in quiet.stderr
    for index in range(PARALLEL_THRESHOLD):  # enough files for the pool of workers
        (tmp_path / f"other{index}.py").write_text("import threading\n")
    loud = run_cli("--no-cache", "--verbose", "--jobs", "2", ".", cwd=tmp_path, env=hook)
    assert loud.returncode == 2
    assert "conclint: error: bad.py: internal error: RuntimeError" in loud.stderr
    # The traceback comes from the worker that failed, down to the hook that raised.
    assert "Traceback (most recent call last):" in loud.stderr and "in raise_on" in loud.stderr
    assert "No problems found; 1 file not checked (see the errors above)." in loud.stdout
    # Standard input, fixing and showing the fixes: the error, then a summary that says so.
    stdin = run_cli("--fix", "--show-fixes", "--stdin-filename", "bad.py", "-", stdin=PITFALLS, cwd=tmp_path, env=hook)
    assert stdin.returncode == 2
    assert "All checks passed!" not in stdin.stderr
    assert stdin.stderr.index("internal error while fixing") < stdin.stderr.index("1 file not checked")
    (tmp_path / "good.py").write_text(PITFALLS)
    both = run_cli("--no-cache", ".", cwd=tmp_path, env=hook)
    assert "Found 3 problems" in both.stdout and "1 file not checked (see the errors above)." in both.stdout


def test_directory_named_explicitly_is_linted_even_if_a_parent_gitignore_ignores_it(tmp_path):
    # Like a pyenv checkout, whose .gitignore ignores versions/ (and so its standard library).
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/versions/\n")
    inner = tmp_path / "versions" / "lib"
    inner.mkdir(parents=True)
    (inner / "bad.py").write_text(PITFALLS)
    assert run_cli(str(inner)).returncode == 1
    assert run_cli(".", cwd=tmp_path).returncode == 0


def test_diff_is_in_the_files_own_bytes_and_applies(tmp_path):
    # patch and git apply match bytes: a latin-1 file's diff in UTF-8, or one without the
    # BOM its file starts with, applies nowhere.
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is needed to apply the patch")
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    source = "# -*- coding: latin-1 -*-\n" + PITFALLS.replace('print(threading', 'print("café", threading')
    (tmp_path / "latin.py").write_bytes(source.encode("latin-1"))
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + PITFALLS.encode())
    diff = run_cli("--diff", "latin.py", "bom.py", cwd=tmp_path, stdin=b"")
    assert '+    print("café", threading.current_thread().name)'.encode("latin-1") in diff.stdout
    assert (tmp_path / "latin.py").read_bytes() == source.encode("latin-1")
    fixed = {}
    for name in ("latin.py", "bom.py"):
        copy = tmp_path / "copy" / name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes((tmp_path / name).read_bytes())
        run_cli("--fix", str(copy), cwd=tmp_path)
        fixed[name] = copy.read_bytes()
    subprocess.run(["git", "apply", "-"], input=diff.stdout, cwd=tmp_path, check=True)
    assert {name: (tmp_path / name).read_bytes() for name in fixed} == fixed


def test_noqa_finds_its_line_after_a_form_feed(tmp_path):
    # str.splitlines() would count the form feed as a line break and look one line off.
    (tmp_path / "a.py").write_text(PITFALLS.replace("lock = threading.Lock()", "\x0c\nlock = threading.Lock()").replace(
        "lock.acquire()", "lock.acquire()  # noqa: CCL201"
    ))
    result = run_cli("--select", "CCL201", "a.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_an_off_by_default_rule_runs_only_when_named_by_its_code(tmp_path):
    (tmp_path / "a.py").write_text(
        "import threading\n\nlock = threading.Lock()\n\n\ndef work():\n    lock.acquire()\n"
        "    try:\n        print('work')\n    finally:\n        lock.release()\n"
    )
    (tmp_path / "pyproject.toml").write_text("")

    def codes(*args: str) -> set:
        return {f["code"] for f in json.loads(run_cli("--no-cache", "--format", "json", *args, "a.py", cwd=tmp_path).stdout)}

    assert codes() == set() and codes("--select", "CCL") == set() and codes("--select", "CCL2") == set()
    assert codes("--select", "CCL207") == {"CCL207"}
    assert codes("--extend-select", "CCL207") == {"CCL207"}
    (tmp_path / "pyproject.toml").write_text('[tool.conclint]\nextend-select = ["CCL207"]\n')
    assert codes() == {"CCL207"}
    assert "(off by default)" in run_cli("--list-rules").stdout.split("CCL207", 1)[1].splitlines()[0]


def test_a_stdin_filename_means_standard_input_is_read_never_the_files(project):
    # As ruff: with --stdin-filename, standard input is read whatever the paths say; a fix
    # must not rewrite the files of the current directory behind an editor's back.
    fixed = run_cli("--fix", "--unsafe-fixes", "--stdin-filename", "pkg/buffer.py", stdin=PITFALLS, cwd=project)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout == CLEAN
    assert (project / "pkg" / "bad.py").read_text() == PITFALLS
    named = run_cli("--stdin-filename", "pkg/buffer.py", "pkg/bad.py", stdin=CLEAN, cwd=project)
    assert named.returncode == 0, named.stdout
    assert "ignoring pkg/bad.py in favour of standard input" in named.stderr


def test_force_exclude_applies_to_the_stdin_filename(project):
    write_pyproject(project, 'extend-exclude = ["gen"]\n')
    lint = run_cli("--force-exclude", "--stdin-filename", "gen/t.py", "-", stdin=PITFALLS, cwd=project)
    assert (lint.returncode, lint.stdout) == (0, "")
    fixed = run_cli("--fix", "--force-exclude", "--stdin-filename", "gen/t.py", stdin=PITFALLS, cwd=project)
    assert (fixed.returncode, fixed.stdout) == (0, PITFALLS)  # given back unchanged
    assert run_cli("--stdin-filename", "gen/t.py", "-", stdin=PITFALLS, cwd=project).returncode == 1


def test_one_file_named_several_ways_is_linted_and_fixed_once(project):
    bad = project / "pkg" / "bad.py"
    (project / "pkg" / "link.py").symlink_to("bad.py")
    spellings = ("pkg/bad.py", "./pkg/bad.py", str(bad), "pkg/../pkg/bad.py", "pkg/link.py")
    once = json.loads(run_cli("--no-cache", "--format", "json", "pkg/bad.py", cwd=project).stdout)
    many = json.loads(run_cli("--no-cache", "--format", "json", *spellings, cwd=project).stdout)
    assert len(many) == len(once) > 0
    walked = json.loads(run_cli("--no-cache", "--format", "json", "pkg", cwd=project).stdout)
    assert {f["path"] for f in walked} == {"pkg/bad.py"}  # the link to it is the same file
    diff = run_cli("--diff", "pkg/bad.py", "./pkg/bad.py", cwd=project)
    assert diff.stdout.count("+++ ") == 1


def test_diff_of_a_file_without_a_final_newline_applies(tmp_path):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is needed to apply the patch")
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    (tmp_path / "dir with space").mkdir()
    source = "import threading\nx = 'a\x0cb'; y = threading.currentThread()"  # no final newline
    (tmp_path / "dir with space" / "no newline.py").write_text(source)
    diff = run_cli("--diff", ".", cwd=tmp_path)
    assert diff.returncode == 1
    assert "\\ No newline at end of file\n" in diff.stdout
    assert "--- a/dir with space/no newline.py\t\n" in diff.stdout  # a tab ends the name, as git writes it
    subprocess.run(["git", "apply", "-"], input=diff.stdout.encode(), cwd=tmp_path, check=True)
    assert (tmp_path / "dir with space" / "no newline.py").read_text() == source.replace("currentThread", "current_thread")


def test_command_line_selectors_layer_on_the_configuration(tmp_path):
    # As ruff: --select starts anew (the configured ignore included), --extend-select and
    # --ignore decide the codes they match over what the configuration selected.
    (tmp_path / "t.py").write_text(textwrap.dedent("""\
        import threading

        x = threading.currentThread()
        a = threading.Lock()
        b = threading.Lock()


        def paired():
            a.acquire()
            try:
                pass
            finally:
                a.release()


        def leaked():
            b.acquire()
        """))

    def codes(*args):
        return sorted({f["code"] for f in json.loads(run_cli("--no-cache", "--format", "json", *args, "t.py", cwd=tmp_path).stdout)})

    write_pyproject(tmp_path, 'ignore = ["CCL301"]\n')
    assert codes() == ["CCL201"]
    assert codes("--select", "CCL301") == ["CCL301"]
    assert codes("--extend-select", "CCL301") == ["CCL201", "CCL301"]
    write_pyproject(tmp_path, 'extend-select = ["CCL207"]\n')
    assert codes() == ["CCL201", "CCL207", "CCL301"]
    assert codes("--ignore", "CCL2") == ["CCL301"]
    assert codes("--ignore", "CCL2", "--extend-select", "CCL207") == ["CCL207", "CCL301"]


def test_a_run_that_finds_no_python_file_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("import threading\n")
    result = run_cli("--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert "no Python files found" in result.stderr
    (tmp_path / "a.py").write_text("x = 1\n")
    assert "no Python files found" not in run_cli("--no-cache", ".", cwd=tmp_path).stderr


def test_a_report_never_replaces_a_file_being_linted(tmp_path):
    source = "import threading\nt = threading.currentThread()\n"
    (tmp_path / "t.py").write_text(source)
    for option in ("-o", "--write-baseline"):
        result = run_cli("--no-cache", option, "t.py", ".", cwd=tmp_path)
        assert result.returncode == 2 and "it is one of the files to lint" in result.stderr
        assert (tmp_path / "t.py").read_text() == source
    assert run_cli("--no-cache", "-o", "report.txt", ".", cwd=tmp_path).returncode == 1
    assert "CCL301" in (tmp_path / "report.txt").read_text()
    # Another name of the same file (a hard link) is the same file.
    (tmp_path / "report.txt").unlink()
    os.link(tmp_path / "t.py", tmp_path / "report.txt")
    for args in (("-o", "report.txt", "--fix", "t.py"), ("-o", "report.txt", "t.py")):
        result = run_cli("--no-cache", *args, cwd=tmp_path)
        assert result.returncode == 2 and "it is one of the files to lint" in result.stderr, args
        assert (tmp_path / "t.py").read_text() == source


def test_a_guard_naming_its_own_module_is_not_misspelled(tmp_path):
    # `__name__ == "main"` is true in main.py wherever it is imported as `main`.
    guard = 'def run():\n    pass\n\n\nif __name__ == "main":\n    run()\n'
    for name in ("main.py", "other.py", "main/__init__.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(guard)
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    assert [(f["path"], f["code"]) for f in json.loads(result.stdout)] == [("other.py", "CCL102")]


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    import subprocess
    import sys

    for args in ("--list-rules", "--explain CCL209"):
        result = subprocess.run(
            f"{sys.executable} -m conclint {args} | head -1", shell=True, capture_output=True, text=True, cwd=tmp_path,
        )
        assert result.stderr == "" and len(result.stdout.splitlines()) == 1, args


STDIN_SOURCE = "import threading\nt = threading.Thread(target=print)\nt.setDaemon(True)\n"


def test_standard_input_never_writes_the_report_over_its_file_and_records_no_baseline(tmp_path):
    (tmp_path / "a.py").write_text(STDIN_SOURCE)
    os.link(tmp_path / "a.py", tmp_path / "b.py")
    for target in ("a.py", "./a.py", "b.py"):
        for extra in ((), ("--fix",)):
            result = run_cli("--stdin-filename", "a.py", "-o", target, *extra, cwd=tmp_path, stdin=STDIN_SOURCE)
            assert result.returncode == 2 and "standard input stands for" in result.stderr, (target, extra)
            assert (tmp_path / "a.py").read_text() == STDIN_SOURCE
    result = run_cli("--stdin-filename", "a.py", "-o", "report.txt", cwd=tmp_path, stdin=STDIN_SOURCE)
    assert result.returncode == 1 and "CCL301" in (tmp_path / "report.txt").read_text()
    for args in (("--stdin-filename", "a.py"), ("-",)):
        result = run_cli(*args, "--write-baseline", "base.json", cwd=tmp_path, stdin=STDIN_SOURCE)
        assert result.returncode == 2 and "--write-baseline cannot be used with standard input" in result.stderr
        assert not (tmp_path / "base.json").exists()


def test_standard_input_honours_a_baseline(tmp_path):
    (tmp_path / "a.py").write_text(STDIN_SOURCE)
    assert run_cli("--no-cache", "--write-baseline", "base.json", "a.py", cwd=tmp_path).returncode == 0
    for extra in ((), ("--fix",)):
        result = run_cli("--stdin-filename", "a.py", "--baseline", "base.json", "--output-format", "concise", *extra,
                         cwd=tmp_path, stdin=STDIN_SOURCE)
        assert result.returncode == 0 and "CCL301" not in result.stdout + result.stderr, (extra, result.stderr)
    # --diff shows the fix (and exits 1 for it) as it does for the file on disk, and says
    # nothing of the recorded finding.
    for source in (("--stdin-filename", "a.py"), ("a.py",)):
        result = run_cli("--no-cache", "--baseline", "base.json", "--diff", *source, cwd=tmp_path,
                         stdin=STDIN_SOURCE if "--stdin-filename" in source else None)
        assert result.returncode == 1 and "+t.daemon = True" in result.stdout and "CCL301" not in result.stderr
    # A finding the baseline does not hold is reported.
    more = STDIN_SOURCE + "t2 = threading.Thread(target=print)\nt2.setDaemon(True)\n"
    result = run_cli("--stdin-filename", "a.py", "--baseline", "base.json", "--output-format", "concise", cwd=tmp_path, stdin=more)
    assert result.returncode == 1 and result.stdout.count("CCL301") == 1 and "a.py:5:" in result.stdout


def test_select_all_turns_on_every_rule_the_off_by_default_ones_too(tmp_path):
    listed = run_cli("--list-rules").stdout
    every = {line.split()[0] for line in listed.splitlines() if line.startswith("CCL")}
    for args in (("--select", "ALL"), ("--select", "all"), ("--extend-select", "ALL")):
        shown = run_cli("--isolated", "--show-settings", "a.py", *args, cwd=tmp_path).stdout
        line = next(l for l in shown.splitlines() if l.startswith("rules for this file"))
        assert every <= set(json.loads(line.split("=", 1)[1])), args
    shown = run_cli("--isolated", "--show-settings", "a.py", "--select", "ALL", "--ignore", "CCL207", cwd=tmp_path).stdout
    assert "CCL207" not in shown and "CCL210" in shown


def test_what_git_ignores_outside_gitignore_files_is_not_linted(tmp_path):
    from helpers import git

    home = tmp_path / "home"
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q")
    for name in ("keep.py", "scratch.py", "mine.py", "theirs.py", "sub/scratch.py"):
        (repo / name).write_text("x = 1\n")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("# local\nscratch.py\n")
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "ignore").write_text("mine.py\n")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": ""}

    def shown(*args: str, cwd: Path = repo) -> set:
        result = run_cli("--no-cache", "--show-files", *args, cwd=cwd, env=env)
        return {Path(line).name if "/" not in line else line for line in result.stdout.split()}

    assert shown(".") == {"keep.py", "theirs.py"}
    assert shown(".", cwd=repo / "sub") == set()  # (sub/scratch.py: the exclude applies at any depth)
    assert shown("--no-respect-gitignore", ".") >= {"scratch.py", "mine.py"}
    # core.excludesFile in ~/.gitconfig names another file, which then replaces the default one.
    (home / "elsewhere").write_text("theirs.py\n")
    (home / ".gitconfig").write_text('[user]\n\tname = x\n[core]\n\texcludesFile = "~/elsewhere"\n')
    assert shown(".") == {"keep.py", "mine.py"}


def test_a_report_that_cannot_be_written_is_an_error_not_an_internal_one(tmp_path):
    (tmp_path / "a.py").write_text(STDIN_SOURCE)
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        import subprocess
        import sys

        result = subprocess.run([sys.executable, "-m", "conclint", "--no-cache", "a.py"], cwd=tmp_path, stdout=full,
                                stderr=subprocess.PIPE, text=True)
    assert result.returncode == 2 and "cannot write the report" in result.stderr and "internal error" not in result.stderr


def test_a_ruff_style_subcommand_gets_a_hint(tmp_path):
    (tmp_path / "a.py").write_text(STDIN_SOURCE)
    result = run_cli("--no-cache", "check", ".", cwd=tmp_path)
    assert "no 'check' subcommand" in result.stderr and "a.py:3:3: CCL301" in result.stdout


def test_git_excludes_keep_git_s_precedence_and_repositories_and_dev_null(tmp_path):
    from helpers import git

    home = tmp_path / "home"
    home.mkdir()
    repo = tmp_path / "repo"
    (repo / "vendor").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo / "vendor", "init", "-q")  # a repository inside it (a vendored checkout)
    for name in ("keep.py", "gen_a.py", "gen_keep.py", "tool.py", "vendor/tool.py"):
        (repo / name).write_text("x = 1\n")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("gen_*.py\ntool.py\n")
    (repo / ".gitignore").write_text("!gen_keep.py\n")  # a .gitignore outranks info/exclude
    # core.excludesFile = /dev/null: how global excludes are turned off; no problem to report.
    (home / ".gitconfig").write_text("[core]\n\texcludesFile = /dev/null\n")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": ""}
    result = run_cli("--no-cache", "--show-files", ".", cwd=repo, env=env)
    assert sorted(result.stdout.split()) == ["gen_keep.py", "keep.py", "vendor/tool.py"], result.stdout
    linted = run_cli("--no-cache", ".", cwd=repo, env=env)
    assert linted.returncode == 0 and "CCL000" not in linted.stdout, linted.stdout
    # The same files whichever way the nested repository is named.
    assert run_cli("--no-cache", "--show-files", "vendor", cwd=repo, env=env).stdout.split() == ["vendor/tool.py"]


def test_every_writer_reports_a_full_disk_as_an_error_and_o_never_replaces_the_baseline(tmp_path):
    (tmp_path / "a.py").write_text(STDIN_SOURCE)
    if os.path.exists("/dev/full"):
        import subprocess
        import sys

        for args in (("a.py", "-o", "/dev/full"), ("--diff", "a.py"), ("--list-rules",), ("--show-files", "a.py")):
            with open("/dev/full", "w") as full:
                result = subprocess.run([sys.executable, "-m", "conclint", "--no-cache", *args], cwd=tmp_path, stdout=full,
                                        stderr=subprocess.PIPE, text=True)
            assert result.returncode == 2 and "cannot write" in result.stderr and "internal error" not in result.stderr, args
    assert run_cli("--no-cache", "--write-baseline", "base.json", "a.py", cwd=tmp_path).returncode == 0
    before = (tmp_path / "base.json").read_text()
    for args in (("a.py",), ("--stdin-filename", "a.py")):
        result = run_cli("--no-cache", "--baseline", "base.json", "-o", "base.json", *args, cwd=tmp_path, stdin=STDIN_SOURCE)
        assert result.returncode == 2 and "it is the --baseline file" in result.stderr, args
        assert (tmp_path / "base.json").read_text() == before


def test_per_file_ignores_all_silences_every_rule_there(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "a.py").write_text(STDIN_SOURCE)
    (tmp_path / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "tests/*" = ["ALL"] }\n')
    assert run_cli("--no-cache", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.conclint]\n")
    assert run_cli("--no-cache", "--per-file-ignores", "tests/*:ALL", ".", cwd=tmp_path).returncode == 0
    assert run_cli("--no-cache", ".", cwd=tmp_path).returncode == 1
