"""CCL201's case for locks a project helper makes, in CPython's tree: ``x.acquire()`` as a
statement, released later in its def but not on every path, where ``x`` is bound only to
the call of an imported name (``lock = allocate_lock()``, ``self._lock = compat.make_lock()``).

Whether that name makes a lock is known only in the project phase (the module defining it),
so the summary files these acquires (``acquires``) and CCL201's project part confirms them.
The tests are CCL201's own (``rules/ccl201_acquire_without_release.py``), read the same way
in CPython's tree: no ``try``/``finally`` (or ``else``) releasing the lock around or right
after the acquire, not released at once, not handed to other code while held, not a
hand-over between two locks, acquired and released in the same defs, and not shared with a
def nested in (or around) the acquiring one.
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_Scope = Union[ast.Module, ast.FunctionDef, ast.AsyncFunctionDef]
# Builtins that look at an object without keeping it (CCL201's ``_INSPECTING``).
_INSPECTING = frozenset({"repr", "str", "print", "id", "isinstance", "type", "hash", "len", "bool", "format"})
# A lock's identity in the file: ("m", name) at module level, ("l", def, name) a local,
# ("s", class, attr) an attribute of ``self``.
_Key = Tuple[str, ...]


def acquires(tree: ast.Module, imported: Callable[[ast.AST], Optional[str]]) -> List[Tuple[str, ast.Attribute]]:
    """The acquires CCL201 would report if the lock were known to be one: (the ref of the
    imported name whose call made it, the ``x.acquire`` attribute). ``imported`` gives the
    ref of an imported name (``_Summariser._imported_ref``), None for anything else."""
    return _Finder(tree, imported).run()


class _Finder:
    def __init__(self, tree: ast.Module, imported: Callable[[ast.AST], Optional[str]]) -> None:
        self.tree = tree
        self.imported = imported
        # Every def (and the module): its class when it is a method, the defs around it.
        self.defs: List[Tuple[_Scope, Optional[ast.ClassDef], Tuple[int, ...]]] = []
        self.makers: Dict[_Key, Optional[str]] = {}  # lock -> ref of its maker; None: bound otherwise
        self.nodes: Dict[int, List[ast.AST]] = {}  # scope -> its nodes (``_nodes``), walked once
        self.locals: Dict[int, Set[str]] = {}  # def -> ``_local_names``
        self.scope_of: Dict[int, ast.AST] = {}  # id -> def (or the module)

    def _nodes(self, scope: ast.AST) -> List[ast.AST]:
        found = self.nodes.get(id(scope))
        if found is None:
            found = self.nodes[id(scope)] = list(_nodes(scope))
        return found

    def run(self) -> List[Tuple[str, ast.Attribute]]:
        self._scopes(self.tree, None, ())
        self.scope_of = {id(scope): scope for scope, _, _ in self.defs}
        for scope, cls, around in self.defs:
            self._assignments(scope, cls, around)
        uses: Dict[_Key, Tuple[Set[int], Set[int]]] = {}  # lock -> (scopes acquiring, releasing)
        enclosing: Dict[int, Tuple[int, ...]] = {}
        candidates: List[Tuple[_Key, int, ast.Attribute]] = []
        for scope, cls, around in self.defs:
            enclosing[id(scope)] = around
            for node in self._nodes(scope):
                calls: Sequence[ast.AST] = (node,)
                where = id(scope)
                if type(node) is ast.Lambda:  # a scope of its own, which may release the lock
                    calls, where = list(ast.walk(node)), id(node)
                    enclosing[where] = (*around, id(scope))
                for call in calls:
                    if type(call) is not ast.Call or type(call.func) is not ast.Attribute:
                        continue
                    method = call.func.attr
                    if method not in ("acquire", "release"):
                        continue
                    key = self._key(call.func.value, scope, cls, around)
                    if key is None or self.makers.get(key) is None:
                        continue
                    taken, released = uses.setdefault(key, (set(), set()))
                    (taken if method == "acquire" else released).add(where)
                    if method == "acquire" and call is node and self._unguarded(call, scope):
                        candidates.append((key, where, call.func))
        out: List[Tuple[str, ast.Attribute]] = []
        for key, scope_id, attribute in candidates:
            taken, released = uses[key]
            if taken != released:
                continue  # handed off: acquired and released in different defs
            if any(scope_id in enclosing.get(other, ()) or other in enclosing.get(scope_id, ()) for other in taken | released):
                continue  # a gate for a def nested in the acquiring one (or around it)
            out.append((self.makers[key] or "", attribute))
        return out

    # ------------------------------------------------------------------ bindings
    def _scopes(self, scope: _Scope, cls: Optional[ast.ClassDef], around: Tuple[int, ...]) -> None:
        self.defs.append((scope, cls, around))
        self._nested(scope, None, (*around, id(scope)))

    def _nested(self, node: ast.AST, cls: Optional[ast.ClassDef], around: Tuple[int, ...]) -> None:
        for child in self._nodes(node):
            if isinstance(child, _FUNCTIONS):
                self._scopes(child, cls, around)
            elif isinstance(child, ast.ClassDef):
                self._nested(child, child, around)

    def _local_names(self, scope: ast.AST) -> Set[str]:
        """The names a def binds other than by an import: its parameters, assignments, defs
        and classes (not those it declares ``global`` or ``nonlocal``)."""
        found = self.locals.get(id(scope))
        if found is None:
            found = set(_parameters(scope))  # type: ignore[arg-type]
            declared: Set[str] = set()
            for node in self._nodes(scope):
                if type(node) is ast.Name and type(node.ctx) is not ast.Load:
                    found.add(node.id)
                elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                    found.add(node.name)
                elif type(node) in (ast.Global, ast.Nonlocal):
                    declared.update(node.names)  # type: ignore[attr-defined]
            found = self.locals[id(scope)] = found - declared
        return found

    def _assignments(self, scope: _Scope, cls: Optional[ast.ClassDef], around: Tuple[int, ...]) -> None:
        """File what each name and ``self`` attribute ``scope`` binds holds: the ref of the one
        imported name whose call (without arguments) makes it, else None (also when a
        parameter or a local of the def, or of a def around it, shadows that name)."""
        params = _parameters(scope)
        globals_ = {name for node in self._nodes(scope) if type(node) is ast.Global for name in node.names}
        shadowing: Set[str] = set()
        for def_ in (scope, *(self.scope_of[i] for i in around)):
            if isinstance(def_, _FUNCTIONS):
                shadowing |= self._local_names(def_)
        stored: Dict[_Key, int] = {}
        made: Dict[_Key, List[Optional[str]]] = {}
        for node in self._nodes(scope):
            keys: List[_Key] = []
            if type(node) is ast.Name and type(node.ctx) is not ast.Load:
                keys.append(self._name_key(node.id, scope, globals_))
            elif type(node) is ast.Attribute and type(node.ctx) is not ast.Load and cls is not None and _is_self(node.value, scope):
                keys.append(("s", str(id(cls)), node.attr))
            elif isinstance(node, (ast.Import, ast.ImportFrom, *_FUNCTIONS, ast.ClassDef)):
                keys.extend(self._name_key(name, scope, globals_) for name in _names_bound(node))
            for key in keys:
                stored[key] = stored.get(key, 0) + 1
            if type(node) is ast.Assign and len(node.targets) == 1:
                target = node.targets[0]
                key_: Optional[_Key] = None
                if type(target) is ast.Name:
                    key_ = self._name_key(target.id, scope, globals_)
                elif type(target) is ast.Attribute and cls is not None and _is_self(target.value, scope):
                    key_ = ("s", str(id(cls)), target.attr)
                if key_ is not None:
                    value = node.value
                    plain = (
                        type(value) is ast.Call and not value.args and not value.keywords
                        and _head(value.func) not in shadowing
                    )
                    made.setdefault(key_, []).append(self.imported(value.func) if plain else None)  # type: ignore[attr-defined]
        for name in params:
            stored[("l", str(id(scope)), name)] = stored.get(("l", str(id(scope)), name), 0) + 1
        for key, count in stored.items():
            refs = made.get(key, [])
            ref = refs[0] if len(refs) == count and len(set(refs)) == 1 else None
            if key in self.makers and self.makers[key] != ref:
                ref = None  # bound in two defs two ways
            self.makers[key] = ref

    def _name_key(self, name: str, scope: _Scope, globals_: Set[str]) -> _Key:
        if scope is self.tree or name in globals_:
            return ("m", name)
        return ("l", str(id(scope)), name)

    def _key(
        self, receiver: ast.AST, scope: _Scope, cls: Optional[ast.ClassDef], around: Tuple[int, ...]
    ) -> Optional[_Key]:
        if type(receiver) is ast.Name:
            for where in (id(scope), *reversed(around)):  # a local of this def or of one around it
                local = ("l", str(where), receiver.id)
                if local in self.makers:
                    return local
            return ("m", receiver.id)
        if type(receiver) is ast.Attribute and cls is not None and _is_self(receiver.value, scope):
            return ("s", str(id(cls)), receiver.attr)
        return None

    # ------------------------------------------------------------------ CCL201's tests
    def _unguarded(self, call: ast.Call, scope: _Scope) -> bool:
        """Whether ``call`` (``x.acquire(...)``) is a statement CCL201 reports: released later
        in ``scope``, not on every path."""
        path = _path_to(scope, call)
        if not path:
            return False
        statement, (block, index) = path[-1]
        if type(statement) is not ast.Expr or statement.value is not call:
            return False
        receiver = call.func.value  # type: ignore[attr-defined]
        following = block[index + 1] if index + 1 < len(block) else None
        if following is not None and _releases_in_finally(following, receiver):
            return False  # acquire(); try: ... finally: release()
        for (outer, (outer_block, outer_index)), (inner, _) in zip(path, path[1:]):
            if isinstance(outer, ast.Try) and any(inner is s for s in outer.body):
                if _releases_in_finally(outer, receiver) or (
                    outer.body[-1] is statement and any(_calls_on(s, receiver, "release") for s in outer.orelse)
                ):
                    return False
            if isinstance(outer, (ast.For, ast.While)) and outer_index + 1 < len(outer_block):
                if _releases_in_finally(outer_block[outer_index + 1], receiver) and _breaks(outer):
                    return False  # the loop breaks out holding it, into a try/finally releasing it
        released, escaped = _after(scope, call, receiver)
        if not released or escaped:
            return False
        if type(following) is ast.Expr:
            after = following.value
            if _is_call_on(after, receiver, ("acquire",)):
                return False  # acquire(); acquire(): counting or re-entrance
            if _is_call_on(after, receiver, ("release",)) and not after.args:  # type: ignore[attr-defined]
                return False  # acquire(); release(): waits for the lock, nothing in between can raise
        return True


def _nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a def (or module) in source order, not those of defs, lambdas and classes
    nested in it (those nodes themselves are given)."""
    stack: List[ast.AST] = list(reversed(list(ast.iter_child_nodes(scope))))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _path_to(scope: _Scope, target: ast.AST) -> Optional[List[Tuple[ast.stmt, Tuple[Sequence[ast.stmt], int]]]]:
    """The statements from ``scope`` down to the one holding ``target``, each with its block
    and index there (statements of nested defs are not entered)."""
    def search(block: Sequence[ast.stmt]) -> Optional[List[Tuple[ast.stmt, Tuple[Sequence[ast.stmt], int]]]]:
        for index, stmt in enumerate(block):
            if not (stmt.lineno <= target.lineno <= (stmt.end_lineno or stmt.lineno)):  # type: ignore[attr-defined]
                continue
            if isinstance(stmt, _SCOPES):
                return None
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, name, None)
                if inner:
                    found = search(inner)
                    if found is not None:
                        return [(stmt, (block, index)), *found]
            for handler in getattr(stmt, "handlers", ()):
                found = search(handler.body)
                if found is not None:
                    return [(stmt, (block, index)), *found]
            if any(node is target for node in ast.walk(stmt)):
                return [(stmt, (block, index))]
        return None

    return search(scope.body)


