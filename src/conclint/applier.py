"""Apply tree changes: the fixes rules made, on the tree they were made on.

``apply_changes`` regenerates a module with fixes applied (and the imports they need);
``select_fixes`` picks the fixes one pass may apply together. The fix loop that re-lints
between passes is ``conclint.fixer``; the engine uses ``apply_changes`` for the text edits
of ``--diff`` and JSON output. Nothing here imports the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

if TYPE_CHECKING:
    from conclint.rule import Fix, Report


class _Apply(cst.CSTTransformer):
    def __init__(self, changes: Dict[cst.CSTNode, Any]) -> None:
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        replacement = self.changes.get(original_node)
        if replacement is None:
            return updated_node
        return replacement


class _Nesting(cst.CSTVisitor):
    """Finds targets with another target inside them: those wait for the next pass."""

    def __init__(self, targets: Set[cst.CSTNode]) -> None:
        super().__init__()
        self.targets = targets
        self.open: List[cst.CSTNode] = []
        self.nested: Set[cst.CSTNode] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node in self.targets:
            # The targets around it wait (their replacements were made from what this one
            # changes); the innermost go first, so a pass per level of nesting, not per fix.
            self.nested.update(self.open)
            self.open.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.open and self.open[-1] is original_node:
            self.open.pop()


def apply_changes(module: cst.Module, fixes: Sequence[Fix]) -> cst.Module:
    """The module with every fix applied (callers make sure fixes do not overlap)."""
    changes: Dict[cst.CSTNode, Any] = {}
    imports: List[str] = []
    unused: List[Tuple[str, Optional[str], Optional[str]]] = []
    for fix in fixes:
        changes.update(fix.changes)
        imports.extend(fix.add_imports)
        unused.extend(fix.drop_imports)
    new = module.visit(_Apply(changes))
    for name in dict.fromkeys(imports):
        new = _add_import(new, name)
    for imported in dict.fromkeys(unused):
        new = _drop_unused_import(new, *imported)
    return new


def _drop_unused_import(module: cst.Module, name: str, obj: Optional[str], alias: Optional[str]) -> cst.Module:
    """``module`` without ``import name`` (``from name import obj as alias``) when nothing in it
    uses it any more (LibCST's own scope analysis decides); kept when removing it would take a
    comment with it."""
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import RemoveImportsVisitor

    from conclint.analysis.cstutil import comments

    context = CodemodContext()
    RemoveImportsVisitor.remove_unused_import(context, name, obj, alias)
    new = RemoveImportsVisitor(context).transform_module(module)
    return new if comments(new) == comments(module) else module


def _add_import(module: cst.Module, name: str) -> cst.Module:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, name)
    return AddImportsVisitor(context).transform_module(module)


def select_fixes(module: cst.Module, reports: Sequence[Report], unsafe: bool) -> List[Fix]:
    """The fixes of ``reports`` (made on ``module``) to apply in one pass: the applicable ones
    (safe, or also unsafe ones when ``unsafe``) that do not overlap, first come, first served;
    a fix with another's target inside one of its own waits for the next pass."""
    candidates = [
        report.fix
        for report in reports
        if report.fix is not None and (unsafe or report.fix.applicability.value == "safe")
    ]
    if not candidates:
        return []
    targets: Set[cst.CSTNode] = set()
    claimed: List[Fix] = []
    for fix in candidates:
        if any(node in targets for node in fix.changes):
            continue
        claimed.append(fix)
        targets.update(fix.changes)
    nesting = _Nesting(targets)
    module.visit(nesting)
    return [fix for fix in claimed if not any(node in nesting.nested for node in fix.changes)] or claimed[:1]
