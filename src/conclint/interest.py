"""What a rule looks at, declared once: the engine derives both gates from it, and the rule's
visitor asks the same objects whether a node is one it cares about.

A rule's ``interest`` is a list of requirements, all of which a file must meet for the rule
to report in it; each requirement is met by any one of its items:

    LOCKING = Methods("acquire", on=ACQUIRABLE_TYPES)

    class MyRule(Rule):
        interest = Interest(Imports("threading"), LOCKING, Syntax("finally"))

        def visit_Call(self, node):
            if LOCKING.matches(self.sem, node): ...

Each requirement knows three things about itself, kept together so they cannot drift apart:

* ``triggers()``: byte-level tests (literals checked with ``in``, regexes or functions) that
  every file holding a match contains. The first gate, before anything is parsed.
* ``possible(facts, options)``: whether CPython's tree of the file (``facts``, see
  ``analysis.facts``) may hold a match, for the rule configured with ``options``. The second gate, before LibCST parses. Like the triggers it must be a
  necessary condition: it over-approximates what ``matches`` can see (callees by their last
  name and every local alias, subclasses defined in the file, any receiver that may be of a
  type).
* ``matches(sem, node)``: whether a LibCST node is a match, with the semantic model's answers
  (qualified names, receiver types). What rules use while visiting.

Where a requirement looks into an expression (an argument, a receiver), a ``Shape`` says
what it must look like, once per tree, side by side (``tests/test_vocabulary.py`` holds each
to the contract: ``matches`` implies ``possible``). Relations between two matches (``InOrder``)
and options that widen a rule (``Option``) are requirements too.

A rule whose findings rest on an analysis the vocabulary does not say (a lock held across
calls of the file's functions, a function some thread runs) may write ``could_report`` by
hand; seven rules do (CONTRIBUTING.md lists them and why), and the per-case gate test
(tests/test_gate_cases.py) checks them like every derived gate.
"""

from __future__ import annotations

import ast
from types import MappingProxyType
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Set, Tuple, Union

import libcst as cst

from conclint.analysis.cstutil import parameters, string_value
from conclint.analysis.facts import (
    Facts,
    async_functions,
    body_span,
    callee_name,
    end_position,
    is_none,
    method_receiver,
    methods_of,
    module_terminals,
    position,
    producers_of,
    scalar_literal,
    scope_end,
    terminals,
)
from conclint.analysis.pairing import paired_in_cst, unpaired_calls
from conclint.gate import ASYNC_DEF_TRIGGER, compile_trigger, trigger_matches, uses

NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


class Requirement:
    """One condition on a file: met by any of its items."""

    def triggers(self) -> Tuple[Any, ...]:
        return ()

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return True


class All(Requirement):
    """Met when every one of ``requirements`` is (inside an ``Either``, say)."""

    def __init__(self, *requirements: Requirement) -> None:
        self.requirements = requirements

    def triggers(self) -> Tuple[Any, ...]:
        return tuple(t for r in self.requirements for t in r.triggers())

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return all(r.possible(facts, options) for r in self.requirements)


class Interest(All):
    """The requirements a file must all meet for a rule to report in it."""


def _alternation(words: Iterable[str]) -> str:
    """A trigger matching any of ``words`` as a literal (checked with ``in``: the fastest)."""
    return "|".join(sorted(w.replace(".", "\\.").replace("(", "\\(") for w in set(words)))


class Imports(Requirement):
    """One of ``modules`` (or a submodule) is imported: qualified names and types come only
    from imports, so a rule that needs them needs one."""

    def __init__(self, *modules: str) -> None:
        dotted = [m for m in modules if "." in m]
        if dotted:  # facts.imports_any compares top-level names: "concurrent.futures" never would
            raise ValueError(f"Imports takes top-level package names, not {dotted}")
        self.modules = modules

    def triggers(self) -> Tuple[Any, ...]:
        return uses(*self.modules)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return facts.imports_any(*self.modules)


class Shape:
    """What one expression must look like, asked of both trees and kept side by side:
    ``in_ast(facts, expr, call)`` (CPython's ``expr``, an argument or receiver of ``call``)
    must say yes wherever ``in_cst(sem, expr)`` does for the same code; it may say yes more
    often (``tests/test_tree_mapping.py`` checks each shape on samples of both kinds)."""

    def __init__(
        self,
        description: str,
        in_ast: Callable[[Facts, ast.expr, ast.Call], bool],
        in_cst: Callable[[Any, cst.BaseExpression], bool],
    ) -> None:
        self.description = description
        self.in_ast = in_ast
        self.in_cst = in_cst

    def __repr__(self) -> str:
        return f"Shape({self.description!r})"


