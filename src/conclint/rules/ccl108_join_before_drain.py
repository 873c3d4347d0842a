"""A process that puts on a multiprocessing queue is joined before the parent drains the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import libcst as cst

from conclint.analysis.catalogue import MP_QUEUE_TYPES, PROCESS_TYPES
from conclint.analysis.cstutil import get_arg, walk
from conclint.interest import DEF_NAME, Argument, Calls, Imports, Interest, Methods
from conclint.rule import Rule

_PUTS = frozenset({"put", "put_nowait"})
_GETS = frozenset({"get", "get_nowait"})


@dataclass
class _Producer:
    queue: str
    order: int




# Key prefix of a list of workers built by a comprehension (names cannot start with it).
_LISTED = "[]"


class JoinBeforeDrain(Rule):
    """``p.join()`` while items ``p`` put on a queue are still waiting for the parent's ``get()``."""

    code = "CCL108"
    name = "join-before-drain"
    message = (
        "joined before the parent takes the items off `{queue}`: the child cannot exit until its "
        "queued data is flushed, so this can deadlock (get() first, then join())"
    )
    # The target must be a module function (`target=work` or the second argument).
    interest = Interest(
        Imports("multiprocessing"),
        Calls(*PROCESS_TYPES, argument=Argument(DEF_NAME, positions=range(1, 2), keywords=("target",))),
        Methods("join"),
        Methods(*_GETS),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = 0
        # Per scope: process variable -> what it produces; queue -> (order, method or None) of uses.
        self.producers: Dict[Tuple[int, str], _Producer] = {}
        self.uses: Dict[Tuple[int, str], List[Tuple[int, Optional[str]]]] = {}
        self.joins: List[Tuple[cst.Call, _Producer, int, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        if self.sem.type_of(node) not in MP_QUEUE_TYPES:
            return
        self.order += 1
        parent = self.sem.parent
        method = parent.attr.value if isinstance(parent, cst.Attribute) and parent.value is node else None
        if method not in _PUTS:
            self.uses.setdefault((id(self.sem.scope_node), node.value), []).append((self.order, method))

    def leave_Call(self, node: cst.Call) -> None:
        self.order += 1
        func = node.func
        scope = id(self.sem.scope_node)
        if isinstance(func, cst.Attribute) and func.attr.value == "join" and isinstance(func.value, cst.Name):
            producer = self.producers.get((scope, func.value.value)) or self._listed_producer(func.value)
            if producer is not None:
                self.joins.append((node, producer, scope, self.order))
            return
        if self.sem.call_result_type(node) not in PROCESS_TYPES:
            return
        parent = self.sem.parent
        name = None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            name = parent.targets[0].target.value
        elif isinstance(parent, cst.ListComp) and parent.elt is node:
            # `procs = [Process(...) for ...]`: the workers of the list, joined in `for p in procs:`.
            stack = self.sem.stack
            holder = stack[-3] if len(stack) >= 3 else None
            if isinstance(holder, cst.Assign) and len(holder.targets) == 1 and isinstance(holder.targets[0].target, cst.Name):
                name = _LISTED + holder.targets[0].target.value
        if name is not None:
            queue = self._queue_filled_by(node)
            if queue is not None:
                self.producers[(scope, name)] = _Producer(queue, self.order)

    def _listed_producer(self, receiver: cst.Name) -> Optional[_Producer]:
        """The producer of a list of workers that ``receiver`` iterates over (``for p in procs:``)."""
        for ancestor in reversed(self.sem.stack):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
            if isinstance(ancestor, cst.For) and ancestor.target.deep_equals(receiver) and isinstance(ancestor.iter, cst.Name):
                return self.producers.get((id(self.sem.scope_node), _LISTED + ancestor.iter.value))
        return None

    def _queue_filled_by(self, call: cst.Call) -> Optional[str]:
        """The queue variable passed in ``args=`` that the module-level target puts on."""
        target, args = get_arg(call, "target", 1), get_arg(call, "args", 3)
        if target is None or args is None or not isinstance(target.value, cst.Name):
            return None
        function = self.sem.functions.get(target.value.value)
        if function is None or not isinstance(args.value, (cst.Tuple, cst.List)):
            return None
        params = function.params.params
        for position, element in enumerate(args.value.elements):
            if position < len(params) and isinstance(element.value, cst.Name):
                if self.sem.type_of(element.value) in MP_QUEUE_TYPES and _puts_on(function, params[position].name.value):
                    return element.value.value
        return None

    def leave_Module(self, node: cst.Module) -> None:
        for call, producer, scope, joined_at in self.joins:
            uses = self.uses.get((scope, producer.queue), [])
            # Anything done with the queue between start and join (a get(), handing it to a
            # consumer) may drain it; only a get() that comes after the join proves the bug.
            if any(producer.order < order < joined_at for order, _ in uses):
                continue
            if any(order > joined_at and method in _GETS for order, method in uses):
                self.report(call, self.message.format(queue=producer.queue))


def _puts_on(function: cst.FunctionDef, param: str) -> bool:
    return any(
        isinstance(n, cst.Attribute) and n.attr.value in _PUTS and isinstance(n.value, cst.Name) and n.value.value == param
        for n in walk(function.body)
    )
