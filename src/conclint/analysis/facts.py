"""What a file's syntax holds, read off CPython's tree before LibCST parses it.

Every file that passes the byte-level triggers is first parsed by CPython (the screen in
``parsing``), which costs a ninth of LibCST's parse (5.5 against 50 µs per line on the
standard library). While the screen walks that tree to measure its depth, it files the nodes
rules care about here: calls by the name they call, loops, ``with`` items, assignments,
classes, functions, the scope of each, and the names that may stand for another object
(``import x as y``, ``y = a.b``). A rule's ``could_report(facts)`` then answers
whether its findings are possible at all; only when some rule says yes is the file handed
to LibCST.

``could_report`` must be a necessary condition, like the byte triggers: skipping never
changes results (``tests/test_equivalence.py`` lints with and without every skip). So the
names here over-approximate what ``Semantic`` may resolve: a callee is known by its
last name (``threading.Thread(...)`` and ``Thread(...)`` are both filed under ``Thread``),
plus every local name an import or assignment may have bound to it.
"""

from __future__ import annotations

import ast
import sys
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple, Union, cast

from conclint.analysis.catalogue import CONSTRUCTORS, EXACT_ALIASES, METHOD_RESULTS, PREFIX_ALIASES, TEST_EXPECTATIONS, WORKER_TYPES, canonical

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# What opens a scope of its own: rules see nodes below these as in another function.
SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})

# The kinds of nodes filed here.
Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
Definition = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
Scope = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]  # one of SCOPES
Loop = Union[ast.For, ast.AsyncFor, ast.While]
With = Union[ast.With, ast.AsyncWith]
Assignment = Union[ast.Assign, ast.AnnAssign]
if sys.version_info >= (3, 11):
    TryStatement = Union[ast.Try, ast.TryStar]
else:
    TryStatement = ast.Try
# A statement with a body: what ``body_span`` measures.
Block = Union[Function, ast.ClassDef, Loop, With, TryStatement, ast.If]


def terminals(qualnames: Iterable[str]) -> FrozenSet[str]:
    """The last names under which the objects ``qualnames`` (canonical) can be called:
    their own and those of the spellings ``catalogue.canonical`` maps to them
    (``_thread.allocate_lock`` is ``threading.Lock``)."""
    wanted = set(qualnames)
    out = {q.rsplit(".", 1)[-1] for q in wanted}
    for spelling, target in EXACT_ALIASES.items():
        if canonical(target) in wanted:
            out.add(spelling.rsplit(".", 1)[-1])
    return frozenset(out)


def module_terminals(qualnames: Iterable[str]) -> FrozenSet[str]:
    """The last names of the modules holding the objects ``qualnames`` (canonical), under
    every spelling ``catalogue.canonical`` maps to them: what ``x`` may be called in a call
    ``x.f(...)`` of one (``asyncio`` and ``tasks`` for ``asyncio.ensure_future``)."""
    wanted = set(qualnames)
    spellings = set(wanted)
    spellings.update(s for s, target in EXACT_ALIASES.items() if canonical(target) in wanted)
    for prefix, replacement in PREFIX_ALIASES:
        spellings.update(prefix + q[len(replacement):] for q in wanted if q.startswith(replacement))
    return frozenset(s.rsplit(".", 2)[-2] for s in spellings if "." in s)


_PRODUCERS: Dict[FrozenSet[str], Tuple[FrozenSet[str], FrozenSet[str]]] = {}


def _constructors_of(types: FrozenSet[str]) -> FrozenSet[str]:
    """The canonical qualified names of the callables returning one of ``types``."""
    found = _CONSTRUCTORS_OF.get(types)
    if found is None:
        found = _CONSTRUCTORS_OF[types] = frozenset(q for q, t in CONSTRUCTORS.items() if t in types)
    return found


_CONSTRUCTORS_OF: Dict[FrozenSet[str], FrozenSet[str]] = {}


def producers_of(types: FrozenSet[str]) -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """What ``Semantic`` types as one of ``types``: the last names of the callables
    returning one (``threading.Event``), and the methods that do (``Manager().Event``)."""
    found = _PRODUCERS.get(types)
    if found is None:
        callables = terminals(q for q, t in CONSTRUCTORS.items() if t in types)
        methods = frozenset(m for (_, m), t in METHOD_RESULTS.items() if t in types)
        found = _PRODUCERS[types] = (callables, methods)
    return found


