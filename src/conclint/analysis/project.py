"""The project model: what each file tells the project phase, and how names cross files.

Rules that see one file cannot see a deadlock whose two halves sit in two modules. So each
file that may take a lock yields a **summary**, a small JSON-able dict read off CPython's
tree, and the project phase (``conclint.analysis.lockorder``) joins the summaries.

Which files: only those whose bytes name lock vocabulary as a whole word's end
(``needs_summary``: ``Lock``/``RLock``, ``acquire``, ``allocate_lock``, ``Condition``, ``_lock``,
``.lock``; not ``Locked``, ``Conditional``, ``_lock_file``), hold an ``async def``, or call
something named ``...Thread``/``Process``/``Pool``/``Executor``/``Timer`` (kept only when a
spawning call there is handed an imported function: 0 of the 62 such stdlib files). The others
are never parsed for the project (on the standard library: 154 files of 1,790, 82 for locks;
the screen's tree is reused where it has one). The bound this puts on
the analysis: a call chain is followed only through functions of summarised files, so a
lock taken behind a helper module that mentions no lock at all is not seen.

The lock keys are filled for files naming lock vocabulary, "a" and "w" for files with an
``async def`` (CCL404 across modules: a coroutine function of one module called without
``await`` in another), "s" for files making threads, processes or pools (CCL105 and CCL303
across modules: what the defining module's top level says of the function handed on is read
in the project phase, by ``definitions``, from that file: a helper module needs no
summary), "r" for files naming lock vocabulary whose ``x.acquire()`` may take a lock another
module's helper makes (CCL201 across modules). The summary (``summarise``; keys are short because thousands are
cached)::

    {"v": 3,
     "n": bool,                            # the file says `# conclint: noqa`
     "i": {alias: [level, "a.b"]},         # imports (any scope): `from ..a import b` -> [2, "a.b"]
     "k": {name: kind},                    # module-level locks
     "c": {Class: {"b": [ref], "k": {attr: kind}, "t": {attr: ref}}},   # module-level classes:
                                           # bases, lock attributes, attributes set to `ref(...)`
     "f": {qual: {"k": Class or "", "p": parent or "", "a": [acquisition], "c": [call],
                  "x": 0 closed helper, 1 function, 2 its call runs nothing there}},
     "t": {"<line>": text},                # the source lines of sites taken while holding a
                                           # lock, and of the calls in "w"
     "a": {name: [line, column, end_line, end_column]},   # module-level coroutine functions
     "w": [[ref, line, column, end_line, end_column]],    # statements calling an imported name
                                                          # and dropping what it returns
     "g": [[line, column, end_line, end_column, [[level, module, *site, plain]], full]],  # gevent's
                                           # monkey.patch_*() at module level, the imports above it
                                           # (plain: 1 for `import x`), full: 1 for an
                                           # unconditional patch_all() in the module's body
     "r": [[ref, line, column, end_line, end_column]],  # `x.acquire()` CCL201 would report if
                                           # x, bound only to a call of imported `ref`, were a lock
     "s": [[ref, flags, line, column, end_line, end_column]],  # an imported function, or a
                                           # call of one, handed to a thread, process or pool
                                           # (flags: SPAWN_CALLED, SPAWN_RUN, SPAWN_PICKLED)
     "q": {"<line>": comment}}             # the comments (as the tokenizer reads them) of the
                                           # lines in "t" that may hold a noqa (filled by
                                           # conclint.project.summary_of)

``qual`` is ``f``, ``Class.method`` or ``outer.inner`` (a def nested in ``outer``). A lock
kind is ``"L"`` (not re-entrant), ``"R"`` (re-entrant: RLock, a Condition of its own) or
``"=<ref>"`` (the same lock as ``ref``: ``Condition(self._lock)``). An acquisition is
``[ref, line, column, end_line, end_column, blocking, [held refs]]``; a call is ``[ref, line,
column, end_line, end_column, [held refs]]`` (1-based lines, 1-based columns in characters,
ends exclusive: as findings have them). A ref is a string: ``n:NAME`` (a bare name),
``s:attr`` (``self.attr``/``cls.attr``), ``a:attr.name`` (``self.attr.name``), ``d:a.b.c`` (a dotted
name), ``u:attr`` (``super().attr``). Refs are resolved only in the project phase (``Project``), where every
module's names are known.

Module names are not part of the summary (a new ``__init__.py`` changes them, not the file's
bytes): ``ModuleNamer`` gives them from the package layout at each run.
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import os
import re
import sys
import sysconfig
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet, Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

from conclint.analysis.acquires import acquires
from conclint.analysis.catalogue import (
    CONDITION_TYPES, CONSTRUCTORS, LOCK_TYPES, POOL_TYPES, PROCESS_POOL_TYPES, PROCESS_TYPES, SPAWN_CONSTRUCTORS, START_METHOD_CALLS,
    SPAWN_METHODS, TEST_EXPECTATIONS, TRANSPARENT_DECORATORS, RUNS_ON_CALL_DECORATORS, VALUE_BUILTINS, VALUE_METHODS, SpawnSignature, canonical,
    method_signature,
)
from conclint.analysis.facts import Facts, never_runs, statement_lists
from conclint.gate import imports_name

VERSION = 5
# Lock vocabulary: a file without any of these words takes no lock the model knows. The
# words ending there (`self._lock`, `RLock()`), not inside a longer one (`Locked`); what
# ``names_locks`` looks for (this regex is its definition, and the test of it).
TRIGGER_RE = re.compile(rb"(?:Lock|acquire|allocate_lock|Condition|_lock|\.lock|_LOCK|\bLOCK)\b")  # A_LOCK too
# Beyond this the file is generated: no summary (LibCST's screen refuses it too).
MAX_SUMMARY_BYTES = 2 * 1024 * 1024
REENTRANT_TYPES = frozenset({"threading.RLock", "multiprocessing.RLock"})
ASYNC_DEF = b"async def"
# Bytes naming the making of a thread, process, timer, pool or executor: a file without them
# hands no function to one that the model knows (a pool's methods are followed only where the
# pool is made).
SPAWN_WORDS = (b"Thread", b"Process", b"Pool", b"Executor", b"Timer")
_SPAWN_RE = re.compile(rb"(?:Thread|Process|Pool|Executor|Timer)\s*\(")

Summary = Dict[str, Any]
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_LINE_RE = re.compile(r"\r\n|\r|\n")
# An import statement indented: one in a def (or a class, or under if/try), whose names only
# that def sees. What comes before its `import` on the line, and what follows it up to the
# end of the line or a closing parenthesis.
_IMPORT_TAIL_RE = re.compile(r"[ \t\\\r\n]*(\([^)]*\)?|(?:[^\n;#\\]|\\\r?\n)*)")
_WORD_RE = re.compile(r"\w+")
# `if False:` or `if 0:`, whose body never runs (``facts.never_runs``).
_NEVER_RE = re.compile(r"if[ \t(]+(?:False|0)[ \t)]*:")  # (`elif False:` too; no leading \b: slow)


def _import_words(text: str) -> FrozenSet[str]:
    """The words after the word ``import`` anywhere (after ``;``, on a def's line, joined by
    backslashes, at module level too): a superset of the names imports in defs bind
    (``import a.b`` binds ``a``; ``as`` and the dotted tails count too)."""
    words: Set[str] = set()
    at = text.find("import")
    line_start = scanned = 0
    while at >= 0:  # (plain searches, each stretch read once: linear in the text)
        newline = text.rfind("\n", scanned, at)
        if newline >= 0:
            line_start = newline + 1
        scanned = at
        end = at + 6
        if (
            (at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")) and text[end: end + 1] in (" ", "\t", "\\", "(")
            and not _module_statement(text, line_start, at)
        ):
            tail = _IMPORT_TAIL_RE.match(text, end)
            if tail is not None:
                words.update(_WORD_RE.findall(tail.group(1)))
                end = max(end, tail.end())
        at = text.find("import", end)
    return frozenset(words)


def _module_statement(text: str, line_start: int, at: int) -> bool:
    """Whether the import whose keyword is at ``at`` starts its line at column 0 with nothing
    before it that could put it in a def (`;`, `:`): a module-level import, which the
    summary files as such (a long line is taken as maybe in a def: the safe side)."""
    if text[line_start: line_start + 1] in (" ", "\t", "\f") or at - line_start > 200:
        return False
    return text.find(";", line_start, at) < 0 and text.find(":", line_start, at) < 0


def needs_summary(data: bytes) -> bool:
    """Whether a file's bytes may hold anything the project phase reads: lock vocabulary,
    an ``async def`` (coroutine functions, and calls of other modules' ones), gevent's
    patching, or the making of a thread, process or pool (what it is handed)."""
    return names_locks(data) or ASYNC_DEF in data or _patches_with_gevent(data) or _names_spawns(data)


def _names_spawns(data: bytes) -> bool:
    # A spawn is known by a qualified name, so one of its modules must be imported: the files
    # that name `Thread(` otherwise (their own classes, a docstring) are not parsed for it.
    return (
        any(word in data for word in SPAWN_WORDS)
        and _SPAWN_RE.search(data) is not None
        and any(imports_name(data, module) for module in _SPAWN_MODULES)
    )


# The modules whose names (``canonical`` ones, or spellings it maps to them) make threads,
# processes and pools.
_SPAWN_MODULES = (b"threading", b"multiprocessing", b"concurrent", b"dummy_threading")


def _patches_with_gevent(data: bytes) -> bool:
    return b"gevent" in data and b"patch_" in data


def names_locks(data: bytes) -> bool:
    """Whether ``data`` names lock vocabulary (``TRIGGER_RE`` finds a match).
    Each word looked for with ``bytes.find`` and its end checked by hand: the regex (an
    alternation with no literal to scan for) cost six times as much over the standard library."""
    for word in _ENDING_WORDS:
        at = data.find(word)
        while at >= 0:
            end = at + len(word)
            if end == len(data) or data[end] not in _WORD_BYTES:
                return True
            at = data.find(word, at + 1)
    at = data.find(b"LOCK")  # also starting a word
    while at >= 0:
        end = at + 4
        if (at == 0 or data[at - 1] not in _WORD_BYTES) and (end == len(data) or data[end] not in _WORD_BYTES):
            return True
        at = data.find(b"LOCK", at + 1)
    return False


# What ``TRIGGER_RE`` finds, ending a word: ``allocate_lock`` ends in ``_lock``. (Edit the two
# together: tests/test_fuzz.py holds ``names_locks`` to the regex.)
_ENDING_WORDS = (b"Lock", b"_lock", b"acquire", b"Condition", b".lock", b"_LOCK")
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class SummaryError(ValueError):
    """A cached summary is not one this module writes."""


def summarise(
    data: bytes, tree: Optional[ast.Module] = None, *, file_noqa: bool = False, facts: Optional[Facts] = None
) -> Optional[Summary]:
    """The summary of a file (its bytes, and CPython's tree of them when the caller has one,
    with the screen's ``Facts`` of it), or None when it needs none or CPython cannot read it."""
    if len(data) > MAX_SUMMARY_BYTES:  # (first: the byte scans below cost a second on 40 MiB)
        return None
    # needs_summary's four tests, each made once: they also say which parts to fill.
    locks, coroutines, gevent = names_locks(data), ASYNC_DEF in data, _patches_with_gevent(data)
    spawns = _names_spawns(data)
    if not (locks or coroutines or gevent or spawns):
        return None
    try:
        if tree is None:
            tree = ast.parse(data)
        text = decode(data)
        summariser = _Summariser(text, file_noqa, locks=locks, coroutines=coroutines, gevent=gevent, spawns=spawns)
        summary = summariser.run(tree, facts)
    except (SyntaxError, ValueError, RecursionError, MemoryError, LookupError):
        return None  # not Python CPython reads, or nested too deep: the file's own lint says so
    # A file summarised only for what it spawns, that hands no imported function on: nothing to say.
    return summary if summary["s"] or locks or coroutines or gevent else None


def decode(data: bytes) -> str:
    """A file's text as CPython reads it (its coding cookie), undecodable bytes replaced."""
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        encoding = "utf-8"
    return data.decode(encoding, "replace").lstrip("\ufeff")


def _dotted(node: ast.AST) -> Optional[str]:
    parts: List[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Summariser:
    def __init__(
        self, text: str, file_noqa: bool, *, locks: bool = True, coroutines: bool = True, gevent: bool = True,
        spawns: bool = True,
    ) -> None:
        self.with_locks = locks
        self.with_spawns = spawns
        self.text = text
        self.made_acquires: List[List[Any]] = []
        self.spawns: List[List[Any]] = []
        # Per def, the names it binds (read only when needed): each to the key in ``imports``
        # of the import in the def that binds it, None when bound otherwise (or twice).
        self.bound_in: Dict[int, Dict[str, Optional[str]]] = {}
        self.imported_in: Dict[int, Dict[str, Optional[str]]] = {}  # per def, ``_imports_of_def``
        self._def_import_names: Optional[FrozenSet[str]] = None  # made when first asked
        self.with_coroutines = coroutines
        self.with_gevent = gevent
        self.patches: List[List[Any]] = []
        self.coroutines: Dict[str, List[int]] = {}
        self.unawaited: List[List[Any]] = []
        self.lines = _LINE_RE.split(text)
        self.imports: Dict[str, List[Any]] = {}
        self.locks: Dict[str, str] = {}
        self.classes: Dict[str, Dict[str, Any]] = {}
        self.functions: Dict[str, Dict[str, Any]] = {}
        self.texts: Dict[str, str] = {}
        self.module_names: Set[str] = set()
        self.noqa = file_noqa
        self._yield_lines: Optional[List[int]] = None  # (``_deferred``)

    def run(self, tree: ast.Module, facts: Optional[Facts] = None) -> Summary:
        top = list(_module_level(tree.body))
        imported_at: Dict[str, int] = {}  # the line of the last module-level import of each name
        for node in top:  # imports in defs are filed as the walk meets them
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
                for name in _top_bindings(node):
                    imported_at[name] = max(imported_at.get(name, 0), node.lineno)
        unconditional = {id(node) for node in tree.body}

        def rebound(name: str, node: ast.stmt) -> None:
            """A binding of an imported name ends the import when it surely runs after it:
            in the module's own body (not a fallback under `except ImportError:` or an `if`),
            below the import."""
            if id(node) in unconditional and node.lineno > imported_at.get(name, 0):
                self.imports.pop(name, None)

        for node in top:
            if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                self.module_names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if type(target) is ast.Name:
                        if node.value is not None and not self._alias(target.id, node.value):
                            rebound(target.id, node)
                    else:  # an unpacking (`fetch, x = print, 1`): no alias of anything
                        for name in _bound_names(target):
                            rebound(name, node)
                kind = self._lock_kind(node.value, "") if node.value is not None else None
                if kind is None and type(node.value) is ast.Name and node.value.id in self.locks:
                    kind = f"=n:{node.value.id}"  # `B_LOCK = A_LOCK`: one lock, two names
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if type(target) is ast.Name and kind:
                        self.locks[target.id] = kind
                        self.module_names.add(target.id)
                        kind = f"=n:{target.id}"  # `a = b = RLock()`: one lock, two names
            elif isinstance(node, ast.If):
                for name in _bound_names(node.test):  # (`if (fetch := ...):`, which runs)
                    rebound(name, node)
            elif isinstance(node, ast.Try):
                pass  # (`except ... as fetch` runs only sometimes; its statements come one by one)
            elif not isinstance(node, (ast.Import, ast.ImportFrom)):
                # Any other binding of an imported name (a `for` or `with` target, `:=`,
                # `+=`): no longer the import.
                for name in _bound_names(node):
                    rebound(name, node)
        if self.with_locks:
            for node in top:
                if isinstance(node, ast.ClassDef):
                    self._class(node)
                elif isinstance(node, _FUNCTIONS):
                    self._function(node, node.name, "", "")
            self._closed_helpers()
        if self.with_coroutines:
            self._coroutines(tree, top)
        if self.with_gevent:
            self._gevent_patches(top, tree.body)
        if self.with_spawns and (self.imports or self.def_imports) and self._may_hand_on_imports(tree, facts):
            self._spawned(tree)
        if self.with_locks and self.imports and self._may_acquire_a_made_lock():
            self._made_lock_acquires(tree)
        text = self.text
        if ("if False" in text or "if 0" in text or "if (False" in text or "if (0" in text) and _NEVER_RE.search(text):
            self._drop_what_never_runs(tree)
        return {
            "v": VERSION, "n": self.noqa, "i": self.imports, "k": self.locks, "c": self.classes,
            "f": self.functions, "t": self.texts, "a": self.coroutines, "w": self.unawaited, "g": self.patches,
            "s": self.spawns, "r": self.made_acquires, "q": {},
        }

    def _closed_helpers(self) -> None:
        """Mark (``"x": 0``) each private function or method that the file names only where
        it defines and calls it: never handed on as a value (a thread's target, a callback),
        so what every call of it holds is what it runs under (``Project.entry_held``)."""
        private = [q for q, record in self.functions.items() if record["a"] and _private(q.rpartition(".")[2])]
        if not private:
            return
        words = Counter(_WORD_RE.findall(self.text))
        calls = Counter(_ref_name(call[0]) for record in self.functions.values() for call in record["c"])
        defined = Counter(qual.rpartition(".")[2] for qual in self.functions)
        for qual in private:
            name = qual.rpartition(".")[2]
            # Each mention is a def or a call the walk filed (defs without a record would
            # count as mentions: then the name is taken as handed on, the safe side).
            if words[name] <= defined[name] + calls[name] and self.functions[qual]["x"] == 1:
                self.functions[qual]["x"] = 0

    def _drop_what_never_runs(self, tree: ast.Module) -> None:
        """Forget what the passes filed inside ``if False:`` (``never_runs``): a body kept
        for another build, which no rule reports on."""
        dead: List[Tuple[int, int]] = [
            (stmt.body[0].lineno, stmt.body[-1].end_lineno or stmt.body[-1].lineno)
            for stmt in itertools.chain(tree.body, _statements_in(tree))
            if type(stmt) is ast.If and never_runs(stmt) and stmt.body
        ]
        if not dead:
            return

        def alive(line: Any) -> bool:
            return not any(first <= line <= last for first, last in dead)

        for record in self.functions.values():
            record["a"] = [a for a in record["a"] if alive(a[1])]
            record["c"] = [c for c in record["c"] if alive(c[1])]
        self.spawns = [s for s in self.spawns if alive(s[2])]
        self.made_acquires = [r for r in self.made_acquires if alive(r[1])]
        self.unawaited = [w for w in self.unawaited if alive(w[1])]
        self.patches = [[*p[:4], [i for i in p[4] if alive(i[2])], p[5]] for p in self.patches if alive(p[0])]
        self.coroutines = {name: site for name, site in self.coroutines.items() if alive(site[0])}

    @property
    def def_import_names(self) -> FrozenSet[str]:
        """The names imports in defs may bind (a superset, from the text): such a def's
        imports are filed as ``name#line`` (``scoped_import``)."""
        if self._def_import_names is None:
            self._def_import_names = _import_words(self.text)
        return self._def_import_names

    @property
    def def_imports(self) -> bool:
        return bool(self.def_import_names)

    def _made_lock_acquires(self, tree: ast.Module) -> None:
        """File the acquires CCL201 would report were their receiver a lock, where it holds
        what an imported name's call makes (``analysis.acquires``), at the ``acquire`` name."""
        for ref, attribute in acquires(tree, self._imported_ref):
            line = attribute.end_lineno or attribute.lineno
            end = self._column(line, attribute.end_col_offset or 0)
            self.made_acquires.append([ref, line, end - len(attribute.attr), line, end])
            self.keep_text(line, line)

    def _may_acquire_a_made_lock(self) -> bool:
        """Whether some ``x.acquire()`` statement's ``x`` may be assigned the call of an
        imported name (``x = allocate_lock()``): the text's look, before any walk."""
        text = self.text
        names: Set[str] = set()
        at = text.find(".acquire(")
        while at >= 0:
            receiver = text[text.rfind("\n", 0, at) + 1: at].strip()  # a statement: alone on its line
            if receiver and all(part.isidentifier() for part in receiver.split(".")):
                names.add(receiver.rpartition(".")[2])
            at = text.find(".acquire(", at + 9)
        if not names:
            return False
        alternatives = "|".join(sorted(map(re.escape, names)))
        for callee in re.findall(rf"\b(?:{alternatives})\s*=\s*([\w.]+)\(\s*\)", text):
            head, _, rest = callee.partition(".")
            imported = self.imports.get(head)
            if imported is not None and head not in self.module_names:
                # Not a constructor the catalogue knows (`threading.Lock()`): the file's own
                # run knows what that makes.
                if imported[0] or canonical(f"{imported[1]}.{rest}" if rest else imported[1]) not in CONSTRUCTORS:
                    return True
        return False

    # ---------------------------------------------------------------- spawning calls
    def _may_hand_on_imports(self, tree: ast.Module, facts: Optional[Facts]) -> bool:
        """Whether some call that may spawn (a constructor of the catalogue, a method named as a
        pool's) is given an imported name or a call of one: the one look most files need (the
        screen's index of calls by name when there is one, else a walk of the tree)."""
        calls: Iterable[ast.Call] = _calls_in(tree) if facts is None else itertools.chain(
            facts.calls_to(_SPAWNING_NAMES), facts.methods_called(SPAWN_METHODS)
        )
        for call in calls:
            func = call.func
            # By the last name (`ctx.Process(...)`, `pool.map(...)`), or an alias of a constructor.
            last = func.attr if type(func) is ast.Attribute else getattr(func, "id", None)
            if last not in _SPAWN_LAST_NAMES and self._made(func, set()) not in _SPAWNING:
                continue
            for arg in (*call.args, *(k.value for k in call.keywords)):
                handed = arg.func if type(arg) is ast.Call else arg
                if self._imported_ref(handed) is not None or (
                    (_dotted(handed) or "").split(".", 1)[0] in self.def_import_names
                ):
                    return True  # (a name a def may import: the walk tells)
        return False

    def _spawned(self, tree: ast.Module) -> None:
        """The calls that hand a function to a thread, process, timer, pool or executor
        (``spawn.spawn_signature``'s, and process pools' ``initializer``), where that function
        is an imported name or a call of one: ``[ref, flags, *site of the argument]``, flags
        ``SPAWN_CALLED`` (the argument calls it), ``SPAWN_RUN`` (the call runs what it is
        given: CCL303's), ``SPAWN_PICKLED`` (a process gets it: CCL105's). The project phase
        tells what the name is in the module defining it. A pool's methods are followed where
        a name of the def (or of the module, or of a def around it) is bound to the pool, or
        its class keeps it in ``self.x``."""
        fork = False
        pending: List[Tuple[Sequence[ast.stmt], Tuple[ast.AST, ...], Dict[str, str]]] = [(tree.body, (), {})]
        while pending:
            body, defs, outer = pending.pop()
            nodes: List[ast.AST] = []
            nested: List[_Function] = []
            methods: Dict[int, Dict[str, str]] = {}  # method -> the pools its class keeps in `self.x`
            stack: List[ast.AST] = list(reversed(body))
            while stack:  # in source order: a context is bound before its pool is made
                node = stack.pop()
                if isinstance(node, _FUNCTIONS):
                    nodes.extend(node.decorator_list)
                    nested.append(node)
                    continue
                if type(node) is ast.ClassDef:
                    kept = self._pools_kept(node)
                    methods.update((id(m), kept) for m in node.body if isinstance(m, _FUNCTIONS))
                nodes.append(node)
                stack.extend(reversed(_child_nodes(node)))
            made = dict(outer)
            contexts: Set[str] = set()
            for node in nodes:  # the pools (and multiprocessing contexts) this scope binds
                if type(node) is ast.Assign and len(node.targets) == 1 and type(node.targets[0]) is ast.Name:
                    value, name = node.value, node.targets[0].id
                elif type(node) is ast.withitem and type(node.optional_vars) is ast.Name:
                    value, name = node.context_expr, node.optional_vars.id
                else:
                    continue
                kind = self._made(value.func, contexts, defs) if type(value) is ast.Call else None
                if kind == "multiprocessing.get_context":
                    contexts.add(name)
                elif kind is not None and kind in POOL_TYPES:
                    made[name] = kind
            pending.extend((inner.body, (*defs, inner), {**made, **methods.get(id(inner), {})}) for inner in nested)
            for node in nodes:
                if type(node) is ast.Call:
                    fork = self._spawn_call(node, defs, made, contexts) or fork
        if fork:  # a file that asks for "fork" only ever copies a process's function
            self.spawns = [
                [ref, flags & ~SPAWN_PICKLED, *site] for ref, flags, *site in self.spawns
                if flags & SPAWN_RUN and flags & SPAWN_CALLED
            ]

    def _spawn_call(self, call: ast.Call, defs: Tuple[ast.AST, ...], pools: Mapping[str, str], contexts: Set[str]) -> bool:
        """File ``call`` if it hands on an imported function; True when it selects ``fork``."""
        func = call.func
        kind = self._made(func, contexts, defs)
        signature: Optional[SpawnSignature] = None
        arg: Optional[ast.AST] = None
        pickled = False
        if kind in START_METHOD_CALLS:
            first = call.args[0] if call.args else None
            return type(first) is ast.Constant and first.value == "fork"
        if kind in SPAWN_CONSTRUCTORS:
            signature = SPAWN_CONSTRUCTORS[kind]
            arg = _argument(call, *signature.func)
            pickled = kind in PROCESS_TYPES
        elif kind in PROCESS_POOL_TYPES:
            arg = _argument(call, "initializer", 1 if kind == "multiprocessing.Pool" else 2)
            pickled = True
        elif type(func) is ast.Attribute and _dotted(func.value) in pools:
            receiver = pools[_dotted(func.value)]  # type: ignore[index]  # a str: in pools
            signature = method_signature(receiver, func.attr)
            if signature is not None:
                arg = _argument(call, *signature.func)
                pickled = receiver in PROCESS_POOL_TYPES
        if arg is None:
            return False
        called = type(arg) is ast.Call
        flags = (SPAWN_CALLED if called else 0) | (SPAWN_RUN if signature is not None else 0) | (SPAWN_PICKLED if pickled else 0)
        if not (pickled or (called and signature is not None)):
            return False  # a thread given an imported function itself: nothing to check
        ref = self._scoped_ref(arg.func if called else arg, defs)  # type: ignore[attr-defined]
        if ref is None:
            return False
        site = self.site(arg)
        self.spawns.append([ref, flags, *site])
        self.keep_text(site[0], site[2])
        return False

    def _pools_kept(self, cls: ast.ClassDef) -> Dict[str, str]:
        """The pools a class keeps in attributes of ``self`` (``self.pool = Pool()`` in any
        of its methods), as ``{"self.pool": type}``; an attribute also bound otherwise is left out."""
        kept: Dict[str, Optional[str]] = {}
        for method in cls.body:
            if not isinstance(method, _FUNCTIONS):
                continue
            for node in _statements_in(method):
                if type(node) is ast.Assign and len(node.targets) == 1 and _is_self_attr(node.targets[0]):
                    value = node.value
                    if _is_none(value):
                        continue  # `self.pool = None` once it is closed
                    kind = self._made(value.func, set()) if type(value) is ast.Call else None
                    key = f"self.{node.targets[0].attr}"  # type: ignore[attr-defined]
                    made = kind if kind is not None and kind in POOL_TYPES else None
                    kept[key] = made if kept.get(key, made) == made else None
        return {key: kind for key, kind in kept.items() if kind is not None}

    def _made(self, func: ast.AST, contexts: Set[str], defs: Tuple[ast.AST, ...] = ()) -> Optional[str]:
        """The canonical name of what a call of ``func`` (in ``defs``) makes; ``ctx.Pool`` of a
        multiprocessing context (``ctx = multiprocessing.get_context(...)``) is ``multiprocessing.Pool``."""
        if type(func) is ast.Attribute:
            value = func.value
            if (type(value) is ast.Name and value.id in contexts) or (
                type(value) is ast.Call and self._made(value.func, set(), defs) == "multiprocessing.get_context"
            ):
                return canonical(f"multiprocessing.{func.attr}")
        # A def's own import of the name decides (`import multiprocessing` in `main()`).
        return self._qualname(func, self._imported_in(func, defs) if self.def_imports and defs else "")

    def _imported_in(self, node: ast.AST, defs: Tuple[ast.AST, ...]) -> str:
        """The key of the import of dotted ``node``'s head made by the innermost def of
        ``defs`` importing it (once), "" when none does (the module's imports decide)."""
        head = (_dotted(node) or "").split(".", 1)[0]
        if head not in self.def_import_names:
            return ""
        for scope in reversed(defs):
            imported = self._imports_of_def(scope)
            if head in imported:
                return imported[head] or ""
        return ""

    def _imports_of_def(self, scope: ast.AST) -> Dict[str, Optional[str]]:
        """The names the imports of def ``scope`` bind (not those of defs nested in it), each
        to its key in ``imports``; None for a name two imports bind. Read once per def."""
        imported = self.imported_in.get(id(scope))
        if imported is None:
            imported = self.imported_in[id(scope)] = {}
            for stmt in _statements_of(scope):
                if type(stmt) in (ast.Import, ast.ImportFrom):
                    for name, key in self.scoped_import(stmt).items():  # type: ignore[arg-type]
                        imported[name] = None if name in imported else key
        return imported

    def _binding(self, head: str, defs: Tuple[ast.AST, ...]) -> Optional[str]:
        """How name ``head`` is bound where it stands in ``defs``: "" at module level, the
        key of a def's import of it, None when a def binds it otherwise."""
        for scope in reversed(defs):  # the innermost def binding it decides (a closure's names too)
            bound = self.bound_in.get(id(scope))
            if bound is None:
                bound = self.bound_in[id(scope)] = self._bindings(scope)
            if head in bound:
                return bound[head]
        return ""

    def _scoped_ref(self, func: ast.AST, defs: Tuple[ast.AST, ...]) -> Optional[str]:
        """``_imported_ref`` of ``func`` where it stands in ``defs``: a name a def around it
        imports is its ref through that import (``n:fetch#12``); one a def binds otherwise is
        none."""
        name = _dotted(func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head not in self.imports and head not in self.def_import_names:
            return None  # nothing any import binds (most calls: one look)
        key = self._binding(head, defs)
        if key == "":
            if head not in self.imports or head in self.module_names:
                return None
            return f"n:{name}" if not rest else f"d:{name}"
        if key is None:
            return None
        return f"d:{key}.{rest}" if rest else f"n:{key}"

    def _bindings(self, scope: ast.AST) -> Dict[str, Optional[str]]:
        """The names def ``scope`` binds itself (not those of defs nested in it): each to
        the key of the import binding it (filed in ``imports``), None when something else
        binds it (a parameter, an assignment, a loop or ``with`` target, a nested def or
        class, ``except ... as``), or two imports do."""
        args = scope.args  # type: ignore[attr-defined]
        names: Dict[str, Optional[str]] = dict.fromkeys(
            a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None
        )
        stack: List[ast.AST] = list(scope.body)  # type: ignore[attr-defined]
        while stack:  # one walk, not into the defs, classes and lambdas inside
            node = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    names[node.id] = None  # type: ignore[attr-defined]
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
                names[node.name] = None  # type: ignore[attr-defined]
            elif kind not in (ast.Lambda, ast.Import, ast.ImportFrom):  # (imports: ``_imports_of_def``)
                if kind is ast.ExceptHandler and node.name:  # type: ignore[attr-defined]
                    names[node.name] = None  # type: ignore[attr-defined]
                stack.extend(ast.iter_child_nodes(node))
        for name, found in self._imports_of_def(scope).items():
            names[name] = found if name not in names else None
        return names

    def scoped_import(self, node: Union[ast.Import, ast.ImportFrom]) -> Dict[str, str]:
        """The names an import in a def binds, each to its key ``name#line``, filed in
        ``imports`` under it: a def's import is seen only there."""
        keys: Dict[str, str] = {}
        for alias in node.names:
            if alias.name == "*":
                continue
            if isinstance(node, ast.Import):
                bound = alias.asname or alias.name.split(".", 1)[0]
                target, level = (alias.name if alias.asname else bound), 0
            else:
                bound = alias.asname or alias.name
                target = f"{node.module}.{alias.name}" if node.module else alias.name
                level = node.level
            key = keys[bound] = f"{bound}#{node.lineno}"
            self.imports[key] = [level, target]
        return keys

    # ---------------------------------------------------------------- gevent
    def _gevent_patches(self, top: Sequence[ast.stmt], body: Sequence[ast.stmt]) -> None:
        """The module-level ``monkey.patch_*()`` call, and the imports above it at module level
        (``[level, module, *site, plain]``; ``from a import b`` twice, as ``a.b`` and ``a``: ``b`` may
        be a module): the project phase follows those of the project's own modules. Last, 1
        when the call is ``patch_all()`` in the module's own body (not under an ``if`` or a
        ``try``): then importing the module patches everything, whatever runs it."""
        imports: List[List[Any]] = []
        for stmt in top:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                site = self.site(stmt)
                if isinstance(stmt, ast.Import):
                    imports.extend([0, alias.name, *site, 1] for alias in stmt.names)
                else:
                    base = stmt.module or ""
                    for alias in stmt.names:
                        if alias.name != "*":
                            imports.append([stmt.level, f"{base}.{alias.name}" if base else alias.name, *site, 0])
                    if base:
                        imports.append([stmt.level, base, *site, 0])
            elif type(stmt) is ast.Expr and type(stmt.value) is ast.Call:
                name = self._qualname(stmt.value.func) or ""
                if name.startswith("gevent.monkey.patch_"):
                    for entry in imports:
                        self.keep_text(entry[2], entry[4])
                    full = int(name == "gevent.monkey.patch_all" and any(stmt is top_level for top_level in body))
                    self.patches.append([*self.site(stmt.value), imports, full])
                    return

    # ---------------------------------------------------------------- coroutines
    def _coroutines(self, tree: ast.Module, top: Sequence[ast.stmt]) -> None:
        """The module's own coroutine functions, and the statements that call an imported
        name and drop the result (``fetch()`` where ``await fetch()`` was meant): the
        project phase tells which of those name another module's coroutine function."""
        final: Dict[str, ast.stmt] = {}  # each name's last module-level binding: what callers get
        for node in top:
            for name in _top_bindings(node):
                final[name] = node
        for node in top:
            if (
                type(node) is ast.AsyncFunctionDef and final.get(node.name) is node
                and all(_dotted(d) in TRANSPARENT_DECORATORS for d in node.decorator_list)
            ):
                line = node.lineno
                column = self._column(line, node.col_offset)
                generator = int(_yields(node))  # an async generator: iterated, never awaited
                self.coroutines[node.name] = [line, column, line, column + len(f"async def {node.name}"), generator]
        if not self.imports and not self.def_imports:
            return
        # Statements only: a dropped call is an expression statement, and no statement is
        # inside an expression.
        pending: List[Tuple[Sequence[ast.stmt], Tuple[ast.AST, ...]]] = [(tree.body, ())]
        while pending:
            body, defs = pending.pop()
            for stmt in body:
                kind = type(stmt)
                if kind is ast.Expr:
                    call = stmt.value  # type: ignore[attr-defined]
                    if type(call) is ast.Call:
                        self._dropped_call(call, defs)
                elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                    pending.append((stmt.body, (*defs, stmt)))  # type: ignore[attr-defined]
                elif kind is ast.ClassDef:
                    pending.append((stmt.body, defs))  # type: ignore[attr-defined]
                elif kind in (ast.With, ast.AsyncWith) and _expects_failure(stmt):
                    continue
                elif kind is ast.If and never_runs(stmt):  # type: ignore[arg-type]
                    pending.append((stmt.orelse, defs))  # type: ignore[attr-defined]
                else:
                    pending.extend((inner, defs) for inner in statement_lists(stmt))

    def _dropped_call(self, call: ast.Call, defs: Tuple[ast.AST, ...]) -> None:
        ref = self._scoped_ref(call.func, defs)
        if ref is None:
            return  # not an import, or a local of a def around the call
        site = self.site(call)
        self.unawaited.append([ref, *site])
        self.keep_text(site[0], site[2])

    def _imported_ref(self, func: ast.AST) -> Optional[str]:
        """``n:name`` or ``d:a.b`` when ``func`` names something imported (and not defined at
        module level too), else None."""
        name = _dotted(func)
        if name is None:
            return None
        head = name.split(".", 1)[0]
        if head not in self.imports or head in self.module_names:
            return None
        return f"n:{name}" if head == name else f"d:{name}"

    # ---------------------------------------------------------------- module level
    def _import(self, node: Union[ast.Import, ast.ImportFrom]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = [0, alias.name]
                else:
                    head = alias.name.split(".", 1)[0]
                    self.imports.setdefault(head, [0, head])
            return
        base = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                continue
            target = f"{base}.{alias.name}" if base else alias.name
            self.imports[alias.asname or alias.name] = [node.level, target]

    def _alias(self, name: str, value: ast.AST) -> bool:
        """A module-level assignment to ``name``: whether it is an import by another name
        (``_allocate_lock = _thread.allocate_lock``, ``compute = make_callable``), filed as
        one. Any other assignment to an imported name may rebind it (``run``'s ``rebound``)."""
        dotted = _dotted(value)
        head, _, rest = (dotted or "").partition(".")
        found = self.imports.get(head) if dotted is not None and head not in self.module_names else None
        if found is None or dotted == name:
            return False
        if name not in self.imports or not rest:  # (a dotted alias keeps an import of its name)
            self.imports[name] = [found[0], f"{found[1]}.{rest}" if rest else found[1]]
        return True

    def _qualname(self, node: ast.AST, key: Optional[str] = "") -> Optional[str]:
        """The canonical qualified name of an imported callee (`th.Lock` -> threading.Lock),
        through the import filed as ``key`` when a def imports it (``_binding``)."""
        name = _dotted(node)
        if name is None or key is None:
            return None
        head, _, rest = name.partition(".")
        found = self.imports.get(key or head)
        if found is None or found[0]:
            return None
        return canonical(f"{found[1]}.{rest}" if rest else found[1])

    def _lock_kind(self, value: ast.AST, owner: str, local: Optional[Dict[str, str]] = None) -> Optional[str]:
        """The kind of lock ``value`` makes ("L", "R", "C" for a Condition of its own, "=ref"),
        None if not one; ``local``: a def's names (an import of ``threading`` made in it)."""
        if isinstance(value, ast.BoolOp):
            kinds = [self._lock_kind(v, owner, local) for v in value.values]
            return next((k for k in kinds if k), None)
        if isinstance(value, ast.IfExp):
            return self._lock_kind(value.body, owner, local) or self._lock_kind(value.orelse, owner, local)
        if not isinstance(value, ast.Call):
            return None
        key = ""
        if local:
            bound = local.get((_dotted(value.func) or "").partition(".")[0])
            if bound is not None:
                key = bound[2:] if bound.startswith("n:") and "#" in bound else ""
                if not key:
                    return None  # a local name: not the module's import
        name = self._qualname(value.func, key)
        if name in CONDITION_TYPES:
            given = value.args[0] if value.args else next((k.value for k in value.keywords if k.arg == "lock"), None)
            ref = self._ref(given, owner, {}) if given is not None and not _is_none(given) else None
            return f"={ref}" if ref else "C"
        if name in LOCK_TYPES:
            return "R" if name in REENTRANT_TYPES else "L"
        return None

    def _class(self, node: ast.ClassDef) -> None:
        bases = [f"d:{name}" for name in map(_dotted, node.bases) if name]
        locks: Dict[str, str] = {}
        self.classes[node.name] = {"b": bases, "k": locks, "t": {}}
        for stmt in node.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                kind = self._lock_kind(stmt.value, node.name)
                for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                    if kind and type(target) is ast.Name:
                        locks[target.id] = kind
                        kind = f"=s:{target.id}"  # one lock, two names
        for stmt in _module_level(node.body):
            if isinstance(stmt, _FUNCTIONS):
                self._function(stmt, f"{node.name}.{stmt.name}", node.name, "")

    # ---------------------------------------------------------------- functions
    def _function(
        self, node: _Function, qual: str, owner: str, parent: str, outer: Optional[Dict[str, str]] = None
    ) -> None:
        walker = _FunctionWalker(self, owner, qual, node, outer)
        walker.block(node.body, [])
        if walker.acquisitions or walker.calls:
            # "x": 1, a function; 0, a closed helper (``_closed_helpers``); 2, one whose call
            # does not run its body there and then (``_deferred``).
            self.functions[qual] = {
                "k": owner, "p": parent, "a": walker.acquisitions, "c": walker.calls, "x": 2 if self._deferred(node) else 1,
            }
        # A nested def sees the names its enclosing defs import (a closure's free names).
        imported = {name: ref for name, ref in walker.local.items() if ref.startswith("n:") and "#" in ref}
        for inner in walker.nested:
            self._function(inner, f"{qual}.{inner.name}", owner, qual, {**(outer or {}), **imported})

    def _deferred(self, function: _Function) -> bool:
        """Whether calling ``function`` may not run its body there and then: a coroutine
        function or a generator (their bodies run when awaited or iterated; a generator made
        a context manager runs on entering its ``with``), or a def wrapped by a decorator that
        may run it later, elsewhere or never (``RUNS_ON_CALL_DECORATORS`` are the known others,
        by the name written or the one its import gives: `@cm` after `from contextlib import contextmanager
        as cm`)."""
        names: List[Optional[str]] = []
        for decorator in function.decorator_list:
            func = decorator.func if type(decorator) is ast.Call else decorator
            name, qualified = _dotted(func), self._qualname(func)
            if name not in RUNS_ON_CALL_DECORATORS and qualified not in RUNS_ON_CALL_DECORATORS:
                return True
            names.extend((name, qualified))
        if type(function) is ast.AsyncFunctionDef:
            return True
        if "contextlib.contextmanager" in names or "contextmanager" in names:
            return False
        # A generator: its text says `yield` (most files never do: no walk of the def then).
        if self._yield_lines is None:
            self._yield_lines = [n for n, line in enumerate(_LINE_RE.split(self.text), 1) if "yield" in line] if "yield" in self.text else []
        last = getattr(function, "end_lineno", None) or function.lineno
        return any(function.lineno <= n <= last for n in self._yield_lines) and _yields(function)

    def _ref(self, node: ast.AST, owner: str, local: Dict[str, str]) -> Optional[str]:
        """The ref of an expression that may name a lock or a function, None otherwise.
        ``local`` maps a function's local names to the ref assigned to them, "" when what
        they hold is unknown (parameters, other assignments)."""
        if type(node) is ast.Name:
            if node.id in local:
                return local[node.id] or None
            return f"n:{node.id}"
        if type(node) is ast.Attribute:
            value = node.value
            if owner and type(value) is ast.Name and value.id in ("self", "cls"):
                return f"s:{node.attr}"
            if (
                type(value) is ast.Call and type(value.func) is ast.Name
                and value.func.id == "super"
            ):
                return f"u:{node.attr}"
            name = _dotted(node)
            if name is not None:
                head = name.split(".", 1)[0]
                parts = name.split(".")
                if owner and head in ("self", "cls") and len(parts) == 3:
                    return f"a:{parts[1]}.{parts[2]}"
                known = local.get(head)
                if known and "#" in known:  # a module a def imports (`import app.util as u`)
                    return f"d:{known[2:]}{name[len(head):]}"
                if head in local or (owner and head in ("self", "cls")):
                    return None  # a local's attribute: its type is unknown here
                return f"d:{name}"
        return None

    def site(self, node: ast.AST) -> List[int]:
        """[line, column, end_line, end_column] of ``node`` in characters, 1-based."""
        line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        return [line, self._column(line, node.col_offset), end_line, self._column(end_line, node.end_col_offset or 0)]  # type: ignore[attr-defined]

    def _column(self, line: int, offset: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return offset + 1
        return len(text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1

    def keep_text(self, first: int, last: int) -> None:
        for line in range(first, last + 1):
            if 0 < line <= len(self.lines):
                self.texts[str(line)] = self.lines[line - 1]


# The flags of a spawning call in a summary's "s".
SPAWN_CALLED, SPAWN_RUN, SPAWN_PICKLED = 1, 2, 4
# What the calls that hand a function on make: threads, processes, timers and process pools.
_SPAWNING = frozenset(SPAWN_CONSTRUCTORS) | PROCESS_POOL_TYPES
_SPAWNING_NAMES = frozenset(name.rpartition(".")[2] for name in _SPAWNING)
_SPAWN_LAST_NAMES = _SPAWNING_NAMES | SPAWN_METHODS


def _argument(call: ast.Call, keyword: str, position: int) -> Optional[ast.AST]:
    """The argument of ``call`` bound to ``keyword`` or at ``position`` (before any ``*args``)."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    for index, arg in enumerate(call.args):
        if type(arg) is ast.Starred:
            return None
        if index == position:
            return arg
    return None




def _expects_failure(stmt: ast.stmt) -> bool:
    """``with self.assertRaises(...):`` and the like: a test calling to see it fail or warn."""
    return any(
        type(item.context_expr) is ast.Call
        and (_dotted(item.context_expr.func) or "").rpartition(".")[2] in TEST_EXPECTATIONS
        for item in stmt.items  # type: ignore[attr-defined]
    )


def _ref_name(ref: str) -> str:
    """The last name a ref calls (``s:_flush``, ``d:mod._flush``, ``n:_flush#12``: ``_flush``)."""
    return ref.rpartition(":")[2].rpartition(".")[2].partition("#")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _top_bindings(stmt: ast.stmt) -> Iterator[str]:
    """The names a module-level statement binds (defs, classes, imports, assignments)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield stmt.name
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            yield alias.asname or alias.name.partition(".")[0]
    elif isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            if alias.name != "*":
                yield alias.asname or alias.name
    elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
            for node in (target, *getattr(target, "elts", ())):
                if type(node) is ast.Name:
                    yield node.id


def _bound_names(stmt: ast.AST) -> Iterator[str]:
    """The names ``stmt`` (a statement, a target, an expression) binds in its own scope by
    assignment (targets, unpackings, `for` and `with` targets, `:=`, `except ... as`), not
    inside the defs, classes and lambdas in it."""
    stack: List[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if type(node) is ast.Name and type(node.ctx) is ast.Store:
            yield node.id
        elif type(node) is ast.ExceptHandler and node.name:
            yield node.name
        if node is stmt or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _yields(function: ast.AST) -> bool:
    """Whether ``function``'s own body holds a ``yield`` (not one of a def or lambda inside it)."""
    pending: List[ast.AST] = list(getattr(function, "body", ()))
    while pending:
        node = pending.pop()
        if type(node) in (ast.Yield, ast.YieldFrom):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def written(ref: str) -> str:
    """A ref's name as the code spells it (``n:fetch#12`` is ``fetch``)."""
    text = ref[2:]
    return _IMPORT_KEY_RE.sub("", text) if "#" in text else text


_IMPORT_KEY_RE = re.compile(r"#\d+")


def _statements_of(scope: ast.AST) -> Iterator[ast.stmt]:
    """The statements of def ``scope``, not those of defs and classes nested in it."""
    pending: List[ast.stmt] = list(getattr(scope, "body", ()))
    while pending:
        stmt = pending.pop()
        yield stmt
        if not isinstance(stmt, (*_FUNCTIONS, ast.ClassDef)):
            for inner in statement_lists(stmt):
                pending.extend(inner)


def _named(
    name: str, names: Mapping[str, Any], suffixes: "SuffixMemo", linted: Mapping[str, Any],
    exact: AbstractSet[str] = frozenset(),
) -> Optional[str]:
    """``name`` if ``names`` has it; else the one of ``names`` ending with ``.name`` below a
    directory that is no package (code linted from above its import root: ``lib/pkg/mod.py``
    is imported as ``pkg.mod``), remembered in ``suffixes``; None when there are none or
    several, or when ``name`` is the standard library's. Never a module inside a package
    (one of the ``linted`` modules): ``import json`` is not ``app/json.py``, ``import gevent``
    not ``celery/concurrency/gevent.py``."""
    if name in names:
        return name
    if name not in suffixes:
        index = suffixes.index
        if index is None:  # (each of ``names`` under each of its dotted tails, once: no scan per name)
            index = suffixes.index = {}
            for m in names:
                parts = m.split(".")
                for cut in range(1, len(parts)):
                    index.setdefault(".".join(parts[cut:]), []).append(m)
        tail = "." + name
        matches = [
            m for m in index.get(name, ()) if m[: -len(tail)] not in linted and m not in exact
        ] if name.split(".", 1)[0] not in stdlib_names() else []
        suffixes[name] = matches[0] if len(matches) == 1 else None
    return suffixes[name]


class SuffixMemo(Dict[str, Optional[str]]):
    """``_named``'s answers by name, and its index of the names by their dotted tails."""

    index: Optional[Dict[str, List[str]]] = None


@functools.lru_cache(maxsize=None)
def stdlib_names() -> FrozenSet[str]:
    """The top-level modules of the standard library (``sys.stdlib_module_names``; on 3.9,
    what the standard library's directory holds, with the built-in modules)."""
    known = getattr(sys, "stdlib_module_names", None)
    if known is not None:
        return frozenset(known)
    names = set(sys.builtin_module_names)
    directory = sysconfig.get_paths()["stdlib"]
    try:
        entries = os.listdir(directory)
    except OSError:
        entries = []
    for entry in entries:
        stem, _, suffix = entry.partition(".")
        if suffix in ("py", "") and stem.isidentifier() and entry != "site-packages":
            names.add(stem)
    dynload = os.path.join(directory, "lib-dynload")
    for entry in os.listdir(dynload) if os.path.isdir(dynload) else ():
        names.add(entry.split(".", 1)[0])
    return frozenset(names)


def _parents(module: str) -> List[str]:
    """The packages importing ``module`` imports first: ``a``, ``a.b`` for ``a.b.c``."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def _module_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module or class body, also those under if/try (conditional defs),
    not those under ``if TYPE_CHECKING:`` or ``if False:``, which never run."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            if _dotted(stmt.test) not in ("TYPE_CHECKING", "typing.TYPE_CHECKING") and not never_runs(stmt):
                yield from _module_level(stmt.body)
            yield from _module_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_level(stmt.body)
            for handler in stmt.handlers:
                yield from _module_level(handler.body)
            yield from _module_level(stmt.orelse)
            yield from _module_level(stmt.finalbody)


def _is_self_attr(node: ast.AST) -> bool:
    return (
        type(node) is ast.Attribute and type(node.value) is ast.Name
        and node.value.id in ("self", "cls")
    )


def _is_none(node: ast.AST) -> bool:
    return type(node) is ast.Constant and node.value is None


def _blocking(call: ast.Call) -> bool:
    """Whether ``x.acquire(...)`` may wait forever: no timeout, not ``blocking=False``."""
    args = list(call.args)
    blocking: Optional[ast.AST] = args[0] if args else None
    timeout: Optional[ast.AST] = args[1] if len(args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "blocking":
            blocking = keyword.value
        elif keyword.arg == "timeout":
            timeout = keyword.value
    if blocking is not None and not (type(blocking) is ast.Constant and blocking.value):
        return False
    if type(timeout) is ast.UnaryOp and type(timeout.op) is ast.USub and type(timeout.operand) is ast.Constant:
        return timeout.operand.value == 1  # `timeout=-1`: wait for ever (CPython's tree has no -1 constant)
    return timeout is None or (type(timeout) is ast.Constant and timeout.value is None)


class _FunctionWalker:
    """One def's statements in source order: what is held where (``with`` blocks lexically,
    ``acquire()`` until the matching ``release()``), the acquisitions and the calls."""

    def __init__(
        self, owner: _Summariser, cls: str, qual: str, node: _Function, outer: Optional[Dict[str, str]] = None
    ) -> None:
        self.s = owner
        self.cls = cls
        self.qual = qual
        self.acquisitions: List[List[Any]] = []
        self.calls: List[List[Any]] = []
        self.nested: List[_Function] = []
        # Local name -> the ref assigned to it (`lock = self._lock`), "" when unknown; the
        # imports of the defs around it first (``outer``), which its own names shadow.
        self.local: Dict[str, str] = dict(outer or {})
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                self.local[arg.arg] = ""
        # Taken by acquire(), not yet released: how many times each (a lock taken again is
        # held once in what calls and acquisitions record, however often it was taken).
        self.manual: Dict[str, int] = {}
        # Held by a `with` around, let go of inside it by `release()` and not yet taken back
        # (`with lock: lock.release(); call_out(); lock.acquire()`): not held meanwhile.
        self.released: Dict[str, int] = {}
        self.nested_names: Set[str] = set()  # defs met so far in this one

    def held(self, lexical: List[str]) -> List[str]:
        held = [r for r in lexical if r not in self.released] if self.released else lexical
        return held + [r for r in self.manual if r not in held]  # (each once)

    def block(self, body: Sequence[ast.stmt], lexical: List[str]) -> None:
        for stmt in body:
            self.statement(stmt, lexical)
            if isinstance(stmt, _EXITS):
                break  # what follows in the block never runs

    def branch(self, body: Sequence[ast.stmt], lexical: List[str]) -> None:
        """A block run only sometimes: one that ends by leaving (return, raise, break,
        continue) does not change what is held after it."""
        saved = dict(self.manual), dict(self.released)
        self.block(body, lexical)
        if any(isinstance(stmt, _EXITS) for stmt in body):
            self.manual, self.released = saved
        else:
            self.released = _not_more_released(self.released, saved[1])

    def try_statement(self, stmt: ast.stmt, lexical: List[str]) -> None:
        """A try: its body may stop anywhere (an exception), its handlers run only sometimes."""
        before = dict(self.released)
        self.block(stmt.body, lexical)  # type: ignore[attr-defined]
        for handler in stmt.handlers:  # type: ignore[attr-defined]
            self.branch(handler.body, lexical)
        self.block(stmt.orelse, lexical)  # type: ignore[attr-defined]
        self.block(stmt.finalbody, lexical)  # type: ignore[attr-defined]
        self.released = _not_more_released(self.released, before)

    def statement(self, stmt: ast.stmt, lexical: List[str]) -> None:
        if isinstance(stmt, _FUNCTIONS):
            self.nested.append(stmt)
            self.nested_names.add(stmt.name)
            return
        if isinstance(stmt, ast.ClassDef):
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, key in self.s.scoped_import(stmt).items():
                self.local[name] = f"n:{key}"
            return
        if isinstance(stmt, ast.With):
            inner = list(lexical)
            for item in stmt.items:
                self.expression(item.context_expr, inner)
                ref = self.lock_ref(item.context_expr)
                if ref is not None:
                    self.acquire(item.context_expr, ref, True, inner)
                    inner = inner + [ref]
                if item.optional_vars is not None:
                    self.unknown(item.optional_vars)
            self.block(stmt.body, inner)
            for ref in inner[len(lexical):]:
                self.released.pop(ref, None)  # (its `with` ends here either way)
            return
        if isinstance(stmt, ast.If):
            self.expression(stmt.test, lexical)
            self.branch(stmt.body, lexical)
            self.branch(stmt.orelse, lexical)
            return
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            self.expression(stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt.test, lexical)
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                self.unknown(stmt.target)
            if not (type(stmt) is ast.While and never_runs(stmt)):  # (`while False:` / `while 0:`)
                self.branch(stmt.body, lexical)
            self.branch(stmt.orelse, lexical)
            return
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.try_statement(stmt, lexical)
            return
        if isinstance(stmt, ast.AsyncWith):
            for item in stmt.items:
                self.expression(item.context_expr, lexical)
            self.block(stmt.body, lexical)
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            self.assignment(stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target], stmt.value)
        kind = type(stmt)
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
        for name in names:
            value = getattr(stmt, name, None)
            for child in value if type(value) is list else (value,):
                if isinstance(child, ast.expr):
                    self.expression(child, lexical)
                elif isinstance(child, ast.stmt):  # match statements and the like
                    self.statement(child, lexical)
                elif type(child).__name__ == "match_case":
                    self.branch(getattr(child, "body"), lexical)

    def assignment(self, targets: Sequence[ast.AST], value: ast.AST) -> None:
        if self.cls:  # self.x = Lock(): a lock of the class, in whichever method
            own = [t.attr for t in targets if _is_self_attr(t)]  # type: ignore[attr-defined]
            kind = self.s._lock_kind(value, self.cls, self.local) if own else None
            if kind:
                locks = self.s.classes[self.cls]["k"]
                first = own[0]
                for attr in own:  # `self.a = self.b = RLock()`: one lock, two names
                    locks.setdefault(attr, kind if attr == first else f"=s:{first}")
            elif own and isinstance(value, ast.Call):  # self.x = Class(...): what x may be
                made = self.s._ref(value.func, "", self.local)
                if made is not None and made[0] in "nd":
                    types = self.s.classes[self.cls]["t"]
                    for attr in own:
                        types.setdefault(attr, made)
        if len(targets) == 1 and type(targets[0]) is ast.Name:
            name = targets[0].id
            ref = self.s._ref(value, self.cls, self.local) if type(value) in (ast.Name, ast.Attribute) else None
            self.local[name] = ref if ref is not None and ref != f"n:{name}" else ""
            return
        for target in targets:
            self.unknown(target)

    def unknown(self, target: ast.AST) -> None:
        """Names bound by ``target`` hold something the model does not know."""
        for node in ast.walk(target):
            if type(node) is ast.Name:
                self.local[node.id] = ""

    def lock_ref(self, node: ast.AST) -> Optional[str]:
        if type(node) not in (ast.Name, ast.Attribute):
            return None
        return self.s._ref(node, self.cls, self.local)

    def acquire(self, node: ast.AST, ref: str, blocking: bool, lexical: List[str]) -> None:
        held = self.held(lexical)
        site = self.s.site(node)
        self.acquisitions.append([ref, *site, int(blocking), held])
        if held:
            self.s.keep_text(site[0], site[2])

    def expression(self, node: ast.AST, lexical: List[str]) -> None:
        """Calls in ``node`` (not in lambdas), in source order."""
        calls = _calls_in(node)
        if len(calls) > 1:
            calls.sort(key=lambda c: (c.lineno, c.col_offset))
        for call in calls:
            func = call.func
            if type(func) is ast.Attribute and (
                (func.attr == "acquire" and not call.args[2:]) or (func.attr == "release" and not call.args)
            ):  # `acquire(blocking, timeout)`, a lock's own signature
                ref = self.lock_ref(func.value)
                if ref is not None:
                    if func.attr == "acquire":
                        self.acquire(call, ref, _blocking(call), lexical)
                        if self.released.get(ref):  # taken back by the `with` that holds it
                            self.released[ref] -= 1
                            if not self.released[ref]:
                                del self.released[ref]
                        else:
                            self.manual[ref] = self.manual.get(ref, 0) + 1
                    elif ref in self.manual:
                        self.manual[ref] -= 1
                        if not self.manual[ref]:
                            del self.manual[ref]
                    elif ref in lexical:
                        self.released[ref] = self.released.get(ref, 0) + 1
                    continue
            self.call(call, lexical)

    def call(self, call: ast.Call, lexical: List[str]) -> None:
        func = call.func
        ref: Optional[str] = None
        if type(func) is ast.Name:
            name = func.id
            if name in self.nested_names:
                ref = f"n:{name}"
            elif name in self.local:  # a parameter or a local: the module's def is shadowed
                ref = self.local[name] or None
            elif name in self.s.module_names or name in self.s.imports:
                ref = f"n:{name}"
        elif type(func) is ast.Attribute:
            ref = self.s._ref(func, self.cls, self.local)
            if ref is not None and ref.startswith("d:"):
                head = ref[2:].split(".", 1)[0]
                if head not in self.s.imports and head not in self.s.module_names:
                    ref = None
        if ref is None:
            return
        held = self.held(lexical)
        site = self.s.site(call)
        self.calls.append([ref, *site, held])
        if held:
            self.s.keep_text(site[0], site[2])


def _not_more_released(now: Dict[str, int], before: Dict[str, int]) -> Dict[str, int]:
    """What stays let go of after a block that runs only sometimes (or may stop anywhere):
    a lock it took back is taken back (the count falls), one it let go of may still be held
    (the count does not rise): held is the side on which the lock order reports."""
    return {ref: count for ref, count in ((r, min(n, before.get(r, 0))) for r, n in now.items()) if count}


# What holds no call the summary files: names, constants, lambdas (they run later), and the
# context and operator tokens (`ast.Load()`, `ast.Add()`), which are nodes in CPython's tree.
_NO_CALLS = frozenset({
    ast.Name, ast.Constant, ast.Lambda, ast.Load, ast.Store, ast.Del,
    *ast.operator.__subclasses__(), *ast.unaryop.__subclasses__(), *ast.cmpop.__subclasses__(),
    *ast.boolop.__subclasses__(),
})
# Leaves: nodes with no child (``ast.Name`` and ``ast.Constant`` hold only text and tokens).
_NO_CHILDREN = _NO_CALLS - {ast.Lambda}
# Fields of expression nodes that hold no node (names, flags, tokens).
_SCALAR_FIELDS = frozenset({
    "ctx", "op", "ops", "attr", "arg", "id", "conversion", "is_async", "kind", "type_comment",
    "names", "kwd_attrs",  # of statements and patterns: lists of strings (`global a, b`)
})
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _child_nodes(node: ast.AST) -> List[ast.AST]:
    """``ast.iter_child_nodes`` in the same order, less the leaves no walk here looks at
    (names, constants, context and operator tokens): a third of its cost."""
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
    out: List[ast.AST] = []
    for name in names:
        value = getattr(node, name, None)
        if type(value) is list:
            out.extend(item for item in value if isinstance(item, ast.AST) and type(item) not in _NO_CHILDREN)
        elif isinstance(value, ast.AST) and type(value) not in _NO_CHILDREN:
            out.append(value)
    return out


def _statements_in(node: ast.AST) -> Iterator[ast.stmt]:
    """Every statement below ``node`` (a def or class), those of nested defs and classes too."""
    pending: List[ast.stmt] = list(getattr(node, "body", ()))
    while pending:
        stmt = pending.pop()
        yield stmt
        for inner in statement_lists(stmt):
            pending.extend(inner)


def _calls_in(node: ast.AST) -> List[ast.Call]:
    """The calls in expression ``node`` and below, not those of lambdas inside it (a faster
    ``ast.walk``: each node type's fields are listed once, leaves are never entered)."""
    out: List[ast.Call] = []
    if type(node) in (ast.Name, ast.Constant, ast.Lambda):  # (a lambda's body runs when it is called)
        return out
    stack = [node]
    fields = _FIELDS
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is ast.Call:
            out.append(current)  # type: ignore[arg-type]  # checked just above
        names = fields.get(kind)
        if names is None:
            names = fields[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
        for name in names:
            value = getattr(current, name, None)
            if value is None:
                continue
            if type(value) is list:
                for item in value:
                    if item is not None and type(item) not in _NO_CALLS:
                        stack.append(item)
            elif type(value) not in _NO_CALLS and isinstance(value, ast.AST):
                stack.append(value)
    return out


# ---------------------------------------------------------------------- definitions
# What a module-level name is, to a call handing it (or what it returns) to a thread or process.
LAMBDA, CLOSURE_FACTORY, NO_CALLABLE, LOCK_FACTORY = "l", "c", "v", "k"
# Return values that are certainly not callable (as CCL303's ``_NOT_CALLABLE``, in CPython's tree).
_NOT_CALLABLE = (
    ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.Compare, ast.BinOp, ast.UnaryOp,
)


def definitions(data: bytes) -> Tuple[Dict[str, List[Any]], Dict[str, List[Any]]]:
    """A module's top-level names that are a lambda (``LAMBDA``), a function whose every
    ``return`` gives a def or lambda nested in it (``CLOSURE_FACTORY``) or one that returns
    nothing callable (``NO_CALLABLE``), each ``[kind, *site of the def or lambda]``; and its
    imports (as a summary's "i"). A name bound twice in different ways is left out. Read by
    the project phase from the files that define what a spawning call hands on (those need
    not be summarised: a helper module names no thread)."""
    tree = ast.parse(data)
    reader = _Summariser(decode(data), False, locks=False, coroutines=False, gevent=False, spawns=False)
    top = list(_module_level(tree.body))
    defs = {node.name for node in top if isinstance(node, _FUNCTIONS)}
    found: Dict[str, Optional[List[Any]]] = {}

    def bind(name: str, entry: Optional[List[Any]]) -> None:
        if name in found and (found[name] is None or entry is None or found[name][0] != entry[0]):  # type: ignore[index]
            entry = None
        found[name] = entry

    for node in top:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            reader._import(node)
            for alias in node.names if isinstance(node, ast.ImportFrom) else ():
                if reader._qualname(ast.Name(alias.asname or alias.name)) in LOCK_TYPES:  # from _thread import allocate_lock
                    bind(alias.asname or alias.name, [LOCK_FACTORY, *reader.site(node)])
        elif isinstance(node, _FUNCTIONS):
            kind = _returned(node, defs) or (LOCK_FACTORY if _returns_a_lock(node, reader) else None)
            line, column = node.lineno, reader._column(node.lineno, node.col_offset)
            keyword = "async def" if type(node) is ast.AsyncFunctionDef else "def"
            bind(node.name, [kind, line, column, line, column + len(f"{keyword} {node.name}")] if kind else None)
        elif isinstance(node, ast.ClassDef):
            bind(node.name, None)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            entry = [LAMBDA, *reader.site(value)] if type(value) is ast.Lambda else None
            if value is not None and type(value) in (ast.Name, ast.Attribute) and reader._qualname(value) in LOCK_TYPES:
                entry = [LOCK_FACTORY, *reader.site(value)]  # allocate_lock = threading.Lock
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for name in ast.walk(target):
                    if type(name) is ast.Name:
                        bind(name.id, entry if target is name else None)
    return {name: entry for name, entry in found.items() if entry is not None}, reader.imports


def _returns_a_lock(function: _Function, reader: "_Summariser") -> bool:
    """Whether every ``return`` of an undecorated ``function`` (at least one) gives a new
    lock: ``return threading.Lock()``, ``return _thread.allocate_lock()``."""
    if function.decorator_list:
        return False
    returns = [node for node in _scope_nodes(function) if type(node) is ast.Return]
    return bool(returns) and all(
        type(r.value) is ast.Call and reader._qualname(r.value.func) in LOCK_TYPES for r in returns
    )


def _scope_nodes(function: _Function) -> List[ast.AST]:
    """The nodes of ``function``'s body, not those of defs, classes and lambdas nested in it."""
    out: List[ast.AST] = []
    stack: List[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return out


def _returned(function: _Function, module_defs: Set[str]) -> Optional[str]:
    """``CLOSURE_FACTORY``, ``NO_CALLABLE`` or None (anything else, or decorated: a decorator
    may wrap the result in anything): CCL105's ``_returns_closure`` and CCL303's
    ``_returns_no_callable`` in CPython's tree."""
    if function.decorator_list:
        return None
    returns = [node for node in _scope_nodes(function) if type(node) is ast.Return]
    local = {s.name for s in function.body if isinstance(s, (*_FUNCTIONS, ast.ClassDef))}
    if returns and all(
        type(r.value) is ast.Lambda or (type(r.value) is ast.Name and r.value.id in local) for r in returns
    ):
        return CLOSURE_FACTORY
    if all(r.value is None or _not_callable(r.value, module_defs) for r in returns):
        return NO_CALLABLE
    return None


def _not_callable(value: ast.AST, module_defs: Set[str]) -> bool:
    if isinstance(value, _NOT_CALLABLE) or (type(value) is ast.Constant and value.value is not Ellipsis):
        return True
    if type(value) is not ast.Call:
        return False
    func = value.func
    if type(func) is ast.Name:
        return func.id in VALUE_BUILTINS and func.id not in module_defs
    return type(func) is ast.Attribute and func.attr in VALUE_METHODS


def site_lines(summary: Optional[Summary], key: str) -> FrozenSet[int]:
    """The first lines of the sites listed under ``key`` ("w", "r", "s" or "g"'s imports) in
    ``summary``: where a rule's project part may report (``Rule.project_sites``)."""
    if summary is None or not key:
        return frozenset()
    if key == "g":
        return frozenset(entry[2] for *_, imports, _ in summary["g"] for entry in imports)
    return frozenset(entry[2 if key == "s" else 1] for entry in summary[key])


# ---------------------------------------------------------------------- validation
def validate(summary: Any) -> Summary:
    """``summary`` if it has the shape ``summarise`` writes; raises ``SummaryError``."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise SummaryError(what)

    need(type(summary) is dict and summary.get("v") == VERSION, "not a summary of this version")
    need(set(summary) == {"v", "n", "i", "k", "c", "f", "t", "a", "w", "g", "s", "r", "q"}, "unexpected keys")
    need(_str_map(summary["q"], lambda v: type(v) is str), "q")
    need(type(summary["n"]) is bool, "n")
    need(_str_map(summary["i"], lambda v: type(v) is list and len(v) == 2 and type(v[0]) is int and type(v[1]) is str), "i")
    need(_str_map(summary["k"], lambda v: type(v) is str), "k")
    need(_str_map(summary["c"], lambda v: type(v) is dict and set(v) == {"b", "k", "t"} and _strs(v["b"])
                  and _str_map(v["k"], lambda k: type(k) is str) and _str_map(v["t"], lambda t: type(t) is str)), "c")
    need(_str_map(summary["f"], _valid_function), "f")
    need(_str_map(summary["t"], lambda v: type(v) is str), "t")
    need(_str_map(summary["a"], lambda v: type(v) is list and len(v) == 5 and _ints(v)), "a")
    for key in ("w", "r"):
        need(type(summary[key]) is list and all(
            type(w) is list and len(w) == 5 and type(w[0]) is str and _ints(w[1:]) for w in summary[key]
        ), key)
    need(type(summary["s"]) is list and all(
        type(s) is list and len(s) == 6 and type(s[0]) is str and _ints(s[1:]) for s in summary["s"]
    ), "s")
    need(type(summary["g"]) is list and all(
        type(g) is list and len(g) == 6 and _ints(g[:4]) and type(g[4]) is list and all(
            type(i) is list and len(i) == 7 and type(i[0]) is int and type(i[1]) is str and _ints(i[2:]) for i in g[4]
        ) and g[5] in (0, 1) for g in summary["g"]
    ), "g")
    return summary  # type: ignore[no-any-return]  # checked above


def _str_map(value: Any, check: Any) -> bool:
    return type(value) is dict and all(type(k) is str and check(v) for k, v in value.items())


def _strs(value: Any) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _ints(values: Iterable[Any]) -> bool:
    return all(type(v) is int for v in values)


def _valid_function(value: Any) -> bool:
    return (
        type(value) is dict and set(value) == {"k", "p", "a", "c", "x"} and value["x"] in (0, 1, 2)
        and type(value["k"]) is str and type(value["p"]) is str
        and type(value["a"]) is list and all(
            type(a) is list and len(a) == 7 and type(a[0]) is str and _ints(a[1:6]) and _strs(a[6]) for a in value["a"]
        )
        and type(value["c"]) is list and all(
            type(c) is list and len(c) == 6 and type(c[0]) is str and _ints(c[1:5]) and _strs(c[5]) for c in value["c"]
        )
    )


# ---------------------------------------------------------------------- module names
class ModuleNamer:
    """Module names from the package layout: the directories holding ``__init__.py`` above a
    file, and, inside the project root, every directory up to the root or to ``<root>/src``
    (namespace packages, src layout). Asked once per directory per run."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        src = os.path.join(self.root, "src")
        self.bases = [src, self.root] if os.path.isdir(src) else [self.root]
        self._dirs: Dict[str, List[str]] = {}

    def exact(self, path: str) -> bool:
        """Whether the name of the module at ``path`` is the one Python imports it by, with no
        doubt: under ``<root>/src``, the import root of a src layout (elsewhere a directory
        without ``__init__.py`` may be a namespace package or a directory above the import
        root, and ``Project`` also matches a name by its tail)."""
        return self.src_layout and os.path.realpath(path).startswith(self.bases[0] + os.sep)

    @property
    def src_layout(self) -> bool:
        return len(self.bases) == 2

    def name(self, path: str) -> str:
        real = os.path.realpath(path)
        directory, filename = os.path.split(real)
        stem = filename[:-3] if filename.endswith(".py") else filename
        parts = list(self._package(directory))
        if stem != "__init__":
            parts.append(stem)
        return ".".join(parts) or stem

    def _package(self, directory: str) -> List[str]:
        found = self._dirs.get(directory)
        if found is None:
            found = self._dirs[directory] = self._compute(directory)
        return found

    def _compute(self, directory: str) -> List[str]:
        for base in self.bases:
            if directory == base:
                return self._above(base)
            if directory.startswith(base + os.sep):
                relative = directory[len(base) + 1:].split(os.sep)
                if all(part.isidentifier() for part in relative):
                    return self._above(base) + relative
        return self._above(directory)

    def _above(self, directory: str) -> List[str]:
        """The package ``directory`` is, by the ``__init__.py`` files from it up ([] for a
        directory that is no package): a root inside a package (``cd pkg && conclint ..``
        without a configuration file) names its modules as Python imports them."""
        if os.path.isfile(os.path.join(directory, "__init__.py")):
            head, tail = os.path.split(directory)
            if head != directory:
                return self._package(head) + [tail]
        return []


# ---------------------------------------------------------------------- the project
@dataclass(frozen=True)
class Site:
    """A place in a file: 1-based line and column (in characters), ends exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Acquisition:
    ref: str
    site: Site
    blocking: bool
    held: Tuple[str, ...]


@dataclass(frozen=True)
class Call:
    ref: str
    site: Site
    held: Tuple[str, ...]


@dataclass
class Function:
    module: str
    qual: str
    cls: str
    parent: str
    acquisitions: List[Acquisition]
    calls: List[Call]
    closed: bool = False  # a private helper its file never hands on: its callers are its calls
    deferred: bool = False  # its call does not run its body there and then (``_deferred``)


@dataclass
class ModuleInfo:
    name: str
    path: str
    package: bool  # an __init__.py: relative imports start from the module itself
    summary: Summary


@dataclass(frozen=True)
class Spawned:
    """A call handing a function of another module (or what a call of it returns) on:
    where, the name as written, the flags (``SPAWN_*``), what ``definitions`` says the name
    is, the module defining it, and the definition."""

    site: Site
    callee: str
    flags: int
    kind: str
    module: str
    definition: Site

    @property
    def called(self) -> bool:
        return bool(self.flags & SPAWN_CALLED)


# What a name resolves to: ("lock", identity, kind), ("function", module, qual),
# ("class", module, name) or ("module", name, "").
Target = Tuple[str, str, str]
# Resolution through imports and bases stops this deep (re-exports, import cycles).
_MAX_HOPS = 12


class Project:
    """The summaries of one run, joined: names resolved across modules through imports
    (relative ones included), base classes and re-exports."""

    def __init__(
        self, modules: Sequence[ModuleInfo], linted: Optional[Callable[[], Mapping[str, str]]] = None,
        exact: AbstractSet[str] = frozenset(),
    ) -> None:
        # Modules named as Python imports them without doubt (``ModuleNamer.exact``): never
        # matched by the tail of their name.
        self._exact = exact
        # Every module of the run, summarised or not (name -> path), made when first asked:
        # what import chains follow.
        self._linted_of = linted
        self._linted: Optional[Mapping[str, str]] = None
        self._linted_suffixes = SuffixMemo()
        self._module_imports: Dict[str, List[Tuple[str, bool]]] = {}
        self._definitions: Dict[str, Tuple[Dict[str, List[Any]], Dict[str, str], str]] = {}
        self._spawned: Optional[List[Spawned]] = None
        self.modules: Dict[str, ModuleInfo] = {}
        named: Dict[str, List[ModuleInfo]] = {}
        for info in sorted(modules, key=lambda m: (m.name, m.path)):
            named.setdefault(info.name, []).append(info)
        for name, infos in named.items():
            if len(infos) == 1:
                self.modules[name] = infos[0]
                continue
            # Files of one name under different import roots (`conclint ../one ../two`, each
            # with its own util.py): which one an import means cannot be told, so none is
            # reached by name; each keeps locks of its own (`util[2].LOCK`).
            for number, info in enumerate(infos, 1):
                self.modules[f"{name}[{number}]"] = ModuleInfo(f"{name}[{number}]", info.path, info.package, info.summary)
        self._suffixes = SuffixMemo()
        self._packages: Dict[str, bool] = {}
        self._package_names: Set[str] = set()
        self._package_set: Dict[str, None] = {}  # the packages and modules of the run
        self._package_suffixes = SuffixMemo()
        self._functions: Dict[Tuple[str, str], Function] = {}
        for info in self.modules.values():
            path = info.path
            for qual, record in info.summary["f"].items():
                self._functions[(info.name, qual)] = Function(
                    info.name, qual, record["k"], record["p"],
                    [Acquisition(a[0], Site(path, *a[1:5]), bool(a[5]), tuple(a[6])) for a in record["a"]],
                    [Call(c[0], Site(path, *c[1:5]), tuple(c[5])) for c in record["c"]],
                    closed=not record["x"], deferred=record["x"] == 2,
                )
        self._entry_held: Dict[Tuple[str, str], FrozenSet[str]] = {}
        self._waitable: Optional[Set[str]] = None
        self._calls_by_name: Optional[Dict[str, List[Tuple[Function, Call]]]] = None
        self._reach: Dict[Tuple[Tuple[str, str], int], Dict[str, Tuple[Tuple[str, ...], Site]]] = {}
        self._resolved: Dict[Tuple[str, str, str], Optional[Target]] = {}

    def functions(self) -> Iterator[Function]:
        return iter(self._functions.values())

    def text(self, path_module: str, line: int) -> Optional[str]:
        """A source line kept in the summary of module ``path_module``."""
        info = self.modules.get(path_module)
        return None if info is None else info.summary["t"].get(str(line))

    # ------------------------------------------------------------ queries of the rules
    def lock(self, function: Function, ref: str) -> Optional[str]:
        """The identity of the lock ``ref`` names in ``function``, None when unknown."""
        target = self.resolve(function, ref)
        return target[1] if target is not None and target[0] == "lock" else None

    def locks(self, function: Function, refs: Sequence[str]) -> List[str]:
        out: List[str] = []
        for ref in refs:
            lock = self.lock(function, ref)
            if lock is not None and lock not in out:
                out.append(lock)
        return out

    def waitable(self, lock: str) -> bool:
        """Whether ``lock`` may be let go of while held by a Condition's ``wait()``: a
        Condition itself (kind "C"), or a lock some name aliases (``Condition(lock)`` is one
        such alias; ``a = b = Lock()`` another, counted too: the safe side)."""
        if self._waitable is None:
            found: Set[str] = set()
            for info in self.modules.values():
                kinds = [(f"{info.name}.{n}", k) for n, k in info.summary["k"].items()]
                for cls, record in info.summary["c"].items():
                    kinds.extend((f"{info.name}.{cls}.{n}", k) for n, k in record["k"].items())
                for identity, kind in kinds:
                    if kind == "C":
                        found.add(identity)
                    elif kind.startswith("="):
                        found.add(kind.rpartition(":")[2].rpartition(".")[2])  # by the aliased name
            self._waitable = found
        return lock in self._waitable or lock.rpartition(".")[2] in self._waitable

    def entry_held(self, function: Function) -> FrozenSet[str]:
        """The locks every call of a closed private helper holds (``Function.closed``): what
        it runs under, wherever it runs. Empty for any other function, or one never called."""
        key = (function.module, function.qual)
        found = self._entry_held.get(key)
        if found is not None:
            return found
        self._entry_held[key] = frozenset()  # (recursion: a helper calling itself)
        if not function.closed:
            return frozenset()
        if self._calls_by_name is None:
            self._calls_by_name = {}
            for caller in self._functions.values():
                for call in caller.calls:
                    self._calls_by_name.setdefault(_ref_name(call.ref), []).append((caller, call))
        held: Optional[FrozenSet[str]] = None
        name = function.qual.rpartition(".")[2]
        if self._imported_elsewhere(function, name):
            return frozenset()  # another module imports it: called (or handed on) there too
        for caller, call in self._calls_by_name.get(name, ()):
            callee = self.callee(caller, call.ref)
            if callee is None:
                return frozenset()  # a call of that name nobody can resolve: maybe this helper, unlocked
            if callee is not function:
                continue
            here = frozenset(self.locks(caller, call.held)) | self.entry_held(caller)
            held = here if held is None else held & here
            if not held:
                break
        found = self._entry_held[key] = held or frozenset()
        return found

    def _imported_elsewhere(self, function: Function, name: str) -> bool:
        """Whether a module other than the function's imports its name (``from m import _f``)."""
        if function.cls:
            return False  # a method is reached through an object: its calls are what tells
        target = f"{function.module}.{function.qual}"
        for info in self.modules.values():
            if info.name == function.module:
                continue
            for level, imported in info.summary["i"].values():
                if imported.rpartition(".")[2] == name and self._absolute(info, level, imported) in (target, name):
                    return True
        return False

    def callee(self, function: Function, ref: str) -> Optional[Function]:
        """The project function a call of ``ref`` in ``function`` runs (a class's call runs
        its ``__init__``), None when unknown or when the call does not run its body there
        and then (``Function.deferred``: a generator, a coroutine function, a def some
        decorator may run later)."""
        target = self.resolve(function, ref)
        if target is None:
            return None
        if target[0] == "class":
            target = self._member(target[1], target[2], "__init__", 0)
        if target is None or target[0] != "function":
            return None
        found = self._functions.get((target[1], target[2]))
        return None if found is None or found.deferred else found

    def reach(self, function: Function, depth: int) -> Dict[str, Tuple[Tuple[str, ...], Site]]:
        """The locks ``function`` may take, blocking, itself or through calls at most
        ``depth`` functions deep (itself counts one): for each, the functions through which
        (``function`` first) and the acquisition's site; the first found in source order."""
        key = ((function.module, function.qual), depth)
        found = self._reach.get(key)
        if found is not None:
            return found
        out: Dict[str, Tuple[Tuple[str, ...], Site]] = {}
        self._reach[key] = out  # a recursive call meanwhile sees nothing more
        name = function.qual
        for acquisition in function.acquisitions:
            if acquisition.blocking:
                lock = self.lock(function, acquisition.ref)
                if lock is not None and lock not in out:
                    out[lock] = ((name,), acquisition.site)
        if depth > 1:
            for call in function.calls:
                callee = self.callee(function, call.ref)
                if callee is None:
                    continue
                for lock, (via, site) in self.reach(callee, depth - 1).items():
                    if lock not in out:
                        out[lock] = ((name, *via), site)
        return out

    def unawaited_coroutines(self) -> Iterator[Tuple[Site, str, Site, str, str, bool]]:
        """Statements that call another module's coroutine function and drop the coroutine:
        (the call, the callee as written, the ``async def``, the module defining it, the
        function's own name there, whether it is an async generator)."""
        for info in self.modules.values():
            calls = info.summary["w"]
            if not calls:
                continue
            at_module = Function(info.name, "", "", "", [], [])
            for ref, *site in calls:
                target = self.resolve(at_module, ref)
                if target is None or target[0] != "function" or target[1] == info.name:
                    continue
                defined = self.modules[target[1]]
                where = defined.summary["a"].get(target[2])
                if where is not None:
                    yield Site(info.path, *site), written(ref), Site(defined.path, *where[:4]), target[1], target[2], bool(where[4])

    def spawned(self) -> List["Spawned"]:
        """The calls handing a function of another module of the run (or its result) to a
        thread, process, timer, pool or executor, where that module's definitions say what it
        is (``definitions``): made once, for CCL105 and CCL303."""
        if self._spawned is None:
            self._spawned = []
            for info in self.modules.values():
                for ref, flags, *site in info.summary["s"]:
                    found = self._imported_definition(info, ref)
                    if found is not None:
                        module, kind, definition = found
                        self._spawned.append(Spawned(Site(info.path, *site), written(ref), flags, kind, module, definition))
        return self._spawned

    def made_lock_acquires(self) -> Iterator[Tuple[Site, str, str, Site]]:
        """The ``x.acquire()`` statements CCL201 would report if ``x`` were known to be a lock,
        where ``x`` holds what another module's function (or alias of a lock constructor)
        makes, and that is a lock: (the ``acquire``, the maker as written, its module, its
        definition)."""
        for info in self.modules.values():
            for ref, *site in info.summary["r"]:
                found = self._imported_definition(info, ref)
                if found is not None and found[1] == LOCK_FACTORY:
                    yield Site(info.path, *site), written(ref), found[0], found[2]

    def _imported_definition(self, info: ModuleInfo, ref: str) -> Optional[Tuple[str, str, Site]]:
        """What ``definitions`` says of the imported name ``ref`` of module ``info``, when
        another module of the run defines it: (that module, the kind, the definition)."""
        head, _, rest = ref[2:].partition(".")
        imported = info.summary["i"].get(head)
        if imported is None:
            return None
        name = self._absolute(info, imported[0], imported[1])
        found = self._defined(f"{name}.{rest}" if rest else name, 0)
        if found is None or found[0] == info.name:
            return None
        module, entry, path = found
        return module, entry[0], Site(path, *entry[1:])

    def _defined(self, name: str, hops: int) -> Optional[Tuple[str, List[Any], str]]:
        """The module of the run defining dotted ``name`` (through re-exports), its entry in
        ``definitions`` and its path; None when the name is not one ``definitions`` keeps."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._linted_module(".".join(parts[:cut]))
            if module is None:
                continue
            names, imports, path = self._definitions_of(module)
            first, rest = parts[cut], parts[cut + 1:]
            if first in names:
                return (module, names[first], path) if not rest else None
            if first in imports and hops < _MAX_HOPS:
                return self._defined(".".join([imports[first], *rest]), hops + 1)
            return None
        return None

    def _definitions_of(self, module: str) -> Tuple[Dict[str, List[Any]], Dict[str, str], str]:
        """``definitions`` of a module of the run (its file read in the rare run that asks),
        its imports made absolute, and its path."""
        found = self._definitions.get(module)
        if found is not None:
            return found
        path = self.linted[module]
        try:
            names, imported = definitions(Path(path).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError, LookupError):
            names, imported = {}, {}
        info = ModuleInfo(module, path, os.path.basename(path) == "__init__.py", {})
        imports = {alias: self._absolute(info, level, target) for alias, (level, target) in imported.items()}
        found = self._definitions[module] = (names, imports, path)
        return found

    def imports_before_patching(
        self, patched: Callable[[str, bool], bool], follow: Callable[[str], bool]
    ) -> Iterator[Tuple[Site, str, Tuple[str, ...], str, Site]]:
        """Modules of the project imported above gevent's ``monkey.patch_*()`` that import, at
        their module level (themselves or through other modules of the project that
        ``follow`` accepts, breadth first, at most ``_MAX_HOPS`` deep), a module
        ``patched(name, plain_import)`` says the patch changes: (the import's site, the
        module, the chain of modules, the patched module, the patch call's site)."""
        for info in self.modules.values():
            for *call, imports, _ in info.summary["g"]:
                reported: Set[Tuple[int, int]] = set()
                patching_line: Optional[int] = None  # an import of a module that patches first
                for level, target, *site, _ in imports:
                    if patching_line is not None and site[0] != patching_line:
                        break  # the process is patched from there on
                    if (site[0], site[1]) in reported:
                        continue
                    imported = self._linted_module(self._absolute(info, level, target))
                    if imported is None:
                        continue
                    for module in self._with_packages(imported):
                        if module == info.name or not follow(module):
                            continue
                        found = self._reaches_patched(module, patched, follow)
                        if found is not None:
                            reported.add((site[0], site[1]))
                            chain, root = found
                            yield Site(info.path, *site), module, chain, root, Site(info.path, *call)
                        if self._patches_itself(module):
                            patching_line = site[0]
                        if found is not None or patching_line is not None:
                            break

    def _with_packages(self, module: str) -> List[str]:
        """``module`` and, first, the packages of the run it is in: importing it runs their
        ``__init__`` before its own code (``import app.util`` runs ``app``)."""
        return [*(p for p in _parents(module) if p in self.linted), module]

    def _reaches_patched(
        self, start: str, patched: Callable[[str, bool], bool], follow: Callable[[str], bool]
    ) -> Optional[Tuple[Tuple[str, ...], str]]:
        seen = {start}
        queue: List[Tuple[str, Tuple[str, ...]]] = [(start, (start,))]
        while queue:
            module, chain = queue.pop(0)
            for name, plain in self._imports_until_patched(module):
                if patched(name, plain):
                    return chain, name
                found = self._linted_module(name)
                for inner in self._with_packages(found) if found is not None else ():
                    if inner not in seen and follow(inner) and len(chain) < _MAX_HOPS:
                        seen.add(inner)
                        queue.append((inner, (*chain, inner)))
        return None

    def _patches_itself(self, module: str) -> bool:
        """Whether importing ``module`` patches everything: ``monkey.patch_all()`` in its own
        body, not under an ``if`` (a ``__main__`` guard) and not a partial patch."""
        info = self.modules.get(module)
        return info is not None and any(patch[5] for patch in info.summary["g"])

    def _imports_until_patched(self, module: str) -> List[Tuple[str, bool]]:
        """``_imports_of`` a module, or, when it patches at its module level itself, only the
        imports above its patch."""
        info = self.modules.get(module)
        if info is None or not self._patches_itself(module):
            return self._imports_of(module)
        return [(self._absolute(info, level, target), bool(plain)) for level, target, *_, plain in info.summary["g"][0][4]]

    def _imports_of(self, module: str) -> List[Tuple[str, bool]]:
        """The absolute names a module imports at its module level (read from its file, in
        the rare run that asks), each with whether it was a plain ``import``."""
        found = self._module_imports.get(module)
        if found is not None:
            return found
        found = self._module_imports[module] = []
        path = self.linted.get(module)
        try:
            tree = ast.parse(Path(path).read_bytes()) if path is not None else None
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        if tree is None or path is None:
            return found
        info = ModuleInfo(module, path, os.path.basename(path) == "__init__.py", {})
        for stmt in _module_level(tree.body):
            if isinstance(stmt, ast.Import):
                found.extend((alias.name, True) for alias in stmt.names)
            elif isinstance(stmt, ast.ImportFrom):
                base = self._absolute(info, stmt.level, stmt.module or "")
                found.append((base, False))
                found.extend((f"{base}.{alias.name}", False) for alias in stmt.names if alias.name != "*" and base)
        return found

    @property
    def linted(self) -> Mapping[str, str]:
        if self._linted is None:
            self._linted = self._linted_of() if self._linted_of is not None else {}
        return self._linted

    def _linted_module(self, name: str) -> Optional[str]:
        """The module of the run called ``name`` (or the one whose name ends with ``.name``)."""
        return _named(name, self.linted, self._linted_suffixes, self.linted, self._exact)

    # ------------------------------------------------------------ resolution
    def resolve(self, function: Function, ref: str) -> Optional[Target]:
        key = (function.module, function.qual, ref)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(function, ref)
        return self._resolved[key]

    def _resolve(self, function: Function, ref: str) -> Optional[Target]:
        kind, _, text = ref.partition(":")
        module = function.module
        if kind == "s":
            return self._member(module, function.cls, text, 0) if function.cls else None
        if kind == "u":
            if not function.cls:
                return None
            for base in self._bases(module, function.cls, 0):
                found = self._member(base[1], base[2], text, 0)
                if found is not None:
                    return found
            return None
        if kind == "a":
            attr, _, name = text.partition(".")
            made = self._made(module, function.cls, attr, 0) if function.cls else None
            return self._member(made[1], made[2], name, 0) if made is not None else None
        head, _, rest = text.partition(".")
        if kind == "n":
            scope = function.qual
            outermost = f"{function.cls}." if function.cls else ""
            while scope and scope != function.cls:  # a def nested in this one or an enclosing one
                if (module, f"{scope}.{head}") in self._functions:
                    return "function", module, f"{scope}.{head}"
                scope = scope.rpartition(".")[0]
                if outermost and not scope.startswith(outermost):
                    break
        target = self._name(module, head, 0)
        for part in rest.split(".") if rest else ():
            if target is None:
                return None
            target = self._attribute(target, part, 0)
        return target

    def _name(self, module: str, name: str, hops: int) -> Optional[Target]:
        """What module-level ``name`` of ``module`` is (its own definitions, then imports)."""
        if hops > _MAX_HOPS:
            return None
        info = self.modules.get(module)
        if info is None:
            # A package of the run with no summary (its __init__.py names no lock and no
            # coroutine): what it re-exports (`from .db import fetch`), read from its file.
            # (Only packages: reading every plain module a name passes through cost the
            # project phase as much again on the standard library.)
            path = self.linted.get(module)
            package = path is not None and os.path.basename(path) == "__init__.py"
            imported_as = self._definitions_of(module)[1] if package else {}
            target = imported_as.get(name)
            return self._qualified(target, hops + 1) if target else None
        summary = info.summary
        kind = summary["k"].get(name)
        if kind is not None:
            if kind.startswith("="):
                return self._name(module, kind[3:], hops + 1) if kind.startswith("=n:") else None
            return "lock", f"{module}.{name}", kind
        if name in summary["c"]:
            return "class", module, name
        if name in summary["f"] or name in summary["a"]:
            return "function", module, name
        imported = summary["i"].get(name)
        if imported is None:
            return None
        return self._qualified(self._absolute(info, imported[0], imported[1]), hops + 1)

    def _attribute(self, target: Target, attr: str, hops: int) -> Optional[Target]:
        if target[0] == "module":
            found = self._name(target[1], attr, hops + 1)
            if found is not None:
                return found
            submodule = self._module_named(f"{target[1]}.{attr}")
            return ("module", submodule, "") if submodule is not None else None
        if target[0] == "class":
            return self._member(target[1], target[2], attr, hops + 1)
        return None

    def _module_named(self, name: str) -> Optional[str]:
        """The module of the run called ``name`` (``find_module``), summarised or not: a
        package with no summary (an empty ``__init__.py``, a namespace package) still leads
        to its submodules (`import pkg.sub.locks` binds `pkg`)."""
        found = self.find_module(name)
        if found is None and self._in_run(name):  # (which fills the package names)
            found = name
        if found is None:  # linted from above its import root: `lib/pkg/` is the package `pkg`
            found = _named(name, self._package_set, self._package_suffixes, self.linted, self._exact)
        return found

    def _in_run(self, name: str) -> bool:
        """Whether ``name`` is a module of the run or a package of its modules (a namespace
        package has no file of its own)."""
        found = self._packages.get(name)
        if found is None:
            if not self._package_names:
                self._package_names = {package for m in self.linted for package in _parents(m)}
                self._package_set = dict.fromkeys(self._package_names | set(self.linted))
            found = self._packages[name] = name in self.linted or name in self._package_names
        return found

    def _qualified(self, name: str, hops: int) -> Optional[Target]:
        """What the dotted ``name`` is: a project module, or a name inside one."""
        if hops > _MAX_HOPS:
            return None
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            module = self._module_named(prefix)
            if module is None:
                continue
            target: Optional[Target] = ("module", module, "")
            for part in parts[cut:]:
                if target is None:
                    return None
                target = self._attribute(target, part, hops + 1)
            return target
        return None

    def _member(self, module: str, cls: str, attr: str, hops: int) -> Optional[Target]:
        """A lock attribute or a method of a class or of its bases."""
        info = self.modules.get(module)
        if info is None or hops > _MAX_HOPS:
            return None
        record = info.summary["c"].get(cls)
        if record is None:
            return None
        kind = record["k"].get(attr)
        if kind is not None:
            if kind.startswith("=s:"):
                return self._member(module, cls, kind[3:], hops + 1)
            if kind.startswith("="):
                return None
            return "lock", f"{module}.{cls}.{attr}", kind
        if (module, f"{cls}.{attr}") in self._functions:
            return "function", module, f"{cls}.{attr}"
        for base in self._bases(module, cls, hops):
            found = self._member(base[1], base[2], attr, hops + 1)
            if found is not None:
                return found
        return None

    def _made(self, module: str, cls: str, attr: str, hops: int) -> Optional[Target]:
        """The project class whose instance ``self.attr`` holds (``self.attr = Class(...)``
        in the class or a base), None when unknown."""
        info = self.modules.get(module)
        record = info.summary["c"].get(cls) if info is not None else None
        if record is None or hops > _MAX_HOPS:
            return None
        ref = record["t"].get(attr)
        if ref is not None:
            head, _, rest = ref[2:].partition(".")
            target = self._name(module, head, hops + 1)
            for part in rest.split(".") if rest else ():
                target = self._attribute(target, part, hops + 1) if target is not None else None
            return target if target is not None and target[0] == "class" else None
        for base in self._bases(module, cls, hops):
            found = self._made(base[1], base[2], attr, hops + 1)
            if found is not None:
                return found
        return None

    def _bases(self, module: str, cls: str, hops: int) -> List[Target]:
        info = self.modules.get(module)
        record = info.summary["c"].get(cls) if info is not None else None
        if record is None or hops > _MAX_HOPS:
            return []
        out: List[Target] = []
        for ref in record["b"]:
            head, _, rest = ref[2:].partition(".")
            target = self._name(module, head, hops + 1)
            for part in rest.split(".") if rest else ():
                target = self._attribute(target, part, hops + 1) if target is not None else None
            if target is not None and target[0] == "class" and (target[1], target[2]) != (module, cls):
                out.append(target)
        return out

    def _absolute(self, info: ModuleInfo, level: int, target: str) -> str:
        if not level:
            return target
        package = info.name.split(".")
        if not info.package:
            package = package[:-1]
        if level - 1 >= len(package):
            return "<beyond the top-level package>"  # Python's ImportError: no module of the run
        package = package[: len(package) - (level - 1)]
        return ".".join([*package, target]) if target else ".".join(package)

    def find_module(self, name: str) -> Optional[str]:
        """The project module called ``name``; else the one module whose name ends with
        ``.name`` (code linted from above its import root: ``lib/pkg/mod.py`` is imported
        as ``pkg.mod``)."""
        return _named(name, self.modules, self._suffixes, self.linted, self._exact)
