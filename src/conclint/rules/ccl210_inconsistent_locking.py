"""A field written under a lock in one method and without it in another."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import CONDITION_TYPES, LOCK_TYPES, THREAD_TYPES
from conclint.analysis.cstutil import dotted, walk
from conclint.analysis.locks import FunctionKey, Held, HeldLocks, function_key, lock_receiver, name_scope
from conclint.interest import Either, Holds, Interest, Methods, Syntax
from conclint.rule import Rule, related_line

# Mutual exclusion the file creates (or is annotated with): the class's own lock.
_LOCKS = LOCK_TYPES | CONDITION_TYPES
# Methods of the standard containers that change them: a call is a write of the container.
MUTATORS = frozenset({
    "append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft", "popitem", "remove",
    "clear", "update", "add", "discard", "setdefault", "sort", "reverse", "rotate",
})
# Methods that run before the object is shared (or after it is gone), test fixtures' set-up
# and tear-down among them.
UNSHARED = frozenset({
    "__init__", "__new__", "__del__", "__init_subclass__", "__post_init__", "__setstate__",
    "setUp", "setUpClass", "asyncSetUp", "tearDown", "tearDownClass", "asyncTearDown",
})
# A deque's appends and pops are atomic ("thread-safe", says the documentation of
# collections.deque): made without the lock, they lose no update.
_DEQUE_ATOMIC = frozenset({"append", "appendleft", "pop", "popleft"})
# Run in a child process right after a fork, where only the forking thread exists.
_AFTER_FORK = re.compile(r"(?:after|at)_?fork", re.I)

WRITE, MUTATE, CHECK = "written", "changed", "checked"

# A comment on the access's line or the line before saying the access needs no lock: the
# author's annotation, as GuardedBy's and Clang's thread-safety analysis take annotations
# (a Python field has no other place for one). "not thread-safe", "TODO", "must be
# thread-safe"... say the opposite, or ask for it.
_DELIBERATE = re.compile(
    r"(?<![\w.])thread[- ]?safe(?![\w(])|\bno lock(?:ing)? (?:is )?(?:needed|required|necessary)"
    r"|\block(?:ing)? (?:is )?not (?:needed|required|necessary)|\b(?:safe|ok|fine) without (?:the |a )?lock",
    re.I,
)
_UNDELIBERATE = re.compile(r"(?:\bnot|n't|\bnon|\bun)[- ]*thread|\b(?:TODO|FIXME|XXX|should|must|make|needs? to)\b", re.I)


@dataclass
class _Access:
    function: FunctionKey
    name: str  # the field (``self.name``) or the module global
    kind: str  # WRITE, MUTATE or CHECK
    node: cst.CSTNode
    locked: bool  # a lock this file creates is held
    lockish: bool  # anything that may be a lock is held
    lock: str  # how the held lock is spelled, when locked
    act: Optional["_Access"] = None  # for a check: the write that acts on it
    constant: Optional[str] = None  # a write of a literal: its code
    call: str = ""  # a change made by calling a container's method (``x.append()``): its name
    lock_free: bool = False  # a comment on the line (or the one before) says it needs no lock


@dataclass
class _Calls:
    """How each method of a class is reached through ``self``."""

    sites: Dict[str, List[Tuple[str, bool]]] = field(default_factory=dict)  # method -> (caller, lock held)
    escapes: Set[str] = field(default_factory=set)  # ``self.m`` used other than called
    # ``self.m()`` in a def nested in method ``caller``: (method, caller, the caller's node, the
    # nested def's node); a site of ``caller`` if the nested def only runs where it is called.
    nested: List[Tuple[str, str, cst.FunctionDef, cst.FunctionDef]] = field(default_factory=list)
    # method -> its calls holding a lock this file creates: (caller, the call, the lock).
    locked_sites: Dict[str, List[Tuple[str, cst.Call, str]]] = field(default_factory=dict)


class InconsistentLocking(HeldLocks, Rule):
    """A field a class writes under its lock in one method, written without it in another."""

    code = "CCL210"
    name = "inconsistent-locking"
    message = "shared state written under a lock elsewhere is written here without it: updates can be lost"
    interest = Interest(Holds(*_LOCKS), Either(Syntax("with"), Methods("acquire")))
    # Off until its precision on real code reaches the project's bar: 43 of 67 findings on the
    # stdlib and 52 packages were real, 4 of 14 on the 18 no change was fitted to
    # (docs/precision.md); select it by its code to use it.
    default_enabled = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accesses: List[_Access] = []
        self._known: Set[Held] = set()  # held keys of locks this file creates
        self._spelling: Dict[Held, str] = {}
        self._calls: Dict[str, _Calls] = {}  # class -> its self.method() calls
        self._module_names: Set[str] = set()  # names assigned at module level
        self._containers: Set[str] = set()  # fields and globals assigned a list, dict, set, deque...
        self._deques: Set[str] = set()  # those assigned a deque
        self._ifs: List[Tuple[cst.If, List[Tuple[str, cst.CSTNode]], int, bool]] = []
        # Per function, how many accesses were recorded when it first made or started a
        # thread: those before ran while the object was not shared yet.
        self._shared_from: Dict[FunctionKey, int] = {}
        # Per function and plain name: whether a lock was held at each call of that name.
        self._name_calls: Dict[Tuple[FunctionKey, str], List[bool]] = {}
        # Methods that make the object's lock (``self._lock = Lock()``): they (re)initialise it.
        self._lock_makers: Set[FunctionKey] = set()
        self._named_once: Dict[str, bool] = {}  # _unreferenced's answers, per method name
        self._bases: Dict[str, List[str]] = {}
        # Per class, its properties: name -> the methods that run on a read and on a store.
        self._properties: Dict[str, Dict[str, Tuple[str, str]]] = {}
        self._property_names: Set[str] = set()  # of every class of the file

    # ------------------------------------------------------------ what is held
    def held_key(self, expr: cst.BaseExpression) -> Optional[Held]:
        if not lock_receiver(self, expr):
            return None
        key = super().held_key(expr)
        if key is not None:
            if self.sem.type_of(expr) in _LOCKS:
                self._known.add(key)
            self._spelling.setdefault(key, dotted(expr) or "the lock")
        return key

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        super().visit_ClassDef(node)
        bases = [a.value.value if isinstance(a.value, cst.Subscript) else a.value for a in node.bases]  # Base[int]
        self._bases[node.name.value] = [b.value for b in bases if isinstance(b, cst.Name)]
        self._properties[node.name.value] = _properties(node)
        self._property_names.update(self._properties[node.name.value])

    # ------------------------------------------------------------ accesses
    def visit_Assign(self, node: cst.Assign) -> None:
        if self.sem.at_module_level:
            names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
            self._module_names.update(names)
            if _container(node.value):
                self._containers.update(f"module:{n}" for n in names)
            if _constructor(node.value) == "deque":
                self._deques.update(f"module:{n}" for n in names)
            return
        for target in node.targets:
            self._store(target.target, node, node.value)
        own = [t.target for t in node.targets if isinstance(t.target, cst.Attribute) and self.sem.is_self(t.target.value)]
        if own and isinstance(node.value, cst.Call) and self.sem.call_result_type(node.value) in _LOCKS:
            function = function_key(self.sem)
            if function is not None:
                self._lock_makers.add(function)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and not self.sem.at_module_level:
            self._store(node.target, node, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self.sem.at_module_level:
            self._store(node.target, node)

    def visit_Del(self, node: cst.Del) -> None:
        if not self.sem.at_module_level:
            self._store(node.target, node)

    def _store(self, target: cst.BaseExpression, node: cst.CSTNode, value: Optional[cst.BaseExpression] = None) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value, node)
            return
        if isinstance(target, cst.StarredElement):
            self._store(target.value, node)
            return
        found = self._field(target, container=False)
        if found is not None:
            access = self._record(found, WRITE, target)
            if access is not None and value is not None and _literal(value):
                access.constant = cst.Module([]).code_for_node(value)
            if value is not None and _container(value):
                self._containers.add(found)
            if value is not None and _constructor(value) == "deque":
                self._deques.add(found)
        elif isinstance(target, cst.Subscript):
            found = self._field(target.value, container=True)
            if found is not None:
                self._record(found, MUTATE, target)

    def _field(self, expr: cst.BaseExpression, container: bool) -> Optional[str]:
        """The shared state ``expr`` names: ``self.x`` ("self.x"), a ``global`` name, or
        (``container``) a module-level name used as a container."""
        if isinstance(expr, cst.Attribute) and self.sem.is_self(expr.value):
            if self.sem.type_of(expr) in _LOCKS:
                return None  # the lock itself
            return f"self.{expr.attr.value}"
        if isinstance(expr, cst.Name):
            frame = self.sem.function
            if frame is not None and expr.value in frame.global_names:
                return expr.value
            if container and name_scope(self.sem, expr.value) == "module":
                return f"module:{expr.value}"
        return None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.sem.qualname(func) in THREAD_TYPES or (
            isinstance(func, cst.Attribute) and func.attr.value == "start" and not node.args
        ):
            function = function_key(self.sem)
            if function is not None:
                self._shared_from.setdefault(function, len(self._accesses))
        if isinstance(func, cst.Name):
            function = function_key(self.sem)
            if function is not None:
                self._name_calls.setdefault((function, func.value), []).append(bool(self.held_locks()))
            return
        if not isinstance(func, cst.Attribute):
            return
        if func.attr.value in MUTATORS:
            found = self._field(func.value, container=True)
            if found is not None:
                access = self._record(found, MUTATE, func.value)
                if access is not None:
                    access.call = func.attr.value
        if self.sem.is_self(func.value):
            self._method_call(func.attr.value, node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # ``self.m`` not called (a callback, a thread's target): run from anywhere.
        if self.sem.is_self(node.value):
            parent = self.sem.parent
            if not (isinstance(parent, cst.Call) and parent.func is node):
                info = self.sem.enclosing_class()
                if info is None:
                    return
                prop = None
                if node.attr.value in self._property_names:  # (most files have none: no lineage walk)
                    prop = next((self._properties[c][node.attr.value] for c in self._lineage(info.name)
                                 if node.attr.value in self._properties.get(c, {})), None)
                if prop is not None:  # ``self.p`` of a property: a call of its getter or setter
                    stored = isinstance(parent, (cst.AssignTarget, cst.AugAssign)) and getattr(parent, "target", None) is node
                    self._method_call(prop[1] if stored else prop[0], None)
                elif node.attr.value in info.methods:
                    self._calls.setdefault(info.name, _Calls()).escapes.add(node.attr.value)

    def _method_call(self, method: str, call: Optional[cst.Call]) -> None:
        caller = function_key(self.sem)
        info = self.sem.enclosing_class()
        if info is None:
            return
        # A method's call of another: of the class, or a hook its subclasses define (their
        # methods' roles read the sites of the classes they derive from: ``_method_roles``).
        if caller is None:
            calls = self._calls.setdefault(info.name, _Calls())
            frames = self.sem.frames
            if (
                len(frames) >= 3 and isinstance(frames[-1].node, cst.FunctionDef)
                and isinstance(frames[-2].node, cst.FunctionDef) and frames[-3].kind == "class"
            ):  # from a def nested in a method: that method's site, if the def runs only there
                calls.nested.append((method, frames[-2].name, frames[-2].node, frames[-1].node))
            else:  # from deeper or from a lambda: when it runs is unknown
                calls.escapes.add(method)
            return
        held = self.held_in_order()
        calls = self._calls.setdefault(info.name, _Calls())
        calls.sites.setdefault(method, []).append((caller[1], bool(held)))
        known = [k for k in held if k in self._known]
        if known and call is not None:
            calls.locked_sites.setdefault(method, []).append((caller[1], call, self._spelling.get(known[0], "the lock")))

    def _record(self, name: str, kind: str, node: cst.CSTNode) -> Optional[_Access]:
        function = function_key(self.sem)
        if function is None:
            return None  # a nested def or lambda: it runs later, under whatever is held then
        held = self.held_in_order()
        known = [k for k in held if k in self._known]
        access = _Access(function, name, kind, node, bool(known), bool(held), self._spelling.get(known[0], "") if known else "")
        access.lock_free = not held and self._commented_lock_free()
        self._accesses.append(access)
        return access

    def _commented_lock_free(self) -> bool:
        """Whether the statement being visited carries, on its line or the line before, a
        comment saying it needs no lock (``# thread-safe``, ``# no lock needed``)."""
        statement = next(
            (n for n in reversed(self.sem.stack) if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))),
            None,
        )
        if statement is None:
            return False
        comments = [line.comment for line in statement.leading_lines[-1:]]
        if isinstance(statement, cst.SimpleStatementLine):
            comments.append(statement.trailing_whitespace.comment)
        elif isinstance(statement.body, cst.IndentedBlock):
            comments.append(statement.body.header.comment)
        return any(
            c is not None and _DELIBERATE.search(c.value) is not None and _UNDELIBERATE.search(c.value) is None
            for c in comments
        )

    # ------------------------------------------------------------ check-then-act
    def visit_If(self, node: cst.If) -> None:
        checked: List[Tuple[str, cst.CSTNode]] = []
        for expr in _reads(node.test):
            found = self._field(expr, container=True) if isinstance(expr, cst.Name) else self._field(expr, container=False)
            if found is not None and all(found != name for name, _ in checked):
                checked.append((found, expr))
        self._ifs.append((node, checked, len(self._accesses), bool(self.held_locks())))

    def leave_If(self, original_node: cst.If) -> None:
        node, checked, start, lockish = self._ifs.pop()
        if not checked or function_key(self.sem) is None:
            return
        inside = self._accesses[start:]
        for name, expr in checked:
            acts = [a for a in inside if a.name == name and a.kind != CHECK]
            if lockish:  # a check under the lock: the re-check that makes an outer one harmless
                self._record(name, CHECK, expr)
                continue
            if not acts:
                continue
            # Under a lock, the check is the re-check that makes an outer one harmless.
            rechecked = any(a.name == name and a.kind == CHECK and a.lockish for a in inside)
            if lockish or any(not a.lockish for a in acts) or not rechecked:  # (a locked one marks a re-check)
                access = self._record(name, CHECK, expr)
                if access is not None:
                    access.act = acts[0]

    # ------------------------------------------------------------ the verdict
    def _lineage(self, cls: str) -> List[str]:
        """``cls`` and the classes of this file it derives from, nearest first."""
        out = [cls]
        at = 0
        while at < len(out):
            for base in self._bases.get(out[at], ()):
                if base in self._bases and base not in out:
                    out.append(base)
            at += 1
        return out

    def leave_Module(self, original_node: cst.Module) -> None:
        unshared, locked_only = self._method_roles()
        evidence: Dict[Tuple[str, str], _Access] = {}  # (class, field) -> a write under the lock
        for access in self._accesses:
            if access.locked and access.kind != CHECK and access.function[1] not in unshared.get(access.function[0], ()):
                evidence.setdefault((access.function[0], access.name), access)
        constants: Dict[Tuple[str, str], Set[Optional[str]]] = {}
        for access in self._accesses:
            if access.locked and access.kind != CHECK:
                constants.setdefault((access.function[0], access.name), set()).add(access.constant)
        # Deviant behaviour, not the norm: a field is taken as guarded by its lock only when at
        # least as many methods change it holding the lock as without (on each side, methods
        # that may run once the object is shared).
        locked_in: Dict[Tuple[str, str], Set[str]] = {}
        unlocked_in: Dict[Tuple[str, str], Set[str]] = {}
        for access in self._accesses:
            cls, method = access.function
            if access.kind == CHECK or method in unshared.get(cls, ()) or access.lock_free:
                continue
            if access.call and access.name not in self._containers:
                continue  # `x.add()` on what may be no container (a session, a set of its own)
            side = locked_in if access.locked or method in locked_only.get(cls, ()) else unlocked_in
            if side is locked_in or not access.lockish:
                side.setdefault((cls, access.name), set()).add(f"{cls}.{method}")
        reported: Set[Tuple[str, str, str]] = set()
        for index, access in enumerate(self._accesses):
            cls, method = access.function
            if access.lockish or access.lock_free or method in unshared.get(cls, ()) or method in locked_only.get(cls, ()):
                continue
            calls = self._calls.get(cls)
            if cls and (calls is None or method not in calls.sites) and self._unreferenced(method):
                continue
            if index < self._shared_from.get(access.function, 0):
                continue  # before the method makes or starts a thread
            lineage = self._lineage(cls)
            if access.constant is not None and set().union(*(constants.get((c, access.name), set()) for c in lineage)) == {access.constant}:
                continue  # the one value every locked write stores too: nothing can be lost
            if access.name.startswith("module:") and access.name[7:] not in self._module_names:
                continue
            if access.call and access.name not in self._containers:
                continue
            if access.call in _DEQUE_ATOMIC and access.name in self._deques:
                continue  # atomic (still counted above as a change without the lock)
            unlocked_n = sum(len(unlocked_in.get((c, access.name), ())) for c in lineage)
            if unlocked_n > sum(len(locked_in.get((c, access.name), ())) for c in lineage):
                continue
            guard = next((evidence[(c, access.name)] for c in lineage if (c, access.name) in evidence), None)
            if cls and guard is None:
                continue
            if not cls:  # module state: guarded in any function of the module
                guard = next((e for (c, n), e in evidence.items() if n == access.name), None)
            if guard is None or (guard.function == access.function and access.kind != CHECK):
                continue
            key = (cls, method, access.name)
            if key in reported:
                continue
            reported.add(key)
            site = self._locked_call(lineage, method, unshared.get(cls, set())) if access.kind != CHECK else None
            self._report(access, guard, site)

    def _locked_call(self, lineage: List[str], method: str, early: Set[str]) -> Optional[Tuple[str, cst.Call, str]]:
        """The first call of ``method`` made holding the lock by a method of the class (or
        of a class it derives from) that runs once the object is shared, if any."""
        for cls in lineage:
            calls = self._calls.get(cls)
            for site in calls.locked_sites.get(method, ()) if calls is not None else ():
                if site[0] not in early:
                    return site
        return None

    def _method_roles(self) -> Tuple[Dict[str, Set[str]], Dict[str, Set[str]]]:
        """Per class: the methods that run before the object is shared (``__init__`` and the
        private methods only it calls), and the private helpers called only with a lock held."""
        unshared: Dict[str, Set[str]] = {}
        locked_only: Dict[str, Set[str]] = {}
        for cls, calls in self._calls.items():
            for method, caller, outer, inner in calls.nested:
                held = self._nested_def_held(cls, caller, outer, inner)
                if held is None:
                    calls.escapes.add(method)
                else:
                    calls.sites.setdefault(method, []).append((caller, held))
            calls.nested.clear()
        for cls in {*self._calls, *(a.function[0] for a in self._accesses if a.function[0])}:
            # The class's self-calls and those of the classes it derives from: a hook the
            # base calls from __init__, or holding the lock, has that role in the subclass.
            all_sites: Dict[str, List[Tuple[str, bool]]] = {}
            escapes: Set[str] = set()
            for ancestor in self._lineage(cls):
                own = self._calls.get(ancestor)
                if own is not None:
                    for method, sites in own.sites.items():
                        all_sites.setdefault(method, []).extend(sites)
                    escapes |= own.escapes
            callers = {caller for sites in all_sites.values() for caller, _ in sites}
            early = set(UNSHARED) | {m for m in {*all_sites, *callers} if _AFTER_FORK.search(m)}
            under = set()
            changed = True
            while changed:
                changed = False
                for method, sites in all_sites.items():
                    if not _private(method) or method in escapes:
                        continue
                    if method not in early and all(caller in early for caller, _ in sites):
                        early.add(method)
                        changed = True
                    # Called with the lock held from every method that runs once shared.
                    shared = [(caller, held) for caller, held in sites if caller not in early]
                    if method not in under and shared and all(held or caller in under for caller, held in shared):
                        under.add(method)
                        changed = True
            unshared[cls] = early
            locked_only[cls] = under
        for cls in {a.function[0] for a in self._accesses}:
            methods = {a.function[1] for a in self._accesses if a.function[0] == cls}
            unshared.setdefault(cls, set(UNSHARED)).update(m for m in methods if _AFTER_FORK.search(m))
        # A method that makes the lock anew resets the object: no thread can hold that lock yet.
        for cls, method in self._lock_makers:
            unshared.setdefault(cls, set(UNSHARED)).add(method)
        return unshared, locked_only

    def _nested_def_held(self, cls: str, caller: str, outer: cst.FunctionDef, inner: cst.FunctionDef) -> Optional[bool]:
        """Whether a lock is held wherever method ``caller`` calls its nested def ``inner``;
        None when ``inner`` may run elsewhere (it is passed on, returned, or never called)."""
        name = inner.name.value
        nodes = list(walk(outer.body))
        called = {id(n.func) for n in nodes if isinstance(n, cst.Call)}
        if any(
            isinstance(n, cst.Name) and n.value == name and n is not inner.name and id(n) not in called for n in nodes
        ):
            return None
        held = self._name_calls.get(((cls, caller), name))
        if not held:
            return None
        return all(held)

    def _unreferenced(self, method: str) -> bool:
        """A private method nothing in this file names but its ``def``: called, if at all,
        from another module, under whatever that code holds (the file is searched once per
        method, not once per access)."""
        found = self._named_once.get(method)
        if found is None:
            found = self._named_once[method] = _private(method) and len(
                re.findall(rf"\b{re.escape(method)}\b", self.sem.source)
            ) == 1
        return found

    def _report(self, access: _Access, guard: _Access, site: Optional[Tuple[str, cst.Call, str]] = None) -> None:
        """Report ``access``, naming where its state is protected: the locked ``guard``,
        after ``site`` when there is one (a call of the access's own method made holding the
        lock, the strongest evidence there is: the very same code runs with and without it)."""
        name = _spelled(access)
        if site is not None:
            caller, call, lock = site
            method = access.function[1]
            message = (
                f"`{name}` is {access.kind} here without a lock, while `{access.function[0]}.{caller}` calls "
                f"`{method}()` holding `{lock}` (line {related_line(0)}): a call of `{method}()` without the "
                "lock races with that one, updates can be lost"
            )
            related = [
                (call, f"`{method}()` is called here holding `{lock}`"),
                (guard.node, f"`{_spelled(guard)}` is {guard.kind} here holding `{guard.lock}`"),
            ]
            self.report(access.node, message, related=related)
            return
        where = f"{guard.function[0]}.{guard.function[1]}" if guard.function[0] else f"{guard.function[1]}()"
        protected = f"`{where}` {_verb(guard.kind)} it holding `{guard.lock}` (line {related_line(0)})"
        related = [(guard.node, f"`{_spelled(guard)}` is {guard.kind} here holding `{guard.lock}`")]
        if access.kind == CHECK and access.act is guard:
            message = (
                f"`{name}` is checked here without a lock, then {guard.kind} holding `{guard.lock}` (line "
                f"{related_line(0)}): another thread can change it in between; check it again under the lock"
            )
        elif access.kind == CHECK and access.act is not None:
            message = (
                f"`{name}` is checked here without a lock and then acted on (line {related_line(1)}), "
                f"while {protected}: another thread can change it in between; check it again under the lock"
            )
            related.append((access.act.node, f"`{_spelled(access.act)}` is {access.act.kind} here on that check"))
        else:
            message = f"`{name}` is {access.kind} here without a lock, while {protected}: updates can be lost"
        self.report(access.node, message, related=related)