def callee_name(func: ast.AST) -> str:
    """``f`` for ``f(...)`` and ``a.b.f(...)``; "" for anything else (``x[0](...)``)."""
    if type(func) is ast.Name:
        return func.id
    if type(func) is ast.Attribute:
        return func.attr
    return ""


class Facts:
    """The nodes of one CPython tree that rules' ``could_report`` look at."""

    __slots__ = (
        "calls", "statement_calls", "alias_edges", "classes", "functions", "loops", "with_items", "with_of",
        "stored_attributes", "assignments", "tries", "module_body", "scope", "imported_modules",
        "name_comparisons", "tested", "walruses", "import_sources", "star_imported", "_assigned", "_typed", "_ascii", "_class_spans", "_while_spans", "_producing", "_resolved", "_subclasses", "_holds", "_first_parameters", "_methods", "_data", "_lines",
    )

    def __init__(self, data: bytes = b"", encoding: str = "utf-8") -> None:
        # The source, to tell ``(x)`` from ``x`` (CPython's tree does not keep parentheses);
        # its columns count UTF-8 bytes, so other encodings answer "maybe".
        self._data = data if encoding in ("utf-8", "utf-8-sig") else None
        self._lines: Optional[List[bytes]] = None
        self.calls: Dict[str, List[ast.Call]] = {}  # callee's last name -> calls
        self.statement_calls: Dict[str, List[ast.Call]] = {}  # same, for calls that are a whole statement
        self.alias_edges: Dict[str, Set[str]] = {}  # last name -> local names that may be bound to it
        self.classes: List[ast.ClassDef] = []
        self.functions: Dict[str, List[Function]] = {}  # name -> (async) defs, at any depth
        self.loops: List[Loop] = []  # for, async for, while
        self.with_items: List[ast.withitem] = []
        self.with_of: Dict[ast.withitem, With] = {}  # item -> its with statement
        self.imported_modules: Set[str] = set()
        self.name_comparisons: List[ast.Compare] = []  # comparisons with a bare ``__name__``
        self.stored_attributes: Set[str] = set()  # ``x.attr = ...``
        self.assignments: List[Assignment] = []  # assignment values (``x = value``, ``self.x = value``)
        self.tries: List[TryStatement] = []
        self.walruses: List[ast.NamedExpr] = []
        # Local name -> what each import binding it names: "module.name" for an absolute
        # `from module import name`, the module for `import module`, "" for a relative import.
        self.import_sources: Dict[str, List[str]] = {}
        self.star_imported = False
        self._assigned: Optional[Set[str]] = None
        self._ascii: Optional[bool] = None
        self._class_spans: Optional[Dict[int, List[Tuple[Position, Position]]]] = None
        self._while_spans: Optional[Dict[int, List[Tuple[Position, Position]]]] = None
        self._producing: Dict[FrozenSet[str], FrozenSet[str]] = {}  # types -> names calling a producer
        self.tested: List[Union[ast.If, ast.While]] = []  # ``if``/``elif`` and ``while``: statements with a test
        # The innermost function or lambda holding each call, loop, ``with`` and assignment.
        self.scope: Dict[ast.AST, Optional[Scope]] = {}
        self.module_body: List[ast.stmt] = []
        self._resolved: Dict[FrozenSet[str], FrozenSet[str]] = {}
        self._subclasses: Dict[FrozenSet[str], List[ast.ClassDef]] = {}
        self._holds: Dict[FrozenSet[str], bool] = {}
        self._typed: Dict[FrozenSet[str], Tuple[Set[str], Set[str]]] = {}
        self._first_parameters: Optional[FrozenSet[str]] = None
        self._methods: Optional[Set[int]] = None

    # ------------------------------------------------------------------ queries
    def names_for(self, last_names: FrozenSet[str]) -> FrozenSet[str]:
        """``last_names`` plus every local name that may be bound to one of them, transitively
        (``from threading import Thread as T``; ``Worker = threading.Thread``; ``W = Worker``)."""
        found = self._resolved.get(last_names)
        if found is None:
            out = set(last_names)
            pending = list(last_names)
            while pending:
                for alias in self.alias_edges.get(pending.pop(), ()):
                    if alias not in out:
                        out.add(alias)
                        pending.append(alias)
            found = self._resolved[last_names] = frozenset(out)
        return found

    def calls_to(self, last_names: FrozenSet[str], statements_only: bool = False) -> Iterator[ast.Call]:
        """Calls whose callee may be one of ``last_names`` (or an alias of one)."""
        table = self.statement_calls if statements_only else self.calls
        for name in self.names_for(last_names):
            yield from table.get(name, ())

    def calls_any(self, last_names: FrozenSet[str], statements_only: bool = False) -> bool:
        return next(self.calls_to(last_names, statements_only), None) is not None

    def methods_called(self, methods: Iterable[str], statements_only: bool = False) -> Iterator[ast.Call]:
        """Calls ``x.method(...)`` for one of ``methods`` (methods cannot be aliased)."""
        table = self.statement_calls if statements_only else self.calls
        for method in methods:
            for call in table.get(method, ()):
                if type(call.func) is ast.Attribute:
                    yield call

    def parenthesized(self, node: ast.expr) -> bool:
        """Whether ``node`` may stand in parentheses of its own (``args=(x)``): the text before
        it on its line ends with ``(``, or cannot be told."""
        lines = self._source_lines()
        line = getattr(node, "lineno", 0)
        if lines is None or not 0 < line <= len(lines):
            return True
        before = lines[line - 1][: node.col_offset].rstrip()
        return not before or before.endswith(b"(")

    def only_blank_lines(self, first: int, stop: int) -> Optional[bool]:
        """Whether lines ``first`` to ``stop`` (excluded) hold only blanks and comments; None
        when the source cannot be read here."""
        lines = self._source_lines()
        if lines is None:
            return None
        return all(not line.strip() or line.lstrip().startswith(b"#") for line in lines[first - 1: stop - 1])

    def ends_line(self, node: ast.AST) -> Optional[bool]:
        """Whether only blanks or a comment follow ``node`` on the line it ends on (no ``;``
        and another statement, no backslash continuing the line); None when the source
        cannot be read here."""
        lines = self._source_lines()
        line = getattr(node, "end_lineno", None)
        if lines is None or line is None or not 0 < line <= len(lines):
            return None
        rest = lines[line - 1][getattr(node, "end_col_offset", 0):].strip()
        return not rest or rest.startswith(b"#")

    def ends_with(self, node: ast.AST, text: bytes) -> bool:
        """Whether ``node``'s source, on the line it ends on, ends with ``text`` as written
        (CPython's tree spells names NFKC-normalised: ``ｒelease`` is ``release`` there, not
        in the bytes); False when the source cannot be read here."""
        lines = self._source_lines()
        line, end = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if lines is None or line is None or end is None or not 0 < line <= len(lines):
            return False
        return bool(lines[line - 1][:end].endswith(text))

    def test_of(self, node: ast.AST) -> Optional[Union[ast.If, ast.While]]:
        """The ``if``, ``elif`` or ``while`` in whose test ``node`` sits, if any."""
        at = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        for statement in self.tested:
            test = statement.test
            if (test.lineno, test.col_offset) <= at <= (test.end_lineno or test.lineno, test.end_col_offset or 0):
                return statement
        return None

    def _source_lines(self) -> Optional[List[bytes]]:
        if self._data is not None and self._lines is None:
            self._lines = self._data.splitlines()
            if self._lines and self._lines[0].startswith(b"\xef\xbb\xbf"):
                self._lines[0] = self._lines[0][3:]
        return self._lines

    def may_hold(self, types: FrozenSet[str]) -> bool:
        """Whether a value of one of ``types`` (canonical names) can exist in this file for
        ``Semantic`` to know: a call of something producing one (a constructor, a method
        such as ``Manager().dict``, a subclass), or a parameter annotated with one."""
        found = self._holds.get(types)
        if found is None:
            found = self._holds[types] = self._may_hold(types)
        return found

    def _may_hold(self, types: FrozenSet[str]) -> bool:
        producers, methods = producers_of(types)
        if self.subclasses_of(producers):  # `self` in its methods
            return True
        if self.calls_any(producers) or any(self.methods_called(methods)):
            return True
        names = self.names_for(producers)
        # `defaultdict(Lock)`: the constructor is passed, not called (``Semantic._dict_type``).
        for call in self.calls_to(frozenset({"defaultdict"})):
            if call.args and callee_name(call.args[0]) in names:
                return True
        for functions in self.functions.values():
            for function in functions:
                a = function.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                    if arg is not None and arg.annotation is not None and callee_name(arg.annotation) in names:
                        return True
        return False

    def names_as_written(self) -> bool:
        """Whether every name in CPython's tree is spelled as in the source: an ASCII source
        (CPython reads names NFKC-normalised, ``ｌock`` as ``lock``, where some of the rules'
        visitors compare them as written). When not, a gate must not take two names for one."""
        if self._ascii is None:
            data = self._data
            self._ascii = data is not None and (data[3:] if data.startswith(b"\xef\xbb\xbf") else data).isascii()
        return self._ascii

    def name_may_be(self, name: str, qualnames: FrozenSet[str]) -> bool:
        """Whether the plain name ``name`` may resolve (``Semantic.qualname``, or as a builtin)
        to one of ``qualnames`` (canonical): a builtin of them, a name some assignment binds
        (an alias: ``T = threading.Thread``), any name where a star import may bind it, or
        one an absolute import binds to one of them. Not a name only a relative import, a
        def, a class or a parameter binds (the model leaves relative imports unresolved)."""
        if self.star_imported or f"builtins.{name}" in qualnames or name in self._assigned_names():
            return True
        return any(source and canonical(source) in qualnames for source in self.import_sources.get(name, ()))

    def _assigned_names(self) -> Set[str]:
        """The plain names assignments and ``:=`` bind, in any target (what may alias)."""
        if self._assigned is None:
            targets: List[ast.expr] = [w.target for w in self.walruses]
            for assignment in self.assignments:
                targets.extend(assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target])
            self._assigned = {n.id for t in targets for n in ast.walk(t) if type(n) is ast.Name}
        return self._assigned

    def may_be(self, expr: ast.expr, types: FrozenSet[str]) -> bool:
        """Whether ``Semantic.type_of`` may give ``expr`` (a receiver) one of ``types``: a
        name or ``x.attr`` only where some binding of that name or attribute in the file may
        (a producer's call, a name or attribute that may be one, a container's element, a
        ``for``/``with`` target, a parameter annotated with one or of a module-level def,
        whose arguments ``Thread(target=f, args=(...))`` types), a method's ``self`` where a
        class of the file may derive from a producer, a call of a producer; an expression
        ``type_of`` never types (``a.b.c``, a literal, an operation) never."""
        if not self.may_hold(types):
            return False
        names, attributes = self._typed_bindings(types)
        if isinstance(expr, ast.Name):
            return expr.id in names or (expr.id in self.first_parameters() and bool(self.subclasses_of(producers_of(types)[0])))
        if isinstance(expr, ast.Attribute):
            return isinstance(expr.value, ast.Name) and expr.attr in attributes
        if isinstance(expr, ast.Call):
            return self._may_produce(expr, types)
        return isinstance(expr, ast.Subscript)  # an element of a typed container

    def _may_produce(self, call: ast.Call, types: FrozenSet[str]) -> bool:
        producers, methods = producers_of(types)
        func = call.func
        if type(func) is ast.Attribute and func.attr in methods:
            return True
        calling = self._producing.get(types)
        if calling is None:
            calling = self._producing[types] = self.names_for(self.with_subclasses(producers))
        if callee_name(func) not in calling:
            return False
        return type(func) is not ast.Name or self.callable_may_be(func.id, _constructors_of(types), producers)

    def callable_may_be(self, name: str, qualnames: FrozenSet[str], last_names: FrozenSet[str]) -> bool:
        """``name_may_be``, or ``name`` is a class of the file deriving from one of
        ``last_names`` (a local subclass, called for one of them)."""
        return self.name_may_be(name, qualnames) or any(c.name == name for c in self.subclasses_of(last_names))

    def _typed_bindings(self, types: FrozenSet[str]) -> Tuple[Set[str], Set[str]]:
        """The plain names and the attribute names that some binding of the file may give
        one of ``types`` (``may_be``), computed once per ``types`` to a fixed point (``a = b``
        where ``b`` may be one)."""
        found = self._typed.get(types)
        if found is not None:
            return found
        names: Set[str] = set()
        attributes: Set[str] = set()
        pending: List[Tuple[ast.expr, ast.expr]] = []  # (target, value) to judge
        for assignment in self.assignments:
            targets = assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]
            pending.extend((target, cast(ast.expr, assignment.value)) for target in targets)
        pending.extend((w.target, w.value) for w in self.walruses)
        for loop in self.loops:  # an element of a list of them
            if type(loop) is not ast.While:
                names.update(n.id for n in ast.walk(loop.target) if type(n) is ast.Name)  # type: ignore[union-attr]
        for item in self.with_items:  # `with Pool() as p` (pools return themselves)
            if item.optional_vars is not None:
                pending.append((item.optional_vars, item.context_expr))
        # Parameters annotated with a producer (or a class of the file deriving from one), and
        # the positional ones of a module-level def some `Thread(target=f, args=(...))` runs.
        annotations = self.names_for(self.with_subclasses(producers_of(types)[0]))
        run = {
            callee_name(target)
            for call in self.calls_to(self.with_subclasses(producers_of(WORKER_TYPES)[0]))
            for target in [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "target")]
        }
        module_level = {id(d) for d in module_level_defs(self)} if run else set()
        for functions in self.functions.values():
            for function in functions:
                params = function.args
                positional = [*params.posonlyargs, *params.args] if function.name in run and id(function) in module_level else []
                for arg in (*params.posonlyargs, *params.args, *params.kwonlyargs, params.vararg, params.kwarg):
                    if arg is None:
                        continue
                    if (callee_name(arg.annotation) in annotations) if arg.annotation is not None else any(arg is p for p in positional):
                        names.add(arg.arg)
        # A worklist: a binding whose value is a name or attribute not known to be one yet
        # waits on that name; it is judged again when the name is found to be one (a chain of
        # `a1 = a0; a2 = a1; ...` in any order costs one pass, not one per link).
        waiting: Dict[str, List[Tuple[ast.expr, ast.expr]]] = {}
        found_now: List[str] = []

        def judge(target: ast.expr, value: ast.expr) -> None:
            if not self._value_may_be(value, types, names, attributes):
                if isinstance(value, ast.Name):
                    waiting.setdefault(value.id, []).append((target, value))
                elif isinstance(value, ast.Attribute):
                    waiting.setdefault(value.attr, []).append((target, value))
                return
            if isinstance(target, ast.Attribute):
                bound, name = attributes, target.attr
            elif isinstance(target, ast.Name):
                bound, name = names, target.id
            else:  # unpacked (typed as nothing) or an element of a container
                return
            if name not in bound:
                bound.add(name)
                found_now.append(name)

        found_now.extend(names)
        for target, value in pending:
            judge(target, value)
        while found_now:
            for target, value in waiting.pop(found_now.pop(), ()):
                judge(target, value)
        found = self._typed[types] = (names, attributes | names)  # class attributes: `C.lock`
        return found

    def _value_may_be(self, value: ast.expr, types: FrozenSet[str], names: Set[str], attributes: Set[str]) -> bool:
        if isinstance(value, ast.Call):
            return self._may_produce(value, types)
        if isinstance(value, ast.Name):
            return value.id in names or value.id in self.first_parameters()
        if isinstance(value, ast.Attribute):
            return value.attr in attributes or value.attr in names
        return isinstance(value, (ast.Subscript, ast.Starred))

    def imports_any(self, *modules: str) -> bool:
        """Whether some import statement names one of ``modules`` or a submodule of one (what
        ``Semantic`` resolves qualified names through)."""
        return any(m.split(".", 1)[0] in modules for m in self.imported_modules)

    def is_own_self(self, node: ast.AST, scope: Optional[ast.AST]) -> bool:
        """Whether ``node``, in ``scope``, is the ``self`` of the method ``scope`` (which
        ``Semantic`` types as the class's base type): spelled as written, not in a class
        statement inside the method (a frame of its own, where ``self`` is no method's)."""
        if self._methods is None:
            self._methods = {id(s) for c in self.classes for s in c.body if type(s) in _FUNCTIONS}
        return (
            type(node) is ast.Name
            and id(scope) in self._methods
            and node.id == self_name(scope)
            and self.names_as_written()
            and not self.in_class_within(node, scope)
        )

    def in_class_within(self, node: ast.AST, scope: Optional[ast.AST]) -> bool:
        """Whether ``node`` lies in a class statement (its decorators, bases or body) inside
        ``scope`` (a def, a lambda, or None: the module): ``facts.scope`` does not tell, as a
        class opens no scope here, but the rules' visitors give it a frame of its own."""
        at = position(node)  # type: ignore[arg-type]
        return any(start <= at <= end for start, end in self.class_spans(scope))

    def while_spans(self, scope: Optional[ast.AST]) -> List[Tuple[Position, Position]]:
        """Where each ``while`` statement directly in ``scope`` starts and ends."""
        if self._while_spans is None:
            self._while_spans = {}
            for loop in self.loops:
                if type(loop) is ast.While:
                    self._while_spans.setdefault(id(self.scope.get(loop)), []).append((position(loop), end_position(loop)))
        return self._while_spans.get(id(scope), [])

    def class_spans(self, scope: Optional[ast.AST]) -> List[Tuple[Position, Position]]:
        """Where each class statement directly in ``scope`` (not in a def inside it) starts
        (its first decorator) and ends; indexed once per file."""
        if self._class_spans is None:
            self._class_spans = {}
            for c in self.classes:
                self._class_spans.setdefault(id(self.scope.get(c)), []).append((class_start(c), end_position(c)))
        return self._class_spans.get(id(scope), [])

    def first_parameters(self) -> FrozenSet[str]:
        """The names methods of the file may call ``self``."""
        if self._first_parameters is None:
            # (staticmethods too: `Scopes` drops only a decorator spelled `staticmethod`)
            names = (first_parameter(f) for functions in self.functions.values() for f in functions)
            self._first_parameters = frozenset(n for n in names if n)
        return self._first_parameters

    def with_subclasses(self, last_names: FrozenSet[str]) -> FrozenSet[str]:
        """``last_names`` and the names of the file's classes that may derive from them."""
        return last_names | frozenset(c.name for c in self.subclasses_of(last_names))

    def subclasses_of(self, last_names: FrozenSet[str]) -> List[ast.ClassDef]:
        """Classes of the file that may derive from one of ``last_names``, directly or through
        other classes of the file."""
        found = self._subclasses.get(last_names)
        if found is None:
            bases = set(self.names_for(last_names))
            found, pending = [], list(self.classes)
            changed = True
            while changed:
                changed, left = False, []
                for cls in pending:
                    # (`class W(*bases)`: the model reads the starred value as a base)
                    if any(callee_name(b.value if type(b) is ast.Starred else b) in bases for b in cls.bases):
                        found.append(cls)
                        bases.add(cls.name)
                        changed = True
                    else:
                        left.append(cls)
                pending = left
            self._subclasses[last_names] = found
        return found

    # ------------------------------------------------------------------ collection
    def _alias(self, local: str, source: str) -> None:
        if local != source:
            self.alias_edges.setdefault(source, set()).add(local)


