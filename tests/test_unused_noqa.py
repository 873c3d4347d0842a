"""CCL900 unused-noqa through the real command on real files: what it reports, what it leaves
alone, and what its fix writes (and that fixing then linting again is clean)."""

from __future__ import annotations

import json

from helpers import run_cli

HEAD = "import threading\nt = threading.Thread()\n"
# Line 3 is a CCL301 finding (setDaemon), line 4 is clean code.
FOUND = "t.setDaemon(True)"
CLEAN = "x = 1"


def lint(tmp_path, source: str, *args: str, name: str = "a.py"):
    (tmp_path / name).write_text(source)
    result = run_cli("--no-cache", "--output-format", "json", *args, name, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return [(f["line"], f["code"], f["message"]) for f in json.loads(result.stdout)]


def codes(tmp_path, source: str, *args: str):
    return [(line, code) for line, code, _ in lint(tmp_path, source, *args)]


def fixed(tmp_path, source: str, *args: str) -> str:
    (tmp_path / "a.py").write_text(source)
    result = run_cli("--no-cache", "--fix", *args, "a.py", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return (tmp_path / "a.py").read_text()


def test_an_unused_code_is_reported_and_the_fix_removes_the_comment(tmp_path):
    source = HEAD + f"{CLEAN}  # noqa: CCL301\n"
    ((line, code, message),) = lint(tmp_path, source)
    assert (line, code) == (3, "CCL900")
    assert "unused: CCL301" in message
    assert fixed(tmp_path, source) == HEAD + f"{CLEAN}\n"
    assert codes(tmp_path, (tmp_path / "a.py").read_text()) == []


def test_a_code_silencing_a_finding_is_not_reported(tmp_path):
    assert codes(tmp_path, HEAD + f"{FOUND}  # noqa: CCL301\n") == []
    assert codes(tmp_path, HEAD + f"{FOUND}  # noqa: CCL3\n") == []  # a prefix of it


def test_an_unknown_code_is_reported_whatever_the_selection(tmp_path):
    source = HEAD + f"{FOUND}  # noqa: CCL301, CCL999\n"
    ((line, code, message),) = lint(tmp_path, source)
    assert (line, code) == (3, "CCL900") and "unknown: CCL999" in message
    assert codes(tmp_path, source, "--select", "CCL900") == [(3, "CCL900")]
    assert fixed(tmp_path, source) == HEAD + f"{FOUND}  # noqa: CCL301\n"


def test_codes_of_other_tools_and_a_bare_noqa_are_never_reported(tmp_path):
    source = HEAD + f"{CLEAN}  # noqa: E501, F401,RUF100\ny = 2  # noqa\n"
    assert codes(tmp_path, source) == []
    # Removing our unused code keeps theirs, in their order.
    source = HEAD + f"{CLEAN}  # noqa: E501, CCL201, F401\n"
    assert fixed(tmp_path, source) == HEAD + f"{CLEAN}  # noqa: E501, F401\n"


def test_partial_removal_keeps_the_used_codes_and_the_explanation(tmp_path):
    source = HEAD + f"{FOUND}  # noqa: CCL201, CCL301  # explained here\n"
    ((line, code, message),) = lint(tmp_path, source)
    assert (line, code) == (3, "CCL900") and "unused: CCL201" in message
    assert fixed(tmp_path, source) == HEAD + f"{FOUND}  # noqa: CCL301  # explained here\n"
    # A directive with nothing left goes; the explanation after it stays, and so does one before.
    source = HEAD + f"{CLEAN}  # noqa: CCL201  # explained here\ny = 2  # type: ignore  # noqa: CCL201\n"
    assert fixed(tmp_path, source) == HEAD + f"{CLEAN}  # explained here\ny = 2  # type: ignore\n"


def test_a_comment_that_was_the_whole_line_goes_with_its_line(tmp_path):
    source = HEAD + "if t:\n    # noqa: CCL201\n    pass  # keep me\n"
    assert codes(tmp_path, source) == [(4, "CCL900")]
    assert fixed(tmp_path, source) == HEAD + "if t:\n    pass  # keep me\n"


def test_file_level_directive_codes_are_judged_by_running_their_rules(tmp_path):
    source = "# conclint: noqa: CCL301, CCL201\n" + HEAD + f"{FOUND}\n"
    ((line, code, message),) = lint(tmp_path, source)
    assert (line, code) == (1, "CCL900") and "unused: CCL201" in message
    assert fixed(tmp_path, source) == "# conclint: noqa: CCL301\n" + HEAD + f"{FOUND}\n"
    # With nothing left the directive goes: a bare one would skip the whole file.
    source = "# conclint: noqa: CCL201\n" + HEAD + f"{FOUND}\n"
    assert fixed(tmp_path, source) == HEAD + "t.daemon = True\n"


def test_unselected_rules_are_not_judged(tmp_path):
    source = HEAD + f"{CLEAN}  # noqa: CCL201\n"
    assert codes(tmp_path, source, "--select", "CCL3,CCL900") == []
    assert codes(tmp_path, source, "--ignore", "CCL201") == []
    # CCL207 is off by default: a code for it is judged only when it is selected.
    assert codes(tmp_path, HEAD + f"{CLEAN}  # noqa: CCL207\n") == []
    assert codes(tmp_path, HEAD + f"{CLEAN}  # noqa: CCL207\n", "--extend-select", "CCL207") == [(3, "CCL900")]


def test_the_rule_is_selectable_and_suppressible_like_any(tmp_path):
    source = HEAD + f"{CLEAN}  # noqa: CCL201\n"
    assert codes(tmp_path, source, "--ignore", "CCL900") == []
    assert codes(tmp_path, source, "--ignore-noqa") == []
    # Its own code beside an unused one keeps that one on purpose; alone it is unused.
    assert codes(tmp_path, HEAD + f"{CLEAN}  # noqa: CCL201, CCL900\n") == []
    assert codes(tmp_path, HEAD + f"{CLEAN}  # noqa: CCL900\n") == [(3, "CCL900")]
    (tmp_path / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = {"a.py" = ["CCL900"]}\n')
    assert codes(tmp_path, source) == []
    (tmp_path / "pyproject.toml").unlink()
    assert codes(tmp_path, "# conclint: noqa: CCL900\n" + source) == []


def test_files_the_gates_skip_are_checked_too(tmp_path):
    # No threading at all: no rule parses this file, its comments are read all the same.
    source = "import os\nos.getcwd()  # noqa: CCL301\n"
    assert codes(tmp_path, source) == [(2, "CCL900")]
    assert fixed(tmp_path, source) == "import os\nos.getcwd()\n"


def test_round_trip_fix_then_lint_leaves_every_other_finding(tmp_path):
    unfixable = "with threading.Lock():  # noqa: E501  # CCL206, which has no fix\n"
    source = HEAD + f"{FOUND}  # noqa: CCL301,  CCL201\n" + unfixable + "    y = 2  #noqa:ccl305 # why\n"
    before = codes(tmp_path, source)
    assert before == [(3, "CCL900"), (4, "CCL206"), (5, "CCL900")]
    after = fixed(tmp_path, source)
    assert after == HEAD + f"{FOUND}  # noqa: CCL301\n" + unfixable + "    y = 2  # why\n"
    assert codes(tmp_path, after) == [(4, "CCL206")]
    assert fixed(tmp_path, after) == after
    # --diff shows the same edit and writes nothing.
    (tmp_path / "a.py").write_text(source)
    diff = run_cli("--no-cache", "--diff", "a.py", cwd=tmp_path)
    assert "+t.setDaemon(True)  # noqa: CCL301\n" in diff.stdout
    assert (tmp_path / "a.py").read_text() == source


def test_json_edits_reproduce_the_fix(tmp_path):
    source = HEAD + f"{CLEAN}  # noqa: CCL201, E501\n"
    (tmp_path / "a.py").write_text(source)
    result = run_cli("--no-cache", "--output-format", "json", "a.py", cwd=tmp_path)
    (finding,) = json.loads(result.stdout)
    (edit,) = finding["fix"]["edits"]
    line = source.splitlines()[edit["line"] - 1]
    assert edit["line"] == edit["end_line"] == 3
    assert line[: edit["column"] - 1] + edit["content"] + line[edit["end_column"] - 1:] == f"{CLEAN}  # noqa: E501"


# ---------------------------------------------------------------------- --add-noqa
def add_noqa(tmp_path, source: str, *args: str):
    (tmp_path / "a.py").write_text(source)
    result = run_cli("--no-cache", "--add-noqa", *args, "a.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "a.py").read_text(), result.stderr


def test_add_noqa_then_lint_is_clean_and_a_second_run_adds_nothing(tmp_path):
    source = HEAD + f"{FOUND}\nt.setDaemon(True); t.isDaemon()\nwith threading.Lock():\n    pass\n"
    assert codes(tmp_path, source) == [(3, "CCL301"), (4, "CCL301"), (4, "CCL301"), (5, "CCL206")]
    after, stderr = add_noqa(tmp_path, source)
    assert after == HEAD + (
        f"{FOUND}  # noqa: CCL301\nt.setDaemon(True); t.isDaemon()  # noqa: CCL301\n"
        "with threading.Lock():  # noqa: CCL206\n    pass\n"
    )
    assert "Added 3 noqa comments." in stderr
    assert codes(tmp_path, after) == []
    again, stderr = add_noqa(tmp_path, after)
    assert again == after and "Added 0 noqa comments." in stderr


def test_add_noqa_keeps_existing_comments_and_merges_with_a_noqa(tmp_path):
    source = HEAD + f"{FOUND}  # explanation\n{FOUND}  # noqa: E501  # why\n{FOUND}  #noqa:ccl2\n"
    after, _ = add_noqa(tmp_path, source)
    assert after == HEAD + (
        f"{FOUND}  # explanation  # noqa: CCL301\n"
        f"{FOUND}  # noqa: E501, CCL301  # why\n"
        f"{FOUND}  #noqa:ccl2, CCL301\n"
    )
    assert codes(tmp_path, after) == []


def test_add_noqa_leaves_a_stale_code_reported_for_fix_to_remove(tmp_path):
    # As ruff's --add-noqa never adds RUF100: CCL900 in the comment would hide the stale
    # CCL201, and every later one, for good.
    source = HEAD + f"{FOUND}  # noqa: CCL201\n"
    after, stderr = add_noqa(tmp_path, source)
    assert after == HEAD + f"{FOUND}  # noqa: CCL201, CCL301\n" and "Added 1 noqa comment" in stderr
    assert codes(tmp_path, after) == [(3, "CCL900")]
    assert run_cli("--no-cache", "--fix", "a.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.py").read_text() == HEAD + f"{FOUND}  # noqa: CCL301\n"


def test_add_noqa_comments_the_first_line_of_a_multi_line_finding(tmp_path):
    source = HEAD + "t.setDaemon(\n    True,\n)\n"
    after, _ = add_noqa(tmp_path, source)
    assert after == HEAD + "t.setDaemon(  # noqa: CCL301\n    True,\n)\n"
    assert codes(tmp_path, after) == []


def test_add_noqa_never_writes_into_a_string_or_after_a_backslash(tmp_path):
    # The comment goes at the end of the string or of the continuation, where noqa is read
    # for the lines they hold (as ruff and flake8 read it).
    source = HEAD + 'x = t.setDaemon(True) or """\n# text\n"""\ny = t.isDaemon() + \\\n    1\n'
    after, stderr = add_noqa(tmp_path, source)
    assert after == HEAD + 'x = t.setDaemon(True) or """\n# text\n"""  # noqa: CCL301\ny = t.isDaemon() + \\\n    1  # noqa: CCL301\n'
    assert "Added 2 noqa comments." in stderr
    assert codes(tmp_path, after) == []
    # Read there by the lint, the comments silence and are used: --fix keeps them.
    assert codes(tmp_path, after, "--extend-select", "CCL900") == []
    assert fixed(tmp_path, after) == after
    # A file that ends inside a continuation has nowhere to put one.
    broken = HEAD + "t.setDaemon(True) or \\\n"
    _, stderr = add_noqa(tmp_path, broken)
    assert "Added 0 noqa comments." in stderr


def test_add_noqa_respects_selection_and_baseline_and_keeps_bytes(tmp_path):
    source = HEAD + f"{FOUND}\nwith threading.Lock():\n    pass\n"
    after, _ = add_noqa(tmp_path, source, "--select", "CCL2")
    assert after == HEAD + f"{FOUND}\nwith threading.Lock():  # noqa: CCL206\n    pass\n"
    # Findings the baseline records stay as they are.
    (tmp_path / "a.py").write_text(source)
    assert run_cli("--no-cache", "--write-baseline", "base.json", "a.py", cwd=tmp_path).returncode == 0
    after, stderr = add_noqa(tmp_path, source, "--baseline", "base.json")
    assert after == source and "Added 0 noqa comments." in stderr
    # CRLF line breaks and a BOM are kept.
    data = ("\ufeff" + source).replace("\n", "\r\n").encode()
    (tmp_path / "b.py").write_bytes(data)
    assert run_cli("--no-cache", "--add-noqa", "b.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "b.py").read_bytes() == data.replace(
        b"(True)\r\n", b"(True)  # noqa: CCL301\r\n"
    ).replace(b"Lock():\r\n", b"Lock():  # noqa: CCL206\r\n")


def test_add_noqa_refuses_fix_and_stdin(tmp_path):
    (tmp_path / "a.py").write_text(HEAD)
    for args in (("--fix", "a.py"), ("--diff", "a.py"), ("-",)):
        result = run_cli("--add-noqa", *args, cwd=tmp_path, stdin="")
        assert result.returncode == 2 and "--add-noqa cannot be combined" in result.stderr


def test_removing_a_whole_directive_takes_the_separators_after_its_codes(tmp_path):
    for comment, left in (
        ("# noqa: CCL301,", ""), ("# noqa: CCL301: why", "  # why"), ("# noqa: CCL301 , later", "  # later"),
    ):
        assert fixed(tmp_path, HEAD + f"{CLEAN}  {comment}\n") == HEAD + f"{CLEAN}{left}\n", comment


def test_an_unused_noqa_alone_on_a_continued_line_leaves_the_line(tmp_path):
    # The line before ends with a backslash: removing the whole line would break the file
    # (and with it every other fix of the file).
    source = HEAD + FOUND + "\nx = 1 \\\n    # noqa: CCL301\n"
    after = fixed(tmp_path, source)
    assert after == HEAD + "t.daemon = True\nx = 1 \\\n\n"
    compile(after, "a.py", "exec")


def test_a_file_directive_at_the_end_of_a_line_of_code_is_not_judged(tmp_path):
    found = codes(tmp_path, HEAD + FOUND + "  # conclint: noqa: CCL301\n")
    assert (3, "CCL900") not in found and (3, "CCL000") in found