_AST_SEQUENCES = (ast.Tuple, ast.List, ast.ListComp, ast.GeneratorExp)
_CST_SEQUENCES = (cst.Tuple, cst.List, cst.ListComp, cst.GeneratorExp)

CALL_OF_NAMED = Shape(
    "a call of a name or an attribute (`f(x)`, `obj.f(x)`)",
    lambda facts, e, call: type(e) is ast.Call and type(e.func) in (ast.Name, ast.Attribute),
    lambda sem, e: isinstance(e, cst.Call) and isinstance(e.func, (cst.Name, cst.Attribute)),
)
NOT_NONE = Shape(
    "anything but `None`",
    lambda facts, e, call: not is_none(e),
    lambda sem, e: not (isinstance(e, cst.Name) and e.value == "None"),
)
ONE_VALUE = Shape(
    "one value where a sequence is due: a parenthesized non-sequence (`(x)`) or a string or number literal",
    lambda facts, e, call: type(e) not in _AST_SEQUENCES and (scalar_literal(e) or facts.parenthesized(e)),
    lambda sem, e: not isinstance(e, _CST_SEQUENCES) and (bool(e.lpar) or isinstance(e, (cst.BaseString, cst.BaseNumber))),
)
DEF_NAME = Shape(
    "the plain name of a def of the file (`target=work`)",
    lambda facts, e, call: type(e) is ast.Name and e.id in facts.functions,
    lambda sem, e: isinstance(e, cst.Name) and e.value in sem.functions,
)
MAY_BE_LOCAL_CALLABLE = Shape(
    "a lambda, a plain name, or a call of a plain name (what may be a def or class nested in a function)",
    lambda facts, e, call: type(e) in (ast.Lambda, ast.Name) or (type(e) is ast.Call and type(e.func) is ast.Name),
    lambda sem, e: isinstance(e, (cst.Lambda, cst.Name)) or (isinstance(e, cst.Call) and isinstance(e.func, cst.Name)),
)
NOT_OWN_SELF = Shape(
    "anything but the `self` of the method the call is in",
    lambda facts, e, call: not facts.is_own_self(e, facts.scope.get(call)),
    lambda sem, e: not sem.is_self(e),
)


NONE_OR_NAME = Shape(
    "`None` or a plain name",
    lambda facts, e, call: is_none(e) or type(e) is ast.Name,
    lambda sem, e: isinstance(e, cst.Name),
)


def _argument_values(call: ast.Call) -> Iterator[ast.expr]:
    """Every argument's value, starred ones unwrapped (as LibCST's ``Arg.value`` holds them)."""
    for value in call.args:
        yield value.value if type(value) is ast.Starred else value
    for keyword in call.keywords:
        yield keyword.value


def call_of(calls: "Calls") -> Shape:
    """The shape of a call that ``calls`` counts (a receiver like ``threading.Lock()``)."""
    return Shape(
        f"a call of {sorted(calls.qualnames)}",
        lambda facts, e, call: type(e) is ast.Call and callee_name(e.func) in calls.names_in(facts),
        lambda sem, e: calls.matches(sem, e),
    )


class Argument:
    """Arguments of a call, and the shape one of them must have: positional arguments whose
    index is in ``positions`` (all when None; starred ones never count, but do take their
    index) and keyword arguments named in ``keywords`` (all when None)."""

    def __init__(self, shape: Shape, *, positions: Optional[range] = None, keywords: Optional[Tuple[str, ...]] = None) -> None:
        self.shape = shape
        self.positions = positions
        self.keywords = keywords

    def possible(self, facts: Facts, call: ast.Call) -> bool:
        for index, value in enumerate(call.args):
            if (self.positions is None or index in self.positions) and type(value) is not ast.Starred:
                if self.shape.in_ast(facts, value, call):
                    return True
        return any(
            k.arg is not None and (self.keywords is None or k.arg in self.keywords) and self.shape.in_ast(facts, k.value, call)
            for k in call.keywords
        )

    def matches(self, sem: Any, call: cst.Call) -> bool:
        index = 0
        for arg in call.args:
            if arg.keyword is not None:
                if (self.keywords is None or arg.keyword.value in self.keywords) and self.shape.in_cst(sem, arg.value):
                    return True
            elif arg.star != "**":
                if not arg.star and (self.positions is None or index in self.positions) and self.shape.in_cst(sem, arg.value):
                    return True
                index += 1
        return False


# Where a call may be required to stand (``used_as=``), in CPython's tree.
_USES: Dict[str, Callable[[Facts], FrozenSet[int]]] = {
    "with item": lambda facts: frozenset(id(i.context_expr) for i in facts.with_items),
}


