"""Interrupt campaign: `conclint --fix` stopped by SIGINT, SIGTERM or SIGKILL at random moments.

    python scripts/probe_interrupts.py [--rounds 30] [--signals INT,TERM,KILL] [--seed N] [--conclint-src PATH]

What it measures: whether an interrupted fix run leaves the tree in a state the user can
trust. The corpus (fixtures with a .fixed.py twin, and the seeds) is copied N times into a
temporary directory, N chosen so that `--fix --unsafe-fixes --no-cache` takes --target
seconds. One clean run gives the duration, the moment the run starts writing, and the
expected fixed bytes of every file. Each round then copies the tree afresh, starts the same
run and sends one signal (round robin over --signals) at a moment drawn uniformly over the
measured duration, or, for --end-bias of the rounds, once the run has written its first
file, after a delay drawn uniformly up to the length of the clean run's writing phase.
SIGINT goes to the run's process group, as Ctrl-C does; SIGTERM and SIGKILL to the main
process only, as `kill` or an OOM killer do (--deliver changes that).

After each round every file must be byte-identical to its original or to its clean fixed
state, keep its mode, and compile with CPython if its original did; nothing may be left
that the original tree did not have (such as `.name.XXXX.conclint-tmp` files); and no
process of the run's session may outlive it by more than --grace seconds (those are then killed).
Prints rounds, signals sent, files checked and bad, strays and leftover processes; exits 1
if any file is bad, any stray or leftover process is found, or a run hangs.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _probe_common import (  # noqa: E402
    FIXTURES, TMP_SUFFIX, Conclint, DirectoryWatch, TempDir, compiles, directories, corpus, internal_error, listing, make_parser,
    measure, seeded, show_counter, show_total, sleep_until, snapshot, summary, tallies,
)

FIX = ("--fix", "--unsafe-fixes", "--no-cache", "--exit-zero", "-q", ".")


def build(root: Path, files: List[Path], copies: int) -> None:
    """``copies`` copies of the corpus below ``root`` (modes kept)."""
    if root.exists():
        shutil.rmtree(root)
    for i in range(copies):
        for source in files:
            target = root / f"copy{i:03d}" / source.relative_to(FIXTURES)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def deliver(pid: int, signum: int, how: str) -> None:
    to_group = how == "group" or (how == "realistic" and signum == signal.SIGINT)
    try:
        (os.killpg if to_group else os.kill)(pid, signum)
    except ProcessLookupError:
        pass


def main() -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="interrupted runs (default: %(default)s)")
    parser.add_argument("--signals", default="INT,TERM,KILL", help="comma-separated signal names, used round robin")
    parser.add_argument("--copies", type=int, default=None, help="copies of the corpus (default: enough for --target)")
    parser.add_argument("--target", type=float, default=1.5, help="seconds a clean run should take (default: %(default)s)")
    parser.add_argument("--end-bias", type=float, default=0.5,
                        help="share of rounds that strike during the writing phase (default: %(default)s; 0 for uniform only)")
    parser.add_argument("--deliver", choices=("realistic", "process", "group"), default="realistic",
                        help="send to the main process, its group, or INT to the group and the rest to the process")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a run may take in all before it counts as hung (default: %(default)s)")
    parser.add_argument("--grace", type=float, default=2.0,
                        help="seconds the run's other processes get to exit after it ended (default: %(default)s)")
    args = parser.parse_args()
    rng = seeded(args)
    conclint = Conclint.from_args(args)
    signals = [signal.Signals["SIG" + s.strip().upper().removeprefix("SIG")] for s in args.signals.split(",") if s.strip()]
    files = corpus()

    with TempDir("conclint-interrupts-") as tmp:
        pristine, work = tmp / "pristine", tmp / "run"
        copies = args.copies or 1
        while True:  # calibrate: double the copies until a clean run lasts --target seconds
            build(pristine, files, copies)
            shutil.copytree(pristine, work)
            timing, reference = measure(conclint, FIX, work, work, timeout=300)
            if args.copies or timing.seconds >= args.target or copies >= 64:
                break
            shutil.rmtree(work)
            copies *= 2
        original = snapshot(pristine)
        before = listing(pristine)
        expected = snapshot(work)
        problem = internal_error(reference)
        extra = listing(work) - before
        shutil.rmtree(work)
        print(f"{len(files)} corpus files x {copies} copies = {len(original)} files; clean run {timing.seconds:.2f} s, "
              f"first write at {timing.first_write or 0:.2f} s; "
              f"{sum(original[k] != expected.get(k) for k in original)} files fixed", flush=True)
        if problem or extra or reference.timed_out or set(expected) != set(original):
            why = problem or reference.stderr[-500:]
            print(f"error: the clean reference run failed: {why!r}; extra files: {sorted(extra)[:5]}")
            return 2

        modes = {rel: (pristine / rel).stat().st_mode for rel in original}
        counts = tallies()  # by signal name, but "exit codes" (by signal:code)
        hangs = checked = 0
        details: List[str] = []
        order = signals[:]
        rng.shuffle(order)
        started_all = time.monotonic()
        for number in range(args.rounds):
            signum = order[number % len(order)]
            name = signum.name.removeprefix("SIG")
            end_biased = rng.random() < args.end_bias
            shutil.copytree(pristine, work)
            watcher = DirectoryWatch(directories(work)) if end_biased else None
            run = conclint.start(*FIX, cwd=work)
            if watcher is not None:
                at = timing.strike_while_writing(run, watcher, rng, args.timeout)
            else:
                at = timing.pick(rng)
                sleep_until(run.started + at)
            if run.running():
                deliver(run.pid, signum, args.deliver)
                counts["sent"][name] += 1
            else:
                counts["finished_first"][name] += 1
            outcome = run.finish(args.timeout, args.grace)
            if run.hang_report:
                print(f"round {number}: hung after SIG{name} at {at:.3f} s; its processes at the timeout:"
                      + "".join(f"\n    {line}" for line in run.hang_report), flush=True)
            hangs += outcome.timed_out
            counts["exits"][f"{name}:{outcome.returncode}"] += 1
            counts["leftovers"][name] += outcome.leftovers
            round_bad = []
            for rel, data in original.items():
                checked += 1
                path = work / rel
                try:
                    now = path.read_bytes()
                    mode = path.stat().st_mode
                except OSError as exc:
                    round_bad.append(f"{rel}: {exc.strerror}")
                    continue
                if now not in (data, expected[rel]):
                    round_bad.append(f"{rel}: neither the original nor the fixed bytes")
                elif mode != modes[rel]:
                    round_bad.append(f"{rel}: mode {oct(mode)} instead of {oct(modes[rel])}")
                elif compiles(data, rel) and not compiles(now, rel):
                    round_bad.append(f"{rel}: no longer compiles")
            stray = sorted(listing(work) - before)
            counts["bad"][name] += len(round_bad)
            counts["strays"][name] += len(stray)
            if round_bad or stray or outcome.leftovers or outcome.timed_out:
                kinds = Counter("temp file" if s.endswith(TMP_SUFFIX) else "other" for s in stray)
                details.append(
                    f"round {number}: SIG{name} at {at:.3f} s{' (writing phase)' if end_biased else ''}: "
                    f"exit {outcome.returncode}, {len(round_bad)} bad, strays {dict(kinds)}, "
                    f"{outcome.leftovers} leftover processes{', HUNG' if outcome.timed_out else ''}"
                    + "".join(f"\n    {line}" for line in (round_bad + stray)[:3])
                )
                print(details[-1], flush=True)
            shutil.rmtree(work)

    failed = sum(sum(counts[name].values()) for name in ("bad", "strays", "leftovers")) + hangs
    summary("interrupt campaign", [
        ("conclint", f"{conclint.src}"),
        ("files per round", f"{len(original)} ({copies} copies of {len(files)})"),
        ("clean run", f"{timing.seconds:.2f} s (writing from {timing.first_write or 0:.2f} s)"),
        ("rounds", f"{args.rounds} in {time.monotonic() - started_all:.0f} s"),
        ("signals sent", show_counter(counts["sent"])),
        ("finished before the signal", show_counter(counts["finished_first"])),
        ("exit codes (signal:code)", show_counter(counts["exits"])),
        ("files checked", checked),
        ("files bad", show_total(counts["bad"])),
        ("stray files", show_total(counts["strays"])),
        ("leftover processes", show_total(counts["leftovers"])),
        ("hung runs", hangs),
        ("rounds with a problem", len(details)),
    ])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
