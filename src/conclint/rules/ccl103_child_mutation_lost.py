"""A child process mutates a list/dict/set or global that the parent then reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import MUTATING_METHODS, PROCESS_TYPES
from conclint.analysis.cstutil import get_arg, walk
from conclint.interest import DEF_NAME, Argument, Calls, Imports, Interest
from conclint.rule import Rule

# Sets also change in place through their *_update methods.
_MUTATING_METHODS = MUTATING_METHODS | {"difference_update", "intersection_update", "symmetric_difference_update"}
_MUTABLE_FACTORIES = frozenset({"list", "dict", "set", "bytearray", "collections.defaultdict", "collections.OrderedDict"})


@dataclass
class _Spawn:
    call: cst.Call
    target: str
    # parameter position -> parent variable passed there
    passed: Dict[int, str]
    scope: Optional[cst.CSTNode]
    counter: int
    # Names of the spawn's scope bound to a mutable object by their last assignment so far.
    mutable_now: Set[str]


class ChildMutationLost(Rule):
    """Changes a child process makes to its copy of an object never reach the parent."""

    code = "CCL103"
    name = "child-mutation-lost"
    message = "the child process mutates a copy; the parent never sees the change"
    # The target must be named by the `target=` keyword, as a module function.
    interest = Interest(Imports("multiprocessing"), Calls(*PROCESS_TYPES, argument=Argument(DEF_NAME, positions=range(0), keywords=("target",))))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = 0
        self.spawns: List[_Spawn] = []
        # scope id -> name -> whether its latest assignment (in traversal order) binds a mutable
        # literal: `data = []` then `data = manager.list()` is shared by the time it is passed.
        self.mutables: Dict[int, Dict[str, bool]] = {}
        self.loads: Dict[int, Dict[str, List[int]]] = {}  # scope id -> name -> visit counters

    def visit_Name(self, node: cst.Name) -> None:
        self.counter += 1
        self.loads.setdefault(id(self.sem.scope_node), {}).setdefault(node.value, []).append(self.counter)

    def visit_Assign(self, node: cst.Assign) -> None:
        mutable = self._is_mutable(node.value)
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.mutables.setdefault(id(self.sem.scope_node), {})[target.target.value] = mutable

    def _is_mutable(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
            return True
        if isinstance(value, cst.Call):
            name = self.sem.qualname(value.func)
            if name is None and isinstance(value.func, cst.Name):
                name = value.func.value
            return name in _MUTABLE_FACTORIES
        return False

    def leave_Call(self, node: cst.Call) -> None:
        if self.sem.call_result_type(node) not in PROCESS_TYPES:
            return
        target_arg = get_arg(node, "target", None)
        if target_arg is None or not isinstance(target_arg.value, cst.Name):
            return
        target = target_arg.value.value
        if target not in self.sem.functions:
            return
        passed: Dict[int, str] = {}
        args_arg = get_arg(node, "args", None)
        if args_arg is not None and isinstance(args_arg.value, (cst.Tuple, cst.List)):
            for i, element in enumerate(args_arg.value.elements):
                if isinstance(element.value, cst.Name):
                    passed[i] = element.value.value
        bound = self.mutables.get(id(self.sem.scope_node), {})
        now = {name for name, mutable in bound.items() if mutable}
        self.spawns.append(_Spawn(node, target, passed, self.sem.scope_node, self.counter, now))

    def leave_Module(self, node: cst.Module) -> None:
        for spawn in self.spawns:
            function = self.sem.functions[spawn.target]
            mutated_params, mutated_globals = _mutations(function)
            scope_id = id(spawn.scope)
            mutable_names = spawn.mutable_now
            # Module-level names: their last binding in the module (a function may run later).
            module_mutables = {name for name, mutable in self.mutables.get(id(node), {}).items() if mutable}
            if spawn.scope is node:
                module_mutables = mutable_names
            later = self.loads.get(scope_id, {})
            lost: Optional[str] = None
            for position, variable in spawn.passed.items():
                if position in mutated_params and variable in mutable_names | module_mutables:
                    if any(c > spawn.counter for c in later.get(variable, ())):
                        lost = variable
                        break
            if lost is None:
                module_loads = self.loads.get(id(node), {})
                for variable in sorted(mutated_globals):
                    reads = list(later.get(variable, ())) + list(module_loads.get(variable, ()))
                    if any(c > spawn.counter for c in reads):
                        lost = variable
                        break
            if lost is not None:
                self.report(
                    spawn.call,
                    f"`{spawn.target}` mutates `{lost}` in the child process; the parent reads its own, "
                    "unchanged copy (return data through a Queue, Pipe, Manager, Value/Array or Pool results)",
                )


def _mutations(function: cst.FunctionDef) -> Tuple[Set[int], Set[str]]:
    """(positions of parameters mutated in place, globals assigned or mutated)."""
    params = [p.name.value for p in function.params.params]
    global_names: Set[str] = set()
    for node in walk(function.body):
        if isinstance(node, cst.Global):
            global_names.update(n.name.value for n in node.names)
    mutated: Set[str] = set()
    for node in walk(function.body):
        base = None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATING_METHODS:
            base = node.func.value
        elif isinstance(node, (cst.Assign, cst.AugAssign, cst.Del)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                if isinstance(target, (cst.Subscript, cst.Attribute)):
                    base = target.value
                elif isinstance(target, cst.Name) and target.value in global_names:
                    mutated.add(target.value)
        if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name) and node.target.value in params:
            base = node.target  # `lst += [...]` extends the list in place
        if isinstance(base, cst.Name):
            mutated.add(base.value)
    positions = {i for i, name in enumerate(params) if name in mutated}
    return positions, mutated & global_names
