"""noqa as users read it, through the real command: each trap of issue #12 behaves as the
README says."""

from __future__ import annotations

import json

import pytest

from helpers import run_cli

PITFALL = "import threading\nt = threading.Thread()\nt.setDaemon(True){noqa}\nt.isDaemon()\n"


def findings(tmp_path, source: str, *args: str):
    (tmp_path / "a.py").write_text(source)
    result = run_cli("--no-cache", "--output-format", "json", *args, "a.py", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return [(f["line"], f["code"], f["message"]) for f in json.loads(result.stdout)]


def codes(tmp_path, source: str, *args: str):
    return [(line, code) for line, code, _ in findings(tmp_path, source, *args)]


def test_file_noqa_inside_a_docstring_or_string_is_no_directive(tmp_path):
    for quoted in ('"""# conclint: noqa"""\n', 'NOTE = "# conclint: noqa"\n'):
        assert codes(tmp_path, quoted + PITFALL.format(noqa="")) == [(4, "CCL301"), (5, "CCL301")]
    # A real comment still skips the file.
    assert codes(tmp_path, "# conclint: noqa\n" + PITFALL.format(noqa="")) == []


def test_file_noqa_without_a_colon_is_reported_not_guessed(tmp_path):
    found = findings(tmp_path, "# conclint: noqa CCL301\n" + PITFALL.format(noqa=""))
    assert [(line, code) for line, code, _ in found] == [(1, "CCL000"), (4, "CCL301"), (5, "CCL301")]
    assert "malformed conclint noqa comment '# conclint: noqa CCL301'" in found[0][2]


def test_file_noqa_with_codes_disables_those_rules_in_the_file(tmp_path):
    source = "# conclint: noqa: CCL301\nimport threading\nlock = threading.Lock()\nlock.acquire()\nt = threading.Thread()\nt.setDaemon(True)\n"
    assert codes(tmp_path, source) == [(4, "CCL201")]
    # Case-insensitive, as codes are everywhere; a prefix disables its family.
    assert codes(tmp_path, source.replace("CCL301", "ccl3")) == [(4, "CCL201")]
    assert codes(tmp_path, source.replace("CCL301", "CCL201, CCL301")) == []


def test_prose_mentioning_the_directive_is_no_directive(tmp_path):
    source = "# Files can be skipped with # conclint: noqa, see the README.\n" + PITFALL.format(noqa="")
    assert codes(tmp_path, source) == [(4, "CCL301"), (5, "CCL301")]


@pytest.mark.parametrize("comment", ["  # noqa : CCL201", "  # noqa:CCL201", "  #noqa: CCL201 ,CCL202"])
def test_line_noqa_with_other_codes_silences_only_those(tmp_path, comment):
    # The codes silence nothing there: CCL900 says so (tests/test_unused_noqa.py).
    assert codes(tmp_path, PITFALL.format(noqa=comment)) == [(3, "CCL301"), (3, "CCL900"), (4, "CCL301")]


@pytest.mark.parametrize("comment", ["  # noqa : CCL301", "  # NOQA:ccl301", "  # noqa: E501 CCL301", "  # noqa", "  # noqa: CCL3"])
def test_line_noqa_naming_the_rule_silences_it(tmp_path, comment):
    assert codes(tmp_path, PITFALL.format(noqa=comment)) == [(4, "CCL301")]


def test_noqa_inside_a_string_on_the_line_is_no_comment(tmp_path):
    source = 'import threading\nt = threading.Thread()\nt.setDaemon("# noqa" == "")\n'
    assert codes(tmp_path, source) == [(3, "CCL301")]


def test_ignore_noqa_reports_what_comments_silence(tmp_path):
    source = "# conclint: noqa: CCL301\n" + PITFALL.format(noqa="  # noqa")
    assert codes(tmp_path, source) == []
    assert codes(tmp_path, source, "--ignore-noqa") == [(4, "CCL301"), (5, "CCL301")]
    # The cache keeps the two apart.
    (tmp_path / "a.py").write_text(source)
    assert run_cli("a.py", cwd=tmp_path).returncode == 0
    assert run_cli("--ignore-noqa", "a.py", cwd=tmp_path).returncode == 1
    assert run_cli("a.py", cwd=tmp_path).returncode == 0


def test_a_file_directive_at_the_end_of_a_line_of_code_is_reported_and_not_obeyed(tmp_path):
    # As ruff's `# ruff: noqa`: only a comment of its own skips the file.
    source = PITFALL.format(noqa="  # conclint: noqa")
    found = findings(tmp_path, source)
    assert any(code == "CCL000" and "must be a comment on a line of its own" in message for _, code, message in found)
    assert any(code == "CCL301" for _, code, _ in found)
    trailing_codes = findings(tmp_path, "x = 1  # conclint: noqa: CCL301\n" + PITFALL.format(noqa=""))
    assert any(code == "CCL301" for _, code, _ in trailing_codes)
    indented = "if True:\n    # conclint: noqa\n    pass\n" + PITFALL.format(noqa="")
    assert codes(tmp_path, indented) == []


def test_a_noqa_at_the_end_of_a_continuation_or_a_string_covers_its_lines(tmp_path):
    # As ruff and flake8: the lines of a backslash continuation or a multi-line string cannot
    # hold a comment; the one where the run ends covers them (and is not called unused).
    source = (
        "import threading\nt = threading.Thread()\n"
        "ok = t.setDaemon(True) or \\\n    None  # noqa: CCL301\n"
        'msg = str(t.setDaemon(True)) + """\n"""  # noqa: CCL301\n'
        "bad = t.isDaemon() or \\\n    None  # noqa: CCL202\n"
    )
    found = codes(tmp_path, source, "--extend-select", "CCL900")
    assert found == [(7, "CCL301"), (8, "CCL900")]


def test_a_flake8_noqa_on_its_own_line_skips_the_file_as_flake8_reads_it(tmp_path):
    import subprocess
    import sys

    def flake8_codes() -> str:
        return subprocess.run(
            [sys.executable, "-m", "flake8", "--isolated", "--select", "CCL", "a.py"], cwd=tmp_path, capture_output=True, text=True
        ).stdout

    # flake8 skips the file whatever follows `noqa` (codes, words), and so does the command.
    for comment in ("# flake8: noqa\n", "#FLAKE8:NOQA\n", "    # flake8: noqa  \n", "# flake8: noqa: E501\n",
                    "# flake8: noqa because generated\n", "# flake8=noqa\n"):
        assert codes(tmp_path, comment + PITFALL.format(noqa="")) == [], comment
        assert flake8_codes() == "", comment
    # At the end of a line of code it is no file directive for either; in a string, none for
    # the command (flake8 reads raw lines: one starting a line of a docstring would count).
    assert [code for _, code in codes(tmp_path, PITFALL.format(noqa="  # flake8: noqa"))] == ["CCL301", "CCL301"]
    assert flake8_codes().count("CCL301") == 2  # (nor a noqa of its line)
    source = 'NOTE = "# flake8: noqa"\n' + PITFALL.format(noqa="")
    assert [code for _, code in codes(tmp_path, source)] == ["CCL301", "CCL301"]
    assert flake8_codes().count("CCL301") == 2
