"""``+=`` on shared state from code that runs in a thread, with no lock held."""

from __future__ import annotations

import ast
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import THREAD_POOL_TYPES, THREAD_TYPES
from conclint.analysis.cstutil import get_arg
from conclint.analysis.facts import (
    Definition,
    Facts,
    body_span,
    end_position,
    keyword,
    method_receiver,
    statement_lists,
    module_level_defs,
    position,
    terminals,
    walk_scope,
)
from conclint.analysis.locks import FunctionKey, HeldLocks, callee_key, function_key, name_scope
from conclint.analysis.spawn import SPAWN_METHODS, spawn_signature
from conclint.interest import Calls, Either, Imports, Interest, Methods
from conclint.rule import Rule

# How a function comes to run in threads: started as a target/submitted, or a Thread subclass's run.
SPAWNED, RUN = "spawned", "run"


class UnsynchronizedSharedUpdate(HeldLocks, Rule):
    """A read-modify-write of a global or ``self.`` attribute in a thread, outside any lock."""

    code = "CCL205"
    name = "unsynchronized-shared-update"
    message = "read-modify-write of shared state from a thread without a lock: concurrent updates get lost"
    interest = Interest(
        Imports("threading", "multiprocessing", "concurrent", "_thread", "thread"),
        Either(Calls(*THREAD_TYPES, *THREAD_POOL_TYPES, "_thread.start_new_thread"), Methods(*SPAWN_METHODS)),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threaded: Dict[FunctionKey, str] = {}
        self._globals: Set[str] = set()  # names assigned at module level
        # (function, statement, how the state is shared (see _shared), its name)
        self._updates: List[Tuple[FunctionKey, cst.CSTNode, str, str]] = []

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A read-modify-write outside any `with` in a function some thread runs: one passed
        # as the target of a Thread/Timer, a thread pool or start_new_thread, or the `run` of a
        # Thread subclass.
        # Functions are keyed by name (and class name) as `locks.function_key` does.
        module_functions: Dict[str, List[Definition]] = {}
        for function in module_level_defs(facts):
            module_functions.setdefault(function.name, []).append(function)
        functions: List[Definition] = []
        methods: Set[Tuple[str, str]] = set()  # spawned, as (class, method)
        for call, target in _thread_targets(facts):
            if type(target) is ast.Name:  # `f`: a module function
                functions.extend(module_functions.get(target.id, ()))
            elif type(target) is ast.Attribute and type(target.value) is ast.Name:  # `self.m`: a method
                at = position(call)  # (in the class: a method's body or decorators)
                methods.update((c.name, target.attr) for c in facts.classes if position(c) <= at <= end_position(c))
        # The `run` of a Thread subclass, not also spawned: its own attributes are its thread's.
        runs: List[Definition] = []
        subclasses = {c.name for c in facts.subclasses_of(_THREADS)}
        for klass in facts.classes:
            own = _methods(klass)  # every def of each name: the rule keys them by (class, name)
            for class_name, name in methods:
                if class_name == klass.name:
                    functions.extend(own.get(name, ()))
            if klass.name in subclasses and (klass.name, "run") not in methods:
                runs.extend(own.get("run", ()))
        return any(_updates_shared_state(facts, f) for f in functions) or any(
            _updates_shared_state(facts, f, own_attributes=False) for f in runs
        )

    def visit_Call(self, node: cst.Call) -> None:
        target = self._thread_target(node)
        key = callee_key(self.sem, target) if target is not None else None
        if key is not None:
            self._threaded[key] = SPAWNED

    def _thread_target(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        if self.sem.qualname(call.func) == "_thread.start_new_thread":
            arg = get_arg(call, "function", 0)
            return arg.value if arg else None
        signature = spawn_signature(self.sem, call)
        if signature is None:
            return None
        # Processes copy the state they update: not shared, so not this rule's business.
        runs_in_thread = self.sem.call_result_type(call) in THREAD_TYPES or (
            isinstance(call.func, cst.Attribute) and self.sem.type_of(call.func.value) in THREAD_POOL_TYPES
        )
        arg = get_arg(call, *signature.func) if runs_in_thread else None
        return arg.value if arg else None

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._update(node, node.target)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.sem.frames[-1].kind == "module":
            self._globals.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
            return
        # x = x + 1 (or 1 + x): the same read-modify-write as +=
        value = node.value
        if len(node.targets) == 1 and isinstance(value, cst.BinaryOperation):
            target = node.targets[0].target
            if value.left.deep_equals(target) or value.right.deep_equals(target):
                self._update(node, target)

    def _update(self, node: cst.CSTNode, target: cst.BaseExpression) -> None:
        function = function_key(self.sem)
        shared = self._shared(target)
        if function is not None and shared is not None and not self.held_locks():
            self._updates.append((function, node, *shared))

    def _shared(self, target: cst.BaseExpression) -> Optional[Tuple[str, str]]:
        """How ``target`` writes state other threads see: a ``global`` name, a module-level
        container (``counts[k] += 1``) or a ``self.`` attribute; None for local state."""
        if isinstance(target, cst.Name):
            return ("global", target.value) if target.value in self.sem.frames[-1].global_names else None
        if isinstance(target, cst.Attribute):
            return ("self", target.attr.value) if self.sem.is_self(target.value) else None
        if isinstance(target, cst.Subscript):
            container = target.value
            if isinstance(container, cst.Name):
                scope = name_scope(self.sem, container.value)
                return ("module", container.value) if scope == "module" else None
            return self._shared(container)
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        for info in self.sem.classes.values():
            if info.base_type in THREAD_TYPES and "run" in info.methods:
                self._threaded.setdefault((info.name, "run"), RUN)
        for function, node, kind, name in self._updates:
            how = self._threaded.get(function)
            if how is None or (kind == "module" and name not in self._globals):
                continue
            if kind == "self" and how == RUN:
                continue  # a Thread subclass's own attributes belong to that one thread
            self.report(node)


_THREADS = terminals(THREAD_TYPES)
_START_NEW_THREAD = terminals({"_thread.start_new_thread"})


def _thread_targets(facts: Facts) -> Iterator[Tuple[ast.Call, Optional[ast.AST]]]:
    """CPython's view of the calls ``_thread_target`` may take a target from, and that target."""
    # Every argument the rule may take the target from: which one it takes depends on the
    # callee (Thread(group, target) or Timer(interval, function)), which the name alone
    # does not tell.
    for call in facts.calls_to(_THREADS):
        for candidate in (keyword(call, "target"), keyword(call, "function"), *call.args[1:2]):
            yield call, candidate
    for call in facts.methods_called(SPAWN_METHODS):
        if facts.may_be(method_receiver(call), THREAD_POOL_TYPES):
            for candidate in (keyword(call, "fn"), keyword(call, "func"), *call.args[:1]):
                yield call, candidate
    for call in facts.calls_to(_START_NEW_THREAD):
        for candidate in (keyword(call, "function"), *call.args[:1]):
            yield call, candidate


def _updates_shared_state(facts: Facts, function: Definition, own_attributes: bool = True) -> bool:
    """``x += ...`` or ``x = x + ...`` in ``function``'s own scope on what ``_shared`` accepts
    (a name it declares ``global``, an attribute of what may be a method's ``self``, an item of
    either or of a plain name; without ``own_attributes``, not ``self``'s attributes or their
    items), and not in the body of a ``with`` on a name or attribute (which ``HeldLocks`` takes
    as held): CPython's view of what ``_update``/``_shared`` accept."""
    nodes = list(walk_scope(function.body))
    declared = {name for node in nodes if type(node) is ast.Global for name in node.names}
    # A `with` on a name or attribute holds its body up to a `release()` statement on the same
    # receiver in it (``HeldLocks`` lets go of the key there).
    releases = [
        (ast.dump(method_receiver(c)), position(c))
        for c in facts.methods_called(("release",), statements_only=True)
        if facts.scope[c] is function
    ]
    held = []
    for item in facts.with_items:
        if facts.scope[item] is function and _dotted(item.context_expr):
            start, end = body_span(facts.with_of[item])
            spelled = ast.dump(item.context_expr)
            held.append((start, min((at for r, at in releases if r == spelled and start <= at <= end), default=end)))
    for node in nodes:
        if type(node) is ast.AugAssign:
            target: ast.expr = node.target
        elif type(node) is ast.Assign and len(node.targets) == 1 and type(node.value) is ast.BinOp:
            target = node.targets[0]
        else:
            continue
        kind = _shared(facts, target, declared)
        if kind is None or (kind == "self" and not own_attributes):
            continue
        at = position(node)
        if not any(start <= at <= end for start, end in held):
            return True
    return False


def _methods(klass: ast.ClassDef) -> Dict[str, List[Definition]]:
    """The defs of a class's body by name, also under ``if``/``try`` there (``Scopes`` frames
    them as methods), every one of a name (a later def does not hide an earlier's updates)."""
    found: Dict[str, List[Definition]] = {}
    pending: List[ast.stmt] = list(klass.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(statement.name, []).append(statement)
        elif not isinstance(statement, ast.ClassDef):
            for inner in statement_lists(statement):
                pending.extend(inner)
    return found


def _shared(facts: Facts, target: ast.expr, declared: Set[str]) -> Optional[str]:
    """CPython's view of the rule's ``_shared``: "global", "self" (an attribute of what may be
    a method's ``self``), "module" (an item of a plain name), or None."""
    while type(target) is ast.Subscript:
        container = target.value
        if type(container) is ast.Name:
            return "module"
        target = container
    if type(target) is ast.Name:
        return "global" if target.id in declared else None
    if type(target) is ast.Attribute and type(target.value) is ast.Name and target.value.id in facts.first_parameters():
        return "self"
    return None


def _dotted(node: ast.AST) -> bool:
    """Whether ``node`` is ``a`` or ``a.b.c`` (``cstutil.dotted`` is not None)."""
    while type(node) is ast.Attribute:
        node = node.value
    return type(node) is ast.Name
