"""Small tree helpers shared by rules (no traversal state)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from conclint.analysis.facts import body_span, callee_name, terminals
from conclint.analysis.catalogue import POOL_TYPES
from conclint.analysis.cstutil import string_value
from conclint.analysis.walk import children
from conclint.analysis.walk import walk as _fast_walk

if TYPE_CHECKING:
    from conclint.analysis.facts import Facts
    from conclint.analysis import Semantic

Block = Union[cst.Module, cst.IndentedBlock]

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


def is_name_main_test(test: cst.BaseExpression) -> bool:
    """Whether ``test`` compares ``__name__`` with something (a main guard, spelled right or not)."""
    if isinstance(test, cst.Comparison):
        operands = [test.left] + [c.comparator for c in test.comparisons]
        return any(isinstance(o, cst.Name) and o.value == "__name__" for o in operands)
    if isinstance(test, cst.BooleanOperation):
        return is_name_main_test(test.left) or is_name_main_test(test.right)
    return False


def is_correct_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    comp = test.comparisons[0]
    if not isinstance(comp.operator, cst.Equal):
        return False
    pair = (test.left, comp.comparator)
    names = [o for o in pair if isinstance(o, cst.Name) and o.value == "__name__"]
    strings = [string_value(o) for o in pair]
    return len(names) == 1 and "__main__" in strings


def statement_expr(sem_stack: Sequence[cst.CSTNode], call: cst.CSTNode) -> Optional[cst.Expr]:
    """The ``Expr`` statement whose whole value is ``call`` (a call used as a statement)."""
    if len(sem_stack) >= 2 and isinstance(sem_stack[-2], cst.Expr) and sem_stack[-2].value is call:
        return sem_stack[-2]
    return None


# Context managers with which tests call code to watch it raise or warn.
_TEST_EXPECTATIONS = frozenset(
    {"assertRaises", "assertRaisesRegex", "assertWarns", "assertWarnsRegex", "raises", "warns", "deprecated_call"}
)


def watched_by_test(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether the node is inside ``with self.assertRaises(...)`` / ``pytest.warns(...)``: a test
    calling it to see it fail or warn, not code that relies on what it does."""
    return any(
        isinstance(node, cst.With) and any(_called_name(item.item) in _TEST_EXPECTATIONS for item in node.items)
        for node in stack
    )


def facts_watched_by_test(facts: "Facts", node: ast.AST) -> bool:
    """CPython's view of ``watched_by_test``: ``node`` in the body of such a ``with``."""
    at = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    for item in facts.with_items:
        expr = item.context_expr
        if type(expr) is ast.Call and callee_name(expr.func) in _TEST_EXPECTATIONS:
            start, end = body_span(facts.with_of[item])
            if start <= at <= end:
                return True
    return False


def _called_name(expr: cst.BaseExpression) -> Optional[str]:
    """``f`` for ``f(...)`` and ``x.y.f(...)``."""
    if not isinstance(expr, cst.Call):
        return None
    if isinstance(expr.func, cst.Attribute):
        return expr.func.attr.value
    return expr.func.value if isinstance(expr.func, cst.Name) else None


def enclosing(stack: Sequence[cst.CSTNode], kinds: Tuple[type, ...]) -> Optional[cst.CSTNode]:
    for node in reversed(stack[:-1]):
        if isinstance(node, kinds):
            return node
    return None


def index_of(block: Block, stmt: cst.CSTNode) -> Optional[int]:
    """Position of ``stmt`` (by identity, not equality) in ``block``."""
    for i, candidate in enumerate(block.body):
        if candidate is stmt:
            return i
    return None


def small_statements(stmt: cst.CSTNode) -> Sequence[cst.BaseSmallStatement]:
    if isinstance(stmt, cst.SimpleStatementLine):
        return stmt.body
    return ()


def only_statement(stmt: cst.CSTNode) -> Optional[cst.BaseSmallStatement]:
    """The single small statement of a line (``x.acquire()``), else None."""
    body = small_statements(stmt)
    return body[0] if len(body) == 1 else None


