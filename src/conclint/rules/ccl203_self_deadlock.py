"""A non-reentrant lock acquired again by the code path that already holds it."""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import NON_REENTRANT_LOCK_TYPES, SEMAPHORE_TYPES
from conclint.analysis.cstutil import get_arg, int_value
from conclint.analysis.facts import (
    Facts,
    Position,
    body_span,
    callee_name,
    may_call_own,
    method_receiver,
    position,
    scope_end,
    statement_lists,
    terminals,
)
from conclint.analysis.locks import (
    FunctionKey,
    HeldLocks,
    LockKey,
    LockUse,
    assigned_lock_key,
    callee_key,
    function_key,
    lock_key,
    statement_call,
)
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Applicability, Rule

_NON_REENTRANT = terminals(NON_REENTRANT_LOCK_TYPES | SEMAPHORE_TYPES)


class _Hold(NamedTuple):
    """CPython's view of one acquisition: where, in which scope, how long it may hold (an
    empty span: it is not taken as held), and whether the rule counts it as taking the lock."""

    scope: Optional[ast.AST]
    lock: str  # its last name
    at: Position
    until: Tuple[Position, Position]
    takes: bool = True

    def holds(self, other: "_Hold") -> bool:
        """Whether ``other`` (an acquisition or a call) happens while this one may hold."""
        return other.scope is self.scope and other.at != self.at and self.until[0] <= other.at <= self.until[1]


_NOWHERE = ((0, 0), (0, 0))


def _holds(facts: Facts) -> List[_Hold]:
    """As the rule sees them (``locks.HeldLocks``, ``SelfDeadlock.visit_Call``): ``with x:``
    items (held to the end of the body; ``with x, x:`` counts); ``x.acquire(...)`` statements,
    held when their def (or the module) also calls ``x.release()``, until a ``x.release()``
    statement of the same block, same column, else at most to the end of the def
    (``HeldLocks`` stops at the block's end), and taking the lock when they have no argument;
    acquires in a test, held (on the same condition) and never taking it."""
    holds = []
    for item in facts.with_items:
        at = position(item.context_expr)
        end = body_span(facts.with_of[item])[1]
        holds.append(_Hold(facts.scope[item], callee_name(item.context_expr), at, (at, end)))
    released = {(id(facts.scope[c]), ast.dump(method_receiver(c))) for c in facts.methods_called(("release",))}
    # A release statement ends a hold where the rule's would: same def, not in a class body
    # inside it (a frame of its own), its receiver spelled the same (as written).
    releases = [
        (facts.scope[c], c.col_offset, ast.dump(method_receiver(c)), position(c))
        for c in facts.methods_called(("release",), statements_only=True)
        if facts.names_as_written() and not facts.in_class_within(c, facts.scope[c])
    ]
    statements = set()
    for call in facts.methods_called(("acquire",), statements_only=True):
        statements.add(id(call))
        scope, at, receiver = facts.scope[call], position(call), ast.dump(method_receiver(call))
        held = type(scope) is ast.Lambda or (id(scope), receiver) in released
        ends = [r[3] for r in releases if r[0] is scope and r[1] == call.col_offset and r[2] == receiver and r[3] > at]
        span = (at, min(ends, default=scope_end(scope))) if held else _NOWHERE
        holds.append(_Hold(scope, callee_name(method_receiver(call)), at, span, not call.args and not call.keywords))
    for call in facts.methods_called(("acquire",)):
        # Taken in a test: held in the body of `if lock.acquire(timeout=1):` (or of a `while`,
        # the acquire alone or in an `and`); after `if not lock.acquire(...): return`, or in
        # any other test, to the end of the def, as the gate may overshoot.
        owner = facts.test_of(call) if id(call) not in statements else None
        if owner is None:
            continue
        scope, at = facts.scope[call], position(call)
        if type(scope) is ast.Lambda or (id(scope), ast.dump(method_receiver(call))) in released:
            until = body_span(owner)[1] if _taken_when_true(owner.test, call) else scope_end(scope)
            holds.append(_Hold(scope, callee_name(method_receiver(call)), at, (at, until), False))
    return holds


def _taken_when_true(test: ast.expr, call: ast.Call) -> bool:
    """Whether ``call`` is ``test`` itself or an operand of its ``and`` (nested ones too):
    then the lock is held only in the body the test guards (``HeldLocks._test_acquires``)."""
    if test is call:
        return True
    return type(test) is ast.BoolOp and type(test.op) is ast.And and any(_taken_when_true(v, call) for v in test.values)


_FunctionKey = Tuple[str, str]


