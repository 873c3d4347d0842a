"""What each rule's gates let through to LibCST on a tree (default: the standard library):
the gate derived from the rule's declared ``interest`` against the hand-written
``could_report`` where a rule keeps one.

    python benchmarks/gate_cost.py [--tree PATH]

For every rule: the files (and their lines) that pass its byte triggers, then those that
pass the derived second gate, then those that pass the hand-written one (``-`` where the
rule has none). The last lines give the union over all rules, which is what LibCST parses
in a run: with the derived gates everywhere, and with the hand-written ones where kept
(what the engine does). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path
from typing import Dict, Set

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from conclint.analysis.parsing import ParseFailure, screen  # noqa: E402
from conclint.discovery import Discovery  # noqa: E402
from conclint.engine import active_codes, rule_set  # noqa: E402
from conclint.rule import hand_written_gate  # noqa: E402
from conclint.settings import Settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    args = parser.parse_args()
    settings = Settings.default()
    rules = rule_set(settings, active_codes(settings))
    classes = rules.classes
    files = list(Discovery(root=args.tree).files([str(args.tree)]))
    lines: Dict[str, int] = {}
    trigger: Dict[str, Set[str]] = {cls.code: set() for cls in classes}
    derived: Dict[str, Set[str]] = {cls.code: set() for cls in classes}
    hand: Dict[str, Set[str]] = {cls.code: set() for cls in classes}
    for path in files:
        data = Path(path).read_bytes()
        candidates = rules.trigger.matching(data)
        if not candidates:
            continue
        try:
            facts = screen(data).facts
        except ParseFailure:
            continue
        if facts is None:
            continue
        lines[path] = data.count(b"\n")
        for cls in candidates:
            trigger[cls.code].add(path)
            if cls.interest is None or cls.interest.possible(facts, rules.options[cls]):
                derived[cls.code].add(path)
            gate = hand_written_gate(cls)
            if gate is not None and gate(facts, rules.options[cls]):
                hand[cls.code].add(path)
    kept = {cls.code: (hand if hand_written_gate(cls) is not None else derived)[cls.code] for cls in classes}
    engine = set().union(*kept.values())

    def size(paths: Set[str]) -> str:
        return f"{len(paths)} files, {sum(lines[p] for p in paths):,} lines"

    print(f"{len(files)} files under {args.tree}; per rule, files passing each gate, and what the")
    print("derived gate would add to what LibCST parses if it replaced the rule's hand-written one")
    print("(only it: the files its gate alone hands LibCST, which no other rule's gate does)")
    print(f"{'rule':<8} {'trigger':>8} {'derived':>8} {'hand':>6}  {'derived instead: adds':<30} {'only it'}")
    for cls in classes:
        code = cls.code
        has_hand = hand_written_gate(cls) is not None
        added = derived[code] - engine if has_hand else set()
        extra = size(added) if has_hand else "(derived in use)"
        hand_count = str(len(hand[code])) if has_hand else "-"
        others = set().union(*(paths for other, paths in kept.items() if other != code))
        print(f"{code:<8} {len(trigger[code]):>8} {len(derived[code]):>8} {hand_count:>6}  {extra:<30} {size(kept[code] - others)}")
    print(f"derived gates everywhere: {size(set().union(*derived.values()))} to LibCST")
    print(f"as the engine runs:       {size(engine)} to LibCST")
    return 0


if __name__ == "__main__":
    sys.exit(main())
