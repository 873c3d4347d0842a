"""gevent's ``monkey.patch_all()`` after the modules it patches were imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import libcst as cst

from conclint.analysis.cstutil import dotted, names_in
from conclint.interest import Imports, Interest, Text
from conclint.rule import Applicability, ProjectReport, Rule

if TYPE_CHECKING:
    from conclint.analysis.project import Project

# Modules gevent patches, and stdlib modules that capture their blocking objects at import
# (``logging`` creates an RLock, ``http.client`` binds ``socket``, ...).
_PATCHED_ROOTS = frozenset(
    "socket ssl select selectors threading _thread thread time os signal subprocess queue "
    "urllib http asyncio logging multiprocessing concurrent requests urllib3 httplib2".split()
)
# Already imported when the interpreter starts (3.9-3.13, with `site`): `import os` before the
# patch binds the module object gevent then patches in place, so later `os.fork()` is patched.
# (`from time import sleep` binds the unpatched function and stays flagged.)
_AT_STARTUP = frozenset({"os", "os.path", "time", "_thread"})
_LITERAL_NAMES = frozenset({"True", "False", "None"})
Import = Union[cst.Import, cst.ImportFrom]


def _imported_modules(node: Import) -> List[str]:
    if isinstance(node, cst.Import):
        return [name for name in (dotted(a.name) for a in node.names) if name]
    module = dotted(node.module) if node.module is not None and not node.relative else None
    return [module] if module else []


def _is_gevent_import(line: cst.SimpleStatementLine) -> bool:
    """A line importing only from gevent: it can move up together with the patch."""
    return all(
        isinstance(s, (cst.Import, cst.ImportFrom)) and all(m.split(".")[0] == "gevent" for m in _imported_modules(s))
        for s in line.body
    )


def _insertion_index(body: Sequence[cst.BaseStatement]) -> int:
    """Index after the module docstring and ``from __future__`` imports."""
    index = 0
    for stmt in body:
        small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ()
        docstring = index == 0 and len(small) == 1 and isinstance(small[0], cst.Expr) and isinstance(
            small[0].value, (cst.SimpleString, cst.ConcatenatedString)
        )
        future = bool(small) and all(
            isinstance(s, cst.ImportFrom) and s.module is not None and dotted(s.module) == "__future__" for s in small
        )
        if not (docstring or future):
            break
        index += 1
    return index


class LateMonkeyPatch(Rule):
    """``monkey.patch_all()`` must run before anything imports the modules it patches."""

    code = "CCL401"
    name = "late-monkey-patch"
    message = "gevent monkey-patching after the modules it patches were imported: they keep their blocking versions"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("gevent"), Text("patch_"))

    # Across modules, in the project phase: a module of the project imported above the patch,
    # which imports (itself, or through other modules of the project) one the patch changes.
    project_part = True
    project_sites = "g"

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        # gevent's own modules are meant to be imported before patching (the rule's own half
        # lets `from gevent import monkey` pass too): a chain never goes through them.
        for site, module, chain, root, patch in project.imports_before_patching(_is_patched, _not_gevent):
            through = f" (through {' -> '.join(chain)})" if len(chain) > 1 else ""
            message = (
                f"`{module}` is imported before gevent's monkey-patching (line {patch.line}), and it imports "
                f"`{root}`{through}: it keeps the blocking versions; patch first, before any other import"
            )
            yield ProjectReport(cls.code, message, site, ((patch, "the monkey-patching"),))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Patched modules imported at module level so far, with the if/else branches they are in.
        self.patched_imports: List[Tuple[str, FrozenSet[int]]] = []
        # The module-level import line that binds each name (``monkey``, ``gevent``, ``patch_all``).
        self.import_lines: Dict[str, cst.SimpleStatementLine] = {}
        self.late: List[Tuple[cst.Call, List[str]]] = []  # patch call, modules imported before it

    def visit_Import(self, node: cst.Import) -> None:
        self._record(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._record(node)

    def _record(self, node: Import) -> None:
        if not self.sem.at_module_level:
            return
        branches = _branches(self.sem.stack)
        for module in _imported_modules(node):
            if _is_patched(module, isinstance(node, cst.Import)):
                self.patched_imports.append((module, branches))
        line = self.sem.parent
        if isinstance(node.names, Sequence) and isinstance(line, cst.SimpleStatementLine):
            for alias in node.names:
                bound = dotted(alias.asname.name if alias.asname is not None else alias.name)
                if bound is not None:  # (an imported name is always dotted)
                    self.import_lines[bound.split(".")[0]] = line

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.sem.qualname(node.func)
        # A patch inside a function runs when the program decides (gunicorn's worker, tests).
        if qualname is None or not qualname.startswith("gevent.monkey.patch_") or not self.sem.at_module_level:
            return
        # An import in another branch (`if parent: import subprocess` / `else: patch_all()`) never ran.
        ancestors = {id(n) for n in self.sem.stack}
        before = [module for module, branches in self.patched_imports if branches <= ancestors]
        if before:
            self.late.append((node, before))

    def leave_Module(self, node: cst.Module) -> None:
        for call, before in self.late:
            modules = ", ".join(f"`{m}`" for m in dict.fromkeys(before))
            message = f"gevent monkey-patching after importing {modules}: patch first, before any other import"
            moved = self._moved_to_top(node, call)
            if moved is None:
                self.report(call, message)
            else:
                self.report(call, message, changes={node: moved}, fix_message="Move the monkey-patching to the top")

    def _moved_to_top(self, module: cst.Module, call: cst.Call) -> Optional[cst.Module]:
        """The module with the patch line and the gevent import it needs moved to the top, when
        the patch is a plain statement of its own whose arguments are literals."""
        body = list(module.body)
        line = next((s for s in body if _is_line_of(s, call)), None)
        patch = dotted(call.func)
        importer = self.import_lines.get(patch.split(".")[0]) if patch is not None else None
        # Both must be top-level lines: an import inside `try:` cannot move without its handler.
        if line is None or importer is None or not any(s is importer for s in body) or not _is_gevent_import(importer):
            return None
        if any(n not in _LITERAL_NAMES for a in call.args for n in names_in(a.value)):
            return None  # the arguments may use names defined further down
        start = _insertion_index(body)
        rest = [s for s in body[start:] if s is not importer and s is not line]
        # Moved lines keep their comments; the block takes over the blank lines above the first
        # statement it now precedes.
        moving = [s.with_changes(leading_lines=_comments(s)) for s in (importer, line)]
        blank = [e for e in rest[0].leading_lines if e.comment is None]
        moving[0] = moving[0].with_changes(leading_lines=[*blank, *moving[0].leading_lines])
        rest[0] = rest[0].with_changes(leading_lines=_comments(rest[0]))
        return module.with_changes(body=body[:start] + moving + rest)


def _not_gevent(module: str) -> bool:
    return module.split(".")[0] != "gevent"


def _is_patched(module: str, plain_import: bool) -> bool:
    """Whether importing ``module`` before the patch keeps something it changes."""
    if plain_import and module in _AT_STARTUP:
        return False
    return module.split(".")[0] in _PATCHED_ROOTS


def _branches(stack: Sequence[cst.CSTNode]) -> FrozenSet[int]:
    """The bodies of the ``if``/``else`` branches the current node is in."""
    pairs = zip(stack, stack[1:])
    return frozenset(id(body) for parent, body in pairs if isinstance(parent, (cst.If, cst.Else)) and parent.body is body)


def _is_line_of(stmt: cst.BaseStatement, call: cst.Call) -> bool:
    """Whether ``stmt`` is the line ``call`` alone."""
    small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ()
    return len(small) == 1 and isinstance(small[0], cst.Expr) and small[0].value is call


def _comments(stmt: Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]) -> List[cst.EmptyLine]:
    return [e for e in stmt.leading_lines if e.comment is not None]