def _function_keys(facts: Facts) -> Dict[int, Tuple[Optional[_FunctionKey], Optional[str]]]:
    """For each def of the file: how the rule's calls name it (``locks.function_key``: ("",
    name) for a module function, (class, name) for a method, None for a def nested in a def)
    and the class ``self`` is an instance of in it (the innermost class). Statements only:
    lambdas are not in it (their calls name no function, and may be in any class)."""
    found: Dict[int, Tuple[Optional[_FunctionKey], Optional[str]]] = {}
    pending: List[Tuple[ast.stmt, Optional[str], str]] = [(n, None, "module") for n in facts.module_body]
    while pending:
        node, cls, where = pending.pop()
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            name = node.name  # type: ignore[attr-defined]
            found[id(node)] = (("", name) if where == "module" else (cls or "", name) if where == "class" else None, cls)
            where = "function"
        elif kind is ast.ClassDef:
            cls, where = node.name, "class"  # type: ignore[attr-defined]
        for inner in statement_lists(node):
            pending.extend((child, cls, where) for child in inner)
    return found


class _CallsOf:
    """The calls of the file that may invoke a function (``locks.callee_key``): ``f()`` of a
    module function, ``self.m()`` of a method of the class around the call (any class from
    a lambda). Indexed once per name, by class: asked once per function, a file of
    thousands of classes each calling its own ``self.f()`` was quadratic."""

    def __init__(self, facts: Facts, keys: Dict[int, Tuple[Optional[_FunctionKey], Optional[str]]]) -> None:
        self.facts = facts
        self.keys = keys
        self.by_name: Dict[str, Dict[Any, List[ast.Call]]] = {}

    def __call__(self, callee: _FunctionKey) -> List[ast.Call]:
        cls, name = callee
        table = self.by_name.get(name)
        if table is None:
            table = self.by_name[name] = self._index(name)
        if not cls:
            return table.get("", [])
        return table.get(("class", cls), []) + table.get("lambda", [])

    def _index(self, name: str) -> Dict[Any, List[ast.Call]]:
        table: Dict[Any, List[ast.Call]] = {}
        for call in self.facts.calls.get(name, ()):
            func = call.func
            if type(func) is ast.Name:
                table.setdefault("", []).append(call)
            elif type(func) is ast.Attribute and may_call_own(self.facts, call):
                scope = self.facts.scope[call]
                if type(scope) is ast.Lambda:
                    table.setdefault("lambda", []).append(call)
                elif scope is not None:
                    table.setdefault(("class", self.keys[id(scope)][1]), []).append(call)
        return table


def transitive(direct: Dict[FunctionKey, Set[LockKey]], calls: Dict[FunctionKey, Set[FunctionKey]]) -> Dict[FunctionKey, Set[LockKey]]:
    """The locks each function acquires itself or through any chain of calls within the module."""
    reach = {key: set(locks) for key, locks in direct.items()}
    changed = True
    while changed:
        changed = False
        for caller, callees in calls.items():
            locks = reach.setdefault(caller, set())
            before = len(locks)
            for callee in callees:
                locks |= reach.get(callee, set())
            changed = changed or len(locks) != before
    return reach


