"""Where conclint's time goes: CPU per phase, serially, on a tree (default: the stdlib).

    python benchmarks/phases.py [PATH]

Mirrors ``engine.lint_source`` step by step (gate, screen, second gate, parse, rules,
positions), then ``runner.lint_one``'s summary of each file and the project phase over them
(``project.project_findings``), so that each step can be timed; a profiling aid, not a test.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Dict, List

import libcst as cst

from conclint import engine, project, runner
from conclint.analysis.project import ModuleInfo, ModuleNamer
from conclint.analysis import Semantic, parsing
from conclint.analysis.positions import positions_of
from conclint.discovery import Discovery
from conclint.settings import Settings


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["stdlib"])
    runner._collect_less()  # as in the pool's workers
    files = list(Discovery(root=root).files([str(root)]))
    settings = Settings.default()
    rules = engine.rule_set(settings, engine.active_codes(settings))
    trigger = rules.trigger
    spent: Dict[str, float] = dict.fromkeys(
        ("read + gate", "screen", "second gate", "parse", "rules", "positions", "summaries", "project phase"), 0.0
    )
    modules: List[ModuleInfo] = []
    namer = ModuleNamer(root)
    screened = parsed = lines = 0

    def clock(phase: str, start: float) -> float:
        now = time.process_time()
        spent[phase] += now - start
        return now

    def summarise(path: str, data: bytes, tree: Any, facts: Any = None) -> None:
        start = time.process_time()
        summary = project.summary_of(data, tree, facts)
        if summary is not None:
            modules.append(ModuleInfo(namer.name(path), path, path.endswith("__init__.py"), summary))
        clock("summaries", start)

    for path in files:
        start = time.process_time()
        data = Path(path).read_bytes()
        candidates = trigger.matching(data)
        start = clock("read + gate", start)
        if not candidates:
            summarise(path, data, None)
            continue
        screened += 1
        seen = None
        try:
            seen = parsing.screen(data)
            start = clock("screen", start)
            if seen.facts is not None:
                candidates = [c for c in candidates if c.could_report(seen.facts, rules.options[c])]
            start = clock("second gate", start)
            if not candidates:
                summarise(path, data, seen.tree, seen.facts)
                continue
            parsed, lines = parsed + 1, lines + data.count(b"\n")
            with parsing.trusting_the_parser():
                module = cst.parse_module(data)
        except Exception:
            summarise(path, data, seen.tree if seen is not None else None, seen.facts if seen is not None else None)
            continue
        start = clock("parse", start)
        sem = Semantic(path, "")
        instances = [cls(sem, rules.options[cls]) for cls in candidates]
        engine._run_rules(module, sem, instances)
        start = clock("rules", start)
        reports = [r for rule in instances for r in rule.reports]
        if reports:
            positions_of(module, data, [(r.node, r.statement) for r in reports], seen.tree)
        clock("positions", start)
        summarise(path, data, seen.tree, seen.facts)
    start = time.process_time()
    project.project_findings(modules, settings, lambda: {namer.name(p): p for p in files})
    clock("project phase", start)
    total = sum(spent.values())
    print(f"{len(files)} files, {screened} screened, {parsed} parsed ({lines:,} lines)")
    for phase, seconds in spent.items():
        print(f"{phase:<12} {seconds:6.2f} s  {seconds / total:4.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
