"""What lock rules share: which receivers are locks, which lock a name means, which locks are held."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

import libcst as cst

from conclint.analysis.catalogue import ACQUIRABLE_TYPES
from conclint.analysis.cstutil import dotted, same_expression, walk_scope
from conclint.analysis.pairing import closes_in_finally
from conclint.analysis.facts import Facts, callee_name, producers_of
from conclint.analysis.types import Semantic

LOCK_MODULES = frozenset({"threading", "multiprocessing", "_thread", "thread", "dummy_threading"})
_LOCKISH_NAME = re.compile(r"(?:^|_)(?:r?lock|mutex|sem|semaphore|cond|condition)s?$", re.I)

# ("module", name), ("class:<Name>", attribute) or ("local:<id of the def>", name).
LockKey = Tuple[str, str]
FunctionKey = Tuple[str, str]  # ("", function) or (class, method)


def lock_receiver(rule: Any, receiver: cst.BaseExpression) -> bool:
    """Whether ``receiver`` is known (or, for lock-like names, reasonably sure) to be a lock."""
    type_ = rule.sem.type_of(receiver)
    if type_ is not None:
        return type_ in ACQUIRABLE_TYPES
    if not any(module.split(".")[0] in LOCK_MODULES for module in rule.sem.imported_modules):
        return False  # no threading in this module: a `lock` here is something else
    name = dotted(receiver)
    return name is not None and bool(_LOCKISH_NAME.search(name.rsplit(".", 1)[-1]))


def may_be_lock(facts: Facts, receiver: ast.AST, scope: Optional[ast.AST]) -> bool:
    """CPython's view of ``lock_receiver``: what it may accept in a file showing ``facts``,
    for ``receiver`` in ``scope`` (a method's own ``self`` is never a lock)."""
    if facts.is_own_self(receiver, scope):
        # Typed as its class's base (a worker type, or nothing): then the name decides.
        return any(module.split(".")[0] in LOCK_MODULES for module in facts.imported_modules) and bool(
            _LOCKISH_NAME.search(callee_name(receiver))
        )
    if facts.may_hold(ACQUIRABLE_TYPES):  # a type is known where one is produced
        if type(receiver) is ast.Call:
            producers, methods = producers_of(ACQUIRABLE_TYPES)
            name = callee_name(receiver.func)
            if name in facts.names_for(facts.with_subclasses(producers)) or name in methods:
                return True
        elif type(receiver) in (ast.Name, ast.Attribute, ast.Subscript):
            return True
    if not any(module.split(".")[0] in LOCK_MODULES for module in facts.imported_modules):
        return False
    return type(receiver) in (ast.Name, ast.Attribute) and bool(_LOCKISH_NAME.search(callee_name(receiver)))


def releases(facts: Facts, receiver: ast.AST, nodes: Iterable[ast.AST]) -> Iterator[ast.Call]:
    """The ``receiver.release(...)`` calls among ``nodes`` and below."""
    spelled = ast.dump(receiver)
    for top in nodes:
        for node in ast.walk(top):
            if (
                type(node) is ast.Call
                and type(node.func) is ast.Attribute
                and node.func.attr == "release"
                and ast.dump(node.func.value) == spelled
            ):
                yield node


def releases_in_finally(stmt: cst.CSTNode, receiver: cst.BaseExpression) -> bool:
    """Whether ``stmt`` is a ``try`` whose ``finally`` releases ``receiver``."""
    return closes_in_finally(stmt, receiver, "release")


def enclosing_def(sem: Semantic) -> Optional[cst.CSTNode]:
    """The innermost ``def`` holding the visited node (lambdas hold no statements), else the module."""
    return next((n for n in reversed(sem.stack) if isinstance(n, cst.FunctionDef)), sem.module)


def released_in_scope(
    sem: Semantic, receiver: cst.BaseExpression, known: Dict[int, Dict[Optional[str], List[cst.BaseExpression]]]
) -> bool:
    """Whether the function being visited (or the module) itself calls ``receiver.release()``.

    When it does not, the lock is released by another thread or another function: a
    completion signal handed off, not a critical section. ``known`` keeps each scope's
    released receivers (by spelling) from one walk: a scope is walked once, not once per
    acquire (quadratic in a module of many).
    """
    scope = enclosing_def(sem)
    if scope is None:
        return False
    releases = known.get(id(scope))
    if releases is None:
        releases = known[id(scope)] = {}
        for node in walk_scope(scope):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "release":
                releases.setdefault(dotted(node.func.value), []).append(node.func.value)
    return any(same_expression(value, receiver) for value in releases.get(dotted(receiver), ()))


def leaves_block(body: cst.BaseSuite) -> bool:
    """Whether ``body`` ends by leaving its block (``return``, ``raise``, ``continue``, ``break``)."""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    last = statements[-1] if statements else None
    smalls = last.body if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
    return bool(smalls) and isinstance(smalls[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))


def statement_call(sem: Semantic, call: cst.Call, methods: Tuple[str, ...]) -> Optional[cst.BaseExpression]:
    """The receiver when ``call`` is a whole statement ``receiver.<method>(...)``, else None."""
    stack = sem.stack
    if (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value in methods
        and len(stack) >= 3
        and isinstance(stack[-2], cst.Expr)
        and isinstance(stack[-3], cst.SimpleStatementLine)
    ):
        return call.func.value
    return None


def function_key(sem: Semantic) -> Optional[FunctionKey]:
    """How a call names the function being visited: a module function or a method, not a nested def."""
    frames = sem.frames
    if len(frames) < 2 or frames[-1].kind != "function":
        return None
    outer = frames[-2]
    if outer.kind == "module":
        return ("", frames[-1].name)
    if outer.kind == "class" and outer.class_info is not None:
        return (outer.class_info.name, frames[-1].name)
    return None


def callee_key(sem: Semantic, func: cst.BaseExpression) -> Optional[FunctionKey]:
    """The module function (``f()``) or own method (``self.m()``) a call invokes."""
    if isinstance(func, cst.Name):
        if func.value in sem.functions and name_scope(sem, func.value) == "module":
            return ("", func.value)
        return None
    if isinstance(func, cst.Attribute) and sem.is_self(func.value):
        info = sem.enclosing_class()
        if info is not None and func.attr.value in info.methods:
            return (info.name, func.attr.value)
    return None


def name_scope(sem: Semantic, name: str) -> str:
    """"module", or "local:<id>" of the function that binds ``name`` (as far as seen so far)."""
    for frame in reversed(sem.frames):
        if frame.kind in ("function", "lambda"):
            if name in frame.global_names:
                return "module"
            if name in frame.types or name in frame.bindings:
                return f"local:{id(frame.node)}"
    return "module"


def lock_key(sem: Semantic, expr: cst.BaseExpression) -> Optional[LockKey]:
    """Which lock ``expr`` names: a global or local name, or an attribute of ``self``/``cls``."""
    if isinstance(expr, cst.Name):
        return (name_scope(sem, expr.value), expr.value)
    if isinstance(expr, cst.Attribute) and sem.is_self(expr.value):
        info = sem.enclosing_class()
        if info is not None:
            return (f"class:{info.name}", expr.attr.value)
    return None


def assigned_lock_key(sem: Semantic, target: cst.BaseExpression) -> Optional[LockKey]:
    """The key of the name an assignment binds; the frame does not know a new local yet."""
    frame = sem.frames[-1]
    if isinstance(target, cst.Name):
        if frame.kind == "class" and frame.class_info is not None:
            return (f"class:{frame.class_info.name}", target.value)
        if frame.kind == "function" and target.value not in frame.global_names:
            return (f"local:{id(frame.node)}", target.value)
        return ("module", target.value)
    return lock_key(sem, target)


Held = Union[LockKey, str]


class HeldLocks:
    """Mixin for a rule: the locks held at the node being visited, within the current function.

    A lock is held inside the body of ``with lock:`` and after a statement ``lock.acquire()`` in
    the same block, until a ``lock.release()`` statement or the end of that block; acquired in a
    test, inside the body of ``if``/``while lock.acquire(...)`` (also ``... and lock.acquire()``)
    and after ``if not lock.acquire(...): return`` (any body that leaves the block).  Bodies of
    nested defs, lambdas and classes run later, so each starts with nothing held.  Locks are named
    by ``lock_key`` (``dotted`` spelling when that has no key), whatever their type.
    """

    sem: Semantic

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One list of suites per function being visited; each suite lists what it acquired.
        self._held: List[List[List[Held]]] = [[[]]]
        self._released: Dict[int, Dict[Optional[str], List[cst.BaseExpression]]] = {}  # released_in_scope's

    def held_locks(self) -> Set[Held]:
        return {key for suite in self._held[-1] for key in suite}

    def held_in_order(self) -> List[Held]:
        """The locks held, each once, in the order they were taken: what a message names
        must not depend on a set's order, which changes with the hash seed."""
        return list(dict.fromkeys(key for suite in self._held[-1] for key in suite))

    def held_key(self, expr: cst.BaseExpression) -> Optional[Held]:
        return lock_key(self.sem, expr) or dotted(expr)

    # LibCST dispatches on each method's __name__, so every hook is its own def.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._held.append([[]])

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._held.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._held.append([[]])

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self._held.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._held.append([[]])

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._held.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_suite(node)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._leave_suite(node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_suite(node)

    def leave_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._leave_suite(node)

    def _enter_suite(self, node: cst.BaseSuite) -> None:
        parent = self.sem.parent
        keys: List[Held] = []
        if isinstance(parent, cst.With) and parent.body is node:
            keys = [k for k in (self.held_key(i.item) for i in parent.items) if k is not None]
        elif isinstance(parent, (cst.If, cst.While)) and parent.body is node:
            keys = self._test_acquires(parent.test)
        self._held[-1].append(keys)

    def _leave_suite(self, node: cst.BaseSuite) -> None:
        self._held[-1].pop()
        parent = self.sem.parent
        stack = self.sem.stack
        elif_ = len(stack) >= 3 and isinstance(stack[-3], cst.If) and stack[-3].orelse is parent
        if (
            isinstance(parent, cst.If) and parent.body is node and parent.orelse is None and leaves_block(node)
            and isinstance(parent.test, cst.UnaryOperation) and isinstance(parent.test.operator, cst.Not)
            and not elif_  # (an earlier branch may have gone on without taking it)
        ):  # `if not lock.acquire(blocking=False): return`: what follows holds it
            self._held[-1][-1].extend(self._test_acquires(parent.test.expression))

    def _test_acquires(self, test: cst.BaseExpression) -> List[Held]:
        """The locks a test takes when it is true: ``lock.acquire(...)``, alone or in an
        ``and`` (released in the function too, or it is a signal, as for statements)."""
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            return self._test_acquires(test.left) + self._test_acquires(test.right)
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "acquire":
            receiver = test.func.value
            key = self.held_key(receiver)
            if key is not None and released_in_scope(self.sem, receiver, self._released):
                return [key]
        return []

    def leave_Call(self, node: cst.Call) -> None:
        receiver = statement_call(self.sem, node, ("acquire", "release"))
        if receiver is None:
            return
        key = self.held_key(receiver)
        if key is None:
            return
        assert isinstance(node.func, cst.Attribute)
        if node.func.attr.value == "acquire":
            if released_in_scope(self.sem, receiver, self._released):
                self._held[-1][-1].append(key)
        else:
            for suite in self._held[-1]:
                while key in suite:
                    suite.remove(key)


class LockUse:
    """Which defs (or the module) acquire and release each lock, to tell mutexes from signals.

    A lock that some def releases without ever acquiring it is a signal between threads
    ("go on now"), not a critical section: rules about holding locks leave it alone.
    """

    def __init__(self) -> None:
        self.acquired_in: Dict[LockKey, Set[int]] = defaultdict(set)
        self.released_in: Dict[LockKey, Set[int]] = defaultdict(set)
        # scope -> the scopes enclosing it
        self.enclosing: Dict[int, Set[int]] = {}

    def acquired(self, sem: Semantic, key: LockKey) -> None:
        self.acquired_in[key].add(self._scope(sem))

    def released(self, sem: Semantic, key: LockKey) -> None:
        self.released_in[key].add(self._scope(sem))

    def _scope(self, sem: Semantic) -> int:
        scope = id(sem.frames[-1].node)
        self.enclosing.setdefault(scope, {id(f.node) for f in sem.frames[:-1]})
        return scope

    def shared_with_nested_def(self, key: LockKey, scope: int) -> bool:
        """Whether a def nested in ``scope``, or enclosing it, acquires or releases the lock
        too: one side holds it as a gate for a thread running the other."""
        return any(
            scope in self.enclosing.get(other, ()) or other in self.enclosing.get(scope, ())
            for other in self.acquired_in[key] | self.released_in[key]
        )

    def is_signal(self, key: LockKey) -> bool:
        return bool(self.released_in[key] - self.acquired_in[key])

    def is_handed_off(self, key: LockKey) -> bool:
        """Acquired and released in different places: a signal, or a gate another def waits
        on (``finish.acquire()`` in a worker, released by the test) -- not a critical section."""
        return bool(self.released_in[key] ^ self.acquired_in[key])
