"""The layout shows the architecture: no import cycles between conclint's modules, and each
layer imports only the layers below it.

Every module under ``src/conclint`` is parsed with ``ast``; an import anywhere in it (at
module level or inside a function) is an edge of the graph, except one under
``if TYPE_CHECKING:``, which never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "conclint"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.AST]:
    """Every import statement below ``node``, skipping the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _imports(child)


def _resolve(importer: str, node: ast.ImportFrom) -> Optional[str]:
    if not node.level:
        return node.module
    package = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        package.pop()
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def imported_modules(name: str) -> Set[str]:
    """The conclint modules that module ``name`` imports (``from pkg import sub`` is ``pkg.sub``
    when that is a module, else ``pkg``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out: Set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = _resolve(name, node)
            if base is None:
                continue
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        out.update(t for t in targets if t in MODULES and t != name)
    return out


GRAPH: Dict[str, Set[str]] = {name: imported_modules(name) for name in MODULES}


def find_cycle() -> Optional[List[str]]:
    """One import cycle (its modules, the first repeated at the end), or None."""
    done: Set[str] = set()
    path: List[str] = []
    on_path: Set[str] = set()

    def visit(node: str) -> Optional[List[str]]:
        path.append(node)
        on_path.add(node)
        for target in sorted(GRAPH[node]):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in done:
                found = visit(target)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(node)
        return None

    for start in sorted(GRAPH):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = find_cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def _in(module: str, *layers: str) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def _violations(importers: str, forbidden: List[str]) -> List[str]:
    return [
        f"{name} imports {target}"
        for name, targets in sorted(GRAPH.items())
        if _in(name, importers)
        for target in sorted(targets)
        if _in(target, *forbidden)
    ]


APPLICATION = ["conclint.engine", "conclint.fixer", "conclint.cli", "conclint.runner"]


def test_analysis_is_below_the_engine_and_the_rules():
    assert _violations("conclint.analysis", [*APPLICATION, "conclint.rules", "conclint.rule"]) == []


def test_gate_and_applier_are_leaves():
    assert _violations("conclint.gate", APPLICATION) == []
    assert _violations("conclint.applier", APPLICATION) == []
    allowed = {"conclint.analysis.catalogue"}
    assert {t for t in GRAPH["conclint.gate"] if t not in allowed} == set()


def test_rules_import_only_the_rule_api():
    allowed = ("conclint.rule", "conclint.interest", "conclint.analysis", "conclint.fixes", "conclint.gate")
    rules = [name for name in GRAPH if name.startswith("conclint.rules.")]
    assert rules
    bad = [f"{name} imports {t}" for name in sorted(rules) for t in sorted(GRAPH[name]) if not _in(t, *allowed)]
    assert bad == []


def _private_uses(name: str) -> Iterator[Tuple[str, str]]:
    """(kind, where and what): the private names of other modules (kind "import") or of other
    objects (kind "attribute") that module ``name`` reaches for."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("conclint"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield "import", f"line {node.lineno}: from {node.module} import {alias.name}"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                yield "attribute", f"line {node.lineno}: {ast.unparse(node)}"


def test_rules_use_only_public_names():
    """Rules ask the models through their public queries (``self.sem.lookup_type(...)``, not
    ``self.sem._lookup_type(...)``), and no module imports another's private names."""
    bad = [
        f"{name} {use}"
        for name in sorted(MODULES)
        for kind, use in _private_uses(name)
        if kind == "import" or name.startswith("conclint.rules.")
    ]
    assert bad == []


def test_the_graph_sees_function_level_imports_and_skips_type_checking_ones():
    # The engine imports the model only when it lints: still an edge.
    assert "conclint.analysis" in GRAPH["conclint.engine"]
    # The applier names the rule API's types for annotations only.
    assert "conclint.rule" not in GRAPH["conclint.applier"]
    assert "TYPE_CHECKING" in MODULES["conclint.applier"].read_text(encoding="utf-8")


def test_interest_is_rule_api_below_the_engine():
    """The vocabulary rules declare their interest in reads the models and the byte gate only."""
    assert _violations("conclint.interest", [*APPLICATION, "conclint.rules", "conclint.rule"]) == []
