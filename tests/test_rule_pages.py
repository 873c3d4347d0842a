"""rules/CCLnnn.md pages are executed: the docs cannot drift from the behaviour."""

from __future__ import annotations

import re

import pytest

from conclint.docs import code_blocks, pages_dir, read_page, sections
from conclint.rule import all_rules
from conclint.settings import PARSE_ERROR_CODE
from helpers import ROOT, fix, found, markers, run_cli, strip_markers

RULES = all_rules()
REQUIRED = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix")


def test_pages_are_the_checkout_rules_directory_or_packaged_copy():
    assert sorted(p.stem for p in pages_dir().glob("CCL*.md")) == sorted(p.stem for p in (ROOT / "rules").glob("CCL*.md"))


def test_every_page_belongs_to_a_rule():
    # CCL000 is no rule: the code of what conclint cannot read; it has a page all the same.
    assert {p.stem for p in (ROOT / "rules").glob("CCL*.md")} == set(RULES) | {PARSE_ERROR_CODE}


def test_the_page_of_ccl000_shows_what_it_reports(tmp_path):
    """`--explain CCL000` prints its page, and the page's example output is what the command
    says of the page's example."""
    result = run_cli("--explain", "ccl000")
    assert result.returncode == 0 and result.stdout.startswith("# CCL000: cannot-analyse"), result.stderr
    blocks = dict(re.findall(r"^```(\w+)\n(.*?)^```", result.stdout, re.M | re.S))
    source, expected = blocks["python"], blocks["text"].strip()
    (tmp_path / "example.py").write_text(source)
    linted = run_cli("--no-cache", "--output-format", "concise", "example.py", cwd=tmp_path)
    assert linted.returncode == 1
    assert linted.stdout.splitlines()[0] == expected


@pytest.mark.parametrize("code", sorted(RULES))
def test_page_structure(code):
    page = read_page(code)
    assert page is not None, f"rules/{code}.md is missing"
    cls = RULES[code]
    assert page.splitlines()[0] == f"# {code}: {cls.name}"
    heads = sections(page)
    for heading in REQUIRED:
        assert heads.get(heading), f"{code}: section '{heading}' is missing or empty"
    tags = [tag for tag, _ in code_blocks(page)]
    assert "bad" in tags and "good" in tags
    assert ("fixed" in tags) == (cls.fix is not None), "a page shows fixed code exactly when the rule has a fix"
    fix_text = heads["Fix"].lower()
    if cls.fix is None:
        assert "no fix" in fix_text or "no autofix" in fix_text
    else:
        assert cls.fix.value in fix_text, "the Fix section names the fix's applicability"


@pytest.mark.parametrize("code", sorted(RULES))
def test_page_examples_behave_as_documented(code):
    blocks = code_blocks(read_page(code))
    bad = [body for tag, body in blocks if tag == "bad"]
    for body in bad:
        expected = markers(body)
        assert any(c == code for _, c in expected), "the Example marks at least one finding of its rule"
        assert found(strip_markers(body)) == expected
    for tag, body in blocks:
        if tag == "good":
            assert found(body) == set(), "Use instead must be clean"
    fixed = [body for tag, body in blocks if tag == "fixed"]
    if fixed:
        assert len(bad) == 1
        result = fix(strip_markers(bad[0]))
        assert result == fixed[0]
        assert code not in {c for _, c in found(result)}
