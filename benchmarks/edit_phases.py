"""Where an editor's edit goes, in-process: the phases of ``engine.lint_source`` per edit of
one file, with the language server's parse cache and without it, interleaved edit by edit
(so both see the same machine load).

    python benchmarks/edit_phases.py [FILE] [--edits N]

FILE defaults to the standard library's threading.py. Each edit rewrites a comment line
appended to the file, as ``server_latency.py`` does. Prints the median (p50) per phase in
milliseconds; a profiling aid, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path
from typing import Dict, List, Optional

from conclint import engine
from conclint.analysis.incremental import ParseCache
from conclint.analysis.parsing import parse_screened, screen
from conclint.settings import Settings

PHASES = ("byte gate", "screen", "second gate", "parse", "rules + positions", "total")


def edit(data: bytes, path: str, settings: Settings, cache: Optional[ParseCache], spent: Dict[str, List[float]]) -> None:
    rules = engine.rule_set(settings, engine.codes_for(settings, path))
    marks = [time.perf_counter()]
    candidates = rules.trigger.matching(data)
    marks.append(time.perf_counter())
    screened = screen(data)
    marks.append(time.perf_counter())
    assert screened.facts is not None
    candidates = [c for c in candidates if c.could_report(screened.facts, rules.options[c])]
    marks.append(time.perf_counter())
    module = parse_screened(data, screened) if cache is None else cache.parse(data, screened)
    marks.append(time.perf_counter())
    engine.analyse(module, data, path, settings, candidates, engine.FileResult(path), tree=screened.tree, options=rules.options)
    marks.append(time.perf_counter())
    for phase, start, end in zip(PHASES, marks, marks[1:]):
        spent[phase].append(end - start)
    spent["total"].append(marks[-1] - marks[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(Path(sysconfig.get_paths()["stdlib"]) / "threading.py"))
    parser.add_argument("--edits", type=int, default=100)
    args = parser.parse_args()
    original = Path(args.file).read_bytes()
    settings = Settings.default()
    cache = ParseCache()
    whole: Dict[str, List[float]] = {p: [] for p in PHASES}
    cached: Dict[str, List[float]] = {p: [] for p in PHASES}
    edit(original + b"# edit 0\n", args.file, settings, cache, {p: [] for p in PHASES})  # fills the cache
    for number in range(1, args.edits + 1):
        data = original + b"# edit %d\n" % number
        edit(data, args.file, settings, None, whole)
        edit(data, args.file, settings, cache, cached)
    lines = original.count(b"\n")
    print(f"{args.file}: {lines} lines, {args.edits} edits, p50 in ms; "
          f"last edit: {cache.stats.chunks} chunks, {cache.stats.parsed} parsed")
    print(f"{'phase':<18} {'whole parse':>12} {'with cache':>12}")
    for phase in PHASES:
        print(f"{phase:<18} {statistics.median(whole[phase]) * 1000:12.1f} {statistics.median(cached[phase]) * 1000:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
