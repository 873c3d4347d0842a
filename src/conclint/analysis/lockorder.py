"""The project's lock-after graph and its cycles: what CCL209 reports.

An edge A -> B says that some code takes B while it holds A: directly (``with b:`` inside
``with a:``, or ``b.acquire()`` between ``a.acquire()`` and ``a.release()``), or through
calls made while A is held, followed at most ``MAX_DEPTH`` calls deep through functions of
summarised files (``Project.reach``). A cycle in the graph is a lock-order inversion: two
threads each holding one lock of it can wait forever for the next.

Not edges: a lock taken again while it is held (re-entry of an RLock is fine; a plain Lock
taken twice is CCL203's self-deadlock, not an ordering problem), in the function or in every
caller of a private helper its file never hands on as a value (``Project.entry_held``), an ``acquire`` that cannot
wait forever (``blocking=False``, a timeout), and locks whose identity is unknown: one held
in a parameter or a local variable (``def transfer(a, b): with a.lock: with b.lock:``).
Two instances of one class are one abstract lock (``Account._lock``), so taking
``self._lock`` then ``other._lock`` is never an edge either: whether the program orders
the instances cannot be told apart from here.

Not a deadlock either: a cycle each of whose edges is only ever taken while one more lock,
the same for all, is held (a gate lock, as Goodlock calls it: ``with gate: with a: with b:``
and ``with gate: with b: with a:``): two threads cannot be on the cycle at once. The gate
must be one lock whatever the instance: a module's, or one of the class whose locks make
the whole cycle.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from conclint.analysis.project import Project, Site

# Calls followed from the holding function to an acquisition: holder -> f1 -> f2 -> f3 -> f4.
MAX_DEPTH = 4
# Longer cycles reported per strongly connected set of locks, at most.
MAX_CYCLES_PER_COMPONENT = 10

Lock = str  # an abstract lock identity: `pkg.mod.NAME`, `pkg.mod.Class.attr`


@dataclass(frozen=True)
class Witness:
    """Where code takes ``taken`` while holding ``held``: ``site`` is the acquisition, or the
    call through which ``via`` (function names) reach the acquisition at ``acquired``."""

    held: Lock
    taken: Lock
    site: Site
    via: Tuple[str, ...] = ()
    acquired: Optional[Site] = None

    def key(self) -> Tuple[str, int, int, Tuple[str, ...]]:
        return (self.site.path, self.site.line, self.site.column, self.via)


@dataclass
class Inversion:
    """A cycle of locks (``locks[0]`` -> ``locks[1]`` -> ... -> ``locks[0]``) and one
    witness of each of its edges, the first being where the finding is reported."""

    locks: Tuple[Lock, ...]
    witnesses: List[Witness] = field(default_factory=list)


Edge = Tuple[Lock, Lock]


def edges(project: Project, guards: Optional[Dict[Edge, FrozenSet[Lock]]] = None) -> Dict[Edge, List[Witness]]:
    """Every edge of the lock-after graph with its witnesses, by place (one per place and
    path); ``guards``, when given, gets for each edge the other locks held at every one of
    its witnesses."""
    found: Dict[Edge, Dict[Tuple[str, int, int, Tuple[str, ...]], Witness]] = {}

    def add(witness: Witness, holding: FrozenSet[Lock] = frozenset()) -> None:
        key = (witness.held, witness.taken)
        found.setdefault(key, {}).setdefault(witness.key(), witness)
        if guards is not None:
            others = holding - {witness.held, witness.taken}
            guards[key] = guards[key] & others if key in guards else others

    for function in project.functions():
        for acquisition in function.acquisitions:
            if not acquisition.held or not acquisition.blocking:
                continue
            taken = project.lock(function, acquisition.ref)
            held = project.locks(function, acquisition.held)
            if taken is None or taken in held or taken in project.entry_held(function):
                continue  # taken again (in a helper every caller of which holds it)
            for lock in held:
                add(Witness(lock, taken, acquisition.site), frozenset(held))
        for call in function.calls:
            if not call.held:
                continue
            callee = project.callee(function, call.ref)
            if callee is None:
                continue
            held = project.locks(function, call.held)
            if not held:
                continue
            for taken, (via, acquired) in project.reach(callee, MAX_DEPTH).items():
                if taken in held or taken in project.entry_held(function):
                    continue
                for lock in held:
                    add(Witness(lock, taken, call.site, via, acquired), frozenset(held))
    return {edge: [witnesses[key] for key in sorted(witnesses)] for edge, witnesses in found.items()}


def inversions(project: Project) -> List[Inversion]:
    """The cycles of the graph: every pair of locks taken in both orders, then, in each
    strongly connected set of three or more locks, the shortest cycles through edges no
    pair covers. A cycle is reported at every place that takes one of its steps, so that
    silencing one place (``# noqa``, a per-file ignore, a baseline entry, a configuration
    turning the rule off) hides no other, and a new path into a known cycle is a new
    finding; at one place only the first cycle found is reported. Each witness list starts
    with the witness of the place reported; the other steps are named by their first
    witness (by place)."""
    guards: Dict[Edge, FrozenSet[Lock]] = {}
    graph = edges(project, guards)

    def gated(cycle: Tuple[Lock, ...]) -> bool:
        steps = list(zip(cycle, cycle[1:] + cycle[:1]))
        common = frozenset.intersection(*(guards.get(step, frozenset()) for step in steps)) - set(cycle)
        return any(_one_lock(project, gate, cycle) for gate in common)

    out: List[Inversion] = []
    sites: Set[Tuple[str, int, int]] = set()

    def report(cycle: Tuple[Lock, ...]) -> None:
        steps = list(zip(cycle, cycle[1:] + cycle[:1]))
        for number, step in enumerate(steps):
            others = [graph[other][0] for other in steps[number + 1:] + steps[:number]]
            for witness in graph[step]:
                at = (witness.site.path, witness.site.line, witness.site.column)
                if at not in sites:
                    sites.add(at)
                    out.append(Inversion(tuple(w.held for w in [witness, *others]), [witness, *others]))

    paired: Set[Tuple[Lock, Lock]] = set()
    for a, b in sorted(graph):
        if a < b and (b, a) in graph and not gated((a, b)):
            # (a gated pair is no inversion, but its edges may still close a longer cycle)
            paired.update({(a, b), (b, a)})
            report((a, b))
    successors: Dict[Lock, List[Lock]] = {}
    for a, b in sorted(graph):
        successors.setdefault(a, []).append(b)
    seen: Set[Tuple[Lock, ...]] = set()
    for component in _components(successors):
        if len(component) < 3:
            continue
        count = 0
        for a, b in sorted(graph):
            if a not in component or b not in component or (a, b) in paired:
                continue
            # Not straight back (b -> a): a pair, reported above unless gated; through the
            # others, a longer cycle the gates of its pairs do not cover.
            path = _shortest_path(successors, b, a, component, avoid=(b, a))
            if path is None:
                continue
            cycle = _rotated((a, *path[:-1]))
            if len(cycle) < 3 or cycle in seen:
                continue
            seen.add(cycle)
            if gated(cycle):
                continue
            report(cycle)
            count += 1
            if count >= MAX_CYCLES_PER_COMPONENT:
                break
    return out


def _one_lock(project: Project, gate: Lock, cycle: Tuple[Lock, ...]) -> bool:
    """Whether ``gate`` is one lock for every thread on ``cycle``: a module's lock, or a lock
    of the class whose instances' locks make the whole cycle (the same object's, as far as
    the abstraction of instances can tell)."""
    if project.waitable(gate):  # a Condition's wait() lets go of it in the middle of the cycle
        return False
    module, _, name = gate.rpartition(".")
    info = project.modules.get(module)
    if info is not None and name in info.summary["k"]:
        return True
    owner = module + "."
    return all(lock.rpartition(".")[0] + "." == owner for lock in cycle)


def _rotated(cycle: Tuple[Lock, ...]) -> Tuple[Lock, ...]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def _shortest_path(
    successors: Dict[Lock, List[Lock]], start: Lock, goal: Lock, within: FrozenSet[Lock], avoid: Optional[Edge] = None
) -> Optional[List[Lock]]:
    """Locks from ``start`` to ``goal`` (both included) by the fewest edges inside ``within``,
    not taking the edge ``avoid``."""
    parent: Dict[Lock, Optional[Lock]] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path: List[Lock] = []
            current: Optional[Lock] = node
            while current is not None:
                path.append(current)
                current = parent[current]
            return path[::-1]
        for nxt in successors.get(node, ()):
            if nxt in within and nxt not in parent and (node, nxt) != avoid:
                parent[nxt] = node
                queue.append(nxt)
    return None


def _components(successors: Dict[Lock, List[Lock]]) -> Iterator[FrozenSet[Lock]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: Dict[Lock, int] = {}
    low: Dict[Lock, int] = {}
    stack: List[Lock] = []
    on_stack: Set[Lock] = set()
    nodes = sorted(set(successors) | {b for bs in successors.values() for b in bs})
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: List[Tuple[Lock, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = successors.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members: Set[Lock] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                yield frozenset(members)


# A long cycle's message names its first steps, and its related locations its first ones:
# a ring through a thousand locks made a 77 kB message with a thousand locations.
MAX_NAMED = 5
MAX_RELATED_STEPS = 20


def describe(inversion: Inversion) -> Tuple[str, List[Tuple[Site, str]]]:
    """The finding's message (naming every other place of the cycle) and its related
    locations, each with a message of its own."""
    first, *others = inversion.witnesses
    message = f"lock-order inversion: {_taking(first)} here"
    related: List[Tuple[Site, str]] = []
    for number, witness in enumerate(others):
        if number < MAX_NAMED:
            message += f", and {_taking(witness)} at {witness.site.path}:{witness.site.line}"
        if number < MAX_RELATED_STEPS:
            related.append((witness.site, f"{_taking(witness)} here"))
    if len(others) > MAX_NAMED:  # a cycle through hundreds of locks: its start says enough
        message += f", and {len(others) - MAX_NAMED} more step{'s' if len(others) - MAX_NAMED > 1 else ''} of the cycle"
    for witness in inversion.witnesses[: MAX_RELATED_STEPS + 1]:
        if witness.acquired is not None:
            related.append((witness.acquired, f"`{witness.taken}` is taken here"))
    return message + ": threads on these paths can deadlock", related


def _taking(witness: Witness) -> str:
    via = f" (through {' -> '.join(name + '()' for name in witness.via)})" if witness.via else ""
    return f"`{_shown(witness.taken)}` is taken{via} while `{_shown(witness.held)}` is held"


_AMBIGUOUS_RE = re.compile(r"\[\d+\](?=\.)")


def _shown(lock: Lock) -> str:
    """A lock as messages name it: a module whose name two files share is kept apart inside
    (``util[2]``), and named as written (the place of the finding tells which)."""
    return _AMBIGUOUS_RE.sub("", lock) if "[" in lock else lock
