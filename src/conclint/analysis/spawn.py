"""Calls that run a function elsewhere (a Thread, Process or Timer; a pool or executor
method): where each takes that function and its arguments, in LibCST's view (through
``Semantic``) and, over-approximated, in CPython's (through ``Facts``)."""

from __future__ import annotations

import ast
from typing import Iterator, Optional

import libcst as cst

from conclint.analysis.catalogue import SPAWN_CONSTRUCTORS, SPAWN_METHODS, SpawnSignature, method_signature
from conclint.analysis.facts import Facts, terminals
from conclint.analysis.types import Semantic

# The signatures are plain data in the catalogue (the project summaries read them too).
__all__ = [
    "SPAWN_CALLEES", "SPAWN_CONSTRUCTORS", "SPAWN_METHODS", "SpawnSignature", "method_signature", "spawn_calls",
    "spawn_signature",
]

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
    return method_signature(sem.type_of(call.func.value), call.func.attr.value)

