"""Mutants of the fixtures' cases and the rule pages' examples, linted with the gates on and off.

    python scripts/mutate_gates.py [--mutants 30000] [--seed 0] [--out gate-mutants] [--per-file]
                                   [--conclint-src PATH]

The gates (byte-level ``triggers`` and ``could_report``) must be necessary conditions: a
disagreement, a mutant whose findings differ with and without them, is a gate bug. Each
mutant is one of the cases of tests/cases.py (a fixture's prelude and one statement group,
or a page's code block) with one to three mutations of its CPython tree, written back with
``ast.unparse``: a method renamed among related ones (acquire/release, wait/notify,
start/join/run, get/put, submit/map, ...), a keyword argument dropped or added, positional
arguments swapped, a constant replaced, a statement wrapped (``with``, ``try``/``finally``,
``for``, ``while``, a main guard, a def or async def), an ``await`` added, an import
changed (``import threading as t``, ``from threading import *``), a ``self.`` receiver
inserted, a statement deleted or duplicated; and, for three mutants in ten, the text
spelled otherwise but read the same by CPython (a name's first letter in its fullwidth form,
CRLF or CR line breaks, a UTF-8 BOM). Every disagreement is shrunk (statements
removed while it persists) and saved to --out with the mutations that made it; the summary
line is ``mutants: N, with findings: M, disagreements: D``. Exits 1 when D > 0.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import io
import keyword
import random
import sys
import time
import tokenize
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# tests/cases.py, imported by ``load`` once --conclint-src is known (it imports conclint).
cases: Any = None
Case = Any

# Names that stand in for one another: one is renamed to another of its family.
FAMILIES = [
    ("acquire", "release", "locked", "__enter__", "__exit__"),
    ("wait", "wait_for", "notify", "notify_all", "notifyAll", "set", "is_set", "isSet", "clear"),
    ("start", "join", "run", "is_alive", "isAlive", "setDaemon", "getName", "cancel"),
    ("get", "put", "get_nowait", "put_nowait", "empty", "task_done", "close", "recv", "send"),
    ("submit", "map", "apply_async", "map_async", "apply", "imap", "starmap_async", "close", "terminate", "shutdown"),
    ("create_task", "ensure_future", "gather", "sleep", "run_until_complete", "to_thread", "run"),
    ("Thread", "Process", "Timer", "Worker", "current_thread", "currentThread"),
    ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "allocate_lock"),
    ("Queue", "SimpleQueue", "JoinableQueue", "Pipe", "Manager", "list", "dict"),
    ("Pool", "ThreadPool", "ThreadPoolExecutor", "ProcessPoolExecutor", "get_context"),
    ("threading", "multiprocessing", "_thread", "thread", "asyncio", "concurrent", "gevent", "queue", "time"),
    ("active_count", "activeCount", "enumerate", "len"),
]
FAMILY_OF: Dict[str, List[str]] = {}
for _family in FAMILIES:
    for _name in _family:
        FAMILY_OF.setdefault(_name, []).extend(n for n in _family if n != _name)
KEYWORDS = [
    ("timeout", "None"), ("timeout", "1"), ("daemon", "True"), ("target", "work"), ("args", "(1,)"), ("args", "1"),
    ("args", "(x)"), ("blocking", "False"), ("callback", "print"), ("error_callback", "print"), ("loop", "loop"),
]
CONSTANTS = [0, 1, -1, 100, 101, 10**6, None, True, False, "x", "__main__", 0.01, 1.0]
MODULES = {"threading", "multiprocessing", "_thread", "thread", "asyncio", "queue", "time", "gevent", "concurrent.futures"}


class Mutator:
    """Mutations of one tree; each returns a description, or None when it found no place."""

    def __init__(self, tree: ast.Module, rng: random.Random) -> None:
        self.tree = tree
        self.rng = rng
        self.parents: Dict[int, Tuple[ast.AST, str, Optional[int]]] = {}
        self._index()

    def _index(self) -> None:
        self.parents.clear()
        for node in ast.walk(self.tree):
            for name, value in ast.iter_fields(node):
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            self.parents[id(item)] = (node, name, i)
                elif isinstance(value, ast.AST):
                    self.parents[id(value)] = (node, name, None)

    def nodes(self, *types: type) -> List[Any]:
        return [n for n in ast.walk(self.tree) if isinstance(n, types)]

    def names(self) -> List[str]:
        found = sorted({n.id for n in self.nodes(ast.Name)})
        return found or ["x"]

    def replace(self, old: ast.AST, new: ast.AST) -> None:
        parent, name, index = self.parents[id(old)]
        if index is None:
            setattr(parent, name, new)
        else:
            getattr(parent, name)[index] = new
        self._index()

    def statement_lists(self) -> List[List[ast.stmt]]:
        return list(_statement_lists(self.tree))

    def pick(self, items: List[Any]) -> Any:
        return self.rng.choice(items) if items else None

    # ------------------------------------------------------------------ mutations
    def rename(self) -> Optional[str]:
        sites = [n for n in self.nodes(ast.Attribute) if n.attr in FAMILY_OF]
        sites += [n for n in self.nodes(ast.Name) if n.id in FAMILY_OF]
        sites += [a for a in self.nodes(ast.alias) if a.name.split(".")[-1] in FAMILY_OF]
        node = self.pick(sites)
        if node is None:
            return None
        if isinstance(node, ast.Attribute):
            old, node.attr = node.attr, self.rng.choice(FAMILY_OF[node.attr])
            return f"rename .{old} to .{node.attr}"
        if isinstance(node, ast.Name):
            old, node.id = node.id, self.rng.choice(FAMILY_OF[node.id])
            return f"rename {old} to {node.id}"
        head, _, last = node.name.rpartition(".")
        old, node.name = node.name, (head + "." if head else "") + self.rng.choice(FAMILY_OF[last])
        return f"import {node.name} instead of {old}"

    def drop_keyword(self) -> Optional[str]:
        call = self.pick([c for c in self.nodes(ast.Call) if c.keywords])
        if call is None:
            return None
        keyword = call.keywords.pop(self.rng.randrange(len(call.keywords)))
        return f"drop {keyword.arg}="

    def add_keyword(self) -> Optional[str]:
        call = self.pick(self.nodes(ast.Call))
        if call is None:
            return None
        name, value = self.rng.choice(KEYWORDS)
        call.keywords = [k for k in call.keywords if k.arg != name] + [ast.keyword(name, ast.parse(value, mode="eval").body)]
        return f"add {name}={value}"

    def swap_arguments(self) -> Optional[str]:
        call = self.pick([c for c in self.nodes(ast.Call) if len(c.args) >= 2])
        if call is None:
            return None
        i = self.rng.randrange(len(call.args) - 1)
        call.args[i], call.args[i + 1] = call.args[i + 1], call.args[i]
        return f"swap arguments {i} and {i + 1}"

    def positional_keyword(self) -> Optional[str]:
        """``Thread(target=f)`` to ``Thread(f)``, and back: keyword and positional forms."""
        call = self.pick([c for c in self.nodes(ast.Call) if c.keywords and c.keywords[0].arg])
        if call is None:
            return None
        keyword = call.keywords.pop(0)
        call.args.insert(self.rng.randrange(len(call.args) + 1), keyword.value)
        return f"{keyword.arg}= as a positional argument"

    def constant(self) -> Optional[str]:
        node = self.pick([c for c in self.nodes(ast.Constant) if not isinstance(c.value, str) or len(c.value) < 40])
        if node is None:
            return None
        old, node.value = node.value, self.rng.choice(CONSTANTS)
        return f"constant {old!r} to {node.value!r}"

    def wrap(self) -> Optional[str]:
        body = self.pick(self.statement_lists())
        if body is None:
            return None
        start = self.rng.randrange(len(body))
        stop = min(len(body), start + self.rng.choice((1, 1, 2, 3)))
        chunk = body[start:stop]
        name = self.rng.choice(self.names())
        shapes = {
            "with": f"with {name}:\n    pass",
            "with as": f"with {name}() as {name}_:\n    pass",
            "try/finally": f"try:\n    pass\nfinally:\n    {name}.release()",
            "try/except": "try:\n    pass\nexcept Exception:\n    pass",
            "for": "for _ in range(3):\n    pass",
            "for count": "for _ in itertools.count():\n    pass",
            "while": f"while {name}:\n    pass",
            "while True": "while True:\n    pass",
            "main guard": 'if __name__ == "__main__":\n    pass',
            "def": "def wrapper():\n    pass",
            "async def": "async def wrapper():\n    pass",
            "method": "class Wrapper:\n    def method(self):\n        pass",
        }
        shape = self.rng.choice(sorted(shapes))
        wrapper = ast.parse(shapes[shape]).body[0]
        holder = wrapper.body[0] if shape == "method" else wrapper  # type: ignore[attr-defined]
        holder.body = chunk  # type: ignore[attr-defined]
        body[start:stop] = [wrapper]
        self._index()
        return f"wrap {len(chunk)} statement(s) in {shape}"

    def add_await(self) -> Optional[str]:
        call = self.pick([c for c in self.nodes(ast.Call) if not isinstance(self.parents[id(c)][0], ast.Await)])
        if call is None:
            return None
        self.replace(call, ast.Await(call))
        return "await a call"

    def change_import(self) -> Optional[str]:
        imports = [s for s in self.nodes(ast.Import, ast.ImportFrom) if any(_module(s, a) in MODULES for a in s.names)]
        node = self.pick(imports)
        if node is None:
            return None
        if isinstance(node, ast.Import):
            alias = self.rng.choice([a for a in node.names if _module(node, a) in MODULES])
            bound = alias.asname or alias.name.split(".")[0]
            if self.rng.random() < 0.5:
                alias.asname = "t"
                for name in self.nodes(ast.Name):
                    if name.id == bound:
                        name.id = "t"
                return f"import {alias.name} as t"
            self.replace(node, ast.ImportFrom(alias.name, [ast.alias("*")], 0))
            for attribute in self.nodes(ast.Attribute):
                if isinstance(attribute.value, ast.Name) and attribute.value.id == bound:
                    self.replace(attribute, ast.Name(attribute.attr, attribute.ctx))
            return f"from {alias.name} import *"
        module = node.module or ""
        if self.rng.random() < 0.5:
            for alias in node.names:
                if alias.name != "*" and self.rng.random() < 0.5:
                    alias.asname = "_" + alias.name
            return f"from {module} import ... as _..."
        imported = {a.asname or a.name for a in node.names}
        self.replace(node, ast.Import([ast.alias(module)]))
        for name in self.nodes(ast.Name):
            if name.id in imported:
                self.replace(name, ast.Attribute(ast.Name(module.split(".")[0], ast.Load()), name.id, name.ctx))
        return f"import {module} instead of from {module} import ..."

    def self_receiver(self) -> Optional[str]:
        imported = {(a.asname or a.name).split(".")[0] for n in self.nodes(ast.Import, ast.ImportFrom) for a in n.names}
        sites = [
            n for n in self.nodes(ast.Attribute)
            if isinstance(n.value, ast.Name) and n.value.id not in ("self", "cls") and n.value.id not in imported
        ]
        node = self.pick(sites)
        if node is None:
            return None
        node.value = ast.Attribute(ast.Name("self", ast.Load()), node.value.id, ast.Load())
        return f"self.{node.value.attr}.{node.attr}"

    def delete(self) -> Optional[str]:
        body = self.pick([b for b in self.statement_lists() if len(b) > 1 or b is not self.tree.body])
        if body is None:
            return None
        index = self.rng.randrange(len(body))
        removed = body.pop(index)
        if not body:
            body.append(ast.Pass())
        self._index()
        return f"delete line {getattr(removed, 'lineno', '?')}"

    def duplicate(self) -> Optional[str]:
        body = self.pick(self.statement_lists())
        if body is None:
            return None
        index = self.rng.randrange(len(body))
        body.insert(index + 1, copy.deepcopy(body[index]))
        self._index()
        return f"duplicate line {getattr(body[index], 'lineno', '?')}"

    def toggle_async(self) -> Optional[str]:
        node = self.pick(self.nodes(ast.FunctionDef, ast.AsyncFunctionDef))
        if node is None:
            return None
        kind = ast.FunctionDef if isinstance(node, ast.AsyncFunctionDef) else ast.AsyncFunctionDef
        self.replace(node, kind(**{f: getattr(node, f) for f in node._fields if hasattr(node, f)}))
        return f"{node.name}: {'def' if kind is ast.FunctionDef else 'async def'}"

    def mutations(self) -> List[Callable[[], Optional[str]]]:
        return [
            self.rename, self.rename, self.drop_keyword, self.add_keyword, self.swap_arguments, self.positional_keyword,
            self.constant, self.wrap, self.wrap, self.add_await, self.change_import, self.self_receiver, self.delete,
            self.duplicate, self.toggle_async,
        ]


def _module(node: ast.AST, alias: ast.alias) -> str:
    return alias.name if isinstance(node, ast.Import) else (node.module or "")  # type: ignore[attr-defined]


def mutate(source: str, rng: random.Random) -> Optional[Tuple[str, List[str]]]:
    """``source`` with one to three mutations, and their descriptions; None when the text
    written back does not parse (``ast.unparse`` of an odd tree)."""
    mutator = Mutator(ast.parse(source), rng)
    done: List[str] = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        for _attempt in range(5):
            described = rng.choice(mutator.mutations())()
            if described:
                done.append(described)
                ast.fix_missing_locations(mutator.tree)  # new nodes: unparse reads their lines
                break
    if not done:
        return None
    try:
        text = ast.unparse(ast.fix_missing_locations(mutator.tree)) + "\n"
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, AttributeError, TypeError):
        return None
    if rng.random() < SPELLING_SHARE:
        text, described = respell(text, rng)
        done.append(described)
        try:
            ast.parse(text.encode("utf-8"))
        except (SyntaxError, ValueError):
            return None
    return text, done


# The share of mutants also written differently but read the same by CPython: a name with a
# letter in its fullwidth form (NFKC makes it the same name), other line breaks, a BOM.
SPELLING_SHARE = 0.3


def respell(text: str, rng: random.Random) -> Tuple[str, str]:
    kind = rng.choice(("fullwidth", "fullwidth", "crlf", "cr", "bom"))
    if kind == "crlf":
        return text.replace("\n", "\r\n"), "line breaks: CRLF"
    if kind == "cr":
        return text.replace("\n", "\r"), "line breaks: CR"
    if kind == "bom":
        return "\ufeff" + text, "a UTF-8 BOM"
    names = [
        t for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type == tokenize.NAME and not keyword.iskeyword(t.string) and t.string[0].isascii() and t.string[0].isalpha()
    ]
    if not names:
        return text, "no name to respell"
    token = rng.choice(names)
    lines = text.split("\n")
    row, column = token.start
    line = lines[row - 1]
    lines[row - 1] = line[:column] + chr(ord(line[column]) + 0xFEE0) + line[column + 1:]
    return "\n".join(lines), f"{token.string}: its first letter fullwidth"


def disagrees(source: str, case: Case) -> bool:
    gated, ungated = cases.gated_and_ungated(source, case.options)
    return gated != ungated


def shrink(source: str, case: Case) -> str:
    """``source`` made smaller while the gates still disagree on it: statements removed, and
    compound statements replaced by their bodies, one at a time until nothing more goes."""
    while True:
        for candidate in _smaller(source):
            if disagrees(candidate, case):
                source = candidate
                break
        else:
            return source


def _smaller(source: str) -> Iterator[str]:
    """Each text with one statement less, or one compound statement replaced by its body
    (written back plainly: a respelled mutant shrinks only while its plain form disagrees)."""
    tree = ast.parse(source.encode("utf-8"))
    for body in _statement_lists(tree):
        for index in range(len(body) - 1, -1, -1):
            statement = body[index]
            replacements: List[List[ast.stmt]] = [[]]
            if isinstance(getattr(statement, "body", None), list) and not isinstance(statement, ast.ClassDef):
                replacements.append(statement.body)  # type: ignore[attr-defined]
            for replacement in replacements:
                new = replacement if replacement or len(body) > 1 else [ast.Pass()]
                body[index: index + 1] = new
                text = ast.unparse(tree) + "\n"
                body[index: index + len(new)] = [statement]
                if text != source:
                    yield text


def _statement_lists(tree: ast.AST) -> Iterator[List[ast.stmt]]:
    """Every body (and orelse, finalbody...) of ``tree``: the lists of statements."""
    for node in list(ast.walk(tree)):
        for _, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def load(conclint_src: Path) -> None:
    """Import tests/cases.py, and through it the conclint of ``conclint_src``."""
    global cases
    sys.path.insert(0, str(conclint_src))
    import cases as module  # noqa: E402

    cases = module


def all_cases() -> List[Tuple[str, Any]]:
    """(source file, case) for every case of the fixtures and pages."""
    out = [(path.name, case) for path, split in cases.fixture_cases() for case in split.cases]
    out += [(case.name.split(" ")[0], case) for case in cases.page_cases().cases]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=30_000, help="how many mutants to lint (default 30000: about 2.5 minutes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("gate-mutants"), help="where disagreeing mutants are saved")
    parser.add_argument("--per-file", action="store_true", help="print the figures per fixture file or page")
    parser.add_argument("--progress", type=int, default=2000, help="print a line every N mutants")
    parser.add_argument("--conclint-src", type=Path, default=ROOT / "src", help="the src directory of the conclint to test")
    args = parser.parse_args()
    load(args.conclint_src)
    difference = cases.difference
    rng = random.Random(args.seed)
    sources = all_cases()
    started = time.monotonic()
    mutants = with_findings = disagreements = crashes = 0
    per_file: Dict[str, Counter] = {}
    saved: Dict[str, int] = {}
    while mutants < args.mutants:
        origin, case = rng.choice(sources)
        mutated = mutate(case.source, rng)
        if mutated is None:
            continue
        source, done = mutated
        try:
            gated, ungated = cases.gated_and_ungated(source, case.options)
        except Exception as exc:  # a rule crashing is not the gates' business: counted, kept
            crashes += 1
            args.out.mkdir(parents=True, exist_ok=True)
            key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            (args.out / f"crash-{key}.py").write_text(f"# {type(exc).__name__}: {exc}\n{source}", encoding="utf-8")
            print(f"CRASH ({args.out}/crash-{key}.py): {type(exc).__name__}: {exc}", flush=True)
            continue
        mutants += 1
        counts = per_file.setdefault(origin, Counter())
        counts["mutants"] += 1
        if ungated or gated:
            with_findings += 1
            counts["with findings"] += 1
        if gated != ungated:
            disagreements += 1
            counts["disagreements"] += 1
            small = shrink(source, case)
            key = hashlib.sha256(small.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            if key not in saved:
                args.out.mkdir(parents=True, exist_ok=True)
                small_gated, small_ungated = cases.gated_and_ungated(small, case.options)
                header = [
                    f"# from: {case.name}",
                    f"# mutations: {'; '.join(done)}",
                    f"# options: {case.options}" if case.options else "",
                    f"# {difference(small_gated, small_ungated)}",
                ]
                text = "\n".join(h for h in header if h) + "\n" + small
                (args.out / f"{key}.py").write_text(text, encoding="utf-8", errors="surrogatepass")
                print(f"DISAGREEMENT ({args.out / key}.py): {difference(small_gated, small_ungated)}", flush=True)
            saved[key] = saved.get(key, 0) + 1
        if args.progress and mutants % args.progress == 0:
            print(f"{mutants} mutants, {with_findings} with findings, {disagreements} disagreements, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
    if args.per_file:
        for origin in sorted(per_file):
            c = per_file[origin]
            print(f"  {origin:50} {c['mutants']:6} {c['with findings']:6} {c['disagreements']:4}")
    print(f"mutants: {mutants}, with findings: {with_findings}, disagreements: {disagreements}"
          f" ({len(saved)} distinct after shrinking; {crashes} crashes; seed {args.seed}, {time.monotonic() - started:.0f} s)")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
