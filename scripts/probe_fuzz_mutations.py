"""Mutation fuzzing: the real conclint command on damaged copies of real concurrency code.

    python scripts/probe_fuzz_mutations.py [--mutants 1000] [--batch 50] [--out fuzz-mutants] [--seed N] [--conclint-src PATH]

What it measures: how conclint copes with what editors, merges and generators leave
behind. The sources are the standard library's modules that mention threading,
multiprocessing, asyncio or concurrent (up to --max-size bytes each) and the test
fixtures; one conclint run first finds where each has findings. Each mutant is one source
(drawn with weight 1 + its findings, at most 20) with 1 to --max-mutations random
mutations, byte- or token-level: delete, duplicate or swap lines; insert odd bytes (\\f \\r
\\0 \\x80 a BOM ...); change indentation; add a coding cookie naming an odd codec (idna,
rot13, utf-16, hex, zlib ...); truncate; add or drop a bracket; nest deeply; replace a
number, or every number of a line, with 0, -1 or a huge value; replace a name; add an
argument to a call; splice in lines of a fixture. With probability --focus a mutation
strikes within a few lines of a finding, where the rules look closely. Before those
--mutants random mutants comes a deterministic stage (--no-sweep skips it): every number
within a few lines of a finding set, one at a time, to 0 and to -1.

Mutants are written --batch at a time to a temporary directory, where conclint runs as
`--no-cache --format json`, then on a copy as `--fix --unsafe-fixes --no-cache`, twice.
Failures, counted per mutant:
  internal error   "internal error" or a traceback on stderr, a worker that died, an exit
                   code other than 0 and 1 (these runs never misuse the command, so 2 is
                   an error too), or JSON that does not parse (a batch-wide failure is narrowed down by bisection, and counted
                   once if no part of the batch fails alone);
  hang             a run over --timeout seconds;
  not compiling    --fix changed a mutant that CPython compiled into one it does not;
  not idempotent   the second --fix changed the file again.
Fixes that conclint itself refused ("file left unchanged") are counted, not failures.
Each figure counts mutants (one with two internal errors counts once there).
The first --save failing mutants (at most 3 of a kind) go to --out with a note of their
source, mutations and failure. Prints mutants run and each failure count; exits 1 on
any failure.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import sysconfig
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _probe_common import (  # noqa: E402
    FIXTURES, Conclint, Outcome, TempDir, compiles, internal_error, make_parser, seeded,
    show_counter, show_total, snapshot, summary, tallies,
)

CONCURRENCY = re.compile(rb"\b(threading|multiprocessing|asyncio|concurrent)\b")
ODD_BYTES = (b"\f", b"\r", b"\0", b"\x80", b"\xff", b"\t", b"\x0b", b"\r\n", b"\\", b"\xef\xbb\xbf",
             b"\xe2\x80\xa8", b"\xc2\xa0", b"'''", b'"', b"#", b"\x1a")
CODECS = ("idna", "rot13", "rot_13", "utf-16", "utf-16-le", "utf-32", "latin-1", "hex", "hex_codec", "zlib",
          "base64", "bz2", "uu", "quopri", "punycode", "unicode_escape", "raw_unicode_escape", "utf-7",
          "cp037", "utf-8-sig", "euc-jp", "undefined", "mbcs", "no-such-codec", "")
NUMBERS = (b"0", b"0", b"0", b"-1", b"1" + b"0" * 40, b"1e999", b"0x0", b"0.0", b"-0", b"10_000_000", b"True", b"None")
ARGUMENTS = (b", 0", b", -1", b", None", b", *()", b", **{}", b", x=0", b",", b", 0, 0")
NUMBER = re.compile(rb"(?<![\w.])\d[\d_]*(?:\.\d*)?(?![\w.])")
NAME = re.compile(rb"\b[A-Za-z_]\w*\b")
BRACKET = re.compile(rb"[()\[\]{}]")
CLOSING = re.compile(rb"\w\)")  # the end of a call with arguments


# ---------------------------------------------------------------------- mutations
class Spot:
    """Where a mutant's mutations strike: anywhere, or with probability ``focus`` near the
    lines (0-based) where conclint reported findings in the source, since rules only look
    closely at code that looks like their pitfall."""

    def __init__(self, rng: random.Random, donors: Sequence[bytes], hot: Sequence[int], focus: float) -> None:
        self.rng, self.donors, self.hot, self.focus = rng, donors, hot, focus

    def near(self) -> Optional[int]:
        """A line near a finding (or None this time)."""
        if self.hot and self.rng.random() < self.focus:
            return max(0, self.rng.choice(self.hot) + self.rng.randint(-3, 1))
        return None

    def line(self, count: int) -> int:
        """An index into ``count`` lines."""
        line = self.near()
        return min(line, count - 1) if line is not None else self.rng.randrange(count)

    def offset(self, data: bytes) -> int:
        """A byte offset into ``data``."""
        line = self.near()
        if line is None:
            return self.rng.randrange(len(data) + 1)
        starts = [0, *(m.end() for m in re.finditer(rb"\n", data))]
        start = starts[min(line, len(starts) - 1)]
        end = data.find(b"\n", start)
        return self.rng.randint(start, len(data) if end < 0 else end)

    def span(self, data: bytes, pattern: "re.Pattern[bytes]") -> Optional[Tuple[int, int]]:
        """Where one match of ``pattern`` is, preferring matches near findings."""
        spans = [m.span() for m in pattern.finditer(data)]
        if not spans:
            return None
        line = self.near()
        if line is not None:
            close = [s for s in spans if abs(data.count(b"\n", 0, s[0]) - line) <= 1]
            spans = close or spans
        return self.rng.choice(spans)


# Each takes the spot and the source bytes and returns the mutant's bytes.
Mutation = Callable[[Spot, bytes], bytes]


def _lines(data: bytes) -> List[bytes]:
    return data.splitlines(keepends=True) or [b""]


def delete_line(spot: Spot, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[spot.line(len(lines))]
    return b"".join(lines)


def duplicate_line(spot: Spot, data: bytes) -> bytes:
    lines = _lines(data)
    i = spot.line(len(lines))
    lines.insert(i, lines[i])
    return b"".join(lines)


def swap_lines(spot: Spot, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = spot.line(len(lines)), spot.line(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def insert_bytes(spot: Spot, data: bytes) -> bytes:
    rng = spot.rng
    at = spot.offset(data)
    junk = b"".join(rng.choice(ODD_BYTES) if rng.random() < 0.8 else bytes([rng.randrange(256)])
                    for _ in range(rng.randint(1, 4)))
    return data[:at] + junk + data[at:]


def reindent(spot: Spot, data: bytes) -> bytes:
    rng = spot.rng
    lines = _lines(data)
    i = spot.line(len(lines))
    for k in range(i, min(len(lines), i + rng.choice((1, 1, 3, 10)))):
        body = lines[k].lstrip(b" \t")
        indent = lines[k][: len(lines[k]) - len(body)]
        lines[k] = rng.choice((
            b" " + indent, indent[1:], indent.replace(b"    ", b"\t"), b"\t" + indent,
            indent + b"\f", b"", b" " * rng.randrange(1, 200),
        )) + body
    return b"".join(lines)


def coding_cookie(spot: Spot, data: bytes) -> bytes:
    rng = spot.rng
    cookie = f"# -*- coding: {rng.choice(CODECS)} -*-\n".encode()
    lines = _lines(data)
    at = rng.choice((0, 0, 1)) if len(lines) > 1 else 0
    if rng.random() < 0.15:
        cookie = b"\xef\xbb\xbf" + cookie  # a BOM as well: must agree with the cookie
        at = 0
    lines.insert(at, cookie)
    return b"".join(lines)


def truncate(spot: Spot, data: bytes) -> bytes:
    return data[: spot.offset(data)]


def unbalance(spot: Spot, data: bytes) -> bytes:
    found = spot.span(data, BRACKET)
    if found and spot.rng.random() < 0.5:
        return data[: found[0]] + data[found[1]:]
    at = spot.offset(data)
    return data[:at] + spot.rng.choice(b"()[]{}").to_bytes(1, "big") + data[at:]


def deep_nesting(spot: Spot, data: bytes) -> bytes:
    rng = spot.rng
    n = rng.choice((10, 50, 100, 190, 250, 400, 500, 1000, 3000))
    kind = rng.randrange(5)
    if kind == 0:
        snippet = b"x = " + b"(" * n + b"0" + b")" * n + b"\n"
    elif kind == 1:
        snippet = b"x = " + b"[" * n + b"]" * n + b"\n"
    elif kind == 2:
        snippet = b"x = " + b" and ".join([b"a"] * (n * 4)) + b"\n"
    elif kind == 3:
        snippet = b"x = " + b"f(" * n + b")" * n + b"\n"
    else:
        n = min(n, 150)
        snippet = b"".join(b" " * d + b"if x:\n" for d in range(n)) + b" " * n + b"pass\n"
    lines = _lines(data)
    lines.insert(spot.line(len(lines) + 1), snippet)
    return b"".join(lines)


def replace_number(spot: Spot, data: bytes) -> bytes:
    found = spot.span(data, NUMBER)
    if not found:
        return insert_bytes(spot, data)
    return data[: found[0]] + spot.rng.choice(NUMBERS) + data[found[1]:]


def boundary_line(spot: Spot, data: bytes) -> bytes:
    """Every number of one line set to one boundary value (0, -1, huge ...)."""
    lines = _lines(data)
    i = spot.line(len(lines))
    value = spot.rng.choice(NUMBERS)
    lines[i] = NUMBER.sub(lambda m: value, lines[i])
    return b"".join(lines)


def replace_name(spot: Spot, data: bytes) -> bytes:
    found = spot.span(data, NAME)
    if not found:
        return insert_bytes(spot, data)
    donor = spot.rng.choice(spot.donors) if spot.donors and spot.rng.random() < 0.5 else data
    new = spot.rng.choice(NAME.findall(donor) or [b"x"])
    return data[: found[0]] + new + data[found[1]:]


def add_argument(spot: Spot, data: bytes) -> bytes:
    found = spot.span(data, CLOSING)
    if not found:
        return unbalance(spot, data)
    at = found[0] + 1
    return data[:at] + spot.rng.choice(ARGUMENTS) + data[at:]


def splice(spot: Spot, data: bytes) -> bytes:
    donor = _lines(spot.rng.choice(spot.donors)) if spot.donors else _lines(data)
    i = spot.rng.randrange(len(donor))
    piece = donor[i: i + spot.rng.randint(1, 8)]
    lines = _lines(data)
    at = spot.line(len(lines) + 1)
    lines[at:at] = piece
    return b"".join(lines)


MUTATIONS: Dict[str, Mutation] = {f.__name__: f for f in (
    delete_line, duplicate_line, swap_lines, insert_bytes, reindent, coding_cookie, truncate,
    unbalance, deep_nesting, replace_number, boundary_line, replace_name, add_argument, splice,
)}


# ---------------------------------------------------------------------- sources and mutants
def sources(max_size: int) -> List[Path]:
    """Standard library modules about concurrency (no tests, no site-packages), and the fixtures."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for path in sorted(stdlib.rglob("*.py")):
        parts = set(path.relative_to(stdlib).parts[:-1])
        if parts & {"site-packages", "test", "tests", "idlelib", "lib2to3"}:
            continue
        try:
            if path.stat().st_size <= max_size and CONCURRENCY.search(path.read_bytes()):
                found.append(path)
        except OSError:
            continue
    return found + sorted(FIXTURES.rglob("*.py"))


