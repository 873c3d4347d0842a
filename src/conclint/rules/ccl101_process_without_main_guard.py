"""Processes created or started at import time, outside ``if __name__ == "__main__":``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.cstutil import is_correct_main_guard, is_name_main_test, walk
from conclint.fixes import into_block
from conclint.interest import AtImport, Calls, Imports, Interest
from conclint.rule import Applicability, Rule

_SPAWNING_TYPES = frozenset(
    {"multiprocessing.Process", "multiprocessing.Pool", "multiprocessing.Manager", "concurrent.futures.ProcessPoolExecutor"}
)
_SPAWNING_CALLS = frozenset({"multiprocessing.set_start_method"})


class ProcessWithoutMainGuard(Rule):
    """Module-level code that starts processes runs again in every spawned child."""

    code = "CCL101"
    name = "process-without-main-guard"
    message = "processes are created at import time, outside `if __name__ == \"__main__\":`"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("multiprocessing", "concurrent"), AtImport(Calls(*_SPAWNING_TYPES, *_SPAWNING_CALLS)))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct: Set[str] = set()  # module functions that spawn processes themselves
        self.calls: Dict[str, Set[str]] = {}  # module function -> module functions it calls
        # (top-level statement, call node, callee function name or None for a direct spawn)
        self.candidates: List[Tuple[cst.CSTNode, cst.Call, Optional[str]]] = []

    def visit_Call(self, node: cst.Call) -> None:
        spawns = self.sem.call_result_type(node) in _SPAWNING_TYPES or self.sem.qualname(node.func) in _SPAWNING_CALLS
        callee = None
        if not spawns and isinstance(node.func, cst.Name) and node.func.value in self.sem.functions:
            if self.sem.qualname(node.func) is None and self.sem.lookup_type(node.func.value) is None:
                callee = node.func.value
        if not spawns and callee is None:
            return
        frames = self.sem.frames
        if len(frames) > 1:
            top = frames[1]
            if top.kind == "function" and all(f.kind != "class" for f in frames[1:]):
                if spawns:
                    self.direct.add(top.name)
                elif callee is not None:
                    self.calls.setdefault(top.name, set()).add(callee)
            return
        if any(isinstance(a, cst.If) and is_name_main_test(a.test) for a in self.sem.stack):
            return
        statement = self.sem.stack[1] if len(self.sem.stack) > 1 else node
        self.candidates.append((statement, node, None if spawns else callee))

    def leave_Module(self, node: cst.Module) -> None:
        spawners = set(self.direct)
        changed = True
        while changed:
            changed = False
            for caller, callees in self.calls.items():
                if caller not in spawners and callees & spawners:
                    spawners.add(caller)
                    changed = True
        offending: List[Tuple[cst.CSTNode, cst.Call, Optional[str]]] = []
        seen: Set[int] = set()
        for statement, call, callee in self.candidates:
            if callee is not None and callee not in spawners:
                continue
            if id(statement) in seen:
                continue
            seen.add(id(statement))
            offending.append((statement, call, callee))
        if not offending:
            return
        guarded = _guard_module(node, [s for s, _, _ in offending])
        for statement, call, callee in offending:
            message = self.message if callee is None else (
                f"`{callee}()` starts processes and is called at import time, outside `if __name__ == \"__main__\":`"
            )
            if guarded is None:
                self.report(call, message)
            else:
                self.report(call, message, changes={node: guarded}, fix_message="Move the script code under a main guard")


# Every statement is one of these (LibCST's BaseStatement does not declare their leading_lines).
_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


def _is_script_statement(index: int, stmt: cst.CSTNode) -> bool:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return False
    if isinstance(stmt, cst.SimpleStatementLine):
        if any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
            return False
    return True


def _guard_module(module: cst.Module, offending: List[cst.CSTNode]) -> Optional[cst.Module]:
    """The module with its trailing script statements moved under a main guard, if that
    covers every offending statement and no definition follows them."""
    body = list(module.body)
    indexes = [i for i, stmt in enumerate(body) if any(stmt is o for o in offending)]
    if len(indexes) != len(offending):
        return None
    start = min(indexes)
    if not all(_is_script_statement(i, stmt) for i, stmt in enumerate(body[start:], start)):
        return None
    moved: List[cst.BaseStatement] = []
    for stmt in body[start:]:
        if isinstance(stmt, cst.If) and is_name_main_test(stmt.test):
            if not is_correct_main_guard(stmt.test) or stmt.orelse is not None:
                # Under the new guard, the branch that runs on import (`else:`), or the
                # body of a misspelled guard, would never run.
                return None
            if isinstance(stmt.body, cst.IndentedBlock):
                inner = list(stmt.body.body)
                if inner and stmt.leading_lines:
                    head = inner[0]
                    assert isinstance(head, _STATEMENTS)
                    inner[0] = head.with_changes(leading_lines=list(stmt.leading_lines) + list(head.leading_lines))
                moved.extend(inner)
                continue
        elif any(isinstance(n, cst.Name) and n.value == "__name__" for n in walk(stmt)):
            return None  # `if not __name__ == ...`, `match __name__:`: a branch may run on import
        moved.append(stmt)  # (a one-line guard stays one, inside the new guard)
    first = moved[0]
    assert isinstance(first, _STATEMENTS)
    leading = first.leading_lines
    moved[0] = first.with_changes(leading_lines=[])
    guard = cst.If(
        test=cst.Comparison(
            left=cst.Name("__name__"),
            comparisons=[cst.ComparisonTarget(operator=cst.Equal(), comparator=cst.SimpleString('"__main__"'))],
        ),
        body=cst.IndentedBlock(body=into_block(moved)),
        leading_lines=leading,
    )
    return module.with_changes(body=body[:start] + [guard])
