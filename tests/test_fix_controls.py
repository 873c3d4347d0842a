"""The fix controls of the real ``conclint`` command, on real files: --show-fixes, --fix-only,
--exit-non-zero-on-fix, unfixable / extend-safe-fixes / extend-unsafe-fixes (configuration
and --unfixable), what --fix reports, --diff's output and headers, --statistics."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers import run_cli
from test_cli import CLEAN, PITFALLS

# PITFALLS: CCL201 (an unsafe fix) on line 7, two CCL301 (safe fixes) on line 8.
SAFE_FIXED = PITFALLS.replace("threading.currentThread().getName()", "threading.current_thread().name")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.conclint]\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(PITFALLS)
    return tmp_path


def configure(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text("[tool.conclint]\n" + body)


def bad(project: Path) -> str:
    return (project / "pkg" / "bad.py").read_text()


# ----------------------------------------------------------------------------- --fix reports


def test_fix_prints_what_was_fixed_by_file_and_rule(project):
    result = run_cli("--no-cache", "--output-format", "concise", "--fix", "pkg", cwd=project)
    assert result.returncode == 1, "the unsafe-only finding remains"
    assert bad(project) == SAFE_FIXED
    assert result.stdout == (
        "pkg/bad.py:7:10: CCL201 lock acquired without a guaranteed release: an exception or early return leaves it held\n"
        "Fixed 2 problems:\n"
        "- pkg/bad.py:\n"
        "    2 × CCL301 (deprecated-threading-alias)\n"
        "\n"
        "Fixed 2 problems.\n"
        "Remaining: 1 problem.\n"
        "1 more fix available with --unsafe-fixes.\n"
    )


def test_fix_with_a_machine_format_keeps_stdout_a_document(project):
    result = run_cli("--no-cache", "--output-format", "json", "--fix", "pkg", cwd=project)
    assert [f["code"] for f in json.loads(result.stdout)] == ["CCL201"]
    assert "Fixed 2 problems:\n- pkg/bad.py:\n    2 × CCL301 (deprecated-threading-alias)\n" in result.stderr


def test_the_fixes_that_remain_after_fix_keep_their_edits(project):
    # As ruff's: a remaining unsafe fix is reported with its edits, as without --fix.
    linted = json.loads(run_cli("--no-cache", "--output-format", "json", "pkg", cwd=project).stdout)
    (expected,) = [f["fix"] for f in linted if f["code"] == "CCL201"]
    assert expected["edits"]
    (remaining,) = json.loads(run_cli("--no-cache", "--output-format", "json", "--fix", "pkg", cwd=project).stdout)
    spans = [{k: e[k] for k in ("line", "column", "end_line", "end_column")} for e in expected["edits"]]
    assert [{k: e[k] for k in ("line", "column", "end_line", "end_column")} for e in remaining["fix"]["edits"]] == spans
    assert "threading.current_thread().name" in remaining["fix"]["edits"][0]["content"]  # the fixed file's
    (project / "pkg" / "bad.py").write_text(PITFALLS)
    sarif = json.loads(run_cli("--no-cache", "--output-format", "sarif", "--fix", "pkg", cwd=project).stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "CCL201" and result["fixes"]


def test_show_fixes_lists_each_fix_applied(project):
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--show-fixes", "pkg", cwd=project)
    assert result.returncode == 0
    assert bad(project) == CLEAN
    assert result.stdout == (
        "Fixed 3 problems:\n"
        "- pkg/bad.py:\n"
        "    2 × CCL301 (deprecated-threading-alias)\n"
        "        8:21 Use `current_thread()` (safe)\n"
        "        8:37 Use `.name` (safe)\n"
        "    1 × CCL201 (acquire-without-release)\n"
        "        7:10 Use `with` to hold the lock (unsafe)\n"
        "\n"
        "Fixed 3 problems.\n"
    )


def test_show_fixes_without_fix_lists_the_applicable_fixes_and_writes_nothing(project):
    result = run_cli("--no-cache", "--output-format", "concise", "--show-fixes", "pkg", cwd=project)
    assert result.returncode == 1
    assert bad(project) == PITFALLS
    assert (
        "2 fixes available with --fix:\n"
        "- pkg/bad.py:\n"
        "    2 × CCL301 (deprecated-threading-alias)\n"
        "        8:21 Use `current_thread()` (safe)\n"
        "        8:37 Use `.name` (safe)\n"
    ) in result.stdout
    # With --unsafe-fixes the unsafe one is applicable too.
    unsafe = run_cli("--no-cache", "--show-fixes", "--unsafe-fixes", "pkg", cwd=project)
    assert "3 fixes available with --fix:" in unsafe.stdout and "7:10 Use `with` to hold the lock (unsafe)" in unsafe.stdout


# ----------------------------------------------------------------------------- --fix-only, exit codes


def test_fix_only_reports_the_count_not_the_findings_and_exits_zero(project):
    result = run_cli("--no-cache", "--fix-only", "pkg", cwd=project)
    assert (result.returncode, result.stdout) == (0, "Fixed 2 problems (1 more fix available with --unsafe-fixes).\n")
    assert bad(project) == SAFE_FIXED
    again = run_cli("--no-cache", "--fix-only", "pkg", cwd=project)
    assert (again.returncode, again.stdout) == (0, "No problems fixed (1 more fix available with --unsafe-fixes).\n")


def test_fix_only_with_exit_non_zero_on_fix(project):
    fixed = run_cli("--no-cache", "--fix-only", "--exit-non-zero-on-fix", "pkg", cwd=project)
    assert fixed.returncode == 1 and bad(project) == SAFE_FIXED
    nothing = run_cli("--no-cache", "--fix-only", "--exit-non-zero-on-fix", "pkg", cwd=project)
    assert nothing.returncode == 0, "nothing left to fix: nothing applied"


def test_exit_non_zero_on_fix_fails_even_when_nothing_remains(project):
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "pkg", cwd=project)
    assert result.returncode == 1 and bad(project) == CLEAN
    assert "Fixed 3 problems." in result.stdout
    assert run_cli("--no-cache", "--fix", "--exit-non-zero-on-fix", "pkg", cwd=project).returncode == 0
    # --exit-zero wins, as in ruff.
    (project / "pkg" / "bad.py").write_text(PITFALLS)
    assert run_cli("--no-cache", "--fix", "--exit-zero", "--exit-non-zero-on-fix", "pkg", cwd=project).returncode == 0


def test_fix_from_stdin_writes_the_report_to_the_output_file(project):
    # stdout holds the fixed source; the report goes where -o says, as ruff writes it.
    report = project / "report.json"
    result = run_cli("--no-cache", "--fix", "--output-format", "json", "-o", str(report), "-", stdin=PITFALLS, cwd=project)
    assert result.stdout == SAFE_FIXED
    assert [f["code"] for f in json.loads(report.read_text())] == ["CCL201"]


def test_fix_only_from_stdin_writes_the_source_and_the_count_to_stderr(project):
    result = run_cli("--no-cache", "--fix-only", "--exit-non-zero-on-fix", "-", stdin=PITFALLS, cwd=project)
    assert (result.returncode, result.stdout) == (1, SAFE_FIXED)
    assert result.stderr == "Fixed 2 problems (1 more fix available with --unsafe-fixes).\n"


# ----------------------------------------------------------------------------- fix policy


def test_unfixable_rule_is_reported_unmarked_and_its_file_left_unchanged(project):
    configure(project, 'unfixable = ["CCL3"]\n')
    lint = run_cli("--no-cache", "--output-format", "concise", "pkg", cwd=project)
    assert "[*]" not in lint.stdout and lint.stdout.count("CCL301") == 2
    assert "fixable with --fix" not in lint.stdout
    fixed = run_cli("--no-cache", "--fix", "pkg", cwd=project)
    assert fixed.returncode == 1 and bad(project) == PITFALLS
    sarif = json.loads(run_cli("--no-cache", "--output-format", "sarif", "pkg", cwd=project).stdout)
    assert all("fixes" not in r for r in sarif["runs"][0]["results"] if r["ruleId"] == "CCL301")
    findings = json.loads(run_cli("--no-cache", "--output-format", "json", "pkg", cwd=project).stdout)
    assert [(f["code"], f["fix"]) for f in findings if f["code"] == "CCL301"] == [("CCL301", None)] * 2


def test_unfixable_on_the_command_line_adds_to_the_configuration(project):
    configure(project, 'unfixable = ["CCL201"]\n')
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--unfixable", "CCL301", "pkg", cwd=project)
    assert result.returncode == 1 and bad(project) == PITFALLS
    assert run_cli("--no-cache", "--unfixable", "CCL999", "pkg", cwd=project).returncode == 2


def test_the_fix_policy_holds_for_the_unused_noqa_fix_too(project):
    # CCL900's fix edits a comment, outside the tree fixes: the policy held for those only,
    # and `unfixable = ["CCL900"]` still deleted the user's noqa comments.
    text = "import threading\nx = 1  # noqa: CCL301\n"
    stale = project / "pkg" / "stale.py"
    for policy, args, kept in [
        ('unfixable = ["CCL900"]\n', ("--unsafe-fixes",), True),
        ('extend-unsafe-fixes = ["CCL900"]\n', (), True),
        ('extend-unsafe-fixes = ["CCL900"]\n', ("--unsafe-fixes",), False),
    ]:
        configure(project, policy)
        stale.write_text(text)
        run_cli("--no-cache", "--fix", *args, "pkg/stale.py", cwd=project)
        assert (stale.read_text() == text) is kept, (policy, args)
    configure(project, 'unfixable = ["CCL900"]\n')
    stale.write_text(text)
    findings = json.loads(run_cli("--no-cache", "--output-format", "json", "pkg/stale.py", cwd=project).stdout)
    assert [(f["code"], f["fix"]) for f in findings] == [("CCL900", None)]


def test_extend_safe_fixes_makes_fix_apply_an_unsafe_fix(project):
    configure(project, 'extend-safe-fixes = ["CCL201"]\n')
    lint = run_cli("--no-cache", "--output-format", "concise", "pkg", cwd=project)
    assert "pkg/bad.py:7:10: CCL201 [*] lock acquired" in lint.stdout
    assert "Found 3 problems (3 fixable with --fix)." in lint.stdout
    fixed = run_cli("--no-cache", "--fix", "pkg", cwd=project)  # no --unsafe-fixes
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert bad(project) == CLEAN


def test_extend_unsafe_fixes_holds_a_safe_fix_back(project):
    configure(project, 'extend-unsafe-fixes = ["CCL301"]\n')
    findings = json.loads(run_cli("--no-cache", "--output-format", "json", "pkg", cwd=project).stdout)
    assert {f["code"]: f["fix"]["applicability"] for f in findings} == {"CCL201": "unsafe", "CCL301": "unsafe"}
    diff = run_cli("--no-cache", "--diff", "pkg", cwd=project)
    assert (diff.returncode, diff.stdout) == (0, "")
    assert run_cli("--no-cache", "--fix", "pkg", cwd=project).returncode == 1 and bad(project) == PITFALLS


def test_the_more_specific_selector_wins_between_safe_and_unsafe(project):
    configure(project, 'extend-safe-fixes = ["CCL"]\nextend-unsafe-fixes = ["CCL301"]\n')
    findings = json.loads(run_cli("--no-cache", "--output-format", "json", "pkg", cwd=project).stdout)
    assert {f["code"]: f["fix"]["applicability"] for f in findings} == {"CCL201": "safe", "CCL301": "unsafe"}


@pytest.mark.parametrize(
    "body, message",
    [
        ('unfixable = "CCL301"\n', "tool.conclint.unfixable: must be a list of strings, not string 'CCL301'"),
        ('extend-safe-fixes = ["XYZ"]\n', "tool.conclint.extend-safe-fixes: unknown rule selector 'XYZ'"),
        ('extend-unsafe-fixes = [1]\n', "tool.conclint.extend-unsafe-fixes: must be a list of strings, not array [1]"),
    ],
)
def test_fix_policy_errors_name_the_file_and_the_key(project, body, message):
    configure(project, body)
    result = run_cli("--no-cache", "pkg", cwd=project)
    assert result.returncode == 2
    assert result.stderr == f"conclint: error: {project / 'pyproject.toml'}: {message}\n"


def test_the_cache_tells_fix_policies_apart(project):
    run_cli("pkg", cwd=project)  # cached with the default policy
    configure(project, 'unfixable = ["CCL301"]\n')
    assert "[*]" not in run_cli("--output-format", "concise", "pkg", cwd=project).stdout


# ----------------------------------------------------------------------------- --diff


def test_diff_prints_only_the_patch_with_relative_headers(project):
    result = run_cli("--no-cache", "--diff", "pkg", cwd=project)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/pkg/bad.py\n+++ b/pkg/bad.py\n@@ ")
    assert "CCL" not in result.stdout and "Found" not in result.stdout
    assert result.stderr == "Would fix 2 problems (1 more fix available with --unsafe-fixes).\n"
    assert bad(project) == PITFALLS
    quiet = run_cli("--no-cache", "--diff", "--quiet", "pkg", cwd=project)
    assert quiet.stdout == result.stdout and quiet.stderr == ""


def test_diff_headers_of_an_absolute_path_have_no_doubled_slash(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run_cli("--no-cache", "--diff", str(project / "pkg" / "bad.py"), cwd=elsewhere)
    shown = (project / "pkg" / "bad.py").as_posix().lstrip("/")
    assert result.stdout.splitlines()[:2] == [f"--- a/{shown}", f"+++ b/{shown}"]
    inside = run_cli("--no-cache", "--diff", str(project / "pkg" / "bad.py"), cwd=project)
    assert inside.stdout.splitlines()[:2] == ["--- a/pkg/bad.py", "+++ b/pkg/bad.py"]
    # A relative path leading out of the current directory is shown as an absolute one.
    relative = os.path.relpath(project / "pkg" / "bad.py", elsewhere)
    assert relative.startswith("..")
    outside = run_cli("--no-cache", "--diff", relative, cwd=elsewhere)
    assert outside.stdout.splitlines()[:2] == [f"--- a/{shown}", f"+++ b/{shown}"]
    dotted = run_cli("--no-cache", "--diff", "pkg/../pkg/bad.py", cwd=project)
    assert dotted.stdout.splitlines()[:2] == ["--- a/pkg/bad.py", "+++ b/pkg/bad.py"]


def test_diff_goes_to_the_output_file(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "fix.diff"
    result = run_cli("--no-cache", "--diff", "-o", str(out), "pkg", cwd=project)
    assert result.returncode == 1 and result.stdout == ""
    assert out.read_text().startswith("--- a/pkg/bad.py\n+++ b/pkg/bad.py\n@@ ")
    clean = run_cli("--no-cache", "--diff", "-o", str(out), "-", stdin=CLEAN, cwd=project)
    assert (clean.returncode, clean.stdout, out.read_text()) == (0, "", "")


def test_diff_applies_with_patch_and_gives_what_fix_writes(project):
    diff = run_cli("--no-cache", "--diff", "--unsafe-fixes", "pkg", cwd=project).stdout
    subprocess.run(["patch", "-p1", "--quiet"], input=diff, text=True, cwd=project, check=True)
    assert bad(project) == CLEAN


def test_diff_from_stdin(project):
    result = run_cli("--no-cache", "--diff", "--stdin-filename", "pkg/bad.py", "-", stdin=PITFALLS, cwd=project)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/pkg/bad.py\n+++ b/pkg/bad.py\n")
    assert result.stderr.startswith("Would fix 2 problems")
    clean = run_cli("--no-cache", "--diff", "-", stdin=CLEAN, cwd=project)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_diff_with_show_fixes_lists_what_would_be_fixed_on_stderr(project):
    result = run_cli("--no-cache", "--diff", "--show-fixes", "pkg", cwd=project)
    assert result.stdout.startswith("--- a/pkg/bad.py")
    assert result.stderr.startswith("Would fix 2 problems:\n- pkg/bad.py:\n    2 × CCL301 (deprecated-threading-alias)\n")


# ----------------------------------------------------------------------------- --statistics


def test_statistics_json(project):
    result = run_cli("--no-cache", "--statistics", "--output-format", "json", "pkg", cwd=project)
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {"code": "CCL301", "name": "deprecated-threading-alias", "count": 2, "fixable": True},
        {"code": "CCL201", "name": "acquire-without-release", "count": 1, "fixable": False},
    ]


def test_statistics_table_aligns_and_omits_the_marker_column_when_nothing_is_fixable(project):
    configure(project, 'unfixable = ["CCL"]\n')
    result = run_cli("--no-cache", "--statistics", "pkg", cwd=project)
    assert result.stdout == "2\tCCL301\tdeprecated-threading-alias\n1\tCCL201\tacquire-without-release\n"
    assert result.stderr == "Found 3 problems.\n"


def test_statistics_is_ignored_with_a_warning_by_formats_it_cannot_print(project):
    result = run_cli("--no-cache", "--statistics", "--output-format", "sarif", "pkg", cwd=project)
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["runs"][0]["results"]) == 3
    assert result.stderr == "conclint: warning: --statistics prints text or JSON; ignored with --output-format sarif\n"
