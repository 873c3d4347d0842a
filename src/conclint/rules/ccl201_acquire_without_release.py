"""``lock.acquire()`` whose release is not guaranteed on every path."""

from __future__ import annotations

import ast
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from conclint.analysis import Semantic
from conclint.analysis.catalogue import LOCK_TYPES
from conclint.analysis.cstutil import dotted, index_of, is_call_on, only_statement, same_expression, walk, walk_scope
from conclint.analysis.locks import (
    LockKey,
    LockUse,
    enclosing_def,
    lock_key,
    lock_receiver,
    may_be_lock,
    releases_in_finally,
    statement_call,
)
from conclint.analysis.facts import Facts, callee_name, method_receiver
from conclint.analysis.walk import children
from conclint.fixes import replace_statements, with_statement
from conclint.interest import Either, Holds, Imports, Interest, Methods
from conclint.rule import Applicability, ProjectReport, Rule

if TYPE_CHECKING:
    from conclint.analysis.project import Project

_NEVER_RELEASED = "lock acquired and never released: nothing in this module releases it, so the next `acquire()` blocks forever"
# Builtins that look at an object without keeping it.
_INSPECTING = frozenset({"repr", "str", "print", "id", "isinstance", "type", "hash", "len", "bool", "format"})

# A statement `x.acquire()` not closed at once by `x.release()` (a `try`/`finally` right after
# it or around it, or a `release()` on the next line): the others are correct.
_ACQUIRED = Methods("acquire", statement=True, unpaired="release")


