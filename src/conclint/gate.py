"""The byte-level gate: which rules could report anything in a file, from its bytes alone.

A rule lists ``triggers``, each a necessary condition for a finding: a regex (an alternation
of literals is checked with ``in``, the fastest) or a function of the bytes. ``Trigger``
compiles the triggers of a set of rules and says which rules a file passes; ``uses`` and
``ASYNC_DEF_TRIGGER`` are the triggers rules share. This module runs before anything is
parsed and imports nothing of LibCST or of the rules.
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

if TYPE_CHECKING:
    from conclint.rule import Rule

_LITERAL_ALTERNATION = re.compile(r"^(?:[\w ]|\\[.()\[\]])+(?:\|(?:[\w ]|\\[.()\[\]])+)*$")


class Trigger:
    """Byte-level gate compiled from the enabled rules' ``triggers``.

    Each rule lists regexes that must all match a file for the rule to run on it. A
    regex that is only an alternation of literals is checked with ``bytes.__contains__``
    (memchr-fast); the others with ``re``. Results are shared between rules per file.
    """

    def __init__(self, rule_classes: Sequence[Type[Rule]]) -> None:
        self.tests: Dict[Any, Any] = {}
        self.rules: List[Tuple[Type[Rule], List[Any]]] = []
        for cls in rule_classes:
            for pattern in cls.triggers:
                if pattern not in self.tests:
                    self.tests[pattern] = compile_trigger(pattern)
            # Literal checks first: they are cheap and usually decide; functions last.
            ordered = sorted(cls.triggers, key=lambda p: (callable(p), not isinstance(self.tests[p], tuple)))
            self.rules.append((cls, ordered))

    def matching(self, data: bytes) -> List[Type[Rule]]:
        """The rules that could report something in ``data`` (all their triggers match)."""
        memo: Dict[Any, bool] = {}  # per pattern, and per literal: alternations share them
        out: List[Type[Rule]] = []
        for cls, patterns in self.rules:
            for pattern in patterns:
                hit = memo.get(pattern)
                if hit is None:
                    hit = memo[pattern] = trigger_matches(self.tests[pattern], data, memo)
                if not hit:
                    break
            else:
                out.append(cls)
        return out


def trigger_matches(test: Any, data: bytes, memo: Optional[Dict[Any, bool]] = None) -> bool:
    """Whether ``data`` passes one compiled trigger (``compile_trigger``); ``memo`` shares the
    checks between the triggers of one file: each literal's, and each compiled test's (the
    same pattern compiles to the same object, whichever rule or ``Either`` names it)."""
    if isinstance(test, tuple):
        for literal in test:
            found = memo.get(literal) if memo is not None else None
            if found is None:
                found = literal in data
                if memo is not None:
                    memo[literal] = found
            if found:
                return True
        return False
    if memo is not None:
        found = memo.get(test)
        if found is not None:
            return found
    if getattr(test, "shares_memo", False):  # tests made of tests (an ``Either``'s)
        found = bool(test(data, memo))
    elif callable(test):
        found = bool(test(data))
    else:
        found = test.search(data) is not None
    if memo is not None:
        memo[test] = found
    return found


_COMPILED: Dict[Any, Any] = {}


def compile_trigger(pattern: Any) -> Any:
    """A trigger ready for ``trigger_matches``: literals as a tuple, a prefiltered regex, or
    the function itself; one object per pattern, so that a file's memo shares its answer."""
    try:
        found = _COMPILED.get(pattern)
    except TypeError:  # an unhashable test object: compiled as it comes
        return _compile(pattern)
    if found is None:
        found = _COMPILED[pattern] = _compile(pattern)
    return found


def _compile(pattern: Any) -> Any:
    if callable(pattern):  # a function of the file's bytes, for what a regex cannot say
        return pattern
    # The coroutine trigger, alone or first in an alternation (where its flag must stand).
    if pattern == ASYNC_DEF_TRIGGER:
        return _defines_a_coroutine
    if pattern.startswith(ASYNC_DEF_TRIGGER + "|"):
        return _OneOf(compile_trigger(pattern[len(ASYNC_DEF_TRIGGER) + 1:]), _defines_a_coroutine)
    if _LITERAL_ALTERNATION.match(pattern):
        literals = {re.sub(r"\\(.)", r"\1", alt).encode() for alt in pattern.split("|")}
        # A literal holding another is redundant in an alternation ("threading" when "thread"
        # is there): one scan of the file fewer when neither is in it.
        kept = [lit for lit in literals if not any(other != lit and other in lit for other in literals)]
        return tuple(sorted(kept, key=lambda lit: (len(lit), lit)))
    return _PrefilteredRegex(pattern)