def finding_lines(conclint: Conclint, files: Sequence[Path], timeout: float) -> Dict[Path, List[int]]:
    """The lines (0-based) of each file's findings, from one conclint run over all of them."""
    with TempDir("conclint-sources-") as tmp:
        names = {}
        for i, path in enumerate(files):
            names[f"s{i:05d}.py"] = path
            shutil.copyfile(path, tmp / f"s{i:05d}.py")
        outcome = conclint.run(*LINT, cwd=tmp, timeout=timeout)
    lines: Dict[Path, List[int]] = {path: [] for path in files}
    try:
        findings = json.loads(outcome.stdout or "[]")
    except ValueError:
        findings = []
    for finding in findings if isinstance(findings, list) else []:
        path = names.get(Path(str(finding.get("path"))).name)
        if path is not None and isinstance(finding.get("line"), int) and finding.get("code") != "CCL000":
            lines[path].append(finding["line"] - 1)
    return lines


class Mutant:
    def __init__(self, name: str, source: Path, mutations: List[str], data: bytes) -> None:
        self.name, self.source, self.mutations, self.data = name, source, mutations, data
        self.compiles = compiles(data, name)


def sweep(hot: Dict[Path, List[int]], values: Sequence[bytes]) -> Iterator[Tuple[Path, str, bytes]]:
    """The deterministic stage: each number literal within a few lines of a finding, set in
    turn to each of ``values`` (as fuzzers try interesting values before random havoc)."""
    for source, lines in hot.items():
        if not lines:
            continue
        data = source.read_bytes()
        for match in NUMBER.finditer(data):
            line = data.count(b"\n", 0, match.start())
            if any(-3 <= line - finding <= 1 for finding in lines):
                for value in values:
                    if value != match.group():
                        yield source, f"sweep:{value.decode()}", data[: match.start()] + value + data[match.end():]


