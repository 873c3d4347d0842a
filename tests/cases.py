"""Fixtures and rule-page examples cut into small programs ("cases"), each holding one form.

A fixture file holds every case of a rule, so a gate that wrongly skips one form still lets
the file through for the others: linted whole, the file hides the bug. Cut apart, each case
runs on its own. A case is the file's prelude (the leading imports, docstring and simple
assignments that carry no finding) followed by one statement group: a def or class with its
decorators, or a run of other module-level statements up to the next blank line. Comments
directly above a group belong to it.

Each group also yields a second case with its context: the other groups that bind a name the
group reads (transitively), so that a finding needing a definition elsewhere in the file (a
lock assigned at module level, a Thread subclass) is reproduced too.

Used by tests/test_gate_cases.py and scripts/mutate_gates.py.
"""

from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, List, Optional, Set, Tuple

from conclint.docs import code_blocks, pages_dir
from conclint.settings import PARSE_ERROR_CODE
from conclint.engine import lint_source
from conclint.settings import Settings, known_codes, resolve_selection
from helpers import FIXTURES, RuleOptions, fixture_files, fixture_options, markers, strip_markers

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_NEW_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


Findings = List[Tuple[Any, ...]]


@lru_cache(maxsize=None)
def _settings(options: str, gate: bool) -> Settings:
    # Every rule, also those off by default (named in full, as a user would to enable them).
    return Settings(
        resolve_selection(["CCL"], [], []), explicit=frozenset(known_codes()), rule_options=json.loads(options), gate=gate
    )


def findings(source: str, options: RuleOptions, gate: bool) -> Findings:
    """What every rule finds in ``source`` with ``options``, with the gates on or off."""
    settings = _settings(json.dumps(options, sort_keys=True), gate)
    result = lint_source(source.encode("utf-8", "surrogatepass"), "case.py", settings)
    return sorted((f.code, f.line, f.column, f.end_line, f.end_column, f.message) for f in result.findings)


def gated_and_ungated(source: str, options: RuleOptions) -> Tuple[Findings, Findings]:
    return findings(source, options, True), findings(source, options, False)


def difference(gated: Findings, ungated: Findings) -> str:
    lost = [f for f in ungated if f not in gated]
    added = [f for f in gated if f not in ungated]
    return f"lost with the gates {lost}" + (f", only with them {added}" if added else "")


@dataclass(frozen=True)
class Case:
    name: str  # where it comes from: "threads/ccl307_x.py:14" (+ " with context"), "CCL307.md block 2"
    source: str
    options: RuleOptions = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Split:
    """The cases of one source, and how many of those generated did not compile."""

    cases: List[Case] = field(default_factory=list)
    invalid: List[str] = field(default_factory=list)  # names of the cases that did not compile


def compiles(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "case.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


def _first_line(statement: ast.stmt) -> int:
    return min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])


def _is_setup(statement: ast.stmt, marked: Set[int]) -> bool:
    """A statement of the prelude: an import, a docstring, a plain assignment to names, or an
    ``if``/``try`` of only those (a compatibility import); never one carrying a finding."""
    if any(statement.lineno <= line <= statement.end_lineno for line in marked):  # type: ignore[operator]
        return False
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return all(isinstance(t, ast.Name) for t in targets)
    if isinstance(statement, (ast.If, ast.Try)):
        inner = [*statement.body, *statement.orelse, *getattr(statement, "finalbody", [])]
        inner += [s for handler in getattr(statement, "handlers", []) for s in handler.body]
        return all(_is_setup(s, marked) for s in inner)
    return False


