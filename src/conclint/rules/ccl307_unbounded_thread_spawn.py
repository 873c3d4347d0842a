"""A new thread per iteration of a huge or endless loop: thread exhaustion."""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable, Dict, FrozenSet, Optional, Sequence, Union

import libcst as cst

from conclint.analysis.catalogue import PROCESS_TYPES, WORKER_TYPES
from conclint.analysis.cstutil import dotted, int_value, is_call_on, walk_scope
from conclint.analysis.facts import Loop, callee_name, terminals
from conclint.interest import All, Calls, Either, Imports, Interest, Methods, Option
from conclint.rule import Rule

_UNBOUNDED = -1
# Counts are clamped here: products of literal bounds stay small and printable (a literal
# may have thousands of digits, more than ``str(int)`` converts).
_HUGE = 10**15
_WORKERS = terminals(WORKER_TYPES)
_COUNT = terminals({"itertools.count"})


class UnboundedThreadSpawn(Rule):
    """A Thread/Process created and started per iteration of a loop running more than ``max-threads`` times."""

    code = "CCL307"
    name = "unbounded-thread-spawn"
    message = "a new thread per iteration of a large loop: use a ThreadPoolExecutor(max_workers=...)"
    # A worker created in the body of a loop that may run more than `max-threads` times: with a
    # limit of one or more, a loop that repeats as written (see `_count`) must be around it.
    interest = Interest(
        Imports("threading", "multiprocessing"),
        Methods("start"),
        Either(
            Calls(*WORKER_TYPES, within=("repeating loop",)),
            All(Option("max-threads", lambda limit: limit < 1), Calls(*WORKER_TYPES, within=("loop",))),
        ),
    )
    options = {"max-threads": 100}

    def visit_Call(self, node: cst.Call) -> None:
        if not self._creates_worker(node):
            return
        loops = self._enclosing_loops()
        if not loops or not _started_not_joined(self.sem.stack, loops[0]):
            return
        total = 1
        for loop in loops:
            count = self._iterations(loop)
            if count == _UNBOUNDED:
                total = _UNBOUNDED
                break
            total = min(total * (count or 1), _HUGE)  # an unknown count is at least one iteration
        limit = self.settings["max-threads"]
        if total != _UNBOUNDED and total <= limit:
            return
        process = self.sem.call_result_type(node) in PROCESS_TYPES
        kind, pool = ("process", "ProcessPoolExecutor") if process else ("thread", "ThreadPoolExecutor")
        if total == _UNBOUNDED:
            size = "an endless loop"
        else:
            size = f"a loop of {'more than 10**15' if total >= _HUGE else total} iterations"
        self.report(node, f"a new {kind} per iteration of {size}: bound them with a `{pool}(max_workers=...)`")

    def _creates_worker(self, call: cst.Call) -> bool:
        """A Thread/Timer/Process constructor or a local subclass (not ``current_thread()``)."""
        qualname = self.sem.qualname(call.func)
        if qualname is not None:
            return qualname in WORKER_TYPES
        return self.sem.call_result_type(call) in WORKER_TYPES

    def _enclosing_loops(self) -> Sequence[cst.BaseCompoundStatement]:
        """Loops whose body holds the visited node, innermost first, up to the enclosing function."""
        stack = self.sem.stack
        loops = []
        for i in range(len(stack) - 2, -1, -1):
            node = stack[i]
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                break
            if isinstance(node, (cst.For, cst.While)) and stack[i + 1] is node.body:
                loops.append(node)
        return loops

    def _iterations(self, loop: cst.BaseCompoundStatement) -> Optional[int]:
        """How many times ``loop`` runs: a count, ``_UNBOUNDED``, or None when unknown."""
        if isinstance(loop, cst.While):
            endless = dotted(loop.test) == "True" or (int_value(loop.test) or 0) != 0
            return _UNBOUNDED if endless and not _breaks(loop) else None
        assert isinstance(loop, cst.For)
        iterable = loop.iter
        if not isinstance(iterable, cst.Call):
            return None
        if self.sem.qualname(iterable.func) == "itertools.count":
            return _UNBOUNDED
        if dotted(iterable.func) != "range" or self.sem.qualname(iterable.func) is not None:
            return None
        if not iterable.args or len(iterable.args) > 3 or any(a.keyword or a.star for a in iterable.args):
            return None
        literals = [_literal_int(a.value) for a in iterable.args]
        if any(b is _TOO_LONG for b in literals):
            # A decimal literal of more digits than int() converts (CPython 3.11 refuses the
            # file; LibCST reads it): only `range(<that literal>)` is surely huge.
            return _HUGE if len(literals) == 1 else None
        bounds = [b for b in literals if isinstance(b, int)]
        if len(bounds) != len(literals):
            return None
        return _range_length(*bounds)


