"""Concurrent-edit race: does `conclint --fix` overwrite a file the user saved while it ran?

    python scripts/probe_race.py [--trials 100] [--padding 40] [--seed N] [--conclint-src PATH]

What it measures: for each trial a fresh directory holds one target file with fixable
findings (the fixtures with a .fixed.py twin, in turn) and --padding other fixable files,
so that the run lasts a while and writes a lot before the target (whose directory sorts
last). `conclint --fix --unsafe-fixes --no-cache` is started, and at a chosen moment the
probe saves a user edit to the target as an editor would: the original text plus a comment
with a marker unique to the trial, written in place or to a temporary file renamed over
the target (alternately). The moment comes from one of three strategies, in turn:

  uniform  uniform over the duration of a clean run, measured first;
  end      once the run has written its first file, after a delay drawn uniformly up to
           the length of the clean run's writing phase;
  watch    once the run has written its first file, the moment conclint's own temporary
           file for the target appears in its directory (polled without pause), that is
           between its last look at the file and its rename.

After the run the target must still hold the marker: if not, conclint's fix overwrote the
save and the edit is lost. A refusal ("changed while" on stderr) is the right answer to an
edit saved after conclint read the file. Timing only: the deterministic tests of the same
windows (tests/test_fix_writes.py) use conclint's pause hook instead.

Prints trials, edits made, edits lost (by strategy and by style), refusals, exit codes and
stray files; exits 1 if any edit was lost.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _probe_common import (  # noqa: E402
    TMP_SUFFIX, Conclint, DirectoryWatch, TempDir, corpus, directories, internal_error, listing,
    make_parser, measure, seeded, show_counter, show_total, sleep_until, summary, tallies,
    wait_for_first_write,
)

FIX = ("--fix", "--unsafe-fixes", "--no-cache", "--exit-zero", "-q", ".")
STRATEGIES = ("uniform", "end", "watch")
STYLES = ("in-place", "rename")
TARGET_DIR = "zz_target"  # sorts after the padding: the target is written last


def targets() -> List[Path]:
    """Files conclint is sure to change: fixtures with a .fixed.py twin."""
    return [p for p in corpus() if p.with_name(p.stem + ".fixed.py").exists()]


def lay_out(root: Path, target: Path, padding: List[Path]) -> Path:
    """A trial's tree: the padding under pad/, the target under zz_target/; returns the target's path."""
    (root / "pad").mkdir(parents=True)
    for i, source in enumerate(padding):
        shutil.copy2(source, root / "pad" / f"pad{i:03d}_{source.name}")
    (root / TARGET_DIR).mkdir()
    path = root / TARGET_DIR / target.name
    shutil.copy2(target, path)
    return path


def save(path: Path, data: bytes, style: str) -> None:
    """Save ``data`` to ``path`` as an editor does: in place, or through a renamed temporary file."""
    if style == "in-place":
        with open(path, "wb") as handle:
            handle.write(data)
        return
    temporary = path.with_name(path.name + ".editor-save")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def conclint_temp_present(directory: Path, name: str) -> bool:
    try:
        return any(entry.startswith(f".{name}.") and entry.endswith(TMP_SUFFIX) for entry in os.listdir(directory))
    except OSError:
        return False


def main() -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--trials", type=int, default=100, help="fix runs raced by an edit (default: %(default)s)")
    parser.add_argument("--padding", type=int, default=40, help="other fixable files in each run (default: %(default)s)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated, used in turn (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a run may take (default: %(default)s)")
    args = parser.parse_args()
    rng = seeded(args)
    conclint = Conclint.from_args(args)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = set(strategies) - set(STRATEGIES)
    if unknown or not strategies:
        parser.error(f"unknown strategies {sorted(unknown)}; choose from {', '.join(STRATEGIES)}")
    candidates = targets()
    pool = corpus()
    padding = [pool[i % len(pool)] for i in range(args.padding)]

    counts = tallies()
    strays = leftovers = 0
    started_all = time.monotonic()
    with TempDir("conclint-race-") as tmp:
        calibration = tmp / "calibration"
        path = lay_out(calibration, candidates[0], padding)
        timing, clean = measure(conclint, FIX, calibration, calibration, timeout=args.timeout)
        if path.read_bytes() == candidates[0].read_bytes() or internal_error(clean):
            print(f"error: the clean run did not fix {path.name}: {internal_error(clean) or clean.stderr[-500:]!r}")
            return 2
        shutil.rmtree(calibration)
        print(f"clean run: {timing.seconds:.2f} s, first write at "
              f"{'never' if timing.first_write is None else f'{timing.first_write:.2f} s'}", flush=True)

        for trial in range(args.trials):
            strategy = strategies[trial % len(strategies)]
            style = STYLES[(trial // len(strategies)) % len(STYLES)]
            root = tmp / f"trial{trial:04d}"
            target = candidates[trial % len(candidates)]
            path = lay_out(root, target, padding)
            before = listing(root)
            marker = f"# user edit, trial {trial}, {rng.getrandbits(64):016x}".encode()
            edit = target.read_bytes().rstrip(b"\n") + b"\n" + marker + b"\n"
            counts["trials"][strategy] += 1

            watcher = DirectoryWatch(directories(root))
            run = conclint.start(*FIX, cwd=root)
            if strategy == "uniform":
                sleep_until(run.started + timing.pick(rng))
            elif strategy == "end":
                timing.strike_while_writing(run, watcher, rng, args.timeout)
            elif wait_for_first_write(run, watcher, args.timeout):
                deadline = run.started + args.timeout
                while run.running() and time.monotonic() < deadline:
                    if conclint_temp_present(path.parent, path.name):
                        break  # no sleep in this loop: the window may last a few hundred microseconds
            made = run.running()
            if made:
                save(path, edit, style)
                counts["edits"][strategy, style] += 1
            else:
                counts["missed"][strategy] += 1
            outcome = run.finish(args.timeout)
            counts["exits"][str(outcome.returncode)] += 1
            leftovers += outcome.leftovers
            problem = internal_error(outcome)
            if problem:
                counts["crashes"][problem[:120]] += 1
            refused = any("changed while" in line and path.name in line for line in outcome.stderr.splitlines())
            final = path.read_bytes() if path.exists() else b""
            if not made:
                verdict = "no edit (run ended first)"
            elif marker not in final:
                verdict = "EDIT LOST"
                counts["lost"][strategy, style] += 1
                print(f"trial {trial}: edit LOST ({strategy}, {style}, {target.name}); exit {outcome.returncode}"
                      f"{', conclint said changed while' if refused else ''}", flush=True)
            elif refused:
                verdict = "refused (changed while)"
            elif final == edit:
                verdict = "edit kept, not fixed"
            else:
                verdict = "edit kept, fixed over it"
            counts["verdicts"][verdict] += 1
            strays += len(listing(root) - before)
            shutil.rmtree(root)

    def per(counter: Counter) -> str:  # keyed by (strategy, style)
        return show_total(Counter({f"{k[0]}/{k[1]}": v for k, v in counter.items()}))

    summary("concurrent-edit race", [
        ("conclint", str(conclint.src)),
        ("clean run", f"{timing.seconds:.2f} s, {args.padding} padding files"),
        ("trials", show_total(counts["trials"]) + f" in {time.monotonic() - started_all:.0f} s"),
        ("edits made", per(counts["edits"])),
        ("run ended before the moment", show_counter(counts["missed"])),
        ("edits lost", per(counts["lost"])),
        ("reported 'changed while'", counts["verdicts"]["refused (changed while)"]),
        ("outcomes", show_counter(counts["verdicts"])),
        ("exit codes", show_counter(counts["exits"])),
        ("internal errors", show_total(counts["crashes"])),
        ("stray files", strays),
        ("leftover processes", leftovers),
    ])
    return 1 if sum(counts["lost"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