def _spelled(access: _Access) -> str:
    """The state ``access`` changes as its code names it: ``cls._items`` in a classmethod,
    ``self.count`` in a method, ``CACHE`` for a module's."""
    if access.name.startswith("module:"):
        return access.name[7:]
    node = access.node
    expr = node.value if isinstance(node, cst.Subscript) else node
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        return f"{expr.value.value}.{expr.attr.value}"
    return access.name


def _literal(value: cst.BaseExpression) -> bool:
    return isinstance(value, (cst.Integer, cst.SimpleString)) or (
        isinstance(value, cst.Name) and value.value in ("True", "False", "None")
    )


_CONTAINERS = frozenset({"list", "dict", "set", "deque", "OrderedDict", "defaultdict", "Counter", "WeakValueDictionary", "WeakSet"})


def _container(value: cst.BaseExpression) -> bool:
    """Whether ``value`` makes a standard container: a display, a comprehension, a constructor."""
    if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
        return True
    return _constructor(value) in _CONTAINERS


def _constructor(value: cst.BaseExpression) -> str:
    """The name ``value`` calls (``deque`` for ``collections.deque(maxlen=3)``), or ""."""
    if isinstance(value, cst.Call):
        func = value.func
        return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return ""


_PROPERTY_DECORATORS = frozenset({"property", "cached_property"})