def _breaks(loop: cst.While) -> bool:
    """Whether a ``break`` leaves ``loop`` itself (not a loop nested in it)."""
    pending = list(loop.body.children)
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Break):
            return True
        if not isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            pending.extend(node.children)
        elif isinstance(node, (cst.For, cst.While)) and node.orelse is not None:
            pending.extend(node.orelse.children)  # `break` in a loop's `else` leaves the outer loop
    return False


def _started_not_joined(stack: Sequence[cst.CSTNode], loop: cst.BaseCompoundStatement) -> bool:
    """Whether the new object is started in ``loop`` and not joined in the same iteration.

    Created as ``Thread(...).start()`` or bound to a name (``t = Thread(...)``) that the loop
    body starts; a ``t.join()`` in the body means one runs at a time (CCL104's business)."""
    call, parent = stack[-1], stack[-2]
    if isinstance(parent, cst.Attribute) and parent.attr.value == "start":
        return True
    if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1):
        return False
    name = parent.targets[0].target
    nodes = list(walk_scope(loop.body))
    started = any(is_call_on(n, name, ("start",)) for n in nodes)
    return started and not any(is_call_on(n, name, ("join",)) for n in nodes) and call is parent.value


def _count(loop: Loop, counters: FrozenSet[str]) -> Optional[float]:
    """At least what ``_iterations`` counts for CPython's ``loop`` (inf for endless, None
    for unknown, which it counts as one)."""
    if isinstance(loop, ast.While):
        return math.inf if type(loop.test) is ast.Constant else None
    iterable = loop.iter
    if type(iterable) is not ast.Call:
        return None
    name = callee_name(iterable.func)
    if name in counters:
        return math.inf
    if name != "range":
        return None
    try:
        bounds = [ast.literal_eval(a) for a in iterable.args]
    except Exception:  # not constants: maybe many
        return math.inf
    if not 1 <= len(bounds) <= 3 or not all(type(b) in (int, bool) for b in bounds) or iterable.keywords:
        return math.inf  # what `_iterations` does not count (it may count other spellings)
    length = _range_length(*bounds)
    if length is None:
        return None
    return length if length < _HUGE else math.inf


# Arithmetic on integer literals that counts (``range(10**6)``, ``range(2 * 1000)``), and the
# largest result computed (a bigger one is not counted: ``10**10**10`` is not worked out).
_FOLDED: Dict[type, Callable[[int, int], int]] = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.FloorDivide: operator.floordiv, cst.Power: pow,
}
_MAX_BITS = 256


class _TooLong:
    """What ``_literal_int`` gives for a decimal literal too long for ``int()``: not an int
    (the mark was -2, which `range(-2 + 1000)` also gives, and went uncounted)."""


_TOO_LONG = _TooLong()


def _literal_int(node: cst.BaseExpression) -> Union[int, _TooLong, None]:
    """An integer literal's value (``-1`` included), or of arithmetic on such literals;
    ``_TOO_LONG`` for a non-negative decimal literal too long for ``int()``; else None."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        value = _literal_int(node.expression)
        return -value if isinstance(value, int) else None
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _FOLDED:
        left, right = _literal_int(node.left), _literal_int(node.right)
        if not isinstance(left, int) or not isinstance(right, int):
            return None
        if isinstance(node.operator, cst.Power) and (right < 0 or abs(left).bit_length() * right > _MAX_BITS):
            return None  # a fraction, or more than is worth working out
        if isinstance(node.operator, cst.FloorDivide) and right == 0:
            return None
        value = _FOLDED[type(node.operator)](left, right)
        return value if value.bit_length() <= _MAX_BITS else None
    value = int_value(node)
    if value is None and isinstance(node, cst.Integer) and node.value.replace("_", "").isdigit():
        return _TOO_LONG
    return value


def _range_length(start: int, stop: Optional[int] = None, step: int = 1) -> Optional[int]:
    """``len(range(...))`` for any ints, with no ``OverflowError``: None for a zero step
    (``range`` raises, the loop never runs)."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        return None
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)
