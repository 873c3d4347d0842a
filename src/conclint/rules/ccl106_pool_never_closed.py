"""A process or thread pool that is created and never closed, terminated or shut down."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

import libcst as cst

from conclint.analysis.catalogue import POOL_TYPES
from conclint.analysis.cstutil import dotted
from conclint.analysis.facts import Facts, arguments, position, walk_scope
from conclint.interest import Calls, Imports, Interest
from conclint.rule import Rule

# Calls that end a pool's life (``atexit.register(pool.close)`` counts too).
_CLOSERS = frozenset({"close", "terminate", "shutdown", "__exit__"})
_EXECUTOR_TYPES = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})
_EXECUTOR_ADVICE = "call shutdown() when done, or create it in a `with` block"
# Pool.__exit__ calls terminate(): `with` is right only when every result is collected inside it.
_POOL_ADVICE = "call close() and join() when done (`with` terminates it on exit, so only if every result is collected inside)"


_POOLS = Calls(*POOL_TYPES)


class _Uses:
    """CPython's view of the uses ``_use`` counts as releasing a pool, per scope (its own
    nodes, not those of defs, lambdas or classes in it) and name, found in one walk of the
    scope: ``name.close()`` and the like, or ``name`` itself not as a method's receiver;
    and where each name is bound again. (Walked once per pool, a def of a thousand pools
    took seconds.)"""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.scopes: Dict[int, Tuple[Dict[str, List[Tuple[int, int]]], Dict[str, List[Tuple[int, int]]]]] = {}

    def released(self, name: str, made: ast.Call, scope: Optional[ast.AST]) -> bool:
        """Whether the pool bound to ``name`` at ``made`` is released in the same scope after
        it (a subset of the rule's: uses elsewhere count there too), with no other binding of
        the name in between."""
        if not self.facts.names_as_written():  # (the visitor compares names as written)
            return False
        found = self.scopes.get(id(scope))
        if found is None:
            found = self.scopes[id(scope)] = self._walk(scope)
        uses, stores = found
        after = position(made)
        rebound = min((at for at in stores.get(name, ()) if at > after), default=None)
        return any(after < at and (rebound is None or at < rebound) for at in uses.get(name, ()))

    def _walk(self, scope: Optional[ast.AST]) -> Tuple[Dict[str, List[Tuple[int, int]]], Dict[str, List[Tuple[int, int]]]]:
        body = scope.body if scope is not None else self.facts.module_body  # type: ignore[attr-defined]
        uses: Dict[str, List[Tuple[int, int]]] = {}
        stores: Dict[str, List[Tuple[int, int]]] = {}
        receivers = set()
        for node in walk_scope(body if isinstance(body, list) else [body]):  # (parents before children)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.attr not in _CLOSERS:
                    receivers.add(id(node.value))
            elif isinstance(node, ast.Name):
                if type(node.ctx) is ast.Store:
                    stores.setdefault(node.id, []).append(position(node))
                elif id(node) not in receivers:
                    uses.setdefault(node.id, []).append(position(node))
        return uses, stores


@dataclass
class _Candidate:
    call: cst.Call
    type_: str
    name: Optional[str]  # the variable or ``self.`` attribute holding it; None = never held
    scope: int  # id of the function/module node (or class node for attributes)
    order: int = 0  # when the traversal saw it
    block: int = 0  # id of the block of statements holding its assignment


class PoolNeverClosed(Rule):
    """A pool whose owner never releases its workers."""

    code = "CCL106"
    name = "pool-never-closed"
    message = "pool is never closed"
    interest = Interest(Imports("multiprocessing", "concurrent"), _POOLS)

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A pool made where nobody may close it: not a `with` item, not handed to a call, not
        # bound to a plain name that its own scope then closes or uses as a whole (passes,
        # returns, stores: ``_use``), with no other binding of the name in between.
        if not cls.interest.possible(facts, options):
            return False
        items = {id(item.context_expr) for item in facts.with_items}
        passed = {id(value) for calls in facts.calls.values() for call in calls for value in arguments(call)}
        named = {id(a.value): a for a in facts.assignments if len(getattr(a, "targets", (None,))) == 1}
        uses = _Uses(facts)
        for call in _POOLS.candidates(facts):
            if id(call) in items or id(call) in passed:
                continue
            assignment = named.get(id(call))
            target = assignment.targets[0] if isinstance(assignment, ast.Assign) else getattr(assignment, "target", None)
            if type(target) is ast.Name and uses.released(target.id, call, facts.scope.get(call)):
                continue
            return True
        return False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates: List[_Candidate] = []
        # Names (and ``self.`` attributes) closed or handed elsewhere: the scopes they are seen
        # from, the innermost one, and when the traversal saw it.
        self.released: Dict[str, List[Tuple[FrozenSet[int], int, int]]] = {}
        self.order = 0
        # The scopes a name is seen from, per innermost frame (which fixes the frames around
        # it during the traversal): asked for every name of the file.
        self.scopes_of: Dict[int, FrozenSet[int]] = {}

    def _scopes(self) -> FrozenSet[int]:
        frames = self.sem.frames
        key = id(frames[-1].node)
        found = self.scopes_of.get(key)
        if found is None:
            found = self.scopes_of[key] = frozenset(id(f.node) for f in frames if f.kind != "class")
        return found

    def visit_Call(self, node: cst.Call) -> None:
        type_ = self.sem.call_result_type(node)
        if type_ not in POOL_TYPES:
            return
        parent = self.sem.parent
        if isinstance(parent, cst.Expr) and self._expected_to_raise():
            return  # `with self.assertRaises(ValueError): Pool(-1)`: no pool is ever created
        if isinstance(parent, cst.Expr) or (isinstance(parent, cst.Attribute) and parent.value is node):
            self.candidates.append(_Candidate(node, type_, None, 0))  # `Pool().map(...)`: nobody can close it
            return
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return  # `with`, returned, passed or stored elsewhere: ownership is somebody else's
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        if len(targets) != 1:
            return
        target = targets[0]
        if isinstance(target, cst.Name):
            frame = self.sem.function
            scope = frame.node if frame is not None else self.sem.module
            self.order += 1
            stack = self.sem.stack
            block = id(stack[-4]) if len(stack) >= 4 else 0  # Assign < SimpleStatementLine < block
            self.candidates.append(_Candidate(node, type_, target.value, id(scope), self.order, block))
        elif isinstance(target, cst.Attribute) and self.sem.is_self(target.value):
            info = self.sem.enclosing_class()
            if info is not None:
                self.candidates.append(_Candidate(node, type_, "self." + target.attr.value, id(info.node)))

    def _expected_to_raise(self) -> bool:
        """Whether the statement sits in ``with self.assertRaises(...)`` / ``pytest.raises(...)``."""
        for ancestor in self.sem.ancestors():
            if isinstance(ancestor, cst.With):
                return any(
                    isinstance(i.item, cst.Call) and "raises" in (dotted(i.item.func) or "").lower()
                    for i in ancestor.items
                )
        return False

    def visit_Name(self, node: cst.Name) -> None:
        parent = self.sem.parent
        if isinstance(parent, cst.Attribute) and parent.attr is node or isinstance(parent, cst.Arg) and parent.keyword is node:
            return
        self._use(node, node.value, self._scopes())

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.sem.is_self(node.value):
            info = self.sem.enclosing_class()
            if info is not None:
                self._use(node, "self." + node.attr.value, frozenset({id(info.node)}))

    def _use(self, node: cst.CSTNode, key: str, scopes: FrozenSet[int]) -> None:
        """Record ``node`` when it closes the pool it names, or lets it escape."""
        parent = self.sem.parent
        if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is node:
            return  # (re)binding the name neither closes nor hands over a pool
        if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value not in _CLOSERS:
            return  # pool.map(...), pool.submit(...): plain use
        self.order += 1
        frame = self.sem.function
        innermost = id(frame.node if frame is not None else self.sem.module)
        self.released.setdefault(key, []).append((scopes, innermost, self.order))

    def _before_rebinding(self, candidate: _Candidate, innermost: int, order: int) -> bool:
        """Whether a use seen at ``order`` in ``innermost`` may be of ``candidate``'s pool: not
        one in the same scope after the name is bound to another pool further down the same
        block (`pool = Pool(); ...; pool = Pool(); pool.close()` closes only the second). Uses
        in other scopes (a nested def, a method) may run any time, and earlier ones in a loop."""
        if innermost != candidate.scope or candidate.name is None or candidate.name.startswith("self."):
            return True
        if order < candidate.order:
            return True
        rebound = min(
            (
                c.order
                for c in self.candidates
                if c.name == candidate.name and c.scope == candidate.scope and c.block == candidate.block and c.order > candidate.order
            ),
            default=None,
        )
        return rebound is None or order < rebound

    def leave_Module(self, node: cst.Module) -> None:
        for candidate in self.candidates:
            if candidate.name is not None and any(
                candidate.scope in scopes and self._before_rebinding(candidate, innermost, order)
                for scopes, innermost, order in self.released.get(candidate.name, ())
            ):
                continue
            advice = _EXECUTOR_ADVICE if candidate.type_ in _EXECUTOR_TYPES else _POOL_ADVICE
            self.report(candidate.call, f"{self.message}: {advice}")
