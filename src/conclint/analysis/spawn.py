"""Calls that run a function elsewhere (a Thread, Process or Timer; a pool or executor
method): where each takes that function and its arguments, in LibCST's view (through
``Semantic``); ``SPAWNING_RECEIVERS`` are the types whose methods do (``on=`` of a gate)."""

from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

import libcst as cst

from conclint.analysis.catalogue import POOL_TYPES, SPAWN_CONSTRUCTORS, SPAWN_METHODS, SpawnSignature, method_signature
from conclint.analysis.types import Semantic

# The signatures are plain data in the catalogue (the project summaries read them too).
__all__ = [
    "SPAWNING_RECEIVERS", "SPAWN_CONSTRUCTORS", "SPAWN_METHODS", "SpawnSignature", "constructor_slots", "method_signature",
    "method_slots", "spawn_signature",
]

# The receivers ``method_signature`` knows: pools, and executors (which are pools too).
SPAWNING_RECEIVERS = POOL_TYPES


def constructor_slots(part: str) -> Tuple[range, Tuple[str, ...]]:
    """Where the constructors take ``part`` ("func" or "args"): the positions and keywords
    of any of them (what a gate's ``Argument`` looks at)."""
    slots = [getattr(s, part) for s in SPAWN_CONSTRUCTORS.values() if getattr(s, part) is not None]
    positions = [position for _, position in slots]
    return range(min(positions), max(positions) + 1), tuple(sorted({keyword for keyword, _ in slots}))


def method_slots(part: str) -> Tuple[FrozenSet[str], range, Tuple[str, ...]]:
    """The pool and executor methods that take ``part`` ("func" or "args"), and where."""
    signatures = {
        (method, signature)
        for method in SPAWN_METHODS
        for receiver in SPAWNING_RECEIVERS
        for signature in [method_signature(receiver, method)]
        if signature is not None and getattr(signature, part) is not None
    }
    positions = [getattr(signature, part)[1] for _, signature in signatures]
    keywords = {getattr(signature, part)[0] for _, signature in signatures}
    return frozenset(m for m, _ in signatures), range(min(positions), max(positions) + 1), tuple(sorted(keywords))


def spawn_signature(sem: Semantic, call: cst.Call) -> Optional[SpawnSignature]:
    """How ``call`` takes the function it will run elsewhere: a Thread/Process/Timer, or a pool method."""
    qualname = sem.qualname(call.func)
    if qualname in SPAWN_CONSTRUCTORS:
        return SPAWN_CONSTRUCTORS[qualname]
    if not isinstance(call.func, cst.Attribute):
        return None
    return method_signature(sem.type_of(call.func.value), call.func.attr.value)