class AcquireWithoutRelease(Rule):
    """An ``acquire()`` not paired with a guaranteed ``release()``."""

    code = "CCL201"
    name = "acquire-without-release"
    message = "lock acquired without a guaranteed release: an exception or early return leaves it held"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), _ACQUIRED, Either(Methods("release"), Holds(*LOCK_TYPES)))

    # Across modules, in the project phase: a lock made by a function of another module of the
    # project (`lock = allocate_lock()` from its compat module), which this rule cannot tell
    # from any other object in the file. The summary files the acquires the rule would report
    # were it a lock (``analysis.acquires``: the rule's tests, in CPython's tree).
    project_part = True
    project_sites = "r"

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # An unpaired acquire statement of what may be a lock, either released later in its
        # def (the pending finding) or, blocking and of a lock type, of a lock nothing in the
        # file releases (the "never released" one). Released, by the rule's key: a plain name,
        # an attribute of a method's `self`, or anything a `with` names.
        if not cls.interest.possible(facts, options):
            return False
        acquires = [c for c in _ACQUIRED.calls(facts) if may_be_lock(facts, method_receiver(c), facts.scope.get(c))]
        if not acquires:
            return False
        # (by name only where names are as written: the rule's keys keep their spelling)
        as_written = facts.names_as_written()
        released_here = set()
        released = {callee_name(i.context_expr) for i in facts.with_items if type(i.context_expr) in (ast.Name, ast.Attribute)}
        if not as_written:
            released = set()
        for call in facts.methods_called(("release",)):
            receiver = method_receiver(call)
            released_here.add((id(facts.scope.get(call)), ast.dump(receiver)))
            if as_written and (type(receiver) is ast.Name or (type(receiver) is ast.Attribute and facts.is_own_self(receiver.value, facts.scope.get(call)))):
                released.add(callee_name(receiver))
        for call in acquires:
            receiver = method_receiver(call)
            if (id(facts.scope.get(call)), ast.dump(receiver)) in released_here:
                return True
            if (
                type(receiver) in (ast.Name, ast.Attribute)
                and callee_name(receiver) not in released
                and facts.may_be(receiver, LOCK_TYPES)
                and _may_block(call)
            ):
                return True
        return False

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        for site, maker, module, definition in project.made_lock_acquires():
            message = f"{cls.message} (the lock is made by `{maker}()` of `{module}`)"
            yield ProjectReport(cls.code, message, site, ((definition, "the lock is made here"),))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use = LockUse()
        # Findings wait for the whole module: a lock acquired and released by different
        # defs, or also taken by a def nested in the acquiring one (a thread it starts),
        # is a signal or a gate between threads, not a critical section.
        self.pending: List[Tuple[Optional[LockKey], int, cst.CSTNode, Optional[Dict[cst.CSTNode, Any]]]] = []
        # Mutexes acquired with no release after the acquire in their def, nor returned or
        # passed on: a forgotten release if nothing in the module ever releases the lock and
        # the lock is never handed to other code (`passed`).
        self.unreleased: List[Tuple[LockKey, cst.CSTNode]] = []
        self._scopes: Dict[int, _ScopeCalls] = {}  # what each scope releases, passes on, returns
        self.passed: Set[str] = set()
        self.acquire_sites: "Counter[str]" = Counter()
        self.with_names: Set[str] = set()  # locks some `with` releases

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        for arg in node.args:  # a lock handed to other code: who releases it is not ours to know
            for value in _values(arg.value):
                if isinstance(value, (cst.Name, cst.Attribute)):
                    self.passed.add(value.value if isinstance(value, cst.Name) else value.attr.value)
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("acquire", "release"):
            return
        key = lock_key(self.sem, func.value)
        if func.attr.value == "release":
            if key is not None:
                self.use.released(self.sem, key)
            return
        if key is not None:
            self.use.acquired(self.sem, key)
            self.acquire_sites[key[1]] += 1
        # A conditional acquire (`if lock.acquire(timeout=1):`) is the caller's business.
        if statement_call(self.sem, node, ("acquire",)) is not None:
            self._check_acquire(node, func.value, key)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        item = node.item
        if isinstance(item, (cst.Name, cst.Attribute)):
            self.with_names.add(item.value if isinstance(item, cst.Name) else item.attr.value)

    def _check_acquire(self, node: cst.Call, receiver: cst.BaseExpression, key: Optional[LockKey]) -> None:
        stack = self.sem.stack
        if not lock_receiver(self, receiver) or len(stack) < 4:
            return
        line, block = stack[-3], stack[-4]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return
        if not isinstance(line, cst.SimpleStatementLine) or not isinstance(node.func, cst.Attribute):
            return  # (they are: statement_call said so)
        index = index_of(block, line)
        if index is None:
            return
        if not _ACQUIRED.matches(self.sem, node):
            return  # acquire(); try: ... finally: release() -- correct (CCL207 suggests `with`)
        following = block.body[index + 1] if index + 1 < len(block.body) else None
        for ancestor in reversed(stack[:-4]):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
                break
            if isinstance(ancestor, cst.Try) and _inside_try_body(stack, ancestor) and _released_in_else(ancestor, line, receiver):
                return
        if _breaks_into_release(stack, receiver):
            return
        released, escaped = _after_acquire(self.sem, node, receiver, self._scopes)
        if not released and not escaped and key is not None and _blocking(node) and self.sem.type_of(receiver) in LOCK_TYPES:
            if not _returned(self.sem, receiver, self._scopes) and self.sem.frames[-1].name != "__enter__":
                self.unreleased.append((key, node.func.attr))
        if not released or escaped:
            # Never released here after this acquire (a hand-off, an __enter__, a Condition
            # re-taking its lock for the caller), or handed to other code as an argument
            # (a waiter list, a thread's args): not ours to judge.
            return
        if following is not None and is_call_on(only_statement(following) or following, receiver, ("acquire",)):
            return  # acquire(); acquire(): counting or reentrancy, nothing in between can raise
        release_index = self._paired_release(block, index, receiver)
        if release_index == index + 1:
            return  # acquire(); release(): waits for the lock to be free, nothing in between can raise
        changes: Optional[Dict[cst.CSTNode, Any]] = None
        # `with lock:` blocks without a timeout: only a blocking acquire may become one.
        # (Only an acquire alone on its line: the `with` replaces the whole line.)
        if release_index is not None and _blocking(node) and only_statement(line) is not None:
            with_node = with_statement(receiver, line, block.body[index + 1: release_index])
            changes = {block: replace_statements(block, index, release_index + 1, [with_node])}
        self.pending.append((key, id(self.sem.frames[-1].node), node.func.attr, changes))

    def leave_Module(self, original_node: cst.Module) -> None:
        # By name: a subclass's method or a nested def written before the binding may release
        # it under another key; a lock acquired in two places is a blocker or a signal.
        released = {k[1] for k, scopes in self.use.released_in.items() if scopes} | self.with_names
        acquired = Counter(k[1] for k, _ in self.unreleased)
        for lock, taken in self.unreleased:
            name = lock[1]
            if name not in released and name not in self.passed and acquired[name] == 1 and self.acquire_sites[name] == 1:
                self.report(taken, _NEVER_RELEASED)
        for key, scope, anchor, changes in self.pending:
            if key is not None and (self.use.is_handed_off(key) or self.use.shared_with_nested_def(key, scope)):
                continue
            if changes is None:
                self.report(anchor)
            else:
                self.report(anchor, changes=changes, fix_message="Use `with` to hold the lock")

    def _paired_release(
        self, block: Union[cst.IndentedBlock, cst.Module], index: int, receiver: cst.BaseExpression
    ) -> Optional[int]:
        """Index of the one ``receiver.release()`` statement closing the critical section in ``block``."""
        for j in range(index + 1, len(block.body)):
            stmt = block.body[j]
            small = only_statement(stmt)
            if (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and is_call_on(small, receiver, ("release",))
                and not small.value.args
            ):
                return j  # its comments go with it: the fix is unsafe anyway
            if any(is_call_on(n, receiver, ("acquire", "release")) for n in walk(stmt)):
                return None
        return None


