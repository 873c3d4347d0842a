"""A coroutine function called as a bare statement: the coroutine is created and dropped."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Set

import libcst as cst

from conclint.analysis.catalogue import TRANSPARENT_DECORATORS
from conclint.analysis.cstutil import dotted, statement_expr, walk_statements, watched_by_test
from conclint.analysis.facts import Facts, body_span, callee_name, methods_of, module_level_defs, position, terminals
from conclint.gate import ASYNC_DEF_TRIGGER, line_start
from conclint.interest import Interest, Text
from conclint.rule import ProjectReport, Rule

if TYPE_CHECKING:
    from conclint.analysis.project import Project



def _is_plain_coroutine_function(node: Optional[cst.FunctionDef]) -> bool:
    return (
        node is not None
        and node.asynchronous is not None
        and all(dotted(d.decorator) in TRANSPARENT_DECORATORS for d in node.decorators)
    )


def _yields(node: Optional[cst.FunctionDef]) -> bool:
    """Whether the def's own body holds a ``yield``: an ``async def`` with one is an async
    generator function, iterated (``async for``), never awaited."""
    if node is None:
        return False
    pending: List[cst.CSTNode] = [node.body]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Yield):
            return True
        if not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            pending.extend(current.children)
    return False


def _module_bindings(stmt: cst.CSTNode) -> Iterator[str]:
    """The names a module-level statement binds (as ``walk_statements`` yields them)."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        yield stmt.name.value
    elif isinstance(stmt, (cst.Import, cst.ImportFrom)) and not isinstance(stmt.names, cst.ImportStar):
        for alias in stmt.names:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value
            else:
                head = dotted(alias.name) or ""
                if head:
                    yield head.partition(".")[0]  # `import a.b` binds `a`
    elif isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
        for target in targets:
            for node in (target, *(e.value for e in getattr(target, "elements", ()))):
                if isinstance(node, cst.Name):
                    yield node.value


_SLEEP = terminals({"asyncio.sleep"})
_ASYNCIO = frozenset({"asyncio", "tasks"})  # asyncio.sleep, asyncio.tasks.sleep
# No leading \b in these: it keeps re from searching for the literal first (ten times slower).
# Names may hold any letter (UTF-8 bytes past ASCII); a backslash may join two lines.
_ASYNC_DEF_NAME = re.compile(rb"async(?:\s|\\)+def(?:\s|\\)+((?:\w|[\x80-\xff])+)")
_SLEEP_ALIAS = re.compile(rb"sleep(?:\s|\\)+as(?:\s|\\)+((?:\w|[\x80-\xff])+)")


def _may_call_a_coroutine_bare(data: bytes) -> bool:
    """Whether some statement may start with a call of a coroutine function this rule knows:
    an ``async def`` of the file, or ``asyncio.sleep`` (also imported under another name)."""
    names = set(_ASYNC_DEF_NAME.findall(data))
    if b"asyncio" in data:
        names.add(b"sleep")
        names.update(_SLEEP_ALIAS.findall(data))
    if not names:
        return False
    alternatives = b"|".join(re.escape(name) for name in sorted(names))
    # At a line start, after `:` (`if x: fetch()`) or `;`, maybe parenthesized or dotted: each
    # call of a name, then what stands before it on its line (one regex over the whole text
    # with that prefix in front backtracked at every `:` and line start).
    for call in re.finditer(rb"(?:" + alternatives + rb")(?:\s|\\)*\(", data):
        start = call.start()
        if _STATEMENT_START.fullmatch(data, line_start(data, start), start):
            return True
    return False


# Before the name on its line: a `:` or `;` and what precedes it, then blanks or parentheses,
# then maybe a dotted prefix (`asyncio . sleep`, `self.client.fetch`, a backslash between).
_STATEMENT_START = re.compile(rb"(?:[^\n\r]*[:;])?[ \t\f(]*(?:(?:\w|[\x80-\xff]|[ \t\f.\\])*\.[ \t\f\\]*)?")