def _call(facts: Facts, node: ast.Call, scope: Optional[Scope]) -> None:
    facts.calls.setdefault(callee_name(node.func), []).append(node)
    facts.scope[node] = scope


def _expr(facts: Facts, node: ast.Expr, scope: Optional[Scope]) -> None:
    value = node.value
    if type(value) is ast.Call:
        facts.statement_calls.setdefault(callee_name(value.func), []).append(value)


def _import(facts: Facts, node: Union[ast.Import, ast.ImportFrom], scope: Optional[Scope]) -> None:
    module = None  # of an absolute `from module import ...`
    if isinstance(node, ast.Import):
        facts.imported_modules.update(alias.name for alias in node.names)
    elif not node.level and node.module:
        module = node.module
        facts.imported_modules.add(module)
    for alias in node.names:
        if alias.asname:
            facts._alias(alias.asname, alias.name.rsplit(".", 1)[-1])
        if isinstance(node, ast.Import):
            facts.import_sources.setdefault(alias.asname or alias.name.split(".")[0], []).append(alias.name)
        elif alias.name == "*":
            facts.star_imported = True
        else:
            source = f"{module}.{alias.name}" if module else ""
            facts.import_sources.setdefault(alias.asname or alias.name, []).append(source)


def _assign(facts: Facts, node: Assignment, scope: Optional[Scope]) -> None:
    value = node.value
    if value is None:
        return
    facts.assignments.append(node)
    facts.scope[node] = scope
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    source = callee_name(value) if type(value) in (ast.Name, ast.Attribute) else ""
    if type(value) is ast.Call and callee_name(value.func) == "get_context":  # (the model: multiprocessing)
        source = "multiprocessing"
    for target in targets:
        if type(target) is ast.Name and source:
            facts._alias(target.id, source)
        elif type(target) is ast.Attribute:
            facts.stored_attributes.add(target.attr)