def _after(scope: _Scope, call: ast.Call, receiver: ast.AST) -> Tuple[bool, bool]:
    """(released later in ``scope``, handed on while held): CCL201's ``_after_acquire``."""
    nodes = list(_nodes(scope))
    escaped = False
    for node in nodes[nodes.index(call) + 1:]:  # source order
        if _is_call_on(node, receiver, ("release",)):
            return True, escaped
        escaped = escaped or _hands_on(node, receiver)
    return False, escaped


def _hands_on(node: ast.AST, receiver: ast.AST) -> bool:
    """A call given the lock (other than a builtin looking at it), or a block releasing
    another lock and leaving (a barrier's turnstile): the lock belongs to a protocol."""
    if type(node) is ast.Call and any(_is_or_holds(arg, receiver) for arg in node.args):
        return not (type(node.func) is ast.Name and node.func.id in _INSPECTING)
    return _releases_another_and_leaves(node, receiver)


def _releases_another_and_leaves(node: ast.AST, receiver: ast.AST) -> bool:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if type(block) is not list:
            continue
        for stmt, after in zip(block, block[1:]):
            if (
                isinstance(after, (ast.Return, ast.Break)) and type(stmt) is ast.Expr and type(stmt.value) is ast.Call
                and type(stmt.value.func) is ast.Attribute and stmt.value.func.attr == "release"
                and not _same(stmt.value.func.value, receiver)
            ):
                return True
    return False


