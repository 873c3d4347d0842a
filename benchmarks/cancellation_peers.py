"""flake8-async's cancellation family (ASYNC102, ASYNC103, ASYNC104, ASYNC120) on asyncio code, by pattern.

    python benchmarks/cancellation_peers.py TREE [TREE ...] [--details] [--saved FILE]

Runs flake8-async (``--asyncio``, those four codes only) on the files holding an ``async def``
(as ``compare_peers.py`` chooses them) and sorts each finding into the first pattern below that
its code matches (read from CPython's tree: the handler reported, its ``try``, the function
holding it). Findings in anyio or trio code (the anyio package, whose cancel scopes are
level-triggered even on its asyncio backend, and files importing ``anyio`` or ``trio``) are
counted apart: the question here is what the findings mean for asyncio, where one
``Task.cancel()`` delivers one ``CancelledError``. Prints, per pattern, the findings by code and
how many are in tests; ``--details`` lists them one by one. The verdicts are in
``docs/peers.md``. ``--saved`` classifies the output of an earlier flake8-async run instead of
running it (its findings outside the trees' files are left out). Needs flake8-async in the running environment (``pip install
flake8-async``); a measurement, not a test.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_peers import _FLAKE8_ASYNC, Finding, async_files, run_flake8_async  # noqa: E402

CODES = ("ASYNC102", "ASYNC103", "ASYNC104", "ASYNC120")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
Function = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]

# Pattern -> one line saying what it is (the table of docs/peers.md says why it is, or is not, a pitfall).
PATTERNS: Dict[str, str] = {
    "anyio/trio": "anyio or trio code: level-triggered cancel scopes, out of scope for asyncio",
    "await in except": "ASYNC120: an await in an except block that re-raises afterwards",
    "await in finally": "ASYNC102: an await in a finally block",
    "not in a coroutine": "the handler is in a plain function (loop callbacks, transports, sync context managers)",
    "try body never suspends": "the try body has no await: the CancelledError can only come from a future's result()",
    "cancel then await": "the try body awaits a task or future that this function cancelled (or scheduled to cancel)",
    "re-raises when cancelling()": "re-raises when current_task().cancelling() says the cancellation is the task's own",
    "re-raises or raises another on some paths": "the handler raises on some paths (conditional re-raise, translation)",
    "stored, raised or handed on later": "the exception or a flag is stored and raised after the try, or handed to a waiter",
    "test swallows on purpose": "a test coroutine that catches the cancellation it provoked",
    "ends a task's own coroutine": "the coroutine a task runs (started in the same file) returns on cancellation",
    "ends a coroutine awaited by another": "the handler returns or falls through in a coroutine its callers await",
}
# Calls whose argument coroutine becomes a task's (or a run's) own coroutine.
_STARTERS = frozenset({"create_task", "ensure_future", "run", "run_until_complete", "convert_yielded", "gather",
                       "run_coroutine_threadsafe", "spawn", "start_soon"})


class Module:
    def __init__(self, path: str) -> None:
        self.text = Path(path).read_text(encoding="utf-8")
        self.tree = ast.parse(self.text)
        self.parent: Dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        # The functions whose coroutine a starter receives, called in its arguments or bound to
        # a name first (``accept = self._accept(...)``; ``create_task(accept)``).
        bound = {target.id: ast.unparse(node.value.func).rpartition(".")[2]
                 for node in ast.walk(self.tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                 for target in node.targets if isinstance(target, ast.Name)}
        self.started: Set[str] = set()
        for call in ast.walk(self.tree):
            if isinstance(call, ast.Call) and ast.unparse(call.func).rpartition(".")[2] in _STARTERS:
                for a in ast.walk(call):
                    if isinstance(a, ast.Call) and a is not call:
                        self.started.add(ast.unparse(a.func).rpartition(".")[2])
                    elif isinstance(a, ast.Name) and a.id in bound:
                        self.started.add(bound[a.id])

    def ancestors(self, node: Optional[ast.AST]) -> List[ast.AST]:
        found = []
        while node is not None:
            found.append(node)
            node = self.parent.get(node)
        return found


def own_nodes(nodes: Sequence[ast.AST]) -> List[ast.AST]:
    """The nodes under ``nodes``, not entering nested defs, lambdas or classes."""
    found, stack = [], list(nodes)
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _FUNCTIONS + (ast.ClassDef,)))
    return found


def awaited(nodes: Sequence[ast.AST]) -> Set[str]:
    """What the nodes await: ``await x``, and the arguments of ``await wait_for/gather/wait/shield(...)``."""
    found: Set[str] = set()
    for node in own_nodes(nodes):
        if isinstance(node, ast.Await):
            value = node.value
            if isinstance(value, ast.Call) and ast.unparse(value.func).rpartition(".")[2] in ("wait_for", "gather", "wait", "shield"):
                found.update(ast.unparse(a.value if isinstance(a, ast.Starred) else a) for a in value.args)
            else:
                found.add(ast.unparse(value))
    return found


def cancelled(function: Function, before: int) -> Set[str]:
    """What the function cancels or schedules to cancel above line ``before``: ``x`` of
    ``x.cancel()`` or of a ``x.cancel`` passed as a callback; ``xs`` of ``for x in xs: x.cancel()``."""
    body = function.body if isinstance(function.body, list) else [function.body]
    nodes = [n for n in own_nodes(body) if getattr(n, "lineno", before) < before]
    found = {ast.unparse(n.value) for n in nodes if isinstance(n, ast.Attribute) and n.attr == "cancel"}
    found.update(ast.unparse(n.iter) for n in nodes
                 if isinstance(n, (ast.For, ast.AsyncFor)) and ast.unparse(n.target) in found)
    return found


def _raises_after(function: Function, handler: ast.ExceptHandler) -> bool:
    body = function.body if isinstance(function.body, list) else [function.body]
    return any(isinstance(n, ast.Raise) and n.lineno > (handler.end_lineno or handler.lineno) for n in own_nodes(body))


def _hands_on(handler: ast.ExceptHandler) -> bool:
    """The handler passes the exception it names to a call (``fut.set_exception(exc)``,
    ``errors.append(exc)``) or stores it (``exceptions[i] = exc``)."""
    if not handler.name:
        return False
    for node in own_nodes(handler.body):
        values = node.args if isinstance(node, ast.Call) else [node.value] if isinstance(node, ast.Assign) else []
        if any(isinstance(v, ast.Name) and v.id == handler.name for v in values):
            return True
    return False


def is_test(path: str) -> bool:
    return bool(re.search(r"/(test|tests)/|/test_[^/]*$", path))


def is_anyio_or_trio(path: str, module: Module) -> bool:
    if path.endswith("_backends/_asyncio.py"):
        return False  # anyio's asyncio backend: asyncio's own API, classified like the rest
    return "/anyio/" in path or bool(re.search(r"^\s*(import|from)\s+(anyio|trio)\b", module.text, re.M))


def reported(module: Module, finding: Finding) -> Optional[ast.AST]:
    """The node a finding is about: for ASYNC103 the handler whose ``except`` clause spans its
    line (flake8-async reports the line of the caught name, in a tuple over several lines); else
    the innermost statement holding the line."""
    line = finding.line
    if finding.code == "ASYNC103":
        handlers = [n for n in ast.walk(module.tree) if isinstance(n, ast.ExceptHandler)
                    and n.lineno <= line <= (n.type.end_lineno or n.lineno if n.type else n.lineno)]
        if handlers:
            return max(handlers, key=lambda n: n.lineno)
    statements = [n for n in ast.walk(module.tree) if isinstance(n, ast.stmt) and n.lineno <= line <= (n.end_lineno or n.lineno)]
    return max(statements, key=lambda n: (n.lineno, -(n.end_lineno or n.lineno)), default=None)


def classify(finding: Finding, module: Module) -> str:
    if is_anyio_or_trio(finding.path, module):
        return "anyio/trio"
    chain = module.ancestors(reported(module, finding))
    handler = next((a for a in chain if isinstance(a, ast.ExceptHandler)), None)
    if finding.code in ("ASYNC102", "ASYNC120"):
        return "await in except" if finding.code == "ASYNC120" else "await in finally"
    function = next((a for a in chain if isinstance(a, _FUNCTIONS)), None)
    if handler is None or function is None or not isinstance(function, ast.AsyncFunctionDef):
        return "not in a coroutine"
    try_node = module.parent[handler]
    assert isinstance(try_node, ast.Try)
    if not any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in own_nodes(try_node.body)):
        return "try body never suspends"
    if any(isinstance(n, ast.Attribute) and n.attr == "cancelling" for n in own_nodes(handler.body)):
        return "re-raises when cancelling()"
    if cancelled(function, before=handler.lineno) & awaited(try_node.body):
        return "cancel then await"
    if any(isinstance(n, ast.Raise) for n in own_nodes(handler.body)):
        return "re-raises or raises another on some paths"
    if _raises_after(function, handler) or _hands_on(handler):
        return "stored, raised or handed on later"
    if is_test(finding.path):
        return "test swallows on purpose"
    if function.name in module.started:
        return "ends a task's own coroutine"
    return "ends a coroutine awaited by another"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--saved", type=Path, help="flake8-async's output of an earlier run, to classify")
    args = parser.parse_args()
    files = async_files(args.trees)
    if args.saved:
        chosen = {str(path.resolve()) for path in files}
        matches = filter(None, map(_FLAKE8_ASYNC.match, args.saved.read_text(encoding="utf-8").splitlines()))
        findings = [Finding("flake8-async", m["code"].split("_")[0], str(Path(m["path"]).resolve()), int(m["line"]), m["message"])
                    for m in matches]
        findings = [f for f in findings if f.path in chosen and f.code in CODES]
    else:
        findings = run_flake8_async(files, enable=CODES)
    modules: Dict[str, Module] = {}
    table: Dict[str, Counter[str]] = defaultdict(Counter)
    details: List[Tuple[str, Finding, str]] = []
    for f in sorted(findings, key=lambda f: (f.path, f.line, f.code)):
        if f.path not in modules:
            modules[f.path] = Module(f.path)
        pattern = classify(f, modules[f.path])
        table[pattern][f.code] += 1
        table[pattern]["in tests"] += is_test(f.path)
        source = modules[f.path].text.splitlines()[f.line - 1].strip()
        details.append((pattern, f, source))
    print(f"{len(files)} files with an async def; {len(findings)} findings: "
          + ", ".join(f"{code} {sum(row[code] for row in table.values())}" for code in CODES))
    for pattern in PATTERNS:
        row = table.get(pattern)
        if row:
            counts = ", ".join(f"{code} {row[code]}" for code in CODES if row[code])
            print(f"{pattern:42} {sum(row[c] for c in CODES):4}  ({counts}; {row['in tests']} in tests)")
    if args.details:
        for pattern, f, source in sorted(details, key=lambda d: (list(PATTERNS).index(d[0]), d[1].path, d[1].line)):
            print(f"{pattern} | {f.code} {f.path}:{f.line} | {source[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
