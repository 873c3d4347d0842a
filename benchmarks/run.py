"""Benchmark conclint against its peers on the standard library of the running Python.

    python benchmarks/run.py [--jobs N] [--tree PATH] [--rounds N] [--no-scaling] [--no-peers]

Runs, in one go and on the same tree: ``--rounds`` rounds (default 3) of conclint cold (empty
cache), conclint warm (same cache, nothing changed) and flake8's default checks, each round
in the same minute with a calibration loop's CPU time (this machine's speed drifts: compare
within a round); then the flake8 plugin, pylint's threading checks and ruff's concurrency
rules (each where installed), then conclint cold on the tree copied 1x, 2x and 4x. The main
table is the round whose flake8/conclint ratio is the median.
Prints wall time, CPU time (user+sys of the process and its children), peak RSS, and each
tool's wall time as a multiple of conclint's cold run. A benchmark, not a test: it asserts
nothing except that cold and warm runs agree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple


class Measurement:
    def __init__(self, label: str, wall: float, cpu: float, rss_mb: float, output: str, code: int) -> None:
        self.label, self.wall, self.cpu, self.rss_mb, self.output, self.code = label, wall, cpu, rss_mb, output, code


def measure(label: str, command: Sequence[str], cwd: Optional[Path] = None) -> Measurement:
    """Run ``command``; wall time, CPU and peak RSS of it and its descendants (wait4)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(label, wall, cpu, usage.ru_maxrss / 1024, output, process.returncode)


def calibrate() -> float:
    """CPU seconds of a fixed pure-Python loop in a fresh interpreter: how fast the machine
    is right now (it drifted by 1.5x within minutes on the shared machine these ran on)."""
    loop = "s = 0\nfor i in range(20_000_000):\n    s += i\n"
    return measure("calibration", [sys.executable, "-c", loop]).cpu


def tool(name: str) -> Optional[str]:
    """A tool installed beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def conclint_package() -> str:
    """The installed conclint package's ``__init__.py``, as this interpreter imports it."""
    import importlib.util

    spec = importlib.util.find_spec("conclint")
    if spec is None or spec.origin is None:
        raise SystemExit("conclint is not importable here")
    return spec.origin


def count_findings(output: str) -> int:
    return sum(1 for line in output.splitlines() if ": CCL" in line)


def copies(tree: Path, times: int, into: Path) -> Path:
    target = into / f"x{times}"
    for i in range(times):
        shutil.copytree(tree, target / f"copy{i}", ignore=shutil.ignore_patterns("__pycache__", "site-packages"))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tree, jobs = args.tree.resolve(), str(args.jobs)
    conclint = tool("conclint")
    if conclint is None:
        print("conclint is not installed", file=sys.stderr)
        return 2
    # As `pip install` leaves it: compiled. An editable install, or a machine that sets
    # PYTHONDONTWRITEBYTECODE, would otherwise compile conclint's modules in every run.
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(conclint_package()).parent)], capture_output=True
    )
    if compiled.returncode != 0:
        print("warning: could not compile conclint's modules; timings include compiling them", file=sys.stderr)
    files = [p for p in tree.rglob("*.py") if "site-packages" not in p.parts]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"tree: {tree} ({len(files)} files, {lines:,} lines); {jobs} jobs; Python {sys.version.split()[0]}")

    results: List[Measurement] = []
    flake8 = None if args.no_peers else tool("flake8")
    # Its default checks; with conclint installed its plugin is on by default too, so the
    # checks are named, and the plugin's cost is measured beside them.
    base_checks = [flake8 or "flake8", "-j", jobs, "--exit-zero", "--extend-exclude", "site-packages", str(tree)]
    default_checks = base_checks[:1] + ["--select", "E,F,W,C90"] + base_checks[1:]
    with tempfile.TemporaryDirectory() as scratch:
        rounds = []
        for number in range(1, max(1, args.rounds) + 1):
            cache = Path(scratch) / f"cache{number}"
            base = [conclint, "--exit-zero", "--quiet", "--jobs", jobs, "--cache-dir", str(cache), str(tree)]
            calibration = calibrate()
            cold = measure("conclint cold", base)
            warm = measure("conclint warm (cache)", base)
            if count_findings(cold.output) != count_findings(warm.output):
                print("ERROR: cold and warm runs disagree", file=sys.stderr)
                return 1
            checks = measure("flake8 (default checks)", default_checks) if flake8 else None
            rounds.append((calibration, cold, warm, checks))
            ratio = f", flake8 {checks.wall:.2f} s: {checks.wall / cold.wall:.2f}x" if checks else ""
            print(f"round {number} (calibration {calibration:.2f} s): cold {cold.wall:.2f} s, warm {warm.wall:.2f} s{ratio}")
        rounds.sort(key=lambda r: r[3].wall / r[1].wall if r[3] else r[1].wall)
        _, cold, warm, checks = rounds[len(rounds) // 2]
        results += [cold, warm]
        print(f"conclint findings: {count_findings(cold.output)}")
        nocache = measure("conclint --no-cache", [conclint, "--exit-zero", "--quiet", "--no-cache", "--jobs", jobs, str(tree)])
        results.append(nocache)

        if not args.no_peers:
            if flake8 and checks:
                results.append(checks)
                results.append(
                    measure("flake8 + conclint plugin", base_checks[:1] + ["--select", "E,F,W,C90,CCL"] + base_checks[1:])
                )
            pylint = tool("pylint")
            if pylint:
                results.append(
                    measure(
                        "pylint (threading checks)",
                        [pylint, "--disable=all", "--enable=deprecated-method,useless-with-lock,bad-thread-instantiation",
                         "--recursive=y", "--ignore=site-packages", "-j", jobs, "--exit-zero", str(tree)],
                    )
                )
            ruff = tool("ruff")
            if ruff:
                results.append(
                    measure("ruff (ASYNC,PLW2101,RUF006)", [ruff, "check", "--no-cache", "--select", "ASYNC,PLW2101,RUF006", "--extend-exclude", "site-packages", "--exit-zero", str(tree)])
                )

        scaling: List[Tuple[int, Measurement]] = []
        if not args.no_scaling:
            for times in (1, 2, 4):
                copied = copies(tree, times, Path(scratch))
                scaling.append((times, measure(f"conclint cold, tree x{times}", [conclint, "--exit-zero", "--quiet", "--no-cache", "--jobs", jobs, str(copied)])))
                shutil.rmtree(copied)

    print()
    print("| run | wall s | CPU s | peak RSS MB | wall / conclint cold |")
    print("|---|---:|---:|---:|---:|")
    for m in results:
        print(f"| {m.label} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | {m.wall / cold.wall:.2f}x |")
    if scaling:
        print()
        print("| tree | wall s | CPU s | peak RSS MB | wall per copy s |")
        print("|---|---:|---:|---:|---:|")
        for times, m in scaling:
            print(f"| x{times} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | {m.wall / times:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