def _module_receiver(receiver: ast.expr, modules: FrozenSet[str]) -> bool:
    """Whether ``receiver`` may be one of ``modules``: named so (or an alias of one), or
    ``get_context()``, whose result the model takes for ``multiprocessing``."""
    if type(receiver) is ast.Call:
        return "multiprocessing" in modules and callee_name(receiver.func) == "get_context"
    return callee_name(receiver) in modules


class Calls(Requirement):
    """A call of one of ``qualnames`` (canonical; ``threading.Thread``), or of a class of the
    file deriving from one of them; with ``statement``, only a call that is a statement."""

    def __init__(
        self,
        *qualnames: str,
        statement: bool = False,
        within: Tuple[str, ...] = (),
        argument: Optional[Argument] = None,
        used_as: Optional[str] = None,
        subclasses: bool = True,
        through_modules: bool = False,
        unless_beside: Tuple[str, ...] = (),
    ) -> None:
        self.qualnames = frozenset(qualnames)
        # Not a call in a class (or, outside classes, the module) that also calls a dotted
        # name ending in one of ``unless_beside`` (``threading_helper.wait_threads_exit()``):
        # a test waiting for the threads it starts. Which class holds a call is the visitor's.
        self.unless_beside = frozenset(unless_beside)
        self.last_names = terminals(self.qualnames)
        # Whether a call of a class of the file deriving from one counts (not where a
        # subclass's constructor has a signature of its own).
        self.subclasses = subclasses
        # Functions (not methods of values): a call ``x.f()`` resolves to one only through a
        # module, so ``x`` must be named like one of their modules (or an alias of one).
        self.modules = module_terminals(self.qualnames) if through_modules else None
        # Only calls that are a whole statement (their value unused) count; with ``within``,
        # only calls inside each of those constructs (see ``_WITHIN``); with ``argument``, only
        # calls with such an argument; with ``used_as``, only calls standing there (``_USES``).
        self.statement = statement
        self.within = _check_within(within)
        self.argument = argument
        if used_as is not None and used_as not in _USES:
            raise ValueError(f"unknown use {used_as!r} for used_as=; known: {sorted(_USES)}")
        self.used_as = used_as

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.last_names), *_within_triggers(self.within))

    def names_in(self, facts: Facts) -> FrozenSet[str]:
        """The callee names (last names, aliases, subclasses) a matching call may have in ``facts``."""
        return facts.names_for(self._callees(facts))

    def _callees(self, facts: Facts) -> FrozenSet[str]:
        return facts.with_subclasses(self.last_names) if self.subclasses else self.last_names

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return next(self.candidates(facts), None) is not None

    def candidates(self, facts: Facts) -> Iterator[ast.Call]:
        """The calls of CPython's tree that may be matches."""
        calls = facts.calls_to(self._callees(facts), self.statement)
        places = _USES[self.used_as](facts) if self.used_as is not None else None
        modules = facts.names_for(self.modules) if self.modules is not None else None
        beside = _classes_calling(facts, self.unless_beside) if self.unless_beside else None
        for call in calls:
            func = call.func
            if (
                (modules is None or type(func) is not ast.Attribute or _module_receiver(func.value, modules))
                and (type(func) is not ast.Name or self._name_may_be(facts, func.id))
                and _inside(facts, call, self.within)
                and (self.argument is None or self.argument.possible(facts, call))
                and (places is None or id(call) in places)
                and (beside is None or id(_innermost_class(facts, call)) not in beside)
            ):
                yield call

    def _name_may_be(self, facts: Facts, name: str) -> bool:
        """Whether a call of the plain name ``name`` may be of one of the callables: bound so
        (``Facts.name_may_be``), or a class of the file deriving from one."""
        if self.subclasses:
            return facts.callable_may_be(name, self.qualnames, self.last_names)
        return facts.name_may_be(name, self.qualnames)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        """Whether ``node`` is a call of one of the callables (its argument shaped as required;
        where it stands and ``within`` are the visitor's to check)."""
        if not isinstance(node, cst.Call):
            return False
        if self.argument is not None and not self.argument.matches(sem, node):
            return False
        # An unbound plain name of a builtin is ``builtins.<name>`` (``Calls("builtins.open")``).
        qualname = sem.qualname(node.func) or sem.builtin(node.func)
        if qualname is not None:
            return qualname in self.qualnames
        # A class of the file deriving from one (what ``possible`` counts as a subclass).
        return self.subclasses and isinstance(node.func, cst.Name) and sem.call_result_type(node) in self.qualnames