def _releases_in_finally(stmt: ast.AST, receiver: ast.AST) -> bool:
    return isinstance(stmt, ast.Try) and any(_calls_on(s, receiver, "release") for s in stmt.finalbody)


def _calls_on(node: ast.AST, receiver: ast.AST, method: str) -> bool:
    return any(_is_call_on(n, receiver, (method,)) for n in ast.walk(node))


def _is_call_on(node: ast.AST, receiver: ast.AST, methods: Tuple[str, ...]) -> bool:
    return (
        type(node) is ast.Call and type(node.func) is ast.Attribute and node.func.attr in methods
        and _same(node.func.value, receiver)
    )


def _breaks(loop: Union[ast.For, ast.While]) -> bool:
    pending: List[ast.AST] = list(loop.body)
    while pending:
        node = pending.pop()
        if type(node) is ast.Break:
            return True
        if not isinstance(node, (ast.For, ast.AsyncFor, ast.While, *_SCOPES)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def _is_or_holds(value: ast.AST, receiver: ast.AST) -> bool:
    if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_or_holds(element, receiver) for element in value.elts)
    return _same(value, receiver)


def _same(a: ast.AST, b: ast.AST) -> bool:
    if type(a) is ast.Name and type(b) is ast.Name:
        return a.id == b.id
    if type(a) is ast.Attribute and type(b) is ast.Attribute:
        return a.attr == b.attr and _same(a.value, b.value)
    return False


def _is_self(node: ast.AST, scope: _Scope) -> bool:
    """``self`` (the first parameter of the method ``scope``)."""
    if not isinstance(scope, _FUNCTIONS) or type(node) is not ast.Name:
        return False
    args = scope.args.posonlyargs + scope.args.args
    return bool(args) and node.id == args[0].arg


def _parameters(scope: _Scope) -> Set[str]:
    if not isinstance(scope, _FUNCTIONS):
        return set()
    args = scope.args
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None}


def _head(func: ast.AST) -> Optional[str]:
    """The first name of ``func`` (``a`` of ``a.b.c``), None for anything else."""
    while type(func) is ast.Attribute:
        func = func.value
    return func.id if type(func) is ast.Name else None


def _names_bound(node: ast.AST) -> List[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".", 1)[0] for a in node.names]
    return [node.name]  # type: ignore[attr-defined]
