"""In-place mutation of a value nested in a Manager ``dict()``/``list()`` proxy."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import MANAGER_PROXY_TYPES, MUTATING_METHODS, WORKER_TYPES
from conclint.analysis.cstutil import dotted, get_arg, walk
from conclint.interest import Holds, Imports, Interest
from conclint.rule import Rule

# Methods that change a list, dict or set in place.
_Mutation = (cst.Call, cst.Assign, cst.AugAssign, cst.Del)
IsProxy = Callable[[cst.BaseExpression], bool]


def nested_mutation(node: cst.CSTNode, is_proxy: IsProxy) -> bool:
    """Whether ``node`` changes ``proxy[k]`` in place: ``proxy[k].append(x)``, ``proxy[k][j] = v``."""
    if isinstance(node, cst.Call):
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value in MUTATING_METHODS and _is_item(func.value, is_proxy)
    if isinstance(node, cst.Assign):
        targets: List[cst.BaseExpression] = [t.target for t in node.targets]
    elif isinstance(node, (cst.AugAssign, cst.Del)):
        targets = [node.target]
    else:
        return False
    # `proxy[k] = v` and `proxy[k] += v` go through the proxy; one level deeper does not.
    return any(isinstance(t, (cst.Subscript, cst.Attribute)) and _is_item(t.value, is_proxy) for t in targets)


def _is_item(node: cst.BaseExpression, is_proxy: IsProxy) -> bool:
    """``proxy[k]``: a copy of the item, fetched from the manager process."""
    return isinstance(node, cst.Subscript) and is_proxy(node.value)


# A proxy by the scope (id of its function or module) and the name it is held under there.
_Key = Tuple[int, Optional[str]]


class ManagerProxyNestedMutation(Rule):
    """``d[k].append(x)`` on a Manager proxy changes a local copy; the manager never sees it."""

    code = "CCL109"
    name = "manager-proxy-nested-mutation"
    message = (
        "mutates a copy of a value nested in a Manager proxy: the change is lost "
        "(read it, change it, assign it back: `v = d[k]; v.append(x); d[k] = v`)"
    )
    interest = Interest(Imports("multiprocessing"), Holds(*MANAGER_PROXY_TYPES))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Worker functions, and for each parameter position receiving a proxy, the proxy's name.
        self.proxy_params: List[Tuple[str, Dict[int, _Key]]] = []
        # Findings wait for the module: a proxy whose items are proxies themselves
        # (`d[k] = manager.list()`) changes them through the manager, and that may come later.
        self.pending: List[Tuple[cst.CSTNode, _Key]] = []
        self.holding_proxies: Set[_Key] = set()  # (scope, name) of proxies holding proxies

    def _is_proxy(self, node: cst.BaseExpression) -> bool:
        return self.sem.type_of(node) in MANAGER_PROXY_TYPES

    def _check(self, node: cst.CSTNode) -> None:
        if nested_mutation(node, self._is_proxy):
            self.pending.append((node, self._key(_container(node))))
        self._note_nested_proxies(node)

    def _note_nested_proxies(self, node: cst.CSTNode) -> None:
        """``d[k] = manager.list()``, ``l.append(manager.dict())``, ``manager.dict({k: manager.list()})``:
        the proxy named on the left holds proxies."""
        if isinstance(node, cst.Assign) and self._is_proxy(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Subscript) and self._is_proxy(target.target.value):
                    self.holding_proxies.add(self._key(dotted(target.target.value)))
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in ("append", "insert", "setdefault", "extend", "update") and self._is_proxy(node.func.value):
                if any(self._holds_proxy(a.value) for a in node.args):
                    self.holding_proxies.add(self._key(dotted(node.func.value)))
            elif self._is_proxy(node) and any(self._holds_proxy(a.value) for a in node.args):
                parent = self.sem.parent
                if isinstance(parent, cst.Assign):
                    self.holding_proxies.update(self._key(dotted(t.target)) for t in parent.targets)

    def _key(self, name: Optional[str]) -> _Key:
        return (id(self.sem.scope_node), name)

    def _holds_proxy(self, value: cst.BaseExpression) -> bool:
        """A proxy, or a literal holding one (``{k: manager.list()}``, ``[manager.dict()]``)."""
        if self._is_proxy(value):
            return True
        return any(isinstance(n, cst.BaseExpression) and self._is_proxy(n) for n in walk(value) if n is not value)

    # LibCST finds visitors by their function's __name__, so aliases of _check would not run.
    def visit_Assign(self, node: cst.Assign) -> None:
        self._check(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check(node)

    def visit_Del(self, node: cst.Del) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)
        if self.sem.call_result_type(node) not in WORKER_TYPES:
            return
        target, args = get_arg(node, "target", 1), get_arg(node, "args", 3)
        if target is None or args is None or not isinstance(target.value, cst.Name):
            return
        if target.value.value not in self.sem.functions or not isinstance(args.value, (cst.Tuple, cst.List)):
            return
        positions = {i: self._key(dotted(e.value)) for i, e in enumerate(args.value.elements) if self._is_proxy(e.value)}
        if positions:
            self.proxy_params.append((target.value.value, positions))

    def leave_Module(self, node: cst.Module) -> None:
        """The mutations seen, and those inside the worker functions that were handed a proxy;
        not of proxies holding proxies."""
        for mutation, container in self.pending:
            if container not in self.holding_proxies:
                self.report(mutation)
        for name, positions in self.proxy_params:
            function = self.sem.functions[name]
            params = function.params.params
            names = {
                params[i].name.value for i, passed in positions.items() if i < len(params) and passed not in self.holding_proxies
            }
            for inner in walk(function.body):
                if isinstance(inner, _Mutation) and nested_mutation(inner, _named(names)):
                    self.report(inner)


def _container(node: cst.CSTNode) -> Optional[str]:
    """``d`` for ``d[k].append(x)``, ``d[k][j] = v``, ``del d[k][j]``: the proxy whose item changes."""
    item: Optional[cst.BaseExpression]
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        item = node.func.value
    elif isinstance(node, cst.Assign):
        item = next((t.target.value for t in node.targets if isinstance(t.target, (cst.Subscript, cst.Attribute))), None)
    elif isinstance(node, (cst.AugAssign, cst.Del)) and isinstance(node.target, (cst.Subscript, cst.Attribute)):
        item = node.target.value
    else:
        return None
    return dotted(item.value) if isinstance(item, cst.Subscript) else None


def _named(names: Set[str]) -> IsProxy:
    return lambda node: isinstance(node, cst.Name) and node.value in names