def _named_expr(facts: Facts, node: ast.NamedExpr, scope: Optional[Scope]) -> None:
    facts.walruses.append(node)
    value = node.value
    if type(value) in (ast.Name, ast.Attribute):
        facts._alias(node.target.id, callee_name(value))


def _function(facts: Facts, node: Function, scope: Optional[Scope]) -> None:
    facts.functions.setdefault(node.name, []).append(node)
    facts.scope[node] = scope


def _class(facts: Facts, node: ast.ClassDef, scope: Optional[Scope]) -> None:
    facts.classes.append(node)
    facts.scope[node] = scope


def _loop(facts: Facts, node: Loop, scope: Optional[Scope]) -> None:
    facts.loops.append(node)
    facts.scope[node] = scope
    if type(node) is ast.While:
        facts.tested.append(node)


def _if(facts: Facts, node: ast.If, scope: Optional[Scope]) -> None:
    facts.tested.append(node)


def _compare(facts: Facts, node: ast.Compare, scope: Optional[Scope]) -> None:
    for operand in (node.left, *node.comparators):
        if type(operand) is ast.Name and operand.id == "__name__":
            facts.name_comparisons.append(node)
            return


def _try(facts: Facts, node: TryStatement, scope: Optional[Scope]) -> None:
    facts.tries.append(node)
    facts.scope[node] = scope


