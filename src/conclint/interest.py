"""What a rule looks at, declared once: the engine derives both gates from it, and the rule's
visitor asks the same objects whether a node is one it cares about.

A rule's ``interest`` is a list of requirements, all of which a file must meet for the rule
to report in it; each requirement is met by any one of its items:

    LOCKING = Methods("acquire", on=ACQUIRABLE_TYPES)

    class MyRule(Rule):
        interest = Interest(Imports("threading"), LOCKING, Syntax("finally"))

        def visit_Call(self, node):
            if LOCKING.matches(self.sem, node): ...

Each requirement knows three things about itself, kept together so they cannot drift apart:

* ``triggers()``: byte-level tests (literals checked with ``in``, regexes or functions) that
  every file holding a match contains. The first gate, before anything is parsed.
* ``possible(facts)``: whether CPython's tree of the file (``facts``, see ``analysis.facts``)
  may hold a match. The second gate, before LibCST parses. Like the triggers it must be a
  necessary condition: it over-approximates what ``matches`` can see (callees by their last
  name and every local alias, subclasses defined in the file, any receiver that may be of a
  type).
* ``matches(sem, node)``: whether a LibCST node is a match, with the semantic model's answers
  (qualified names, receiver types). What rules use while visiting.

A rule whose findings need more than its interest shows (say, a release after the acquire,
in the same function) may also write ``could_report`` by hand; that is the exception, and the
per-case gate test (tests/test_gate_cases.py) checks it like every derived gate.
"""

from __future__ import annotations

import ast
from typing import Any, Callable, Dict, FrozenSet, Iterable, Optional, Tuple

import libcst as cst

from conclint.analysis.facts import Facts, Position, async_functions, body_span, position, producers_of, scope_end, terminals
from conclint.gate import ASYNC_DEF_TRIGGER, compile_trigger, trigger_matches, uses


class Requirement:
    """One condition on a file: met by any of its items."""

    def triggers(self) -> Tuple[Any, ...]:
        return ()

    def possible(self, facts: Facts) -> bool:
        return True


class All(Requirement):
    """Met when every one of ``requirements`` is (inside an ``Either``, say)."""

    def __init__(self, *requirements: Requirement) -> None:
        self.requirements = requirements

    def triggers(self) -> Tuple[Any, ...]:
        return tuple(t for r in self.requirements for t in r.triggers())

    def possible(self, facts: Facts) -> bool:
        return all(r.possible(facts) for r in self.requirements)


class Interest(All):
    """The requirements a file must all meet for a rule to report in it."""


def _alternation(words: Iterable[str]) -> str:
    """A trigger matching any of ``words`` as a literal (checked with ``in``: the fastest)."""
    return "|".join(sorted(w.replace(".", "\\.").replace("(", "\\(") for w in set(words)))


class Imports(Requirement):
    """One of ``modules`` (or a submodule) is imported: qualified names and types come only
    from imports, so a rule that needs them needs one."""

    def __init__(self, *modules: str) -> None:
        dotted = [m for m in modules if "." in m]
        if dotted:  # facts.imports_any compares top-level names: "concurrent.futures" never would
            raise ValueError(f"Imports takes top-level package names, not {dotted}")
        self.modules = modules

    def triggers(self) -> Tuple[Any, ...]:
        return uses(*self.modules)

    def possible(self, facts: Facts) -> bool:
        return facts.imports_any(*self.modules)


class Calls(Requirement):
    """A call of one of ``qualnames`` (canonical; ``threading.Thread``), or of a class of the
    file deriving from one of them; with ``statement``, only a call that is a statement."""

    def __init__(self, *qualnames: str, statement: bool = False, within: Tuple[str, ...] = ()) -> None:
        self.qualnames = frozenset(qualnames)
        self.last_names = terminals(self.qualnames)
        # Only calls that are a whole statement (their value unused) count; with ``within``,
        # only calls inside each of those constructs (see ``_WITHIN``).
        self.statement = statement
        self.within = _check_within(within)

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.last_names), *_within_triggers(self.within))

    def possible(self, facts: Facts) -> bool:
        calls = facts.calls_to(facts.with_subclasses(self.last_names), self.statement)
        return any(_inside(facts, call, self.within) for call in calls)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call):
            return False
        qualname = sem.qualname(node.func)
        if qualname is not None:
            return qualname in self.qualnames
        # A class of the file deriving from one (what ``possible`` counts as a subclass).
        return isinstance(node.func, cst.Name) and sem.call_result_type(node) in self.qualnames


class Methods(Requirement):
    """A call ``x.name(...)`` for one of ``names``; with ``on``, ``x`` must be of one of those
    types (canonical names) as far as the semantic model knows; with ``statement``, only a
    call that is a statement."""

    def __init__(
        self, *names: str, on: Optional[FrozenSet[str]] = None, statement: bool = False, within: Tuple[str, ...] = ()
    ) -> None:
        self.names = frozenset(names)
        self.on = on
        # As for ``Calls``: statements only, and inside each construct of ``within``.
        self.statement = statement
        self.within = _check_within(within)

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.names), *_within_triggers(self.within))

    def possible(self, facts: Facts) -> bool:
        calls = facts.methods_called(self.names, self.statement)
        if not any(_inside(facts, call, self.within) for call in calls):
            return False
        return self.on is None or facts.may_hold(self.on)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return False
        if node.func.attr.value not in self.names:
            return False
        return self.on is None or sem.type_of(node.func.value) in self.on