def _classes_calling(facts: Facts, names: FrozenSet[str]) -> Set[int]:
    """The classes (by id; the module's is ``id(None)``) innermost around a call of a dotted
    name (``a.b.name``, not ``f().name``) ending in one of ``names``."""
    found = set()
    for name in names:
        for call in facts.calls.get(name, ()):
            func: ast.expr = call.func
            while isinstance(func, ast.Attribute):
                func = func.value
            if type(func) is ast.Name:
                found.add(id(_innermost_class(facts, call)))
    return found


def _innermost_class(facts: Facts, node: ast.Call) -> Optional[ast.ClassDef]:
    """The innermost class whose text (decorators included) holds ``node``, else None."""
    at = position(node)
    best: Optional[ast.ClassDef] = None
    best_start = (0, 0)
    for cls in facts.classes:
        start = min([position(cls), *(position(d) for d in cls.decorator_list)])
        if start <= at <= end_position(cls) and start > best_start:
            best, best_start = cls, start
    return best


class AtImport(Requirement):
    """A call ``calls`` counts that runs when the module is imported: in module code (not in
    a def or lambda), or in a module function that module code calls by its plain name,
    directly or through other functions it calls so. Whether it stands in ``if __name__ ==
    "__main__":``, and whether a name is a module function, are the visitor's to check."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def triggers(self) -> Tuple[Any, ...]:
        return self.calls.triggers()

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        runners: Set[str] = set()  # the defs that make such a call
        for call in self.calls.candidates(facts):
            outer = _outermost_def(facts, call)
            if outer is None:
                return True
            runners.add(outer.name)
        if not runners:
            return False
        callers: Dict[str, Set[str]] = {}  # a name called plainly -> the defs calling it
        called_at_import: Set[str] = set()
        for name, calls in facts.calls.items():
            for call in calls:
                if type(call.func) is ast.Name:
                    outer = _outermost_def(facts, call)
                    if outer is None:
                        called_at_import.add(name)
                    else:
                        callers.setdefault(name, set()).add(outer.name)
        pending = list(runners)
        while pending:
            for caller in callers.get(pending.pop(), ()):
                if caller not in runners:
                    runners.add(caller)
                    pending.append(caller)
        return not called_at_import.isdisjoint(runners)


def _outermost_def(facts: Facts, node: ast.AST) -> Optional[Union[ast.FunctionDef, ast.AsyncFunctionDef]]:
    """The def holding ``node`` that no def holds; None for module code (and class bodies),
    and for a node in a lambda (whose place ``facts`` does not record: counted as module
    code, which only ever admits more)."""
    scope = facts.scope.get(node)
    outer = None
    while scope is not None:
        if type(scope) is ast.Lambda:
            return None
        outer = scope
        scope = facts.scope.get(scope)
    return outer if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


class Methods(Requirement):
    """A call ``x.name(...)`` for one of ``names``; with ``on``, ``x`` must be of one of those
    types (canonical names) as far as the semantic model knows; with ``receiver``, ``x`` must
    have that shape; with ``statement``, only a call that is a statement."""

    def __init__(
        self,
        *names: str,
        on: Optional[FrozenSet[str]] = None,
        statement: bool = False,
        within: Tuple[str, ...] = (),
        argument: Optional[Argument] = None,
        receiver: Optional[Shape] = None,
        bare: bool = False,
        unpaired: Optional[str] = None,
        outside: Tuple[str, ...] = (),
        arguments: Optional[Shape] = None,
    ) -> None:
        self.names = frozenset(names)
        # Not in any construct of ``outside`` (see ``_OUTSIDE``), as the visitor checks too.
        unknown = set(outside) - set(_OUTSIDE)
        if unknown:
            raise ValueError(f"unknown constructs {sorted(unknown)} for outside=; known: {sorted(_OUTSIDE)}")
        self.outside = outside
        # With ``arguments``, every argument (positional, starred, keyword) has that shape.
        self.arguments = arguments
        self.on = on
        # With ``unpaired``, only a statement call that the method of that name on the same
        # receiver does not close at once (see ``_PAIRINGS``): ``lock.acquire()`` then
        # ``try: ... finally: lock.release()``, or then ``lock.release()``.
        if unpaired is not None and not statement:
            raise ValueError("Methods(unpaired=...) takes statement calls only (statement=True)")
        self.unpaired = unpaired
        # As for ``Calls``: statements only, inside each construct of ``within``, with such
        # an argument; ``bare``: with no arguments at all.
        self.statement = statement
        self.within = _check_within(within)
        self.argument = argument
        self.receiver = receiver
        self.bare = bare

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.names), *_within_triggers(self.within))

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return next(self.calls(facts), None) is not None

    def calls(self, facts: Facts) -> Iterator[ast.Call]:
        """The calls of CPython's tree that may be matches (none when no receiver may be of a
        type of ``on``)."""
        if self.on is not None and not facts.may_hold(self.on):
            return
        calls: Iterable[ast.Call] = facts.methods_called(self.names, self.statement)
        if self.unpaired is not None:
            calls = unpaired_calls(facts, list(calls), self.unpaired)
        for call in calls:
            if (
                (self.on is None or facts.may_be(method_receiver(call), self.on))
                and _inside(facts, call, self.within)
                and not any(_OUTSIDE[k](facts, call) for k in self.outside)
                and (self.arguments is None or all(self.arguments.in_ast(facts, v, call) for v in _argument_values(call)))
                and (self.argument is None or self.argument.possible(facts, call))
                and (self.receiver is None or self.receiver.in_ast(facts, method_receiver(call), call))
                and not (self.bare and (call.args or call.keywords))
            ):
                yield call

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        """Whether ``node`` is such a method call (``statement``, ``within`` and ``outside``
        are the visitor's to check)."""
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return False
        if node.func.attr.value not in self.names or (self.bare and node.args):
            return False
        if self.argument is not None and not self.argument.matches(sem, node):
            return False
        if self.arguments is not None and not all(self.arguments.in_cst(sem, a.value) for a in node.args):
            return False
        if self.receiver is not None and not self.receiver.in_cst(sem, node.func.value):
            return False
        if self.unpaired is not None and paired_in_cst(sem.stack, node, self.unpaired):
            return False
        return self.on is None or sem.type_of(node.func.value) in self.on


class Stores(Requirement):
    """An assignment to an attribute named one of ``attributes`` (``x.daemon = True``)."""

    def __init__(self, *attributes: str) -> None:
        self.attributes = frozenset(attributes)

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.attributes),)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return not self.attributes.isdisjoint(facts.stored_attributes)