def is_call_on(node: cst.CSTNode, receiver: cst.CSTNode, methods: Sequence[str]) -> bool:
    """Whether ``node`` is the expression statement ``receiver.method()`` for one of ``methods``."""
    if isinstance(node, cst.Expr):
        node = node.value
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in methods
        and node.func.value.deep_equals(receiver)
    )


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every non-trivia node from ``node`` down (pre-order), without a visitor."""
    return _fast_walk(node)


def walk_scope(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Like ``walk`` but does not enter nested functions, lambdas or classes."""
    stack: List[cst.CSTNode] = list(reversed(children(node)))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(reversed(children(current)))


def comments(node: Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]) -> "Counter[str]":
    """The text of every comment in ``node`` (or in what a sentinel stands for), counted."""
    found: "Counter[str]" = Counter()
    if isinstance(node, cst.RemovalSentinel):
        return found
    stack: List[cst.CSTNode] = list(node.nodes) if isinstance(node, cst.FlattenSentinel) else [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            found[current.value.rstrip()] += 1
        else:
            stack.extend(current.children)
    return found


def has_comments(node: cst.CSTNode) -> bool:
    """Whether a comment sits anywhere in ``node`` (comments are trivia: walk everything)."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            return True
        stack.extend(current.children)
    return False


@dataclass(frozen=True)
class SpawnSignature:
    """Where a call that runs a function later takes that function and its arguments.

    Parameters are ``(keyword, position)``. ``args`` is the argument-tuple parameter, or None
    when there is none; ``variadic`` means the arguments follow the function positionally
    (``executor.submit(fn, *args)``).
    """

    func: Tuple[str, int]
    args: Optional[Tuple[str, int]] = None
    variadic: bool = False


_WORKER_SIGNATURE = SpawnSignature(("target", 1), ("args", 3))
# Only the classes themselves: a subclass's constructor has its own signature.
SPAWN_CONSTRUCTORS: Dict[str, SpawnSignature] = {
    "threading.Thread": _WORKER_SIGNATURE,
    "multiprocessing.Process": _WORKER_SIGNATURE,
    "threading.Timer": SpawnSignature(("function", 1), ("args", 2)),
}
_POOL_APPLY = SpawnSignature(("func", 0), ("args", 1))
_POOL_MAP = SpawnSignature(("func", 0))
_POOL_METHODS: Dict[str, SpawnSignature] = {
    "apply": _POOL_APPLY,
    "apply_async": _POOL_APPLY,
    **{m: _POOL_MAP for m in ("map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async")},
}
_EXECUTOR_METHODS: Dict[str, SpawnSignature] = {
    "submit": SpawnSignature(("fn", 0), variadic=True),
    "map": SpawnSignature(("fn", 0)),
}
_EXECUTOR_TYPES = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})


SPAWN_METHODS = frozenset(_POOL_METHODS) | frozenset(_EXECUTOR_METHODS)
SPAWN_CALLEES = terminals(SPAWN_CONSTRUCTORS)


def spawn_calls(facts: "Facts") -> Iterator[ast.Call]:
    """The calls of a CPython tree that ``spawn_signature`` may recognise (over-approximated)."""
    yield from facts.calls_to(SPAWN_CALLEES)
    yield from facts.methods_called(SPAWN_METHODS)


def spawn_signature(sem: "Semantic", call: cst.Call) -> Optional[SpawnSignature]:
    """How ``call`` takes the function it will run elsewhere: a Thread/Process/Timer, or a pool method."""
    qualname = sem.qualname(call.func)
    if qualname in SPAWN_CONSTRUCTORS:
        return SPAWN_CONSTRUCTORS[qualname]
    if not isinstance(call.func, cst.Attribute):
        return None
    receiver = sem.type_of(call.func.value)
    if receiver in _EXECUTOR_TYPES:
        return _EXECUTOR_METHODS.get(call.func.attr.value)
    if receiver in POOL_TYPES:
        return _POOL_METHODS.get(call.func.attr.value)
    return None