class Holds(Requirement):
    """A value of one of ``types`` (canonical names) may exist in the file for the semantic
    model to know: something producing one is called (a constructor, a ``Manager()`` method,
    a subclass) or a parameter is annotated with one."""

    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    def triggers(self) -> Tuple[Any, ...]:
        callables, methods = producers_of(self.types)
        return (_alternation(callables | methods),)

    def possible(self, facts: Facts) -> bool:
        return facts.may_hold(self.types)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.BaseExpression) and sem.type_of(node) in self.types


class Either(Requirement):
    """Met when one of ``requirements`` is (``Calls(...)`` or ``Methods(...)``, say)."""

    def __init__(self, *requirements: Requirement) -> None:
        self.requirements = requirements

    def triggers(self) -> Tuple[Any, ...]:
        # One test must stand for all: only alternations of literals can be joined.
        parts = [r.triggers() for r in self.requirements]
        if all(len(p) == 1 and isinstance(p[0], str) for p in parts):
            return ("|".join(p[0] for p in parts),)
        return (_EitherTest(parts),)

    def possible(self, facts: Facts) -> bool:
        return any(r.possible(facts) for r in self.requirements)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        return any(getattr(r, "matches", lambda *_: False)(sem, node) for r in self.requirements)


class _EitherTest:
    """A byte test met when every test of one of the alternatives is (see ``Either``)."""

    def __init__(self, alternatives: Iterable[Tuple[Any, ...]]) -> None:
        self.alternatives = [[compile_trigger(t) for t in tests] for tests in alternatives]

    def __call__(self, data: bytes) -> bool:
        return any(all(trigger_matches(t, data) for t in tests) for tests in self.alternatives)


# Syntax kinds: the byte-level trigger every such construct matches, and what CPython's tree
# shows of it.
_SYNTAX: Dict[str, Tuple[str, Callable[[Facts], bool]]] = {
    "while": ("while", lambda f: any(type(loop) is ast.While for loop in f.loops)),
    "loop": ("for|while", lambda f: bool(f.loops)),
    "with": ("with", lambda f: bool(f.with_items)),
    "finally": ("finally", lambda f: any(getattr(t, "finalbody", None) for t in f.tries)),
    # `async def` starts a line (a compound statement): the words in a docstring do not count.
    "async def": (ASYNC_DEF_TRIGGER, lambda f: next(async_functions(f), None) is not None),
    "class": ("class", lambda f: bool(f.classes)),
    "__name__": ("__name__", lambda f: bool(f.name_comparisons)),
}


# Constructs a call can be required to lie in (``within=``): the byte trigger of the construct,
# and whether CPython's node of it holds a position.
def _in_loop_body(facts: Facts, at: Position, kinds: Tuple[type, ...]) -> bool:
    for loop in facts.loops:
        if type(loop) in kinds:
            start, end = body_span(loop)
            if start <= at <= end:
                return True
    return False


def _in_async_def(facts: Facts, at: Position) -> bool:
    return any(position(f) <= at <= scope_end(f) for f in async_functions(facts))


_WITHIN: Dict[str, Tuple[str, Callable[[Facts, Position], bool]]] = {
    "while": ("while", lambda f, at: _in_loop_body(f, at, (ast.While,))),
    "loop": ("for|while", lambda f, at: _in_loop_body(f, at, (ast.For, ast.AsyncFor, ast.While))),
    "async def": (ASYNC_DEF_TRIGGER, _in_async_def),
}


def _check_within(kinds: Tuple[str, ...]) -> Tuple[str, ...]:
    unknown = set(kinds) - set(_WITHIN)
    if unknown:
        raise ValueError(f"unknown constructs {sorted(unknown)} for within=; known: {sorted(_WITHIN)}")
    return tuple(kinds)


def _within_triggers(kinds: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(_WITHIN[k][0] for k in kinds)


def _inside(facts: Facts, call: ast.Call, kinds: Tuple[str, ...]) -> bool:
    at = position(call)
    return all(_WITHIN[k][1](facts, at) for k in kinds)


class Syntax(Requirement):
    """One of the constructs ``kinds`` (see ``_SYNTAX``) appears in the file."""

    def __init__(self, *kinds: str) -> None:
        unknown = set(kinds) - set(_SYNTAX)
        if unknown:
            raise ValueError(f"unknown syntax kinds {sorted(unknown)}; known: {sorted(_SYNTAX)}")
        self.kinds = kinds

    def triggers(self) -> Tuple[Any, ...]:
        return ("|".join(_SYNTAX[k][0] for k in self.kinds),) if len(self.kinds) > 1 else (_SYNTAX[self.kinds[0]][0],)

    def possible(self, facts: Facts) -> bool:
        return any(_SYNTAX[k][1](facts) for k in self.kinds)


class Text(Requirement):
    """Byte-level tests only (regexes, or functions of the file's bytes), for what the other
    requirements cannot say; CPython's tree is not asked."""

    def __init__(self, *tests: "str | Callable[[bytes], bool]") -> None:
        self.tests = tests

    def triggers(self) -> Tuple[Any, ...]:
        return self.tests