class Subclasses(Requirement):
    """A class of the file deriving (through the file's classes) from one of ``types``
    (canonical names); with ``overriding``, one defining that method, and with
    ``calling_base=False`` too, whose method never calls a method of that name (so never the
    base class's: ``super().__init__()``, ``Thread.__init__(self)``)."""

    def __init__(self, *types: str, overriding: Optional[str] = None, calling_base: bool = True) -> None:
        self.types = frozenset(types)
        self.last_names = terminals(self.types)
        self.overriding = overriding
        self.calling_base = calling_base

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.last_names), "class", *((self.overriding,) if self.overriding else ()))

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        for cls in facts.subclasses_of(self.last_names):
            if self.overriding is None:
                return True
            method = methods_of(cls).get(self.overriding)
            if method is not None and (self.calling_base or not _calls_method(method, self.overriding)):
                return True
        return False


def _calls_method(function: ast.AST, name: str) -> bool:
    """Whether ``x.name(...)`` is called anywhere in ``function`` (nested defs included), but
    not on a one-argument ``super(Cls)``: unbound, it runs nothing of the base for ``self``."""
    return any(
        type(n) is ast.Call and type(n.func) is ast.Attribute and n.func.attr == name and not _unbound_super(n.func.value)
        for n in ast.walk(function)
    )


def _unbound_super(node: ast.expr) -> bool:
    return (
        type(node) is ast.Call
        and type(node.func) is ast.Name
        and node.func.id == "super"
        and len(node.args) == 1
        and type(node.args[0]) is not ast.Starred
        and not node.keywords
    )


class InOrder(Requirement):
    """``first`` and then ``then`` (each a ``Methods`` or ``Stores`` requirement) on the same
    receiver (the same plain name, or with ``same_receiver="expression"`` the same written
    expression); with ``block="loop"``, both statements of the body of one loop, in that
    order; with ``block="scope"``, ``then`` starting after ``first`` in its scope (the same
    def or lambda, or both outside any) or in a def written directly in that scope; else anywhere in the file, ``then``
    starting after ``first``."""

    def __init__(self, first: "Methods", then: "Union[Methods, Stores, Either]", *, block: Optional[str] = None, same_receiver: str = "name") -> None:
        if block not in (None, "loop", "scope") or same_receiver not in ("name", "expression"):
            raise ValueError("InOrder takes block=None, 'loop' or 'scope', same_receiver='name' or 'expression'")
        self.first = first
        self.then = then
        self.block = block
        self.same_receiver = same_receiver

    def triggers(self) -> Tuple[Any, ...]:
        return (*self.first.triggers(), *self.then.triggers())

    def _key(self, receiver: ast.expr) -> Optional[str]:
        if self.same_receiver == "name":
            return receiver.id if type(receiver) is ast.Name else None
        return ast.dump(receiver)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        firsts = {id(call): call for call in self.first.calls(facts)}
        if not firsts:
            return False
        thens = list(_occurrences(self.then, facts))
        if self.block == "loop":
            later = {id(node) for node, _ in thens}
            for loop in facts.loops:
                seen = set()
                for statement in loop.body:
                    node = statement.value if type(statement) is ast.Expr else statement
                    if id(node) in firsts:
                        seen.add(self._key(method_receiver(firsts[id(node)])))
                    elif id(node) in later:
                        if any(self._key(r) in seen for n, r in thens if n is node):
                            return True
            return False
        # Per receiver (and, for block="scope", per scope): where the first ``first`` starts.
        by_scope = self.block == "scope"
        earliest: Dict[Tuple[Optional[str], int], Tuple[int, int]] = {}
        for call in firsts.values():
            started = (self._key(method_receiver(call)), id(facts.scope.get(call)) if by_scope else 0)
            earliest[started] = min(earliest.get(started, position(call)), position(call))
        for node, receiver in thens:
            at, key = position(node), self._key(receiver)
            if not by_scope:
                if earliest.get((key, 0), at) < at:
                    return True
                continue
            # Its own scope, or, in a def, the scope the def is written in: a def written after
            # the start in the same block runs (when called) after it.
            scope = facts.scope.get(node)
            outer = facts.scope.get(scope) if scope is not None and type(scope) is not ast.Lambda else scope
            if earliest.get((key, id(scope)), at) < at or earliest.get((key, id(outer)), at) < at:
                return True
        return False