def make_mutant(rng: random.Random, number: int, hot: Dict[Path, List[int]], donors: Sequence[bytes],
                args: argparse.Namespace) -> Mutant:
    """A mutant of a source drawn with weight 1 + its findings (at most 20)."""
    files = list(hot)
    source = rng.choices(files, weights=[1 + min(len(hot[p]), 20) for p in files])[0]
    spot = Spot(rng, donors, hot[source], args.focus)
    data = source.read_bytes()
    applied = []
    for _ in range(rng.randint(1, args.max_mutations)):
        name = rng.choice(list(MUTATIONS))
        data = MUTATIONS[name](spot, data)
        applied.append(name)
    return Mutant(f"m{number:06d}.py", source, applied, data)


# ---------------------------------------------------------------------- checking a batch
LINT = ("--no-cache", "--format", "json", "--exit-zero", ".")
FIX = ("--fix", "--unsafe-fixes", "--no-cache", "--exit-zero", "-q", ".")
DIED = "worker process died"
BISECT_TIMEOUT = 20.0


def crash_lines(outcome: Outcome, names: Sequence[str]) -> Tuple[Dict[str, str], Optional[str]]:
    """Crashes a run shows: those whose message names a mutant (name -> message without the
    path), and one that names none (or None)."""
    named: Dict[str, str] = {}
    lines = outcome.stderr.splitlines() + [line for line in outcome.stdout.splitlines() if DIED in line]
    wanted = set(names)
    for line in lines:
        if "internal error" not in line and DIED not in line:
            continue
        start = line.find("internal error") if "internal error" in line else line.find("not analysed")
        for match in re.finditer(r"m\d{6}\.py", line):
            if match.group() in wanted:
                named.setdefault(match.group(), line[max(start, 0):].strip()[:160])
    general = None
    if outcome.timed_out:
        general = "hang"
    elif not named:
        general = internal_error(outcome)
    return named, general


