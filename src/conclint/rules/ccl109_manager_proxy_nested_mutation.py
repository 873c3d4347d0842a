"""In-place mutation of a value nested in a Manager ``dict()``/``list()`` proxy."""

from __future__ import annotations

from typing import Any, Callable, List, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import MANAGER_PROXY_TYPES, MUTATING_METHODS, WORKER_TYPES
from conclint.analysis.cstutil import get_arg, walk
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
        # Worker functions and the positions of their parameters that receive a proxy.
        self.proxy_params: List[Tuple[str, Set[int]]] = []

    def _is_proxy(self, node: cst.BaseExpression) -> bool:
        return self.sem.type_of(node) in MANAGER_PROXY_TYPES

    def _check(self, node: cst.CSTNode) -> None:
        if nested_mutation(node, self._is_proxy):
            self.report(node)

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
        positions = {i for i, e in enumerate(args.value.elements) if self._is_proxy(e.value)}
        if positions:
            self.proxy_params.append((target.value.value, positions))

    def leave_Module(self, node: cst.Module) -> None:
        """Mutations inside the worker functions that were handed a proxy."""
        for name, positions in self.proxy_params:
            function = self.sem.functions[name]
            params = function.params.params
            names = {params[i].name.value for i in positions if i < len(params)}
            for inner in walk(function.body):
                if isinstance(inner, _Mutation) and nested_mutation(inner, _named(names)):
                    self.report(inner)


def _named(names: Set[str]) -> IsProxy:
    return lambda node: isinstance(node, cst.Name) and node.value in names