def _occurrences(requirement: Requirement, facts: Facts) -> Iterator[Tuple[Union[ast.stmt, ast.expr], ast.expr]]:
    """The nodes of CPython's tree that may be matches of ``requirement`` (a ``Methods``,
    ``Stores`` or an ``Either`` of those), with their receivers: the call for a method,
    the assignment for a store."""
    if isinstance(requirement, Methods):
        for call in requirement.calls(facts):
            yield call, method_receiver(call)
    elif isinstance(requirement, Stores):
        for assignment in facts.assignments:
            for target in assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]:
                if type(target) is ast.Attribute and target.attr in requirement.attributes:
                    yield assignment, target.value
    elif isinstance(requirement, Either):
        for item in requirement.requirements:
            yield from _occurrences(item, facts)
    else:
        raise TypeError(f"InOrder cannot follow {type(requirement).__name__}")


class Option(Requirement):
    """Met when the rule's option ``name`` passes ``test``: an option that widens what the rule
    reports, as an alternative in an ``Either`` (no byte test can know it: an ``Either`` with
    one always passes its byte test)."""

    def __init__(self, name: str, test: Callable[[Any], bool]) -> None:
        self.name = name
        self.test = test

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return self.name not in options or bool(self.test(options[self.name]))  # unknown: maybe


class Holds(Requirement):
    """A value of one of ``types`` (canonical names) may exist in the file for the semantic
    model to know: something producing one is called (a constructor, a ``Manager()`` method,
    a subclass) or a parameter is annotated with one."""

    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    def triggers(self) -> Tuple[Any, ...]:
        callables, methods = producers_of(self.types)
        return (_alternation(callables | methods),)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return facts.may_hold(self.types)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.BaseExpression) and sem.type_of(node) in self.types


class Either(Requirement):
    """Met when one of ``requirements`` is (``Calls(...)`` or ``Methods(...)``, say)."""

    def __init__(self, *requirements: Requirement) -> None:
        self.requirements = requirements

    def triggers(self) -> Tuple[Any, ...]:
        # One test must stand for all: only alternations of literals can be joined.
        parts = [r.triggers() for r in self.requirements]
        if all(len(p) == 1 and isinstance(p[0], str) for p in parts):
            return ("|".join(p[0] for p in parts),)
        return (_EitherTest(parts),)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return any(r.possible(facts, options) for r in self.requirements)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        return any(getattr(r, "matches", lambda *_: False)(sem, node) for r in self.requirements)


class _EitherTest:
    """A byte test met when every test of one of the alternatives is (see ``Either``)."""

    shares_memo = True  # ``trigger_matches`` passes its memo on to the tests inside

    def __init__(self, alternatives: Iterable[Tuple[Any, ...]]) -> None:
        # In each alternative, the literal tests first: the cheapest, and they usually decide.
        self.alternatives = [
            sorted((compile_trigger(t) for t in tests), key=lambda t: not isinstance(t, tuple)) for tests in alternatives
        ]

    def __call__(self, data: bytes, memo: Optional[Dict[Any, bool]] = None) -> bool:
        return any(all(trigger_matches(t, data, memo) for t in tests) for tests in self.alternatives)


