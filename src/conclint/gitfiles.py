"""``--since REV``: the Python files a change touches, from git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Sequence

from conclint.discovery import PYTHON_SUFFIXES


def _git(*args: str) -> str:
    try:
        completed = subprocess.run(
            ["git", "-c", "core.quotePath=false", *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise RuntimeError(f"--since needs git: {exc.strerror or exc}") from None
    if completed.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {completed.stderr.strip() or completed.returncode}")
    return completed.stdout


def changed_files(rev: str, paths: Sequence[str]) -> List[str]:
    """Python files changed since ``rev`` under ``paths``, relative to the current directory.

    "Changed" is what a reviewer of the branch would see: commits since the merge base
    of ``rev`` and HEAD (so commits that landed on ``rev`` later do not count), plus
    staged and unstaged edits and untracked files that are not ignored. Deleted files
    are left out: there is nothing to lint.
    """
    try:
        top = Path(_git("rev-parse", "--show-toplevel").strip())
    except RuntimeError as exc:
        raise RuntimeError(f"--since needs a git repository ({exc})") from None
    try:
        _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except RuntimeError:
        raise RuntimeError(f"--since: unknown git revision {rev!r}") from None
    base = _git("merge-base", rev, "HEAD").strip()
    # ``git diff BASE`` compares BASE with the working tree: committed, staged and unstaged.
    changed = _git("diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", base, "--").split("\0")
    untracked = _git("ls-files", "-z", "--others", "--exclude-standard", "--full-name", str(top)).split("\0")

    wanted = [Path(p).resolve() for p in paths]
    out = []
    for name in sorted(set(changed + untracked)):
        if not name.endswith(PYTHON_SUFFIXES):
            continue
        path = top / name
        if any(path == w or w in path.parents for w in wanted):
            out.append(os.path.relpath(path))
    return out
