"""``--since REV``: the Python files a change touches, from git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Sequence

from conclint.discovery import PYTHON_SUFFIXES


# A repository's .git/config is no more trusted than its code, and git runs commands that
# configuration names. Linting must not run them, so git is run with:
# - core.fsmonitor off: a hook run whenever the index is read (diff, ls-files);
# - no optional locks and no hooks: nothing writes the index, so no post-index-change hook;
# - no external diff or textconv (--name-only needs neither: belt and braces);
# - every configured filter driver emptied (``_no_filters``): git runs a clean filter on a
#   working-tree file whose stat data no longer matches the index, to compare contents;
# - no transport at all (GIT_ALLOW_PROTOCOL empty): a partial clone fetches a missing object
#   from its promisor remote, whose URL (ext::) or upload-pack setting can be a command.
#   There the command fails and says so instead.
# trace2 settings are read from system and global configuration only (the user's own).
_SAFE_OPTIONS = (
    "--no-pager", "--no-optional-locks",
    "-c", "core.quotePath=false",
    "-c", "core.fsmonitor=false",
    "-c", f"core.hooksPath={os.devnull}",
)
_SAFE_ENV = {"GIT_ALLOW_PROTOCOL": "", "GIT_TERMINAL_PROMPT": "0"}


def _git(*args: str, options: Sequence[str] = (), ok_codes: Sequence[int] = (0,)) -> str:
    try:
        completed = subprocess.run(
            ["git", *_SAFE_OPTIONS, *options, *args],
            capture_output=True, text=True, check=False, env={**os.environ, **_SAFE_ENV},
        )
    except OSError as exc:
        raise RuntimeError(f"--since needs git: {exc.strerror or exc}") from None
    if completed.returncode not in ok_codes:
        raise RuntimeError(f"git {args[0]} failed: {completed.stderr.strip() or completed.returncode}")
    return completed.stdout


def _no_filters() -> List[str]:
    """``-c`` options that empty every filter driver the configuration defines: an empty
    command is no filter, and one no longer required is not an error when it does not run."""
    listing = _git("config", "-z", "--get-regexp", r"^filter\.", ok_codes=(0, 1))
    names = set()
    for entry in listing.split("\0"):
        key = entry.split("\n", 1)[0]
        if key.count(".") >= 2:
            names.add(key[len("filter."):key.rindex(".")])
    options = []
    for name in sorted(names):
        if "=" in name:  # ``-c`` would split the key there
            raise RuntimeError(f"--since: cannot disable the git filter driver {name!r} (its name holds '=')")
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            options += ["-c", f"filter.{name}.{key}={value}"]
    return options


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
        raise RuntimeError(f"--since: unknown git revision {rev!r}{_shallow_advice()}") from None
    try:
        base = _git("merge-base", rev, "HEAD").strip()
    except RuntimeError:
        raise RuntimeError(f"--since: {rev!r} and HEAD have no common ancestor here{_shallow_advice()}") from None
    no_filters = _no_filters()
    # ``git diff BASE`` compares BASE with the working tree: committed, staged and unstaged.
    changed = _git(
        "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", "--diff-filter=d", base, "--",
        options=no_filters,
    ).split("\0")
    untracked = _git(
        "ls-files", "-z", "--others", "--exclude-standard", "--full-name", str(top), options=no_filters
    ).split("\0")

    wanted = [Path(p).resolve() for p in paths]
    out = []
    for name in sorted(set(changed + untracked)):
        if not name.endswith(PYTHON_SUFFIXES):
            continue
        path = top / name
        if any(path == w or w in path.parents for w in wanted):
            out.append(os.path.relpath(path))
    return out


def _shallow_advice() -> str:
    """What to do about a shallow clone (CI checkouts often are), when this is one."""
    try:
        shallow = _git("rev-parse", "--is-shallow-repository").strip() == "true"
    except RuntimeError:
        return ""
    if not shallow:
        return ""
    return (
        ": this is a shallow clone, whose history stops before it; fetch more of it "
        "(`git fetch --deepen=50`, `git fetch --unshallow`, or `git fetch origin main` for a branch; "
        "in GitHub Actions, `actions/checkout` with `fetch-depth: 0`)"
    )
