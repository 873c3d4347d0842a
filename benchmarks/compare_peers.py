"""Finding by finding: ruff's ASYNC rules (and RUF006) and flake8-async against conclint on the same files.

    python benchmarks/compare_peers.py TREE [TREE ...] [--ruff PATH] [--peers ruff,flake8-async] [--details]

Only files holding an ``async def`` are compared (every peer rule compared here reports in or
about coroutines). Each peer finding is matched with conclint's findings on the same file and
line under the conclint codes that cover the peer's code (``COVERS``); a finding with no match
is either explained by a known reason (``EXPLAINED``: the peer's message or the code says why)
or listed as a miss. conclint runs with every rule selected (CCL407 is off by default). Prints,
per peer code, the findings, those conclint covers, those explained by each reason, and the
misses; ``--details`` lists the explained and missed findings one by one. Needs ruff and
flake8-async in the running environment (``pip install ruff flake8-async``). A measurement,
not a test: exits 1 when a peer finding is neither covered nor explained.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

SRC = Path(__file__).resolve().parents[1] / "src"

# Peer code -> the conclint codes that report the same pitfall.
COVERS: Dict[str, Tuple[str, ...]] = {
    "ASYNC100": ("CCL406",),
    "ASYNC109": ("CCL407",),
    "ASYNC110": ("CCL405",),
    "ASYNC116": ("CCL408",),
    "ASYNC119": ("CCL411",),
    "ASYNC101": ("CCL411",),
    "ASYNC300": ("CCL403",),
    "RUF006": ("CCL403",),
    **{code: ("CCL402",) for code in ("ASYNC210", "ASYNC211", "ASYNC212", "ASYNC220", "ASYNC221", "ASYNC222")},
    **{code: ("CCL402",) for code in ("ASYNC230", "ASYNC231", "ASYNC240", "ASYNC250", "ASYNC251")},
}


@dataclass(frozen=True)
class Finding:
    tool: str
    code: str
    path: str
    line: int
    message: str


def _has(pattern: str) -> Callable[[Finding, str], bool]:
    regex = re.compile(pattern)
    return lambda finding, source_line: bool(regex.search(finding.message) or regex.search(source_line))


# Why a peer finding that conclint does not report is left alone: (peer code prefix, test on
# the finding and its source line, reason). The first that applies is the reason.
EXPLAINED: List[Tuple[str, Callable[[Finding, str], bool], str]] = [
    ("ASYNC109", lambda f, s: f.line in OVERLOADS.get(f.path, ()),
     "an @overload stub: conclint reports the implementation's def, whose signature the stubs repeat"),
    ("ASYNC110", _has(r"^\s*while (True|1):"),
     "peer's choice: a `while True:` keep-alive loop polls nothing (an Event would not replace it; CCL405 by design)"),
    ("ASYNC300", _has(r"await\s+(\w+\.)*create_task\("),
     "peer false positive: the task is awaited at once, nothing is dropped"),
    ("ASYNC300", lambda f, s: "import_module(" in "".join(SOURCES.get(f.path, ())),
     "asyncio bound by import_module(): conclint follows import statements, not calls"),
    ("RUF006", lambda f, s: _under_raises(f),
     "peer false positive: under assertRaises/pytest.raises the call raises, no task is created"),
    ("RUF006", _has(r"^\s*[\w.]+\s*=\s*[\w.]+\.(create_task|ensure_future)\("),
     "peer's choice: the task is bound to a name (a local never read); conclint counts a binding as a kept reference"),
    ("ASYNC222", _has(r"WNOHANG"), "peer false positive: with WNOHANG the wait returns at once"),
    ("ASYNC240", _has(r"\.(iterdir|glob|rglob|walk)\(\)?[^)]*$"),
     "peer false positive (up to 3.12): the generator is only created here, nothing is read until it is iterated"),
    ("ASYNC240", _has(r"os\.path\.(normpath|normcase|join|basename|dirname|split|splitext|splitdrive|commonpath|isabs)\("),
     "peer false positive: a pure string function of os.path, no I/O"),
    ("ASYNC240", _has(r"os\.path|\.(exists|is_file|is_dir|is_symlink|stat|lstat|resolve|samefile|expanduser|absolute|owner|group)\b"),
     "out of scope: a stat query (os.path.*, Path.exists/is_file/stat/resolve): microseconds, ruff's own advice is style"),
]
# Peer codes (or prefixes) left alone whatever the finding, and why.
WHOLE_CODES: Dict[str, str] = {
    "ASYNC232": "covered at the open(): conclint reports the open() of the file, not each read or write of the object",
    "ASYNC115": "out of scope for asyncio: asyncio.sleep(0) is asyncio's checkpoint (trio/anyio have lowlevel.checkpoint)",
    "ASYNC105": "out of scope: trio's own async functions not awaited (trio API); CCL404 covers the module's coroutines",
    "ASYNC106": "out of scope: import style",
    "ASYNC124": "out of scope: style (an async def with no await could be sync; not a concurrency pitfall)",
    "ASYNC127": "out of scope: a package recommendation (httpx2), not a pitfall",
    # The cancellation family, explained pattern by pattern by cancellation_peers.py (docs/peers.md).
    **{code: "cancellation family: explained by pattern, see benchmarks/cancellation_peers.py"
       for code in ("ASYNC102", "ASYNC103", "ASYNC104", "ASYNC120")},
    "ASYNC12": "out of scope: trio/anyio nursery and exception-group API (ASYNC12x)",
    "ASYNC112": "out of scope: style (a task group holding one task)",
    "ASYNC113": "out of scope: trio/anyio nursery start_soon",
    "ASYNC114": "out of scope: trio/anyio nursery start_soon",
    "ASYNC118": "out of scope: anyio's get_cancelled_exc_class",
    "ASYNC400": "out of scope: exception groups",
    "ASYNC401": "out of scope: pytest.raises on exception groups",
}


# Per file: its lines, and the lines (of a def and of its parameters) of @overload stubs.
SOURCES: Dict[str, List[str]] = {}
OVERLOADS: Dict[str, Set[int]] = {}
# Peer codes reported on a parameter's line, where conclint reports the def's name.
_ON_PARAMETER = frozenset({"ASYNC109"})


def _under_raises(finding: Finding) -> bool:
    """The finding's line is in the block of a ``with self.assertRaises...(`` / ``pytest.raises(``
    at most three lines above."""
    lines = SOURCES.get(finding.path, [])
    for line in lines[max(0, finding.line - 4) : finding.line - 1]:
        if re.search(r"with .*(assertRaises|raises)\w*\(", line):
            return True
    return False


def async_files(trees: Sequence[Path]) -> List[Path]:
    """Files holding an ``async def`` (not under site-packages: third-party code that is not
    part of the corpus when the standard library is given)."""
    files = []
    for tree in trees:
        for path in sorted(tree.rglob("*.py")):
            if "site-packages" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if re.search(r"^\s*async\s+def\b", text, re.M):
                files.append(path)
    return files


def _chunks(items: Sequence[Path], size: int = 200) -> Iterable[Sequence[Path]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_ruff(ruff: str, files: Sequence[Path]) -> List[Finding]:
    found = []
    for chunk in _chunks(files):
        out = subprocess.run(
            [ruff, "check", "--no-cache", "--isolated", "--preview", "--select", "ASYNC,RUF006", "--output-format", "json",
             "--exit-zero", *map(str, chunk)],
            capture_output=True, text=True, check=True,
        ).stdout
        for item in json.loads(out or "[]"):
            if item.get("code"):
                found.append(Finding("ruff", item["code"], str(Path(item["filename"]).resolve()),
                                     item["location"]["row"], item["message"]))
    return found


_FLAKE8_ASYNC = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>ASYNC\d+(?:_\w+)?) (?P<message>.*)$")


def run_flake8_async(files: Sequence[Path], enable: Sequence[str] = ()) -> List[Finding]:
    """flake8-async's findings (``enable``: only those codes). A file it cannot parse (LibCST
    refuses ``test_grammar.py``) ends its run with a traceback, losing the rest of the chunk: such
    a chunk is run again file by file."""
    found = []
    # --asyncio: the corpora are asyncio code; the codes then carry an _asyncio suffix.
    command = [sys.executable, "-m", "flake8_async", "--asyncio", *(["--enable", ",".join(enable)] if enable else [])]
    for chunk in _chunks(files):
        run = subprocess.run([*command, *map(str, chunk)], capture_output=True, text=True)
        out = run.stdout
        if "Traceback" in run.stderr:
            out = "".join(subprocess.run([*command, str(path)], capture_output=True, text=True).stdout for path in chunk)
        for line in out.splitlines():
            m = _FLAKE8_ASYNC.match(line)
            if m:
                code = m["code"].split("_")[0]
                found.append(Finding("flake8-async", code, str(Path(m["path"]).resolve()), int(m["line"]), m["message"]))
    return found


def run_conclint(files: Sequence[Path]) -> Dict[Tuple[str, int], Set[str]]:
    found: Dict[Tuple[str, int], Set[str]] = defaultdict(set)
    for chunk in _chunks(files, 400):
        out = subprocess.run(
            [sys.executable, "-m", "conclint", "--no-cache", "--exit-zero", "--select", "CCL", "--extend-select", "CCL207,CCL407",
             "--format", "json", *map(str, chunk)],
            capture_output=True, text=True, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        ).stdout
        for item in json.loads(out or "[]"):
            found[(str(Path(item["path"]).resolve()), item["line"])].add(item["code"])
    return found


def def_lines(path: str) -> Dict[int, int]:
    """Each line inside a def's signature -> the line of the def's name; fills ``OVERLOADS``."""
    text = "\n".join(SOURCES[path])
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    found: Dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[0].lineno if node.body else node.lineno
            lines = range(node.lineno, max(body, node.lineno + 1))
            for line in lines:
                found.setdefault(line, node.lineno)
            if any(ast.unparse(d).rpartition(".")[2] == "overload" for d in node.decorator_list):
                OVERLOADS.setdefault(path, set()).update(lines)
    return found


def explain(finding: Finding, source_line: str) -> Optional[str]:
    for prefix, test, reason in EXPLAINED:
        if finding.code.startswith(prefix) and test(finding, source_line):
            return reason
    return next((reason for prefix, reason in WHOLE_CODES.items() if finding.code.startswith(prefix)), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--ruff", default=shutil.which("ruff") or str(Path(sys.executable).with_name("ruff")))
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--peers", default="ruff,flake8-async", help="which peers to run (flake8-async is slow)")
    args = parser.parse_args()
    files = async_files(args.trees)
    chosen = set(args.peers.split(","))
    peers = (run_ruff(args.ruff, files) if "ruff" in chosen else []) + (
        run_flake8_async(files) if "flake8-async" in chosen else []
    )
    ours = run_conclint(files)
    table: Dict[Tuple[str, str], Counter[str]] = defaultdict(Counter)
    signatures: Dict[str, Dict[int, int]] = {}
    details: List[str] = []
    for f in sorted(peers, key=lambda f: (f.tool, f.code, f.path, f.line)):
        if f.path not in SOURCES:
            SOURCES[f.path] = Path(f.path).read_text(encoding="utf-8").splitlines()
            signatures[f.path] = def_lines(f.path)
        source = SOURCES[f.path]
        source_line = source[f.line - 1] if 0 < f.line <= len(source) else ""
        line = signatures[f.path].get(f.line, f.line) if f.code in _ON_PARAMETER else f.line
        row = table[(f.tool, f.code)]
        row["findings"] += 1
        if set(COVERS.get(f.code, ())) & ours.get((f.path, line), set()):
            row["covered"] += 1
            continue
        reason = explain(f, source_line) or "MISS"
        row[reason] += 1
        details.append(f"{f.tool} {f.code} {f.path}:{f.line}: {f.message} | {source_line.strip()[:100]} -> {reason}")
    print(f"{len(files)} files with an async def")
    misses = 0
    for (tool, code), row in sorted(table.items()):
        rest = ", ".join(f"{n} {reason}" for reason, n in row.items() if reason not in ("findings", "covered"))
        print(f"{tool:13} {code:9} {row['findings']:4} findings, {row['covered']:4} covered" + (f"; {rest}" if rest else ""))
        misses += row["MISS"]
    if args.details:
        print("\n".join(details))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