def _properties(node: cst.ClassDef) -> Dict[str, Tuple[str, str]]:
    """The properties ``node`` defines: name -> (the method a read runs, the one a store
    runs), for ``@property`` defs (their setters share the name) and ``p = property(f, g)``."""
    out: Dict[str, Tuple[str, str]] = {}
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef):
            for decorator in stmt.decorators:
                d = decorator.decorator
                name = d.attr.value if isinstance(d, cst.Attribute) else d.value if isinstance(d, cst.Name) else ""
                if name in _PROPERTY_DECORATORS or (isinstance(d, cst.Attribute) and name in ("setter", "getter", "deleter")):
                    out[stmt.name.value] = (stmt.name.value, stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, cst.Call) and _constructor(small.value) == "property"
                ):
                    names = ["", ""]
                    for position, arg in enumerate(small.value.args):
                        keyword = arg.keyword.value if arg.keyword is not None else None
                        at = {"fget": 0, "fset": 1}.get(keyword or "", position if keyword is None else 2)
                        if at < 2 and isinstance(arg.value, cst.Name):
                            names[at] = arg.value.value
                    out[small.targets[0].target.value] = (names[0], names[1])
    return out


def _private(method: str) -> bool:
    return method.startswith("_") and not method.endswith("__")


def _verb(kind: str) -> str:
    return "writes" if kind == WRITE else "changes"


def _reads(test: cst.BaseExpression) -> List[cst.BaseExpression]:
    """``self.x`` and plain names read in an ``if`` test (not inside lambdas or calls' callees)."""
    out: List[cst.BaseExpression] = []
    stack: List[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Lambda):
            continue
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            out.append(node)
            continue
        if isinstance(node, cst.Name):
            out.append(node)
            continue
        if isinstance(node, cst.Call):
            stack.extend(a.value for a in node.args)
            if isinstance(node.func, cst.Attribute):  # self.x.get(k): a read of self.x
                stack.append(node.func.value)
            continue
        stack.extend(node.children)
    return out
