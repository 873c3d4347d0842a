"""Shared test helpers: inline expectation markers and in-process linting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Set, Tuple, Union

from conclint.engine import lint_source
from conclint.fixer import fix_source
from conclint.settings import Settings, resolve_selection

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MARKER_RE = re.compile(r"\s*# error: (?P<codes>CCL\d{3}(?:\s*,\s*CCL\d{3})*)\s*$")


def markers(text: str) -> Set[Tuple[int, str]]:
    """{(line, code)} from trailing ``# error: CCL201, CCL301`` comments."""
    out = set()
    for number, line in enumerate(text.splitlines(), 1):
        match = MARKER_RE.search(line)
        if match:
            out.update((number, c.strip()) for c in match.group("codes").split(","))
    return out


def strip_markers(text: str) -> str:
    return "".join(MARKER_RE.sub("", line[:-1] if line.endswith("\n") else line) + ("\n" if line.endswith("\n") else "")
                   for line in text.splitlines(keepends=True))


def settings(select: Sequence[str] = ("CCL",), **options) -> Settings:
    return Settings(resolve_selection(list(select), [], []), **options)


def lint(text: str, path: str = "example.py", select: Sequence[str] = ("CCL",)):
    return lint_source(text.encode(), path, settings(select)).findings


def found(text: str, path: str = "example.py", select: Sequence[str] = ("CCL",)) -> Set[Tuple[int, str]]:
    return {(f.line, f.code) for f in lint(text, path, select)}


def fix(text: str, unsafe: bool = True, select: Sequence[str] = ("CCL",), path: str = "example.py") -> str:
    outcome = fix_source(text.encode(), path, settings(select), unsafe=unsafe)
    assert outcome.error is None, outcome.error
    return outcome.fixed.decode()


def run_cli(
    *args: str,
    cwd: Optional[Path] = None,
    stdin: Union[str, bytes, None] = None,
    env: Optional[dict] = None,
    prefix: Sequence[str] = (),
    timeout: float = 300,
):
    """Run the real ``conclint`` command in a subprocess (``prefix``: a wrapper command).

    With ``stdin`` as bytes, stdout and stderr are bytes too, exactly as written. A run
    longer than ``timeout`` seconds fails the test (subprocess.TimeoutExpired)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "conclint", *args],
        cwd=str(cwd) if cwd else None,
        input=stdin,
        capture_output=True,
        text=not isinstance(stdin, bytes),
        env=full_env,
        timeout=timeout,
    )


def fixture_files() -> List[Path]:
    return sorted(p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py"))


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a throwaway identity (tests must not depend on the user's)."""
    return subprocess.run(
        ["git", "-c", "user.name=conclint tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=str(repo), check=True, capture_output=True, text=True,
    ).stdout
