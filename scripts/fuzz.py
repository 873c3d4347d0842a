"""A long fuzzing campaign: every rule on generated programs, gates on and off (see tests/fuzz_properties.py).

    python scripts/fuzz.py --examples 10000 [--out fuzz-failures]

Unlike the bounded test it does not stop at the first failure: it records each one
(the program goes to --out), and prints how many examples ran, how many changed under
--fix, and the distinct failures found.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from fuzz_properties import check, every_rule, programs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"))
    parser.add_argument("--progress", type=int, default=500, help="print a line every N examples")
    args = parser.parse_args()
    rules, gated = every_rule(), every_rule(gate=True)
    failures: Counter = Counter()
    ran = changed = 0
    started = time.monotonic()

    # Generation only: a failure is recorded, not raised, so there is nothing to shrink.
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(programs())
    def campaign(source: str) -> None:
        nonlocal ran, changed
        ran += 1
        try:
            fixed, problem = check(source, rules, gated)
            changed += fixed
        except Exception as exc:  # a crash is a finding of the campaign
            problem = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if problem is not None:
            kind = problem.splitlines()[0][:200]
            if not failures[kind]:
                args.out.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
                (args.out / f"{name}.py").write_text(source, encoding="utf-8", errors="surrogatepass")
                print(f"FAILURE ({args.out / name}.py): {kind}", flush=True)
            failures[kind] += 1
        if ran % args.progress == 0:
            print(f"{ran} examples, {changed} fixed, {sum(failures.values())} failures, {time.monotonic() - started:.0f} s", flush=True)

    campaign()
    print(f"examples run: {ran}; changed by --fix: {changed}; failures: {sum(failures.values())} ({len(failures)} distinct)")
    for kind, count in failures.most_common():
        print(f"  {count:6}  {kind}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
