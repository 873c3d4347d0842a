"""Every fixture reports exactly its ``# error:`` markers; ``.fixed.py`` twins pin the fixes.

A fixture may set rule options in a heading ``# conclint-options: {...}`` comment (see
``helpers.fixture_options``); they apply to its twin as well."""

from __future__ import annotations

import pytest

from helpers import FIXTURES, fix, fixture_files, fixture_options, found, markers, strip_markers

FILES = fixture_files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_match_markers(path):
    text = path.read_text(encoding="utf-8")
    assert found(strip_markers(text), str(path), options=fixture_options(text)) == markers(text)


TWINS = [p for p in FILES if p.with_name(p.stem + ".fixed.py").exists()]


@pytest.mark.parametrize("path", TWINS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fix_matches_fixed_twin_and_is_stable(path):
    twin = path.with_name(path.stem + ".fixed.py")
    text = path.read_text(encoding="utf-8")
    options = fixture_options(text)
    fixed = fix(strip_markers(text), path=str(path), options=options)
    expected = twin.read_text(encoding="utf-8")
    assert fixed == strip_markers(expected)
    # What remains after fixing is exactly what the twin marks, and a second pass changes nothing.
    assert found(fixed, str(twin), options=options) == markers(expected)
    assert fix(fixed, path=str(twin), options=options) == fixed
    compile(fixed, str(twin), "exec")


OPTIONED = [p for p in FILES if fixture_options(p.read_text(encoding="utf-8"))]


def test_some_fixtures_set_rule_options():
    assert any("CCL307" in fixture_options(p.read_text(encoding="utf-8")) for p in OPTIONED)


@pytest.mark.parametrize("path", OPTIONED, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_options_change_what_is_found(path):
    """A fixture's options matter: with the defaults it would not match its markers."""
    text = path.read_text(encoding="utf-8")
    assert found(strip_markers(text), str(path)) != markers(text)


def test_fixture_options_header():
    header = '# conclint-options: {"unbounded-thread-spawn": {"max-threads": 4}}\n'
    assert fixture_options(header + "import threading\n") == {"CCL307": {"max-threads": 4}}
    assert fixture_options("# about this file\n#conclint-options:{}\n") == {}
    # Only among the comments heading the file: later it is an ordinary comment.
    assert fixture_options("import threading\n" + header) == {}
    assert fixture_options("import threading\n") == {}


@pytest.mark.parametrize(
    "table, problem",
    [
        ('{"no-such-rule": {}}', "unknown rule 'no-such-rule'"),
        ('{"CCL307": {"max-threads": 4}}', "unknown rule 'CCL307'"),
        ('{"unbounded-thread-spawn": {"max-thread": 4}}', "unknown option 'max-thread'"),
        ('{"unbounded-thread-spawn": {"max-threads": "4"}}', "must be int"),
        ('{"unbounded-thread-spawn": {"max-threads": true}}', "must be int"),
        ('{"unbounded-thread-spawn": 4}', "must be an object of options"),
        ("[]", "must be an object of rule names"),
    ],
)
def test_fixture_options_header_is_validated(table, problem):
    with pytest.raises(ValueError, match=problem):
        fixture_options(f"# conclint-options: {table}\n")



def test_a_cancel_scope_is_not_called_a_timeout():
    from helpers import lint

    source = (
        "import anyio\n\n\nasync def f():\n    with anyio.CancelScope():\n        print(1)\n"
        "    with anyio.move_on_after(1):\n        print(2)\n"
    )
    messages = [f.message for f in lint(source, select=["CCL406"])]
    assert len(messages) == 2
    assert "`anyio.CancelScope()` with no `await` inside: the cancel scope can never cancel" in messages[0]
    assert "`anyio.move_on_after()` with no `await` inside: the timeout can never cancel" in messages[1]