class _PrefilteredRegex:
    """A regex run only on files that contain one of the literals every match contains
    (``re`` scans slowly when a pattern starts with ``\\b`` or a character class)."""

    def __init__(self, pattern: str) -> None:
        self.regex = re.compile(pattern.encode())
        self.literals = _required_literals(pattern)

    def search(self, data: bytes) -> Any:
        if self.literals and not any(lit in data for lit in self.literals):
            return None
        return self.regex.search(data)


def _required_literals(pattern: str) -> Tuple[bytes, ...]:
    """Per top-level alternative, its longest run of literal characters; () when some
    alternative has none (no prefilter is possible then)."""
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]  # private: typeshed has no stub
    except ImportError:  # Python < 3.11
        import sre_parse
    try:
        parsed = list(sre_parse.parse(pattern))
    except Exception:
        return ()
    branches = [parsed]
    if len(parsed) == 1 and str(parsed[0][0]) == "BRANCH":
        branches = [list(b) for b in parsed[0][1][1]]
    out = []
    for branch in branches:
        best, run = b"", b""
        for op, arg in branch:
            if str(op) == "LITERAL":
                run += chr(arg).encode()
                best = max(best, run, key=len)
            else:
                run = b""
        if len(best) < 2:
            return ()
        out.append(best)
    return tuple(out)


def uses(*modules: str) -> Tuple[str, Callable[[bytes], bool]]:
    """Triggers for a rule that needs one of ``modules`` imported: their names in the file
    (a literal check, fast) and an import statement naming one (``import a, threading``,
    ``from multiprocessing.pool import Pool``, one-liners, line continuations). Types and
    qualified names come only from imports, so such rules cannot fire without one.
    """
    key = tuple(sorted(modules))
    test = _IMPORT_TESTS.get(key)
    if test is None:
        names = [m.encode() for m in key]

        def test(data: bytes) -> bool:
            return any(imports_name(data, name) for name in names)

        test = _IMPORT_TESTS[key] = test  # one object per set: the gate's memo shares it
    return "|".join(modules), test


_IMPORT_TESTS: Dict[Tuple[str, ...], Callable[[bytes], bool]] = {}
_IMPORT_KEYWORD = re.compile(rb"\b(?:import|from)[ \t]")
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def imports_name(data: bytes, name: bytes) -> bool:
    """Whether the word ``name`` follows ``import`` or ``from`` on its logical line (joined by
    backslashes). Only the lines holding the word are looked at: a scan of the whole file
    for import statements cost 0.2 s per module set on the standard library."""
    at = data.find(name)
    while at != -1:
        end = at + len(name)
        if (at == 0 or data[at - 1] not in _WORD_BYTES) and (end == len(data) or data[end] not in _WORD_BYTES):
            start = data.rfind(b"\n", 0, at) + 1
            while data[max(start - 2, 0): start] == b"\\\n" or data[max(start - 3, 0): start] == b"\\\r\n":
                start = data.rfind(b"\n", 0, start - 2) + 1
            if _IMPORT_KEYWORD.search(data, start, at):
                return True
        at = data.find(name, at + 1)
    return False


# A rule trigger for files defining a coroutine: ``async def`` starts a line (it is a compound
# statement), so the words in a docstring or a long string table do not make the file parsed.
ASYNC_DEF_TRIGGER = r"(?m)^[ \t\f]*async[ \t]+def\b"
# `async` and `def` may stand on two lines joined by a backslash.
_ASYNC_DEF_AT = re.compile(rb"async(?:[ \t\f]|\\(?:\r\n|\r|\n))+def\b")


def _defines_a_coroutine(data: bytes) -> bool:
    """``async def`` at the start of a line (after blanks; after a UTF-8 BOM on the first;
    lines ended by ``\n``, ``\r\n`` or ``\r``), tried at each ``async``: what
    ``ASYNC_DEF_TRIGGER`` says, for every line ending (a regex testing every position for a
    line start was three times slower on the stdlib)."""
    at = data.find(b"async")
    while at != -1:
        start = line_start(data, at)
        before = data[start:at]
        if start == 0 and before.startswith(codecs.BOM_UTF8):
            before = before[len(codecs.BOM_UTF8):]
        if not before.strip(b" \t\f") and _ASYNC_DEF_AT.match(data, at):
            return True
        at = data.find(b"async", at + 1)
    return False


def line_start(data: bytes, at: int) -> int:
    """Where the line holding offset ``at`` starts, lines ended by ``\n``, ``\r\n`` or ``\r``."""
    return max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1


class _OneOf:
    """A trigger met when one of ``tests`` (compiled triggers) is, the cheaper first."""

    def __init__(self, *tests: Any) -> None:
        self.tests = tests

    def __call__(self, data: bytes) -> bool:
        return any(trigger_matches(test, data) for test in self.tests)