def _may_block(call: ast.Call) -> bool:
    """CPython's view of ``_blocking``: no argument, or one that is ``True``."""
    values = [*call.args, *(k.value for k in call.keywords)]
    return not values or (len(values) == 1 and type(values[0]) is ast.Constant and values[0].value is True)


def _breaks_into_release(stack: Sequence[cst.CSTNode], receiver: cst.BaseExpression) -> bool:
    """A loop around the acquire (in its def) that is left by ``break`` straight into
    ``try: ... finally: receiver.release()``: the lock taken in the last iteration is held on
    purpose by the code after the loop, which releases it."""
    for position in range(len(stack) - 2, 0, -1):
        loop, parent = stack[position], stack[position - 1]
        if isinstance(loop, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
        if not isinstance(loop, (cst.For, cst.While)) or not isinstance(parent, (cst.IndentedBlock, cst.Module)):
            continue
        index = index_of(parent, loop)
        following = parent.body[index + 1] if index is not None and index + 1 < len(parent.body) else None
        if following is not None and releases_in_finally(following, receiver) and _breaks(loop):
            return True
    return False


def _breaks(loop: Union[cst.For, cst.While]) -> bool:
    """Whether ``loop``'s own body has a ``break`` (not one of a loop nested in it)."""
    pending: List[cst.CSTNode] = [loop.body]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Break):
            return True
        if not isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            pending.extend(children(node))
    return False


def _values(value: cst.BaseExpression) -> List[cst.BaseExpression]:
    """``value``, or the elements of a tuple, list or set it is (nested ones too)."""
    if isinstance(value, (cst.Tuple, cst.List, cst.Set)):
        return [v for element in value.elements for v in _values(element.value)]
    return [value]


def _returned(sem: Semantic, receiver: cst.BaseExpression, scopes: Dict[int, "_ScopeCalls"]) -> bool:
    """Whether the def being visited returns (or yields) ``receiver``: the caller holds it."""
    known = _scope_calls(sem, scopes)
    return known is not None and any(_is_or_holds(value, receiver) for value in known.returned)


def _blocking(acquire: cst.Call) -> bool:
    """``acquire()``, ``acquire(True)`` or ``acquire(blocking=True)``: no timeout, no try-lock."""
    if not acquire.args:
        return True
    if len(acquire.args) != 1:
        return False
    arg = acquire.args[0]
    keyword = arg.keyword.value if arg.keyword is not None else "blocking"
    return keyword == "blocking" and not arg.star and isinstance(arg.value, cst.Name) and arg.value.value == "True"