def json_problem(outcome: Outcome) -> Optional[str]:
    try:
        findings = json.loads(outcome.stdout or "null")
    except ValueError as exc:
        return f"bad JSON output: {exc}"
    if not isinstance(findings, list):
        return "bad JSON output: not a list"
    died = [f for f in findings if isinstance(f, dict) and DIED in str(f.get("message"))]
    return f"{died[0]['path']}: {died[0]['message']}" if died else None


class Batch:
    """One batch of mutants, run and checked; ``failures`` maps mutant names to what went wrong."""

    def __init__(self, conclint: Conclint, mutants: List[Mutant], work: Path, timeout: float) -> None:
        self.conclint, self.mutants, self.work, self.timeout = conclint, mutants, work, timeout
        self.failures: Dict[str, List[str]] = {}
        self.unattributed: List[str] = []  # failures that no single mutant could be blamed for
        self.refused = 0

    def fail(self, name: str, kind: str) -> None:
        kinds = self.failures.setdefault(name, [])
        if kind not in kinds:
            kinds.append(kind)

    def lay_out(self, where: Path, mutants: Sequence[Mutant]) -> None:
        if where.exists():
            shutil.rmtree(where)
        where.mkdir(parents=True)
        for mutant in mutants:
            (where / mutant.name).write_bytes(mutant.data)

    def run(self, arguments: Sequence[str], where: Path, mutants: Sequence[Mutant]) -> Outcome:
        """Run over ``where`` (laid out with ``mutants``); charge crashes to the mutants."""
        outcome = self.conclint.run(*arguments, cwd=where, timeout=self.timeout)
        names = [m.name for m in mutants]
        named, general = crash_lines(outcome, names)
        if general is None and arguments == LINT and not outcome.timed_out:
            general = json_problem(outcome)
            culprit = re.search(r"m\d{6}\.py", general or "")
            if general and culprit and culprit.group() in names:
                named[culprit.group()], general = general.split(": ", 1)[1], None
        run = "fix" if "--fix" in arguments else "lint"
        for name, message in named.items():
            # The detail in the last parentheses varies with the input: kinds are counted without it.
            message = re.sub(r" \([^()]*(\(.*\))?[^()]*\)?$", "", message.removeprefix("internal error").lstrip(": "))
            self.fail(name, f"internal error ({run}): {message}")
        if general is not None:
            kind = f"hang ({run})" if general == "hang" else f"internal error ({run}): {general[:160]}"
            culprits = self.bisect(arguments, list(mutants), where.parent / (where.name + "-bisect"))
            if len(culprits) == len(mutants) > 1:
                self.unattributed.append(f"{kind} [{names[0]} to {names[-1]}]")
            for culprit in culprits if len(culprits) < len(mutants) or len(mutants) == 1 else ():
                self.fail(culprit.name, kind)
        return outcome

    def bisect(self, arguments: Sequence[str], suspects: List[Mutant], where: Path, budget: int = 12) -> List[Mutant]:
        """The smallest half that still fails alone, halving while one does (at most ``budget`` runs)."""
        while len(suspects) > 1 and budget > 0:
            half = len(suspects) // 2
            for part in (suspects[:half], suspects[half:]):
                budget -= 1
                self.lay_out(where, part)
                # Parts are smaller than the batch: a shorter timeout keeps a hang's bisection short.
                outcome = self.conclint.run(*arguments, cwd=where, timeout=min(self.timeout, BISECT_TIMEOUT))
                if outcome.timed_out or internal_error(outcome) or (arguments == LINT and json_problem(outcome)):
                    suspects = part
                    break
            else:
                break  # neither half fails alone: the mix does
        shutil.rmtree(where, ignore_errors=True)
        return suspects

    def check(self) -> None:
        lint_dir, fix_dir = self.work / "lint", self.work / "fix"
        self.lay_out(lint_dir, self.mutants)
        self.run(LINT, lint_dir, self.mutants)
        shutil.rmtree(lint_dir)
        self.lay_out(fix_dir, self.mutants)
        first = self.run(FIX, fix_dir, self.mutants)
        self.refused += sum("left unchanged" in line for line in first.stderr.splitlines())
        once = snapshot(fix_dir)
        self.run(FIX, fix_dir, self.mutants)
        twice = snapshot(fix_dir)
        for mutant in self.mutants:
            fixed = once.get(mutant.name)
            if fixed is None:
                self.fail(mutant.name, "file gone after --fix")
                continue
            if fixed != mutant.data and mutant.compiles and not compiles(fixed, mutant.name):
                self.fail(mutant.name, "fix result does not compile")
            if twice.get(mutant.name) != fixed:
                self.fail(mutant.name, "non-idempotent fix")
        shutil.rmtree(fix_dir)


