"""Calls that run a function elsewhere (a Thread, Process or Timer; a pool or executor
method): where each takes that function and its arguments, in LibCST's view (through
``Semantic``) and, over-approximated, in CPython's (through ``Facts``)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

import libcst as cst

from conclint.analysis.catalogue import POOL_TYPES
from conclint.analysis.facts import Facts, terminals
from conclint.analysis.types import Semantic


@dataclass(frozen=True)
class SpawnSignature:
    """Where a call that runs a function later takes that function and its arguments.

    Parameters are ``(keyword, position)``. ``args`` is the argument-tuple parameter, or None
    when there is none; ``variadic`` means the arguments follow the function positionally
    (``executor.submit(fn, *args)``).
    """

    func: Tuple[str, int]
    args: Optional[Tuple[str, int]] = None
    variadic: bool = False


_WORKER_SIGNATURE = SpawnSignature(("target", 1), ("args", 3))
# Only the classes themselves: a subclass's constructor has its own signature.
SPAWN_CONSTRUCTORS: Dict[str, SpawnSignature] = {
    "threading.Thread": _WORKER_SIGNATURE,
    "multiprocessing.Process": _WORKER_SIGNATURE,
    "threading.Timer": SpawnSignature(("function", 1), ("args", 2)),
}
_POOL_APPLY = SpawnSignature(("func", 0), ("args", 1))
_POOL_MAP = SpawnSignature(("func", 0))
_POOL_METHODS: Dict[str, SpawnSignature] = {
    "apply": _POOL_APPLY,
    "apply_async": _POOL_APPLY,
    **{m: _POOL_MAP for m in ("map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async")},
}
_EXECUTOR_METHODS: Dict[str, SpawnSignature] = {
    "submit": SpawnSignature(("fn", 0), variadic=True),
    "map": SpawnSignature(("fn", 0)),
}
_EXECUTOR_TYPES = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})


SPAWN_METHODS = frozenset(_POOL_METHODS) | frozenset(_EXECUTOR_METHODS)
SPAWN_CALLEES = terminals(SPAWN_CONSTRUCTORS)


def spawn_calls(facts: Facts) -> Iterator[ast.Call]:
    """The calls of a CPython tree that ``spawn_signature`` may recognise (over-approximated)."""
    yield from facts.calls_to(SPAWN_CALLEES)
    yield from facts.methods_called(SPAWN_METHODS)


def spawn_signature(sem: Semantic, call: cst.Call) -> Optional[SpawnSignature]:
    """How ``call`` takes the function it will run elsewhere: a Thread/Process/Timer, or a pool method."""
    qualname = sem.qualname(call.func)
    if qualname in SPAWN_CONSTRUCTORS:
        return SPAWN_CONSTRUCTORS[qualname]
    if not isinstance(call.func, cst.Attribute):
        return None
    receiver = sem.type_of(call.func.value)
    if receiver in _EXECUTOR_TYPES:
        return _EXECUTOR_METHODS.get(call.func.attr.value)
    if receiver in POOL_TYPES:
        return _POOL_METHODS.get(call.func.attr.value)
    return None
