"""Bad input: each is one clear CCL000 finding (or no finding at all, where the input is
fine), the other files are still linted, and the exit code says so. Real CLI, real files.

conclint parses a file only when some enabled rule's byte-level triggers match its bytes
(``engine.lint_source`` -> ``engine.rule_set``), or, for its syntax alone, when it names a
concurrency module, a lock or a coroutine function (``engine._about_concurrency``). A file without
any of that text is skipped unparsed, so a syntax error, bad encoding or NUL byte in it is
*not* reported. Every broken file below therefore carries ``TRIGGER``, text that makes it parsed.
Failures to read a file (permissions, links, size) are reported whatever its content.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from helpers import run_cli

TRIGGER = b"import threading\nlock = threading.Lock()\nlock.acquire()\n"
# Linted alongside every bad input: its finding proves the run went on.
GOOD = b"import threading\n\nt = threading.Thread()\nt.setDaemon(True)\n"
GOOD_FINDING = "good.py:4:3: CCL301"
BOM = b"\xef\xbb\xbf"


def lint(directory: Path, *args: str, **kwargs):
    (directory / "good.py").write_bytes(GOOD)
    return run_cli("--no-cache", *args, ".", cwd=directory, **kwargs)


def assert_reported(result, *patterns: str) -> None:
    """Every pattern matches one output line; good.py was linted; exit code 1."""
    lines = result.stdout.splitlines()
    for pattern in patterns:
        assert any(re.fullmatch(pattern, line) for line in lines), (pattern, result.stdout, result.stderr)
    assert any(line.startswith(GOOD_FINDING) for line in lines), result.stdout
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


BAD_CONTENT = {
    "python2": (
        TRIGGER + b'print "x"\n',
        r"bad\.py:4:1: CCL000 SyntaxError: Missing parentheses in call to 'print'.*",
    ),
    "latin1-without-cookie": (
        TRIGGER + b's = "caf\xe9"\n',
        r"bad\.py:4:9: CCL000 cannot decode: byte 0xe9 is not valid utf-8 "
        r"\(there is no PEP 263 coding cookie naming another encoding\)",
    ),
    "latin1-with-utf8-cookie": (
        b"# -*- coding: utf-8 -*-\n" + TRIGGER + b's = "caf\xe9"\n',
        r"bad\.py:5:9: CCL000 cannot decode: byte 0xe9 is not valid utf-8",
    ),
    "unknown-cookie": (b"#!/usr/bin/env python\n# coding: klingon\n" + TRIGGER, r"bad\.py:2:1: CCL000 bad coding cookie: unknown encoding: klingon"),
    "bom-and-latin1-cookie": (
        BOM + b"# coding: latin-1\n" + TRIGGER,
        r"bad\.py:1:1: CCL000 bad coding cookie: the file starts with a UTF-8 BOM",
    ),
    "nul-byte": (TRIGGER + b"x = 1\x00\n", r"bad\.py:4:6: CCL000 file contains a NUL byte \(a binary file\?\)"),
    "binary": (bytes(range(256)) + TRIGGER, r"bad\.py:1:1: CCL000 file contains a NUL byte \(a binary file\?\)"),
    # CPython refuses more than 200 nested brackets; LibCST would segfault at ~3000.
    "nested-brackets": (
        TRIGGER + b"x = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n",
        r"bad\.py:4:\d+: CCL000 SyntaxError: too many nested parentheses",
    ),
    # Valid Python, but deeper than LibCST's recursive code can go.
    "long-unary-chain": (TRIGGER + b"x = " + b"-" * 1000 + b"1\n", r"bad\.py:4:\d+: CCL000 nesting too deep to analyse \(depth \d+ > 400\)"),
    # Flat for CPython, 20,000 levels for LibCST: this one used to crash the process (SIGSEGV).
    "long-and-chain": (
        TRIGGER + b"x = " + b" and ".join([b"a"] * 20000) + b"\n",
        r"bad\.py:4:\d+: CCL000 nesting too deep to analyse \(depth 2000\d > 400\)",
    ),
    # Too deep even for CPython's parser (RecursionError or MemoryError, by version).
    "unparsable-depth": (TRIGGER + b"x = " + b"-" * 100000 + b"1\n", r"bad\.py:1:1: CCL000 nesting too deep to parse \(\w+ in CPython's parser\)"),
}


@pytest.mark.parametrize("case", BAD_CONTENT)
def test_bad_content_is_one_ccl000_finding(tmp_path, case):
    content, expected = BAD_CONTENT[case]
    (tmp_path / "bad.py").write_bytes(content)
    assert_reported(lint(tmp_path), expected)


def test_bad_content_without_concurrency_text_is_not_parsed(tmp_path):
    # The documented trade-off of the trigger gate: nothing to lint, nothing reported.
    (tmp_path / "bad.py").write_bytes(b'print "x"\n\x00\xff')
    result = lint(tmp_path)
    assert "bad.py" not in result.stdout
    assert result.stdout.startswith(GOOD_FINDING) and result.returncode == 1


@pytest.mark.parametrize("vocabulary", [b"import threading\n", b"from pkg.locks import A_LOCK\n", b"async def main():\n    pass\n"])
def test_a_syntax_error_in_a_file_about_concurrency_is_reported_though_no_rule_applies(tmp_path, vocabulary):
    # No rule's vocabulary (nothing is made, started, acquired or awaited), but the file is
    # about what conclint checks: "All checks passed!" would say it was read and found fine.
    (tmp_path / "bad.py").write_bytes(vocabulary + b"def g(:\n    pass\n")
    line = vocabulary.count(b"\n") + 1
    assert_reported(lint(tmp_path), rf"bad\.py:{line}:7: CCL000 SyntaxError: invalid syntax")


def test_ignoring_ccl000_silences_bad_input(tmp_path):
    (tmp_path / "bad.py").write_bytes(TRIGGER + b'print "x"\n')
    result = lint(tmp_path, "--ignore", "CCL000")
    assert "bad.py" not in result.stdout and GOOD_FINDING in result.stdout and result.returncode == 1


GOOD_VARIANTS = {
    "empty": b"",
    "bom": BOM + GOOD,
    "crlf": GOOD.replace(b"\n", b"\r\n"),
    "mixed-newlines": GOOD.replace(b"\n", b"\r\n", 2),
    "cr-only": GOOD.replace(b"\n", b"\r"),
    "no-final-newline": GOOD.rstrip(b"\n"),
    "latin1-with-cookie": b"# -*- coding: latin-1 -*-\n" + GOOD + b's = "caf\xe9"\n',
}


@pytest.mark.parametrize("case", GOOD_VARIANTS)
def test_unusual_but_valid_files_lint_normally(tmp_path, case):
    (tmp_path / "other.py").write_bytes(GOOD_VARIANTS[case])
    result = lint(tmp_path)
    line = 5 if case == "latin1-with-cookie" else 4
    expected = [] if case == "empty" else [rf"other\.py:{line}:3: CCL301 .*"]
    assert_reported(result, *expected)
    assert "CCL000" not in result.stdout


def _without_file_permissions() -> list:
    """A command prefix under which chmod 000 denies reading: root must shed its
    capabilities to bypass permissions (setpriv, util-linux), others need nothing."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot deny reading")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_file_and_directory(tmp_path):
    prefix = _without_file_permissions()
    (tmp_path / "secret.py").write_bytes(TRIGGER)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.py").write_bytes(GOOD)
    os.chmod(tmp_path / "secret.py", 0)
    os.chmod(tmp_path / "locked", 0)
    try:
        result = lint(tmp_path, prefix=prefix)
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert_reported(
        result,
        r"secret\.py:1:1: CCL000 cannot read file: Permission denied",
        r"locked:1:1: CCL000 cannot read: cannot list directory: Permission denied",
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_read_error(tmp_path):
    # A regular file whose read fails (EIO): what a failing disk or network share does.
    os.symlink("/proc/self/mem", tmp_path / "eio.py")
    assert_reported(lint(tmp_path), r"eio\.py:1:1: CCL000 cannot read file: Input/output error")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symbolic links")
def test_broken_links_and_link_loops(tmp_path):
    os.symlink("nowhere.py", tmp_path / "broken.py")
    os.symlink("loop_b.py", tmp_path / "loop_a.py")
    os.symlink("loop_a.py", tmp_path / "loop_b.py")
    (tmp_path / "pkg").mkdir()
    os.symlink("..", tmp_path / "pkg" / "up")  # a directory loop: walking it never ends
    (tmp_path / "loops").mkdir()
    os.symlink("../loops", tmp_path / "loops" / "self")
    walked = lint(tmp_path)
    # A directory link back up the tree is passed over quietly (as ruff and git do): what it
    # leads to is walked already. Files that cannot be read are reported.
    assert_reported(
        walked,
        r"broken\.py:1:1: CCL000 cannot read file: broken symbolic link \(to nowhere\.py\)",
        r"loop_a\.py:1:1: CCL000 cannot read file: symbolic link loop",
        r"loop_b\.py:1:1: CCL000 cannot read file: symbolic link loop",
    )
    assert "pkg/up" not in walked.stdout and "loops/self" not in walked.stdout
    named = run_cli("--no-cache", "loop_a.py", "broken.py", "good.py", cwd=tmp_path)
    assert_reported(named, r"loop_a\.py:1:1: CCL000 cannot read file: symbolic link loop", r"broken\.py:1:1: CCL000 .*")


def test_directory_named_like_a_python_file_is_walked(tmp_path):
    (tmp_path / "odd.py").mkdir()
    (tmp_path / "odd.py" / "inner.py").write_bytes(GOOD)
    expected = r"odd\.py/inner\.py:4:3: CCL301 .*"
    assert_reported(lint(tmp_path), expected)
    named = run_cli("--no-cache", "odd.py", "good.py", cwd=tmp_path)
    assert_reported(named, expected)
    assert "CCL000" not in named.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_never_blocks(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    # Walking skips it (no source, and opening it would wait for a writer forever) ...
    walked = lint(tmp_path)
    assert "pipe.py" not in walked.stdout and walked.returncode == 1
    # ... naming it reports it.
    named = run_cli("--no-cache", "pipe.py", "good.py", cwd=tmp_path)
    assert_reported(named, r"pipe\.py:1:1: CCL000 cannot read file: not a regular file")


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux) for a memory bound")
def test_huge_files_are_skipped_within_memory_bounds(tmp_path):
    # 50 MB of generated code that would be parsed: LibCST would need ~40 GB and hours.
    with open(tmp_path / "generated.py", "wb") as handle:
        handle.write(TRIGGER)
        handle.write(b"x = 1\n" * (50 * 1024 * 1024 // 6))
    # Not even read: sparse, so it costs no disk.
    with open(tmp_path / "huge.py", "wb") as handle:
        handle.truncate(65 * 1024 * 1024)
    # The whole run, 50 MB file included, fits in 1 GiB of address space.
    result = lint(tmp_path, prefix=["prlimit", f"--as={1024 ** 3}", "--"])
    assert_reported(
        result,
        r"generated\.py:1:1: CCL000 file too large to analyse \(50\.0 MiB > 2\.0 MiB\); skipped",
        r"huge\.py:1:1: CCL000 cannot read file: file too large \(65 MiB > 64 MiB\); skipped",
    )


@pytest.mark.parametrize("mode", [(), ("--fix",)], ids=["lint", "fix"])
def test_a_dying_worker_costs_only_its_file(tmp_path, mode):
    # testhooks.CRASH makes a pool worker die (os._exit) on this file, as on a
    # segfault in the native parser. Enough files for a pool (runner.PARALLEL_THRESHOLD).
    names = [f"f{i:02}.py" for i in range(24)]
    names[5] = "crash.py"
    for name in names:
        (tmp_path / name).write_bytes(GOOD)
    result = run_cli(
        "--no-cache", "--jobs", "2", *mode, *names, cwd=tmp_path,
        env={"CONCLINT_TEST_CRASH_ON": "crash.py"},
    )
    lines = result.stdout.splitlines()
    assert "crash.py:1:1: CCL000 not analysed: the worker process died on this file (exit code 70)" in lines
    others = [name for name in names if name != "crash.py"]
    if mode:
        assert all(b"t.daemon = True" in (tmp_path / name).read_bytes() for name in others)
        assert (tmp_path / "crash.py").read_bytes() == GOOD
        assert f"Fixed {len(others)} problems." in lines
    else:
        assert all(any(line.startswith(f"{name}:4:3: CCL301") for line in lines) for name in others), result.stdout
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_the_output_does_not_depend_on_the_hash_seed():
    """Every rule on every fixture and fixture project, as JSON, under three hash seeds: what a
    run says (messages, related places, order) must not come from a set's iteration order."""
    from helpers import EVERY_RULE, FIXTURES

    outputs = {
        run_cli(
            "--no-cache", "--exit-zero", "--select", ",".join(EVERY_RULE), "--format", "json", str(FIXTURES),
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "3", "4")  # seeds that order the fixture's two-lock case both ways
    }
    assert len(outputs) == 1
    assert '"code": "CCL210"' in next(iter(outputs))  # the run judged what it should


def test_a_file_that_cannot_be_read_is_reported_whatever_the_selection(tmp_path):
    # As ruff reports syntax errors whatever it selects: only an ignore turns CCL000 off.
    (tmp_path / "broken.py").write_bytes(TRIGGER + b"def f(:\n")
    selected = run_cli("--no-cache", "--select", "CCL210", "--output-format", "concise", "broken.py", cwd=tmp_path)
    assert selected.returncode == 1
    assert selected.stdout.startswith("broken.py:4:7: CCL000 SyntaxError")
    ignored = run_cli("--no-cache", "--select", "CCL210", "--ignore", "CCL000", "broken.py", cwd=tmp_path)
    assert ignored.returncode == 0
