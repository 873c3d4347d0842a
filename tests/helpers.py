"""Shared test helpers: inline expectation markers and in-process linting."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

from conclint.runner import lint_project
from conclint.fixer import fix_source
from conclint.settings import Settings, explicitly_selected, known_codes, resolve_selection

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


OPTIONS_RE = re.compile(r"#\s*conclint-options:\s*(?P<json>.*?)\s*$")
RuleOptions = Dict[str, Dict[str, Any]]


def fixture_options(text: str) -> RuleOptions:
    """Rule options, by rule code, from a ``# conclint-options: {...}`` comment among the
    comments heading a fixture (before its first line of code). The JSON object maps rule
    names, as in ``[tool.conclint.<rule-name>]``, to their options, e.g.
    ``# conclint-options: {"unbounded-thread-spawn": {"max-threads": 4}}``. Unknown rules
    or options and values of the wrong type raise ValueError, as the configuration would."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        match = OPTIONS_RE.fullmatch(stripped)
        if match:
            return _rule_options(json.loads(match.group("json")))
    return {}


def _rule_options(table: Any) -> RuleOptions:
    if not isinstance(table, dict):
        raise ValueError(f"conclint-options: must be an object of rule names, not {table!r}")
    from conclint.rule import all_rules  # the option defaults live on the rule classes

    codes = {name: code for code, name in known_codes().items()}
    classes = all_rules()
    out: RuleOptions = {}
    for name, values in table.items():
        if name not in codes or codes[name] not in classes:
            raise ValueError(f"conclint-options: unknown rule {name!r}")
        defaults = classes[codes[name]].options
        if not isinstance(values, dict):
            raise ValueError(f"conclint-options: {name}: must be an object of options, not {values!r}")
        for key, value in values.items():
            if key not in defaults:
                raise ValueError(f"conclint-options: {name}: unknown option {key!r}")
            if type(value) is not type(defaults[key]):
                raise ValueError(f"conclint-options: {name}.{key}: must be {type(defaults[key]).__name__}, not {value!r}")
        out[codes[name]] = dict(values)
    return out


def strip_markers(text: str) -> str:
    return "".join(MARKER_RE.sub("", line[:-1] if line.endswith("\n") else line) + ("\n" if line.endswith("\n") else "")
                   for line in text.splitlines(keepends=True))


# Every rule, each named by its code: off-by-default rules (CCL207) too, as fixtures and pages
# are checked with every rule enabled.
EVERY_RULE: Tuple[str, ...] = tuple(sorted(known_codes()))


def settings(select: Sequence[str] = EVERY_RULE, **options) -> Settings:
    return Settings(resolve_selection(list(select), [], []), explicit=explicitly_selected(select, []), **options)


def lint(text: str, path: str = "example.py", select: Sequence[str] = EVERY_RULE, options: Optional[RuleOptions] = None):
    """The findings of ``text`` as the CLI reports them for that one file: project rules
    (CCL209) included, over the file alone."""
    return lint_project({path: text.encode()}, settings(select, rule_options=options or {}))


def found(
    text: str, path: str = "example.py", select: Sequence[str] = EVERY_RULE, options: Optional[RuleOptions] = None
) -> Set[Tuple[int, str]]:
    return {(f.line, f.code) for f in lint(text, path, select, options)}


def fix(
    text: str, unsafe: bool = True, select: Sequence[str] = EVERY_RULE, path: str = "example.py",
    options: Optional[RuleOptions] = None,
) -> str:
    outcome = fix_source(text.encode(), path, settings(select, rule_options=options or {}), unsafe=unsafe)
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


# Fixture projects (several modules each, linted together through the CLI by
# tests/test_projects.py): not single-file fixtures.
PROJECTS = FIXTURES / "projects"


def fixture_files() -> List[Path]:
    return sorted(
        p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py") and PROJECTS not in p.parents
    )


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a throwaway identity (tests must not depend on the user's)."""
    return subprocess.run(
        ["git", "-c", "user.name=conclint tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=str(repo), check=True, capture_output=True, text=True,
    ).stdout