def _with(facts: Facts, node: With, scope: Optional[Scope]) -> None:
    for item in node.items:
        facts.with_items.append(item)
        facts.with_of[item] = node
        facts.scope[item] = scope


# Each collector takes the nodes of the kinds it is filed under.
Collector = Callable[[Facts, Any, Optional[Scope]], None]
COLLECTORS: Dict[type, Collector] = {
    ast.Call: _call,
    ast.Expr: _expr,
    ast.Import: _import,
    ast.ImportFrom: _import,
    ast.Assign: _assign,
    ast.AnnAssign: _assign,
    ast.NamedExpr: _named_expr,
    ast.FunctionDef: _function,
    ast.AsyncFunctionDef: _function,
    ast.ClassDef: _class,
    ast.For: _loop,
    ast.AsyncFor: _loop,
    ast.While: _loop,
    ast.If: _if,
    ast.With: _with,
    ast.AsyncWith: _with,
    ast.Try: _try,
    ast.Compare: _compare,
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    COLLECTORS[ast.TryStar] = _try


# ---------------------------------------------------------------------- helpers for rules
def walk_scope(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node below ``nodes`` (included) that runs in their scope: nested functions,
    lambdas and classes are not entered."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def async_functions(facts: Facts) -> Iterator[ast.AsyncFunctionDef]:
    for functions in facts.functions.values():
        for function in functions:
            if type(function) is ast.AsyncFunctionDef:
                yield function


def statement_lists(statement: ast.AST) -> Iterator[List[ast.stmt]]:
    """The statement lists directly under a statement of CPython's tree: its body, ``else``
    and ``finally``, each ``except`` handler's body and each ``case``'s (a def's or class's
    body too)."""
    for field in ("body", "orelse", "finalbody"):
        inner = getattr(statement, field, None)
        if type(inner) is list:
            yield inner
    for part in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        yield part.body


def module_level_defs(facts: Facts) -> Iterator[Definition]:
    """Functions and classes defined at module level, also under ``if``/``try``/``with``/loops
    (what ``Semantic`` pre-scans), but not inside another function or class."""
    pending = list(facts.module_body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield statement
            continue
        for inner in statement_lists(statement):
            pending.extend(inner)


def class_start(node: ast.ClassDef) -> Position:
    """Where a class statement starts: its first decorator, else ``class``."""
    return min([position(node), *(position(d) for d in node.decorator_list)])


def self_name(function: Optional[ast.AST]) -> Optional[str]:
    """The first parameter of CPython's ``function`` (``self`` when it is a method), unless
    it may be a staticmethod (any decorator so named)."""
    if not isinstance(function, _FUNCTIONS):
        return None
    if any(callee_name(d) == "staticmethod" for d in function.decorator_list):
        return None
    return first_parameter(function)


def first_parameter(function: Function) -> Optional[str]:
    """The first of all its parameters, in ``cstutil.parameters``' order (positional-only,
    plain, keyword-only, ``*args``, ``**kwargs``): what ``Scopes`` takes a method's ``self`` for."""
    a = function.args
    for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
        if arg is not None:
            return arg.arg
    return None


def may_call_own(facts: Facts, call: ast.Call) -> bool:
    """Whether ``call`` may be what ``locks.callee_key`` knows: ``f()`` or ``self.m()``."""
    func = call.func
    if type(func) is ast.Name:
        return True
    if type(func) is not ast.Attribute or type(func.value) is not ast.Name:
        return False
    # `self` of a method, also in a def nested in it: any first parameter of the file.
    return func.value.id in facts.first_parameters()


def method_receiver(call: ast.Call) -> ast.expr:
    """The ``x`` of a call ``x.method(...)``, as ``methods_called`` and ``statement_method_call``
    give them."""
    func = call.func
    assert isinstance(func, ast.Attribute), "not a method call"
    return func.value


def statement_method_call(node: ast.AST, methods: Iterable[str]) -> Optional[ast.Call]:
    """The call when ``node`` is the statement ``x.method(...)`` for one of ``methods``."""
    call = node.value if type(node) is ast.Expr else None
    if type(call) is ast.Call and type(call.func) is ast.Attribute and call.func.attr in methods:
        return call
    return None


Position = Tuple[int, int]
_END = (1 << 62, 0)


def position(node: Union[ast.stmt, ast.expr]) -> Position:
    return (node.lineno, node.col_offset)


def end_position(node: Union[ast.stmt, ast.expr]) -> Position:
    # typeshed allows nodes without an end (built by hand); ast.parse always sets it.
    return cast(Position, (node.end_lineno, node.end_col_offset))


def body_span(statement: Block) -> Tuple[Position, Position]:
    """From the first to the end of the last statement of ``statement``'s body."""
    body = statement.body
    return position(body[0]), end_position(body[-1])


def scope_end(scope: Optional[Scope]) -> Position:
    if scope is None:
        return _END
    return end_position(scope)


def arguments(call: ast.Call) -> Iterator[ast.expr]:
    """The values of every argument, positional and keyword."""
    yield from call.args
    for keyword in call.keywords:
        yield keyword.value


def keyword(call: ast.Call, name: str) -> Optional[ast.expr]:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def methods_of(cls: ast.ClassDef) -> Dict[str, Function]:
    return {s.name: s for s in cls.body if isinstance(s, _FUNCTIONS)}


def never_runs(node: Union[ast.If, ast.While]) -> bool:
    """``if False:`` / ``if 0:``: a body kept for another build (a generated twin) that never
    runs (and ``while False:``, whose body does not either)."""
    return type(node.test) is ast.Constant and not node.test.value


def is_none(node: ast.AST) -> bool:
    return type(node) is ast.Constant and node.value is None


def scalar_literal(node: ast.AST) -> bool:
    """A string, bytes or number literal (what LibCST calls BaseString/BaseNumber)."""
    if type(node) is ast.JoinedStr:
        return True
    if type(node) is ast.UnaryOp and type(node.operand) is ast.Constant:
        node = node.operand
    return type(node) is ast.Constant and type(node.value) in (str, bytes, int, float, complex)


def facts_watched_by_test(facts: Facts, node: Union[ast.stmt, ast.expr]) -> bool:
    """CPython's view of ``cstutil.watched_by_test``: ``node`` in the body of such a ``with``."""
    at = (node.lineno, node.col_offset)
    for item in facts.with_items:
        expr = item.context_expr
        if type(expr) is ast.Call and callee_name(expr.func) in TEST_EXPECTATIONS:
            start, end = body_span(facts.with_of[item])
            if start <= at <= end:
                return True
    return False