def category(kind: str) -> str:
    if kind.startswith("internal error"):
        return "internal errors"
    if kind.startswith("hang"):
        return "hangs"
    names = {"fix result does not compile": "fix results not compiling", "non-idempotent fix": "non-idempotent fixes"}
    return names.get(kind, kind)


def save(out: Path, mutant: Mutant, kinds: List[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / mutant.name).write_bytes(mutant.data)
    note = [f"source: {mutant.source}", f"mutations: {', '.join(mutant.mutations)}",
            f"compiles: {mutant.compiles}", *(f"failure: {k}" for k in kinds)]
    (out / (mutant.name + ".txt")).write_text("\n".join(note) + "\n", encoding="utf-8")


def main() -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--mutants", type=int, default=1000, help="random mutants, after the sweep (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=50, help="mutants per run (default: %(default)s)")
    parser.add_argument("--max-mutations", type=int, default=3, help="mutations per mutant, at most (default: %(default)s)")
    parser.add_argument("--focus", type=float, default=0.7,
                        help="chance that a mutation strikes near a finding of the source (default: %(default)s)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the deterministic stage")
    parser.add_argument("--max-size", type=int, default=40_000, help="largest source file in bytes (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help=f"seconds one run may take (default: %(default)s; at most {BISECT_TIMEOUT:g} when narrowing down)")
    parser.add_argument("--minutes", type=float, default=10.0, help="start no batch after this long (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-mutants"), help="where failing mutants go")
    parser.add_argument("--save", type=int, default=10, help="failing mutants to save, at most (default: %(default)s)")
    args = parser.parse_args()
    rng = seeded(args)
    conclint = Conclint.from_args(args)
    files = sources(args.max_size)
    donors = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.py"))]
    hot = finding_lines(conclint, files, args.timeout)
    print(f"{len(files)} source files, {sum(map(bool, hot.values()))} with findings", flush=True)

    counts = tallies()
    ran = refused = 0
    saved: Dict[str, int] = {}
    started = time.monotonic()
    with TempDir("conclint-mutants-") as tmp:
        swept = [] if args.no_sweep else list(sweep(hot, (b"0", b"-1")))
        total = len(swept) + args.mutants
        print(f"{len(swept)} mutants in the deterministic stage, then {args.mutants} random ones", flush=True)
        while ran < total and time.monotonic() - started < args.minutes * 60:
            size = min(args.batch, total - ran)
            mutants = [Mutant(f"m{n:06d}.py", *swept[n][:1], [swept[n][1]], swept[n][2]) if n < len(swept)
                       else make_mutant(rng, n, hot, donors, args) for n in range(ran, ran + size)]
            batch = Batch(conclint, mutants, tmp, args.timeout)
            batch.check()
            ran += size
            refused += batch.refused
            for mutant in mutants:
                counts["mutations"].update(mutant.mutations)
                kinds = batch.failures.get(mutant.name, [])
                counts["kinds"].update(set(kinds))
                counts["categories"].update({category(kind) for kind in kinds})
                first = kinds[0] if kinds else None
                if first and len(saved) < args.save and saved.get(first, 0) < 3:
                    saved[first] = saved.get(first, 0) + 1
                    save(args.out, mutant, kinds)
                    print(f"FAILURE ({args.out / mutant.name}; {', '.join(mutant.mutations)}): {first}", flush=True)
                if first:
                    counts["failing mutations"].update(set(mutant.mutations))
            for kind in batch.unattributed:
                counts["kinds"][kind] += 1
                counts["categories"][category(kind)] += 1
                print(f"FAILURE not narrowed down to one mutant: {kind}", flush=True)
            print(f"{ran} mutants, {sum(counts['categories'].values())} failures, {time.monotonic() - started:.0f} s", flush=True)

    categories = counts["categories"]
    summary("mutation fuzzing", [
        ("conclint", str(conclint.src)),
        ("sources", f"{len(files)} files"),
        ("mutants run", f"{ran} in {time.monotonic() - started:.0f} s"),
        ("internal errors", categories["internal errors"]),
        ("hangs", categories["hangs"]),
        ("fix results not compiling", categories["fix results not compiling"]),
        ("non-idempotent fixes", categories["non-idempotent fixes"]),
        ("other failures", sum(v for k, v in categories.items() if k not in (
            "internal errors", "hangs", "fix results not compiling", "non-idempotent fixes"))),
        ("fixes conclint refused", refused),
        ("mutations applied", show_total(counts["mutations"])),
        ("in failing mutants", show_counter(counts["failing mutations"])),
        ("saved to", f"{args.out} ({sum(saved.values())} mutants)" if saved else "nothing saved"),
    ])
    if counts["kinds"]:
        print("distinct failures:")
        for kind, count in counts["kinds"].most_common(30):
            print(f"  {count:5}  {kind}")
    return 1 if categories else 0


if __name__ == "__main__":
    sys.exit(main())