# Syntax kinds: the byte-level trigger every such construct matches, and what CPython's tree
# shows of it.
def _yields_in_with(function: ast.AsyncFunctionDef) -> bool:
    """Whether a ``yield`` of the def's own body (not of a nested def or lambda) lies in a
    ``with`` or ``async with`` block."""
    stack: List[Tuple[ast.AST, bool]] = [(node, False) for node in function.body]
    while stack:
        node, in_with = stack.pop()
        if in_with and type(node) in (ast.Yield, ast.YieldFrom):
            return True
        if type(node) not in (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef):
            inside = in_with or type(node) in (ast.With, ast.AsyncWith)
            stack.extend((child, inside) for child in ast.iter_child_nodes(node))
    return False


_SYNTAX: Dict[str, Tuple[str, Callable[[Facts], bool]]] = {
    "while": ("while", lambda f: any(type(loop) is ast.While for loop in f.loops)),
    "loop": ("for|while", lambda f: bool(f.loops)),
    "with": ("with", lambda f: bool(f.with_items)),
    "finally": ("finally", lambda f: any(getattr(t, "finalbody", None) for t in f.tries)),
    # `async def` starts a line (a compound statement): the words in a docstring do not count.
    "async def": (ASYNC_DEF_TRIGGER, lambda f: next(async_functions(f), None) is not None),
    # A `yield` in a `with` block of an `async def`'s own body (not of a nested def or lambda).
    "async yield in with": ("yield", lambda f: any(_yields_in_with(g) for g in async_functions(f))),
    "class": ("class", lambda f: bool(f.classes)),
    "__name__": ("__name__", lambda f: bool(f.name_comparisons)),
}


# Constructs a call can be required to lie in (``within=``): the byte trigger of the construct,
# and whether CPython's node of it holds a position.
def _in_loop_body(facts: Facts, node: ast.expr, kinds: Tuple[type, ...]) -> bool:
    at = position(node)
    for loop in facts.loops:
        if type(loop) in kinds:
            start, end = body_span(loop)
            if start <= at <= end:
                return True
    return False


def _in_async_def(facts: Facts, node: ast.expr) -> bool:
    at = position(node)
    return any(position(f) <= at <= scope_end(f) for f in async_functions(facts))


def _in_async_body(facts: Facts, node: ast.expr) -> bool:
    return type(facts.scope.get(node)) is ast.AsyncFunctionDef


def _in_repeating_loop(facts: Facts, node: ast.expr) -> bool:
    """In the body of a loop whose count is written out (CCL307's ``_iterations``): a ``for``
    over ``range`` of integer literals or over (an alias of) ``count()``, or a ``while`` on a
    constant."""
    at = position(node)
    counters = facts.names_for(frozenset({"count"}))
    for loop in facts.loops:
        if isinstance(loop, ast.While):
            repeats = type(loop.test) is ast.Constant
        else:
            iterable = loop.iter
            repeats = type(iterable) is ast.Call and (
                callee_name(iterable.func) in counters
                or (type(iterable.func) is ast.Name and iterable.func.id == "range" and all(map(_int_literal, iterable.args)))
            )
        if repeats:
            start, end = body_span(loop)
            if start <= at <= end:
                return True
    return False


def _int_literal(node: ast.expr) -> bool:
    """An integer literal, negative ones included (``range(-5, 5)``), or arithmetic on them
    that CCL307 counts (``10**6``)."""
    if type(node) is ast.UnaryOp and type(node.op) is ast.USub:
        return _int_literal(node.operand)
    if type(node) is ast.BinOp and type(node.op) in _FOLDED_OPS:
        return _int_literal(node.left) and _int_literal(node.right)
    return type(node) is ast.Constant and type(node.value) is int


_FOLDED_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Pow)


_WITHIN: Dict[str, Tuple[str, Callable[[Facts, ast.expr], bool]]] = {
    "while": ("while", lambda f, node: _in_loop_body(f, node, (ast.While,))),
    "loop": ("for|while", lambda f, node: _in_loop_body(f, node, (ast.For, ast.AsyncFor, ast.While))),
    "repeating loop": ("for|while", _in_repeating_loop),
    "async def": (ASYNC_DEF_TRIGGER, _in_async_def),
    # The coroutine's own body: not in a def or lambda nested in it.
    "async body": (ASYNC_DEF_TRIGGER, _in_async_body),
}


def _in_own_while(facts: Facts, node: ast.expr) -> bool:
    """In a ``while`` statement (its test, body or ``else``) of the scope ``node`` runs in:
    not one around the def, lambda or class holding it."""
    at, scope = position(node), facts.scope.get(node)
    loops = [start for start, end in facts.while_spans(scope) if start <= at <= end]
    if not loops:
        return False
    # (a class between them: its body, bases and decorators, is a scope of the rule's)
    classes = [start for start, end in facts.class_spans(scope) if start <= at <= end]
    return any(not any(loop < start for start in classes) for loop in loops)