class _ScopeCalls:
    """What ``_after_acquire`` and ``_returned`` look for in one scope, found in one walk of
    it, the first three with their places in source order: ``x.release()`` calls and the
    values calls are given, both by the spelling of ``x`` or the value (None for other
    expressions), the locks a block releases right before it leaves, and the values the
    scope returns or yields. Looked for per acquire, a module of a thousand acquires took
    seconds."""

    def __init__(self, scope: cst.CSTNode) -> None:
        self.order: Dict[int, int] = {}
        self.releases: Dict[Optional[str], List[Tuple[int, cst.BaseExpression]]] = {}
        self.passed: Dict[Optional[str], List[Tuple[int, cst.BaseExpression]]] = {}
        self.leaving: List[Tuple[int, cst.BaseExpression]] = []
        self.returned: List[cst.BaseExpression] = []
        for node in walk_scope(scope):
            if isinstance(node, (cst.Return, cst.Yield)):
                if isinstance(node.value, cst.BaseExpression):
                    self.returned.append(node.value)
                continue
            if not isinstance(node, (cst.Call, cst.IndentedBlock)):
                continue
            place = self.order[id(node)] = len(self.order)
            if isinstance(node, cst.IndentedBlock):
                for stmt, after in zip(node.body, node.body[1:]):
                    released = _released_before_leaving(stmt, after)
                    if released is not None:
                        self.leaving.append((place, released))
                continue
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "release":
                self.releases.setdefault(dotted(func.value), []).append((place, func.value))
            if node.args and not (isinstance(func, cst.Name) and func.value in _INSPECTING):
                for arg in node.args:
                    for value in _values(arg.value):
                        self.passed.setdefault(dotted(value), []).append((place, value))


def _after_acquire(
    sem: Semantic, acquire: cst.Call, receiver: cst.BaseExpression, scopes: Dict[int, _ScopeCalls]
) -> Tuple[bool, bool]:
    """(released later in the enclosing def or module, handed on while held): a lock passed
    to other code while held (a waiter list, another thread), or kept on purpose by a branch
    that releases another lock and leaves (a barrier's turnstile), belongs to a protocol.
    Only what comes before the first release after the acquire counts as handing it on."""
    known = _scope_calls(sem, scopes)
    start = known.order.get(id(acquire)) if known is not None else None
    if known is None or start is None:
        return False, False
    key = dotted(receiver)
    released = min(
        (place for place, value in known.releases.get(key, ()) if place > start and same_expression(value, receiver)),
        default=None,
    )
    end = len(known.order) if released is None else released
    escaped = any(start < place < end and value.deep_equals(receiver) for place, value in known.passed.get(key, ())) or any(
        start < place < end and not value.deep_equals(receiver) for place, value in known.leaving
    )  # handed to other code, or another lock released before leaving (a hand-over)
    return released is not None, escaped


def _scope_calls(sem: Semantic, scopes: Dict[int, _ScopeCalls]) -> Optional[_ScopeCalls]:
    """The enclosing def's (or module's) ``_ScopeCalls``, made on first need."""
    scope = enclosing_def(sem)
    if scope is None:  # (only before the traversal enters the module)
        return None
    known = scopes.get(id(scope))
    if known is None:
        known = scopes[id(scope)] = _ScopeCalls(scope)
    return known


def _released_before_leaving(stmt: cst.CSTNode, after: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """``x`` when ``stmt`` is ``x.release()`` and ``after`` a ``return`` or ``break``."""
    small, leave = only_statement(stmt), only_statement(after)
    if (
        isinstance(leave, (cst.Return, cst.Break))
        and isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value == "release"
    ):
        return small.value.func.value
    return None


def _is_or_holds(value: cst.BaseExpression, receiver: cst.BaseExpression) -> bool:
    return any(v.deep_equals(receiver) for v in _values(value))


def _released_in_else(try_node: cst.Try, line: cst.CSTNode, receiver: cst.BaseExpression) -> bool:
    """``try: lock.acquire() except X: ... else: lock.release()`` (importlib's pattern)."""
    body = try_node.body.body if isinstance(try_node.body, cst.IndentedBlock) else ()
    return (
        bool(body)
        and body[-1] is line
        and try_node.orelse is not None
        and any(is_call_on(n, receiver, ("release",)) for n in walk(try_node.orelse))
    )


def _inside_try_body(stack: Sequence[cst.CSTNode], try_node: cst.Try) -> bool:
    position = stack.index(try_node)
    return position + 1 < len(stack) and stack[position + 1] is try_node.body


