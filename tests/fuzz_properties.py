"""Properties every rule keeps on any program; shared by tests/test_fuzz.py (a bounded run
in the normal test suite) and scripts/fuzz.py (long campaigns).

Programs come from hypothesmith (any text CPython's grammar allows) and from the rule
fixtures with generated code spliced in between their statements: generated code alone
almost never uses a concurrency API, so no rule would have anything to fix in it. The
gates are off, so every rule runs on every program, whatever rules exist; each program is
linted with the gates on too, and the findings must be the same (the gates are necessary
conditions). Fixtures are also spliced into in pieces (tests/cases.py: a prelude and one
statement group), where a form a gate misses is not hidden by the file's other forms.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from typing import Any, List, Optional, Tuple

import hypothesmith
from hypothesis import strategies as st

from cases import fixture_cases
from conclint.engine import PARSE_ERROR, lint_source
from conclint.fixer import fix_source
from conclint.analysis.parsing import ParseFailure, parse_module
from conclint.settings import Settings, resolve_selection
from helpers import fixture_files, strip_markers

PATH = "fuzzed.py"


def _fixture_sources() -> List[str]:
    """The fixtures CPython can parse (a few are broken on purpose)."""
    sources = []
    for path in fixture_files():
        text = strip_markers(path.read_text(encoding="utf-8"))
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        sources.append(text)
    # Their cases (without their rule options: these programs run with the defaults).
    sources.extend(case.source for _, split in fixture_cases() for case in split.cases)
    return sources


def splice(fixture: str, code: str, where: int) -> str:
    """``code`` inserted before one of ``fixture``'s statements, at any depth (indented to
    match), or at its end: generated code between an acquire and its release, inside a
    loop that starts threads, and so on."""
    lines = fixture.splitlines(keepends=True)
    spots = [(len(lines), 0)]
    for node in ast.walk(ast.parse(fixture)):
        if isinstance(node, ast.stmt):
            line = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
            if not lines[line][: node.col_offset].strip():  # not after a `;` or a colon
                spots.append((line, node.col_offset))
    at, column = spots[where % len(spots)]
    block = textwrap.indent(code if code.endswith("\n") else code + "\n", " " * column)
    return "".join(lines[:at]) + block + "".join(lines[at:])


def programs() -> st.SearchStrategy[str]:
    generated = hypothesmith.from_grammar()
    sources = _fixture_sources()

    def fixture(index: int) -> str:  # by index: a strategy holding the texts would print them all
        return sources[index]

    fixtures = st.integers(0, len(sources) - 1).map(fixture)
    spliced = st.builds(splice, fixtures, generated, st.integers(min_value=0))
    return st.one_of(generated, spliced)


def every_rule(gate: bool = False) -> Settings:
    return Settings(resolve_selection(["ALL"], [], []), gate=gate)


def check(source: str, settings: Settings, gated: Optional[Settings] = None) -> Tuple[bool, Optional[str]]:
    """(whether fixing changed ``source``, what it shows to be wrong with conclint or None).
    ``settings`` has the gates off; ``gated``, the same with them on, must find the same.
    Exceptions are failures too: the caller records or raises them."""
    try:
        data = source.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not a file anyone can have
        return False, None
    found = _rows(lint_source(data, PATH, settings).findings)
    if gated is not None:
        with_gates = _rows(lint_source(data, PATH, gated).findings)
        if not with_gates and found and all(row[0] == PARSE_ERROR for row in found) and _compiles(data):
            # Valid Python that LibCST cannot read (parsing.LIBCST_ONLY, or its validation
            # refusing what its parser built): said when LibCST is run, which the gates spare
            # it when CPython's tree shows no rule could report (by design).
            found = []
        if with_gates != found:
            lost = sorted({row[0] for row in found if row not in with_gates})
            added = sorted({row[0] for row in with_gates if row not in found})
            return False, f"the gates change the findings: lost {lost}, added {added}\n{found}\n{with_gates}"
    fixed = fix_source(data, PATH, settings, unsafe=True)
    if fixed.error is not None and not _REFUSED_BY_DESIGN.search(fixed.error):
        return False, f"fix refused: {fixed.error}"
    if fixed.error is not None:  # (linted, not fixed, and said so: the file is left as it was)
        return False, None if fixed.fixed == data else "a refused fix changed the file"
    if fixed.fixed == data:
        return False, None
    try:
        parse_module(fixed.fixed)
    except ParseFailure as exc:
        return True, f"fixed code does not parse: line {exc.line}: {exc.message}"
    if _compiles(data) and not _compiles(fixed.fixed):
        return True, "fixed code does not compile"
    again = fix_source(fixed.fixed, PATH, settings, unsafe=True)
    if again.fixed != fixed.fixed or again.error is not None:
        return True, f"a second fix pass changed the code ({again.error or 'not idempotent'})"
    return True, None


# Fixes withheld on purpose, with a notice (engine.LONE_CR: which ending would a new line take?;
# form feeds in an indentation, which LibCST drops).
_REFUSED_BY_DESIGN = re.compile(r"lone carriage return \(CR\) among other line endings|form feed")


def _rows(findings: List[Any]) -> List[Tuple[Any, ...]]:
    return sorted((f.code, f.line, f.column, f.end_line, f.end_column, f.message) for f in findings)


def _compiles(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, PATH, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True