# Constructs a call can be required not to lie in (``outside=``); no byte trigger: a file
# without one may still hold a match.
_OUTSIDE: Dict[str, Callable[[Facts, ast.expr], bool]] = {
    "own while": _in_own_while,
}


def _check_within(kinds: Tuple[str, ...]) -> Tuple[str, ...]:
    unknown = set(kinds) - set(_WITHIN)
    if unknown:
        raise ValueError(f"unknown constructs {sorted(unknown)} for within=; known: {sorted(_WITHIN)}")
    return tuple(kinds)


def _within_triggers(kinds: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(_WITHIN[k][0] for k in kinds)


def _inside(facts: Facts, call: ast.Call, kinds: Tuple[str, ...]) -> bool:
    return all(_WITHIN[k][1](facts, call) for k in kinds)


class Syntax(Requirement):
    """One of the constructs ``kinds`` (see ``_SYNTAX``) appears in the file."""

    def __init__(self, *kinds: str) -> None:
        unknown = set(kinds) - set(_SYNTAX)
        if unknown:
            raise ValueError(f"unknown syntax kinds {sorted(unknown)}; known: {sorted(_SYNTAX)}")
        self.kinds = kinds

    def triggers(self) -> Tuple[Any, ...]:
        return ("|".join(_SYNTAX[k][0] for k in self.kinds),) if len(self.kinds) > 1 else (_SYNTAX[self.kinds[0]][0],)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        return any(_SYNTAX[k][1](facts) for k in self.kinds)


class Parameter(Requirement):
    """A def taking a parameter named one of ``names`` (any kind: positional, keyword-only,
    ``*names``/``**names``); with ``asynchronous``, only an ``async def``. ``matches`` is asked
    of the ``FunctionDef``."""

    def __init__(self, *names: str, asynchronous: bool = False) -> None:
        self.names = frozenset(names)
        self.asynchronous = asynchronous

    def triggers(self) -> Tuple[Any, ...]:
        return (_alternation(self.names), *((ASYNC_DEF_TRIGGER,) if self.asynchronous else ()))

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        functions = async_functions(facts) if self.asynchronous else (f for fs in facts.functions.values() for f in fs)
        return any(self.names.intersection(_ast_parameters(f.args)) for f in functions)

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.FunctionDef) or (self.asynchronous and node.asynchronous is None):
            return False
        return any(p.name.value in self.names for p in parameters(node))


def _ast_parameters(args: ast.arguments) -> Iterator[str]:
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None:
            yield arg.arg


_AST_OPERATORS = {ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not"}
_CST_OPERATORS = {cst.Equal: "==", cst.NotEqual: "!=", cst.Is: "is", cst.IsNot: "is not"}


class ComparesName(Requirement):
    """A comparison of a bare ``__name__`` with a plain string literal, one operator (``==``,
    ``!=``, ``is``, ``is not``) and either side, for which ``test(operator, text)`` holds: the
    test is written once, on the operator's spelling and the string's value, and asked of
    both trees."""

    def __init__(self, test: Callable[[str, str], bool]) -> None:
        self.test = test

    def triggers(self) -> Tuple[Any, ...]:
        return ("__name__",)

    def possible(self, facts: Facts, options: Mapping[str, Any] = NO_OPTIONS) -> bool:
        for comparison in facts.name_comparisons:
            operator = _AST_OPERATORS.get(type(comparison.ops[0])) if len(comparison.ops) == 1 else None
            if operator is None:
                continue
            operands = (comparison.left, comparison.comparators[0])
            texts = [o.value for o in operands if type(o) is ast.Constant and type(o.value) is str]
            names = [o for o in operands if type(o) is ast.Name and o.id == "__name__"]
            if len(texts) == 1 and len(names) == 1 and self.test(operator, texts[0]):
                return True
        return False

    def matches(self, sem: Any, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
            return False
        target = node.comparisons[0]
        operator = _CST_OPERATORS.get(type(target.operator))
        operands = (node.left, target.comparator)
        names = [o for o in operands if isinstance(o, cst.Name) and o.value == "__name__"]
        texts = [t for t in (string_value(o) for o in operands) if t is not None]
        return operator is not None and len(names) == 1 and len(texts) == 1 and self.test(operator, texts[0])


class Text(Requirement):
    """Byte-level tests only (regexes, or functions of the file's bytes), for what the other
    requirements cannot say; CPython's tree is not asked."""

    def __init__(self, *tests: "str | Callable[[bytes], bool]") -> None:
        self.tests = tests

    def triggers(self) -> Tuple[Any, ...]:
        return self.tests