def _bound_names(statements: List[ast.stmt]) -> Set[str]:
    """Names the statements bind in the module's scope (not in the functions they define)."""
    out: Set[str] = set()
    pending: List[ast.AST] = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, _DEFS):
            out.add(node.name)
            pending.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.alias):
            out.add((node.asname or node.name).split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return out


def _read_names(statements: List[ast.stmt]) -> Set[str]:
    """Names the statements use: read, or assigned in place (``x += 1``), or declared
    ``global``/``nonlocal``."""
    out: Set[str] = set()
    for node in (n for s in statements for n in ast.walk(s)):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
    return out


def split_source(text: str, name: str, options: Optional[RuleOptions] = None) -> Split:
    """The cases of ``text``, a fixture with its ``# error:`` markers (a statement carrying
    one is never part of the prelude); the cases have none. A text CPython cannot parse
    gives no case."""
    options = options or {}
    out = Split()
    marked = {line for line, _ in markers(text)}
    text = strip_markers(text)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return out
    lines = text.splitlines()
    body = tree.body
    count = 0
    while count < len(body) and _is_setup(body[count], marked):
        count += 1
    prelude_end = body[count - 1].end_lineno if count else 0
    # Statement groups, each as [first line, last line] with the comments right above it.
    groups: List[List[ast.stmt]] = []
    for statement in body[count:]:
        previous = groups[-1][-1] if groups else None
        joined = (
            previous is not None
            and not isinstance(statement, _DEFS)
            and not isinstance(previous, _DEFS)
            and all(lines[i].strip() for i in range(previous.end_lineno, _first_line(statement) - 1))  # type: ignore[arg-type]
        )
        if joined or (previous is not None and _first_line(statement) <= previous.end_lineno):  # type: ignore[operator]
            groups[-1].append(statement)  # also `a; b` on one line
        else:
            groups.append([statement])
    spans = []
    for index, group in enumerate(groups):
        first = _first_line(group[0])
        floor = groups[index - 1][-1].end_lineno if index else prelude_end
        while first - 1 > floor and lines[first - 2].lstrip().startswith("#"):  # type: ignore[operator]
            first -= 1
        spans.append((first, group[-1].end_lineno))
    prelude = "\n".join(lines[:prelude_end])

    def text_of(indices: List[int], head: str = prelude) -> str:
        parts = [head] if head else []
        parts += ["\n".join(lines[spans[i][0] - 1: spans[i][1]]) for i in indices]
        return "\n\n\n".join(parts) + "\n"

    binds = [_bound_names(group) for group in groups]
    for index, group in enumerate(groups):
        label = f"{name}:{spans[index][0]}"
        # The group alone after the prelude statements it uses (an import of unused names
        # could satisfy a byte trigger for it), after the whole prelude, and with its context.
        candidates = [
            (label, text_of([index], _pruned(body[:count], _read_names(group), lines))),
            (f"{label} full prelude", text_of([index])),
        ]
        context = sorted(_context(index, groups, binds) | {index})
        if len(context) > 1:
            head = _pruned(body[:count], _read_names([s for i in context for s in groups[i]]), lines)
            candidates.append((f"{label} with context", text_of(context, head)))
        seen = set()
        for case_name, source in candidates:
            if source in seen:
                continue
            seen.add(source)
            if compiles(source):
                out.cases.append(Case(case_name, source, options))
            else:
                out.invalid.append(case_name)
    return out


def _pruned(prelude: List[ast.stmt], wanted: Set[str], lines: List[str]) -> str:
    """The prelude statements binding a name in ``wanted`` (or read by one kept, and so on),
    docstrings, ``__future__`` and star imports; imports keep only the names wanted."""
    wanted = set(wanted)
    kept: List[str] = []
    for statement in reversed(prelude):
        text = "\n".join(lines[statement.lineno - 1: statement.end_lineno])
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
                kept.append(text)
                continue
            names = [
                a for a in statement.names
                if a.name == "*" or (a.asname or a.name.split(".")[0]) in wanted
            ]
            if names and len(names) < len(statement.names):
                text = ast.unparse(type(statement)(**{**vars(statement), "names": names}))
            if names:
                kept.append(text)
        elif isinstance(statement, ast.Expr) or _bound_names([statement]) & wanted:
            kept.append(text)
            wanted |= _read_names([statement])
    return "\n".join(reversed(kept))


def _context(index: int, groups: List[List[ast.stmt]], binds: List[Set[str]]) -> Set[int]:
    """The other groups binding a name that group ``index`` reads, transitively."""
    found: Set[int] = set()
    pending = [index]
    while pending:
        wanted = _read_names(groups[pending.pop()])
        for other, names in enumerate(binds):
            if other != index and other not in found and names & wanted:
                found.add(other)
                pending.append(other)
    return found


def fixture_cases() -> Iterator[Tuple[Path, Split]]:
    """Per fixture file (not the ``.fixed.py`` twins), its cases with its options."""
    for path in fixture_files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(FIXTURES).as_posix()
        yield path, split_source(text, name, fixture_options(text))


def page_cases() -> Split:
    """Every code block of the rule pages, whole."""
    out = Split()
    for page in sorted(pages_dir().glob("CCL*.md")):
        if page.stem == PARSE_ERROR_CODE:
            continue  # no rule's page: its example is code CPython refuses, on purpose
        for number, (tag, body) in enumerate(code_blocks(page.read_text(encoding="utf-8")), 1):
            name = f"{page.name} block {number} ({tag})"
            source = strip_markers(body)
            if compiles(source):
                out.cases.append(Case(name, source))
            else:
                out.invalid.append(name)
    return out
