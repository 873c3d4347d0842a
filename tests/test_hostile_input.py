"""Hostile but legal input found by probing: literal values no rule may choke on, coding
cookies, configuration of the wrong shape, deep trees, FIFOs and endless files, form feeds.
Each runs the real CLI on real files; every linted file carries concurrency text (see
test_robustness.py: files without it are not parsed) and ``good.py`` is linted alongside,
its finding proving the run went on.
"""

from __future__ import annotations

import re

import pytest

from helpers import run_cli
from test_robustness import GOOD_FINDING, assert_reported, lint

SPAWN = "import threading\n{loop}\n    threading.Thread(target=print).start()\n"


def _spawn(loop: str) -> bytes:
    return SPAWN.format(loop=loop).encode()


# 10. CCL307 counts range() literals: the arithmetic must be total.
RANGE_LOOPS = {
    # range() raises at run time: the loop never runs, nothing to report.
    "zero-step": ("for i in range(0, 10, 0):", None),
    "negative-step": ("for i in range(1000, 0, -1):", "a loop of 1000 iterations"),
    "empty": ("for i in range(10, 0):", None),
    # Too many for a C ssize_t: len(range(...)) raises OverflowError.
    "huge-hex": (f"for i in range(0x{'f' * 5000}):", r"a loop of more than 10\*\*15 iterations"),
    "huge-hex-bounds": (f"for i in range(0x{'f' * 5000}, 0x{'f' * 5001}, 3):", r"a loop of more than 10\*\*15 iterations"),
    "huge-step": (f"for i in range(0, 1000, 0x{'f' * 5000}):", None),
    # More digits than int() converts (CPython 3.11 refuses the file, LibCST reads it).
    "huge-decimal": (f"for i in range({'9' * 5000}):", r"a loop of more than 10\*\*15 iterations"),
    "huge-decimal-start": (f"for i in range({'9' * 5000}, 10):", None),
    # An expression, not a literal: not counted (and never computed).
    "huge-power": ("for i in range(10**100000):", None),
    "nested-huge": (f"for j in range(0x{'f' * 5000}):\n  for i in range(0x{'f' * 5000}):", r"a loop of more than 10\*\*15 iterations"),
}


@pytest.mark.parametrize("case", RANGE_LOOPS)
def test_range_literals_never_crash_ccl307(tmp_path, case):
    loop, message = RANGE_LOOPS[case]
    source = _spawn(loop)
    (tmp_path / "spawn.py").write_bytes(source)
    result = lint(tmp_path, "--select", "CCL307,CCL301")
    if message is None:
        assert_reported(result)
        assert "spawn.py" not in result.stdout
    else:
        line = source.count(b"\n")
        assert_reported(result, rf"spawn\.py:{line}:\d+: CCL307 a new thread per iteration of {message}: .*")


# Strings LibCST reads and CPython refuses: a rule asking for their value must not crash
# (it used to, with SyntaxError or CSTValidationError, as an internal error).
PROCESS = b"p = multiprocessing.Process(target=print)\np.start()\n"
BAD_STRINGS = {
    # LibCST reads it, so it is linted; the start method is simply not known.
    "unknown-unicode-name": (
        b'import multiprocessing\nmultiprocessing.set_start_method("\\N{no such name}")\n' + PROCESS,
        r"bad\.py:3:5: CCL101 .*",
    ),
    # LibCST's parser builds the node, its validation refuses it: CPython's message.
    "str-and-bytes": (
        b'import multiprocessing\nmultiprocessing.set_start_method("fo" b"rk")\n' + PROCESS,
        r"bad\.py:2:44: CCL000 SyntaxError: cannot mix bytes and nonbytes literals",
    ),
    "str-and-bytes-main-guard": (
        b'import threading\nif __name__ == "__ma" b"in__":\n    threading.Thread(target=print).start()\n',
        r"bad\.py:2:30: CCL000 SyntaxError: cannot mix bytes and nonbytes literals",
    ),
}


@pytest.mark.parametrize("case", BAD_STRINGS)
def test_string_values_cpython_refuses(tmp_path, case):
    content, expected = BAD_STRINGS[case]
    (tmp_path / "bad.py").write_bytes(content)
    assert_reported(lint(tmp_path), expected)


def test_misspelled_main_guard_with_bad_escape_is_linted(tmp_path):
    (tmp_path / "bad.py").write_bytes(b'import threading\nif __name__ == "__ma\\N{x}":\n    threading.Thread(target=print).start()\n')
    result = lint(tmp_path)
    assert_reported(result)
    assert "bad.py" not in result.stdout