class CoroutineNeverAwaited(Rule):
    """``fetch()`` instead of ``await fetch()``: nothing runs, Python only warns at garbage collection."""

    code = "CCL404"
    name = "coroutine-never-awaited"
    message = "coroutine never awaited: calling a coroutine function without `await` runs nothing"
    interest = Interest(Text(f"{ASYNC_DEF_TRIGGER}|asyncio", _may_call_a_coroutine_bare))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Functions defined inside a function shadow module-level ones of the same name there.
        self.local_defs: Dict[cst.CSTNode, Set[str]] = {}
        self._generator = False  # what the last ``_coroutine_callee`` found: an async generator function
        self._finals: Optional[Dict[str, cst.CSTNode]] = None  # name -> its last module-level binding

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # A statement calling `asyncio.sleep` (asyncio imported), an `async def` of the module
        # by name, or, through the method's `self`, an `async def` method of a class around it.
        module_level = {f.name for f in module_level_defs(facts) if type(f) is ast.AsyncFunctionDef}
        asyncio = facts.imports_any("asyncio")
        sleeps, modules = facts.names_for(_SLEEP), facts.names_for(_ASYNCIO)
        selves = facts.first_parameters()
        async_methods = {s.name for c in facts.classes for s in c.body if type(s) is ast.AsyncFunctionDef}
        for calls in facts.statement_calls.values():
            for call in calls:
                func = call.func
                if type(func) is ast.Name:
                    if (asyncio and func.id in sleeps) or func.id in module_level:
                        return True
                elif type(func) is ast.Attribute:
                    if asyncio and func.attr == "sleep" and callee_name(func.value) in modules:
                        return True
                    if (
                        func.attr in async_methods
                        and type(func.value) is ast.Name
                        and func.value.id in selves
                        and _async_method_around(facts, call)
                    ):
                        return True
        return False

    # Across modules, in the project phase: a coroutine function another module of the
    # project defines, imported here and called as a statement (`conclint.analysis.project`
    # summarises the files that have an `async def`: callers are looked for in those).
    project_part = True
    project_sites = "w"

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        for call, callee, definition, module, name, generator in project.unawaited_coroutines():
            defined = f"`async def {name}`" if name != callee.rpartition(".")[2] else "`async def`"  # (imported as)
            if generator:
                message = (
                    f"`{callee}()` is never iterated: it is an async generator function ({defined} in `{module}`), "
                    "calling it without `async for` runs nothing"
                )
            else:
                message = (
                    f"`{callee}()` is never awaited: it is a coroutine function ({defined} in `{module}`), "
                    "calling it without `await` runs nothing"
                )
            yield ProjectReport(cls.code, message, call, ((definition, f"`{name}` is defined here"),))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # The engine has pushed ``node``'s own frame: its parent scope is the one before.
        parent = self.sem.frames[-2]
        if parent.kind in ("function", "lambda"):
            self.local_defs.setdefault(parent.node, set()).add(node.name.value)

    def visit_Call(self, node: cst.Call) -> None:
        # Inside `with pytest.raises(...)` the call is expected to fail: nothing is dropped.
        if statement_expr(self.sem.stack, node) is None or watched_by_test(self.sem.stack):
            return
        callee = self._coroutine_callee(node.func)
        if callee is None:
            return
        if self._generator:
            self.report(node, f"`{callee}()` is never iterated: calling an async generator function without `async for` runs nothing")
        else:
            self.report(node, f"`{callee}()` is never awaited: calling a coroutine function without `await` runs nothing")

    def _coroutine_callee(self, func: cst.BaseExpression) -> Optional[str]:
        """The callee as written when it is a coroutine function (``_generator``: an async
        generator function), else None."""
        self._generator = False
        if self.sem.qualname(func) == "asyncio.sleep":
            return dotted(func)
        if isinstance(func, cst.Name):
            name = func.value
            if self._is_local_def(name) or self.sem.qualname(func) is not None or self.sem.is_shadowed(name):
                return None
            final = self._final_binding(name)
            if not isinstance(final, cst.FunctionDef) or self.sem.functions.get(name) is None:
                return None  # rebound after the `async def` (a sync def, an import, `name = ...`)
            definition = final  # (of `if ...: async def f` / `else: async def f`, the last one)
            self._generator = _yields(definition)
            return name if _is_plain_coroutine_function(definition) else None
        if isinstance(func, cst.Attribute) and self.sem.is_self(func.value):
            # ``self.method()``: only the class's own method, never a same-named one elsewhere.
            info = self.sem.enclosing_class()
            method = info.methods.get(func.attr.value) if info is not None else None
            self._generator = _yields(method)
            return dotted(func) if _is_plain_coroutine_function(method) else None
        return None

    def _final_binding(self, name: str) -> Optional[cst.CSTNode]:
        """The module-level statement that binds ``name`` last, in source order."""
        if self._finals is None:
            self._finals = {}
            module = self.sem.module
            for stmt in walk_statements(module.body if module is not None else ()):
                for bound in _module_bindings(stmt):
                    self._finals[bound] = stmt
        return self._finals.get(name)

    def _is_local_def(self, name: str) -> bool:
        return any(name in self.local_defs.get(frame.node, ()) for frame in self.sem.frames[1:])


def _async_method_around(facts: Facts, call: ast.Call) -> bool:
    """Whether a class holding ``call`` has an ``async def`` method named as it calls."""
    at, name = position(call), callee_name(call.func)  # (the attribute's: a call x.m(...))
    return any(
        type(methods_of(c).get(name)) is ast.AsyncFunctionDef and body_span(c)[0] <= at <= body_span(c)[1]
        for c in facts.classes
    )
