"""A lambda, nested function or local class handed to another process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import PROCESS_POOL_TYPES, PROCESS_TYPES, START_METHOD_CALLS
from conclint.analysis.cstutil import get_arg, string_value, walk_scope
from conclint.interest import MAY_BE_LOCAL_CALLABLE, Argument, Calls, Either, Imports, Interest, Methods
from conclint.rule import ProjectReport, Rule

if TYPE_CHECKING:
    from conclint.analysis.project import Project

# Pool/executor methods whose callable is pickled and sent to a worker process.
_POOL_METHODS = frozenset(
    "apply apply_async map map_async imap imap_unordered starmap starmap_async submit".split()
)


class UnpicklableProcessTarget(Rule):
    """Only module-level functions and classes pickle by reference; others fail under spawn."""

    code = "CCL105"
    name = "unpicklable-process-target"
    message = "cannot be pickled: fails under the spawn and forkserver start methods (the default on Windows and macOS)"
    # The callable shipped: a process's `target` (second argument), a pool's `initializer`
    # (second or third), the function a pool method takes first.
    interest = Interest(
        Imports("multiprocessing", "concurrent"),
        Either(
            Calls(*PROCESS_TYPES, argument=Argument(MAY_BE_LOCAL_CALLABLE, positions=range(1, 2), keywords=("target",))),
            Calls(*PROCESS_POOL_TYPES, argument=Argument(MAY_BE_LOCAL_CALLABLE, positions=range(1, 3), keywords=("initializer",))),
            Methods(*_POOL_METHODS, on=PROCESS_POOL_TYPES, argument=Argument(MAY_BE_LOCAL_CALLABLE, positions=range(1), keywords=("fn", "func"))),
        ),
    )

    # Across modules, in the project phase: a lambda bound at the top of another module of the
    # project, or a call of its factory of closures, handed to a process (the caller's summary
    # files the call, the defining module's file says what the name is).
    project_part = True
    project_sites = "s"

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        from conclint.analysis.project import CLOSURE_FACTORY, LAMBDA, SPAWN_PICKLED

        for spawned in project.spawned():
            if not spawned.flags & SPAWN_PICKLED:
                continue
            if spawned.called and spawned.kind == CLOSURE_FACTORY:
                kind = f"`{spawned.callee}()` returns a function defined inside it (in `{spawned.module}`), which"
                note = "the factory is defined here"
            elif not spawned.called and spawned.kind == LAMBDA:
                kind = f"`{spawned.callee}` is a lambda (bound at the top of `{spawned.module}`), which"
                note = "the lambda"
            else:
                continue
            yield ProjectReport(cls.code, f"{kind} {cls.message}", spawned.site, ((spawned.definition, note),))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_defs: Dict[int, Set[str]] = {}  # function node id -> defs and classes nested in it
        self.found: List[Tuple[cst.CSTNode, str]] = []
        # A file that asks for "fork" only ever copies the target, never pickles it.
        self.uses_fork = False
        # Module-level names bound to a lambda, and those bound otherwise too (a def, a
        # class, another value): only the former, never the latter, pickle by no name.
        self.module_lambdas: Set[str] = set()
        self.module_other: Set[str] = set()
        self.lambda_names: List[Tuple[cst.Name, str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._record_local(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._record_local(node.name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(self.sem.frames) == 1:  # at module level
            for target in node.targets:
                self._module_binding(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if len(self.sem.frames) == 1:
            self._module_binding(node.target, node.value)

    def _module_binding(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        if isinstance(target, cst.Name):
            (self.module_lambdas if isinstance(value, cst.Lambda) else self.module_other).add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._module_binding(element.value, None)

    def _record_local(self, name: str) -> None:
        # The def's own frame is already on the stack; its parent frame is where it is bound.
        frames = self.sem.frames
        if len(frames) == 2:
            self.module_other.add(name)  # a module-level def or class
        if len(frames) > 2 and frames[-2].kind in ("function", "lambda"):
            self.local_defs.setdefault(id(frames[-2].node), set()).add(name)

    def visit_Call(self, node: cst.Call) -> None:
        if self.sem.qualname(node.func) in START_METHOD_CALLS and node.args:
            self.uses_fork = self.uses_fork or string_value(node.args[0].value) == "fork"
            return
        arg = self._shipped_callable(node)
        if arg is None:
            return
        kind = self._unpicklable_kind(arg.value)
        if kind is not None:
            self.found.append((arg.value, f"{kind} {self.message}"))

    def _shipped_callable(self, node: cst.Call) -> Optional[cst.Arg]:
        created = self.sem.call_result_type(node)
        if created in PROCESS_TYPES:
            return get_arg(node, "target", 1)
        if created in PROCESS_POOL_TYPES:
            return get_arg(node, "initializer", 1 if created == "multiprocessing.Pool" else 2)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _POOL_METHODS:
            if self.sem.type_of(func.value) in PROCESS_POOL_TYPES:
                return get_arg(node, "fn" if func.attr.value == "submit" else "func", 0)
        return None

    def _unpicklable_kind(self, value: cst.BaseExpression) -> Optional[str]:
        if isinstance(value, cst.Lambda):
            return "a lambda"
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            # `pool.map(make_worker(3), ...)`: a factory of the module returning a closure.
            factory = self.sem.functions.get(value.func.value)
            if factory is not None and not self.sem.is_shadowed(value.func.value) and _returns_closure(factory):
                return f"`{value.func.value}()` returns a function defined inside it, which"
            return None
        if not isinstance(value, cst.Name):
            return None
        for frame in reversed(self.sem.frames[1:]):
            if value.value in self.local_defs.get(id(frame.node), ()):
                return f"`{value.value}` is defined inside a function and"
            if value.value in frame.types or value.value in frame.bindings:
                return None  # a parameter or assignment shadows any outer definition
        if value.value not in self.sem.frames[0].bindings:  # (imports and aliases are there)
            self.lambda_names.append((value, value.value))  # a lambda at module level? seen at the end
        return None

    def leave_Module(self, node: cst.Module) -> None:
        if self.uses_fork:
            return
        for name_node, name in self.lambda_names:
            if name in self.module_lambdas and name not in self.module_other:
                self.found.append((name_node, f"`{name}` is a lambda (bound at module level), which {self.message}"))
        for value, message in self.found:
            self.report(value, message)


def _returns_closure(function: cst.FunctionDef) -> bool:
    """Whether every ``return`` of ``function`` (at least one) gives a lambda or a def or class
    nested in it: what it returns cannot be pickled by reference."""
    if function.decorators or not isinstance(function.body, cst.IndentedBlock):
        return False
    local = {s.name.value for s in function.body.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
    returns = [n for n in walk_scope(function.body) if isinstance(n, cst.Return)]
    return bool(returns) and all(
        isinstance(r.value, cst.Lambda) or (isinstance(r.value, cst.Name) and r.value.value in local) for r in returns
    )
