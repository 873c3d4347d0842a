"""``if __name__ == '_main_':`` and other main guards that can never be true."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Optional, Sequence

import libcst as cst

from conclint.analysis.cstutil import names_in, parameters, string_value, touched_names
from conclint.interest import ComparesName, Interest, Text
from conclint.rule import Applicability, Rule

_MAIN = "__main__"


def _near_main(text: str) -> bool:
    """``'_main_'``, ``'main'``, ``'__Main__ '``...: "main" once underscores, blanks and case are ignored."""
    return text != _MAIN and text.strip().strip("_").strip().lower() == "main"


# `__name__` compared with `is`, or with `==`/`!=` against a string literal that is not
# exactly "__main__" (on either side, maybe parenthesized, comments between; not
# `cls.__name__`): correct guards don't match. Each form holds a `__name__` it starts at
# (`_SUSPICIOUS_AFTER`, where it is not part of a longer name or an attribute) or ends at
# (`_SUSPICIOUS_BEFORE`). A necessary condition, not the rule: `"__main__" "_"` (implicit
# concatenation) matches, and so does any string before `== __name__`.
_GAP = rb"(?:[\s()\\]|#[^\n\r]*)*"
_SUSPICIOUS_AFTER = re.compile(
    rb"__name__" + _GAP + rb"is\b|__name__" + _GAP + rb"[=!]=" + _GAP
    # (the gap taken whole, then the operand: not one complete "__main__" standing alone)
    + rb"(?![\s()\\#])(?!(?:[rRuU]?\"__main__\"|[rRuU]?'__main__')(?![\s\\]*[rRuUbBfF]{0,2}['\"]))[rRuUbBfF]{0,2}['\"]"
)
_SUSPICIOUS_BEFORE = re.compile(rb"(?:\bis(?:\s+not)?|['\"]" + _GAP + rb"[=!]=)" + _GAP + rb"__name__\Z")
_WINDOW = 200


def _suspicious(operator: str, text: str) -> bool:
    """``__name__ is "__main__"`` (identity, not equality), or a near miss of ``"__main__"``."""
    return (operator in ("is", "is not") and text == _MAIN) or _near_main(text)


SUSPICIOUS_GUARD = ComparesName(_suspicious)


def _compares_name_suspiciously(data: bytes) -> bool:
    """Whether some ``__name__`` starts or ends such a comparison: each occurrence is tried
    where it stands (run over whole files, one regex with lookbehinds was the costliest
    trigger of all, 1.5 s on the stdlib; around each occurrence, still a tenth of a second)."""
    at = data.find(b"__name__")
    while at != -1:
        before = data[at - 1: at] if at else b""
        if not (before.isalnum() or before in (b"_", b".")) and _SUSPICIOUS_AFTER.match(data, at):
            return True
        if _SUSPICIOUS_BEFORE.search(data, max(0, at - _WINDOW), at + len(b"__name__")):
            return True
        at = data.find(b"__name__", at + 1)
    return False


class MisspelledMainGuard(Rule):
    """A comparison of ``__name__`` with a near-miss of ``"__main__"``, or with ``is``."""

    code = "CCL102"
    name = "misspelled-main-guard"
    message = "this main guard is never true: the guarded code never runs"
    fix = Applicability.SAFE
    interest = Interest(Text(_compares_name_suspiciously), SUSPICIOUS_GUARD)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if not SUSPICIOUS_GUARD.matches(self.sem, node):
            return
        target = node.comparisons[0]
        # `__name__` on one side, one plain string on the other: what the interest matched.
        literal = next(o for o in (node.left, target.comparator) if string_value(o) is not None)
        text = string_value(literal) or ""
        operator = _fixed_operator(target.operator, text)
        if operator is None or (text != _MAIN and text == _module_name(self.sem.path)):
            return  # `== "main"` in main.py: true where the module is imported as `main`
        if _rebinds_name(self.sem.stack):
            return  # a parameter, a local, a class attribute or a loop variable: not the module's name
        comparator = cst.SimpleString(f'"{_MAIN}"')
        fixed_target = target.with_changes(
            operator=operator, comparator=comparator if target.comparator is literal else target.comparator
        )
        replacement = node.with_changes(left=comparator if node.left is literal else node.left, comparisons=[fixed_target])
        self.report(node, replacement=replacement, fix_message='Compare with `== "__main__"`')


def _rebinds_name(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether ``__name__`` where the comparison stands may be another name than the module's:
    a parameter of a def or lambda around it, a comprehension's variable, a name a def around
    it binds (a closure reads it), the class it stands in binds, or the module rebinds."""
    innermost_class = True
    for node in reversed(stack):
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            if any(p.name.value == "__name__" for p in parameters(node)):
                return True
            if isinstance(node, cst.FunctionDef) and _binds(node.body.body if isinstance(node.body, cst.IndentedBlock) else ()):
                return True
            innermost_class = False  # (a class around a def is no scope of the def's names)
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            if any("__name__" in names_in(f.target) for f in _comp_fors(node)):
                return True
        elif isinstance(node, cst.ClassDef) and innermost_class:
            innermost_class = False
            if _binds(node.body.body if isinstance(node.body, cst.IndentedBlock) else ()):
                return True
        elif isinstance(node, cst.Module):
            return _binds(node.body)
    return False


def _binds(body: Sequence[cst.CSTNode]) -> bool:
    return any("__name__" in touched_names(stmt) for stmt in body if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)))


def _comp_fors(node: cst.CSTNode) -> Sequence[cst.CompFor]:
    out = []
    current = getattr(node, "for_in", None)
    while current is not None:
        out.append(current)
        current = current.inner_for_in
    return out


def _module_name(path: str) -> str:
    """The last part of the module name of the file at ``path`` (``main`` for ``main.py``
    and for ``main/__init__.py``)."""
    directory, base = os.path.split(path)
    stem = base.rsplit(".", 1)[0]
    return os.path.basename(directory) if stem == "__init__" else stem


def _fixed_operator(operator: cst.BaseCompOp, text: str) -> Optional[cst.BaseCompOp]:
    """The operator a correct guard uses in place of ``operator``, or None when nothing is wrong.

    ``is`` compares identity: it holds for ``"__main__"`` only by interning accident (and
    is a SyntaxWarning since 3.8), so it becomes ``==`` (``is not`` becomes ``!=``).
    """
    if not isinstance(operator, (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)):
        return None  # (what the checks below would find)
    ws: Dict[str, Any] = {"whitespace_before": operator.whitespace_before, "whitespace_after": operator.whitespace_after}
    if isinstance(operator, cst.Is) and text == _MAIN:
        return cst.Equal(**ws)
    if isinstance(operator, cst.IsNot) and text == _MAIN:
        return cst.NotEqual(**ws)
    if not _near_main(text):
        return None
    if isinstance(operator, (cst.Equal, cst.Is)):
        return cst.Equal(**ws)
    if isinstance(operator, (cst.NotEqual, cst.IsNot)):
        return cst.NotEqual(**ws)
    return None