class SelfDeadlock(HeldLocks, Rule):
    """Nested acquisition of a ``Lock`` (or ``Semaphore(1)``), directly or through calls."""

    code = "CCL203"
    name = "self-deadlock"
    message = "non-reentrant lock acquired again while this code path already holds it: the thread deadlocks"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), Calls(*NON_REENTRANT_LOCK_TYPES, *SEMAPHORE_TYPES))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every value assigned to each lock name: the lock's kind is only sure when all agree.
        self._values: Dict[LockKey, List[cst.BaseExpression]] = defaultdict(list)
        self._acquires: Dict[FunctionKey, Set[LockKey]] = defaultdict(set)
        self._calls: Dict[FunctionKey, Set[FunctionKey]] = defaultdict(set)
        self._nested: List[Tuple[cst.CSTNode, LockKey]] = []
        self._calls_holding: List[Tuple[cst.Call, FunctionKey, Set[Any]]] = []
        self._use = LockUse()

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A lock the file creates as a Lock or Semaphore (known by its last name here), taken
        # again where it is held, or held around a call of a function that (transitively)
        # takes one.
        creators = facts.names_for(_NON_REENTRANT)
        locks = {
            callee_name(target)
            for a in facts.assignments
            if type(a.value) is ast.Call and callee_name(a.value.func) in creators
            for target in getattr(a, "targets", ())
        }
        locks.discard("")
        holds = [h for h in _holds(facts) if h.lock in locks]
        by_scope: Dict[int, List[_Hold]] = {}  # only a scope's own acquisitions can nest
        for hold in holds:
            by_scope.setdefault(id(hold.scope), []).append(hold)
        if any(o.takes and o.lock == h.lock and h.holds(o) for group in by_scope.values() for h in group for o in group):
            return True
        # What each function takes, itself or through calls of the file's functions, named as
        # the rule names them (``locks.function_key``: module functions, methods by class).
        keys = _function_keys(facts)
        takes: Dict[_FunctionKey, Set[str]] = {}
        for hold in holds:
            key = keys.get(id(hold.scope), (None, None))[0] if hold.takes else None
            if key is not None:
                takes.setdefault(key, set()).add(hold.lock)
        calls_of = _CallsOf(facts, keys)
        pending = list(takes)
        while pending:
            callee = pending.pop()
            for call in calls_of(callee):
                caller = keys.get(id(facts.scope[call]), (None, None))[0]
                if caller is not None and not takes[callee] <= takes.setdefault(caller, set()):
                    takes[caller] |= takes[callee]
                    pending.append(caller)
        for callee, locks_taken in takes.items():
            for c in calls_of(callee):
                made = _Hold(facts.scope[c], "", position(c), _NOWHERE)
                if any(h.lock in locks_taken and h.holds(made) for h in by_scope.get(id(facts.scope[c]), ())):
                    return True
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            key = assigned_lock_key(self.sem, target.target)
            if key is not None:
                self._values[key].append(node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        key = lock_key(self.sem, node.item)
        if key is None:
            return
        with_node = self.sem.parent
        earlier = with_node.items[: with_node.items.index(node)] if isinstance(with_node, cst.With) else []
        self._acquire(node, key, any(lock_key(self.sem, i.item) == key for i in earlier))

    def visit_Call(self, node: cst.Call) -> None:
        receiver = statement_call(self.sem, node, ("acquire", "release"))
        key = lock_key(self.sem, receiver) if receiver is not None else None
        if key is not None and isinstance(node.func, cst.Attribute) and node.func.attr.value == "release":
            self._use.released(self.sem, key)
        # acquire(False) / acquire(timeout=...) returns instead of deadlocking.
        elif key is not None and not node.args:
            self._acquire(node, key, False)
        callee = callee_key(self.sem, node.func)
        if callee is None:
            return
        caller = function_key(self.sem)
        if caller is not None:
            self._calls[caller].add(callee)
        held = self.held_locks()
        if held:
            self._calls_holding.append((node, callee, held))

    def _acquire(self, anchor: cst.CSTNode, key: LockKey, again: bool) -> None:
        if again or key in self.held_locks():
            self._nested.append((anchor, key))
        self._use.acquired(self.sem, key)
        function = function_key(self.sem)
        if function is not None:
            self._acquires[function].add(key)

    def leave_Module(self, original_node: cst.Module) -> None:
        for anchor, key in self._nested:
            self._report(anchor, key, f"`{key[1]}` is already held here and is not reentrant: this acquire deadlocks")
        reach = transitive(self._acquires, self._calls)
        for call, callee, held in self._calls_holding:
            for key in sorted(held & reach.get(callee, set())):
                if self._report(call, key, f"`{callee[1]}()` acquires `{key[1]}`, which is held here and not reentrant: deadlock"):
                    break

    def _report(self, anchor: cst.CSTNode, key: LockKey, message: str) -> bool:
        kinds = {self._kind(value) for value in self._values.get(key, ())}
        if not kinds or None in kinds:
            return False  # not created here, or not always as a non-reentrant lock
        if self._use.is_signal(key):
            return False
        if kinds != {"lock"}:
            self.report(anchor, message)  # Semaphore(1) -> RLock would change who may release it
            return True
        changes: Dict[cst.CSTNode, Any] = {}
        imports: Tuple[str, ...] = ()
        for value in self._values[key]:
            assert isinstance(value, cst.Call)
            changes[value.func], needed = self._rlock(value.func)
            imports += needed
        self.report(
            anchor, message, changes=changes, add_imports=imports, fix_message=f"Create `{key[1]}` as an `RLock`"
        )
        return True

    def _kind(self, value: cst.BaseExpression) -> Optional[str]:
        if not isinstance(value, cst.Call):
            return None
        type_ = self.sem.call_result_type(value)
        if type_ in NON_REENTRANT_LOCK_TYPES:
            return "lock"
        if type_ in SEMAPHORE_TYPES:
            count = get_arg(value, "value", 0)
            if count is None or int_value(count.value) == 1:
                return "semaphore"
        return None

    def _rlock(self, func: cst.BaseExpression) -> Tuple[cst.BaseExpression, Tuple[str, ...]]:
        """The RLock constructor next to ``func`` (``threading.Lock`` -> ``threading.RLock``), and imports it needs."""
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name("RLock")), ()
        module = (self.sem.qualname(func) or "threading").split(".")[0]
        alias = self.sem.module_alias(module)
        return cst.Attribute(value=cst.Name(alias or module), attr=cst.Name("RLock")), () if alias else (module,)
