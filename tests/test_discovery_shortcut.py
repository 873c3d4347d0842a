"""Discovery matches a directory's entries against the excludes and .gitignores through the
directory's own relative path (``Discovery._checks``), not each entry's: on a tree with
links in and out, nested .gitignores, excluded names and a root above, below and beside the
walked directory, the files found are exactly those the per-entry ``excluded`` finds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from conclint.discovery import Discovery


def _tree(top: Path) -> Path:
    project = top / "project"
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pkg" / "build").mkdir()
    (project / "pkg" / "gen").mkdir()
    (project / "other").mkdir()
    (top / "elsewhere" / "deep").mkdir(parents=True)
    for path in (
        "project/a.py", "project/pkg/b.py", "project/pkg/sub/c.py", "project/pkg/build/d.py",
        "project/pkg/gen/e.py", "project/pkg/gen/keep.py", "project/other/f.py", "project/skip_me.py",
        "elsewhere/g.py", "elsewhere/deep/h.py",
    ):
        (top / path).write_text("x = 1\n")
    (project / ".gitignore").write_text("skip_me.py\n")
    (project / "pkg" / ".gitignore").write_text("gen/*\n!gen/keep.py\n")
    (project / "pkg" / "linked").symlink_to(top / "elsewhere", target_is_directory=True)
    (project / "pkg" / "self").symlink_to(project / "other", target_is_directory=True)
    (project / "pkg" / "link.py").symlink_to(top / "elsewhere" / "g.py")
    (project / ".git").mkdir()
    return project


def _files(discovery: Discovery, paths: List[str], shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    with monkeypatch.context() as patch:
        if not shortcut:
            patch.setattr(Discovery, "_checks", lambda self, level, base: None)
        return list(discovery.files(paths))


@pytest.mark.parametrize("root", ["project", "project/pkg", "elsewhere", "."])
@pytest.mark.parametrize("walked", ["project", "project/pkg", "project/pkg/linked"])
@pytest.mark.parametrize("cwd", ["project", "elsewhere"])
def test_the_shortcut_finds_what_excluded_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: str, walked: str, cwd: str) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path / cwd)
    discovery = Discovery(root=tmp_path / root, extend_exclude=("build", "deep/"))
    paths = [os.path.relpath(tmp_path / walked)]
    expected = _files(discovery, paths, False, monkeypatch)
    assert expected, "the tree should hold files to find"
    assert _files(discovery, paths, True, monkeypatch) == expected
