"""Every fixture reports exactly its ``# error:`` markers; ``.fixed.py`` twins pin the fixes."""

from __future__ import annotations

import pytest

from helpers import FIXTURES, fix, fixture_files, found, markers, strip_markers

FILES = fixture_files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_match_markers(path):
    text = path.read_text(encoding="utf-8")
    assert found(strip_markers(text), str(path)) == markers(text)


TWINS = [p for p in FILES if p.with_name(p.stem + ".fixed.py").exists()]


@pytest.mark.parametrize("path", TWINS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fix_matches_fixed_twin_and_is_stable(path):
    twin = path.with_name(path.stem + ".fixed.py")
    fixed = fix(strip_markers(path.read_text(encoding="utf-8")), path=str(path))
    expected = twin.read_text(encoding="utf-8")
    assert fixed == strip_markers(expected)
    # What remains after fixing is exactly what the twin marks, and a second pass changes nothing.
    assert found(fixed, str(twin)) == markers(expected)
    assert fix(fixed, path=str(twin)) == fixed
    compile(fixed, str(twin), "exec")
