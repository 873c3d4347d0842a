"""Hostile but legal input found by probing: literal values no rule may choke on, coding
cookies, configuration of the wrong shape, deep trees, FIFOs and endless files, form feeds.
Each runs the real CLI on real files; every linted file carries concurrency text (see
test_robustness.py: files without it are not parsed) and ``good.py`` is linted alongside,
its finding proving the run went on.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli
from test_robustness import assert_reported, lint

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


# 11. Coding cookies: linted exactly when CPython compiles the file, else one clear CCL000.
GOOD_BODY = b"import threading\n\nt = threading.Thread()\nt.setDaemon(True)\n"
COOKIES = {
    # Text encodings CPython reads source in.
    "utf-8": None, "latin-1": None, "idna": None, "utf-7": None, "unicode_escape": None,
    "raw_unicode_escape": None, "hz": None, "iso2022_jp": None, "shift_jis": None, "cp65001": None,
    "palmos": None, "charmap": None, "U8": None,
    # Codecs that are not text encodings: CPython's tokenizer refuses them.
    **{name: rf"bad coding cookie: '{name}' is not a text encoding" for name in
       ("rot13", "rot_13", "hex", "hex_codec", "zlib", "base64", "uu", "bz2", "quopri")},
    # Text encodings that cannot decode these bytes (as CPython finds).
    "punycode": r"cannot decode as punycode: UnicodeError: .*",
    "undefined": r"cannot decode as undefined: UnicodeError: .*undefined encoding.*",
    "utf-16-le": r"cannot decode: byte 0x0a is not valid utf-16-le",  # an odd length
    "utf-32": r"cannot decode: byte 0x23 is not valid utf-32",
    "utf-32-le": r"cannot decode: byte 0x23 is not valid utf-32-le",
    # Decodes, to text that is no Python.
    "utf-16": r"SyntaxError: invalid character .*",
    "cp037": r"SyntaxError: invalid non-printable character U\+0083",
    "mbcs": r"bad coding cookie: unknown encoding: mbcs",  # Windows only
}


def _cookie_file(name: str) -> bytes:
    return f"# coding: {name}\n".encode("ascii") + GOOD_BODY


def _cpython_compiles(data: bytes) -> bool:
    try:
        compile(data, "cookie.py", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def test_coding_cookies_as_cpython_reads_them(tmp_path):
    if sys.platform == "win32":
        pytest.skip("mbcs is a codec on Windows")
    for number, name in enumerate(COOKIES):
        # Not named after the codec: the run's cwd is on sys.path, a zlib.py would shadow zlib.
        (tmp_path / f"cookie{number:02}.py").write_bytes(_cookie_file(name))
    result = lint(tmp_path)
    lines = result.stdout.splitlines()
    for number, (name, expected) in enumerate(COOKIES.items()):
        mine = [line for line in lines if line.startswith(f"cookie{number:02}.py:")]
        assert (expected is None) == _cpython_compiles(_cookie_file(name)), name
        if expected is None:
            assert len(mine) == 1 and mine[0].startswith(f"cookie{number:02}.py:5:3: CCL301 "), (name, mine)
        else:
            assert len(mine) == 1 and re.fullmatch(rf"cookie{number:02}\.py:\d+:\d+: CCL000 {expected}", mine[0]), (name, mine)
    assert_reported(result)


def test_fixes_keep_the_bytes_of_files_in_any_encoding(tmp_path):
    # LibCST writes the text encoded again: under unicode_escape every newline would become
    # a backslash and an n, the whole file one comment. Such a file is left unchanged.
    accepted = [name for name, expected in COOKIES.items() if expected is None]
    for number, name in enumerate(accepted):
        (tmp_path / f"cookie{number:02}.py").write_bytes(_cookie_file(name))
    result = run_cli("--no-cache", "--fix", ".", cwd=tmp_path)
    for number, name in enumerate(accepted):
        after = (tmp_path / f"cookie{number:02}.py").read_bytes()
        if name == "unicode_escape":
            assert after == _cookie_file(name)
            assert (
                f"conclint: warning: cookie{number:02}.py: cannot fix: encoding the file back as "
                "unicode_escape would change bytes no fix touches; file left unchanged"
            ) in result.stderr.splitlines()
        else:
            assert after == _cookie_file(name).replace(b"t.setDaemon(True)", b"t.daemon = True"), name
    assert "internal error" not in result.stderr and result.returncode == 1, result.stderr


def test_diff_and_flake8_on_a_codec_without_error_handlers(tmp_path):
    # idna decodes and encodes strictly only: "replace" and "surrogateescape" raise.
    (tmp_path / "cookie.py").write_bytes(_cookie_file("idna"))
    diff = run_cli("--no-cache", "--diff", "cookie.py", cwd=tmp_path)
    assert "-t.setDaemon(True)\n+t.daemon = True\n" in diff.stdout, diff.stderr
    assert diff.returncode == 1 and "internal error" not in diff.stderr, diff.stderr
    pytest.importorskip("flake8")
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "CCL", "cookie.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert flake8.stdout.startswith("cookie.py:5:3: CCL301 "), (flake8.stdout, flake8.stderr)


def _run(*args: str, cwd: Path, stdin=subprocess.DEVNULL, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real CLI, with a timeout: a regression that blocks (on a FIFO, on an endless
    stdin) fails the test instead of hanging it."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "conclint", "--no-cache", *args],
        cwd=cwd, stdin=stdin, capture_output=True, text=True, env=env, timeout=timeout,
    )


def _usage_error(result, message: str) -> None:
    """Exit 2 with exactly ``conclint: error: <message>``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [f"conclint: error: {message}"], result.stderr
    assert result.stdout == ""


# 12b. Configuration of the wrong shape: exit 2, naming the file and the key.
PYPROJECT_SHAPES = {
    "tool-not-a-table": (b'tool = "conclint"\n', "tool: must be a table, not string 'conclint'"),
    "conclint-not-a-table": (b"[tool]\nconclint = 3\n", "tool.conclint: must be a table, not integer 3"),
    "select-a-string": (b'[tool.conclint]\nselect = "CCL"\n', "tool.conclint.select: must be a list of strings, not string 'CCL'"),
    "select-unknown": (b'[tool.conclint]\nselect = ["XYZ1"]\n', "tool.conclint.select: unknown rule selector 'XYZ1'"),
    "per-file-ignores-a-string": (
        b'[tool.conclint]\nper-file-ignores = "tests/*"\n',
        "tool.conclint.per-file-ignores: must be a table of glob patterns to lists of codes, not string 'tests/*'",
    ),
    "per-file-ignores-codes-a-string": (
        b'[tool.conclint.per-file-ignores]\n"tests/*.py" = "CCL301"\n',
        "tool.conclint.per-file-ignores.\"tests/*.py\": must be a list of rule codes, not string 'CCL301'",
    ),
    "per-file-ignores-unknown-code": (
        b"[tool.conclint.per-file-ignores]\nsetup = [\"CCL999\"]\n",
        "tool.conclint.per-file-ignores.setup: unknown rule selector 'CCL999'",
    ),
    "rule-options-not-a-table": (
        b"[tool.conclint]\nunbounded-thread-spawn = 500\n",
        "tool.conclint.unbounded-thread-spawn: must be a table of rule options, not integer 500",
    ),
    "rule-option-wrong-type": (
        b'[tool.conclint.unbounded-thread-spawn]\nmax-threads = "500"\n',
        "tool.conclint.unbounded-thread-spawn.max-threads: must be integer, not string '500'",
    ),
    "rule-option-bool-for-int": (
        b"[tool.conclint.unbounded-thread-spawn]\nmax-threads = true\n",
        "tool.conclint.unbounded-thread-spawn.max-threads: must be integer, not boolean True",
    ),
    "rule-option-negative-count": (
        b"[tool.conclint.unbounded-thread-spawn]\nmax-threads = -5\n",
        "tool.conclint.unbounded-thread-spawn.max-threads: must be a count (0 or more), not -5",
    ),
    "flag-a-string": (b'[tool.conclint]\nrespect-gitignore = "no"\n', "tool.conclint.respect-gitignore: must be true or false, not string 'no'"),
    "not-utf-8": (b'[tool.conclint]\nselect = ["CCL"]  # caf\xe9\n', "invalid TOML: byte 0xe9 at line 2, column 24 is not UTF-8"),
    "nested-too-deep": (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "invalid TOML: arrays or tables nested too deep to read"),
}


@pytest.mark.parametrize("case", PYPROJECT_SHAPES)
def test_pyproject_of_the_wrong_shape(tmp_path, case):
    content, message = PYPROJECT_SHAPES[case]
    (tmp_path / "pyproject.toml").write_bytes(content)
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    _usage_error(_run(".", cwd=tmp_path), f"{tmp_path / 'pyproject.toml'}: {message}")


def test_explicit_config_of_the_wrong_shape(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    (tmp_path / "conclint.toml").write_bytes(b"select = 3\n")
    _usage_error(_run("--config", "conclint.toml", ".", cwd=tmp_path), "conclint.toml: select: must be a list of strings, not integer 3")
    (tmp_path / "conclint.toml").write_bytes(b"[unbounded-thread-spawn]\nmax-threads = [1]\n")
    _usage_error(
        _run("--config", "conclint.toml", ".", cwd=tmp_path),
        "conclint.toml: unbounded-thread-spawn.max-threads: must be integer, not array [1]",
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_bytes(b"tool = 3\n")
    _usage_error(_run("--config", "sub/pyproject.toml", ".", cwd=tmp_path), "sub/pyproject.toml: tool: must be a table, not integer 3")
    (tmp_path / "conclint.toml").write_bytes(b"x = 1\n" * 200_000)
    _usage_error(_run("--config", "conclint.toml", ".", cwd=tmp_path), "conclint.toml: cannot read: file too large (over 1 MiB)")


# 12b. A tree deeper than Python's recursion limit, and deeper than PATH_MAX.
def _make_chain(top: Path, depth: int, files: dict) -> None:
    """top/d/d/.../d, ``depth`` levels, ``files`` {level: bytes} as ``deep<level>.py``; by
    directory descriptors, as the paths outgrow PATH_MAX."""
    fd = os.open(top, os.O_RDONLY)
    try:
        for level in range(1, depth + 1):
            os.mkdir("d", dir_fd=fd)
            below = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = below
            if level in files:
                out = os.open(f"deep{level}.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(out, files[level])
                os.close(out)
    finally:
        os.close(fd)


def _remove_chain(top: Path) -> None:
    """Undo ``_make_chain`` from the top, in short paths (shutil.rmtree recurses)."""
    while (top / "d").exists():
        for entry in os.scandir(top / "d"):
            if entry.name != "d":
                os.unlink(entry.path)
        if (top / "d" / "d").exists():
            os.rename(top / "d" / "d", top / "next")
        os.rmdir(top / "d")
        if (top / "next").exists():
            os.rename(top / "next", top / "d")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and descriptors")
def test_a_very_deep_tree_is_walked(tmp_path):
    # 1,000 levels: deeper than Python's recursion limit (discovery used to recurse and
    # abort the run). Past 2,048 levels the path outgrows PATH_MAX: reported, not fatal.
    _make_chain(tmp_path, 2100, {1000: GOOD_BODY, 2100: GOOD_BODY})
    try:
        result = lint(tmp_path)
        lines = result.stdout.splitlines()
        shown = [re.sub(r"(d/){3,}", lambda m: f"<d/ x{len(m.group()) // 2}>", line) for line in lines]
        assert any(line.startswith(f"{'d/' * 1000}deep1000.py:4:3: CCL301 ") for line in lines), shown
        assert any(
            re.fullmatch(r"(d/)+d:1:1: CCL000 cannot read: cannot list directory: File name too long", line) for line in lines
        ), shown
        assert_reported(result)
    finally:
        _remove_chain(tmp_path)


# 15b. FIFOs and endless files where conclint reads a named file: refused, never waited on.
fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")


@fifos
@pytest.mark.parametrize("option", ["--config", "--baseline"])
def test_fifo_or_device_as_config_or_baseline(tmp_path, option):
    # click's Path(exists=True, dir_okay=False) lets a FIFO through; opening it for
    # reading waited for a writer forever, and /dev/zero was read without end.
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    os.mkfifo(tmp_path / "pipe.toml")
    what = "cannot read" if option == "--config" else "cannot read baseline"
    _usage_error(_run(option, "pipe.toml", ".", cwd=tmp_path), f"pipe.toml: {what}: not a regular file")
    if os.path.exists("/dev/zero"):
        _usage_error(_run(option, "/dev/zero", ".", cwd=tmp_path), f"/dev/zero: {what}: not a regular file")


@fifos
def test_fifo_as_write_baseline_is_not_replaced(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    os.mkfifo(tmp_path / "pipe.json")
    _usage_error(_run("--write-baseline", "pipe.json", ".", cwd=tmp_path), "pipe.json: cannot write baseline: not a regular file")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.json").st_mode)


def test_baseline_size_and_shape_limits(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    with open(tmp_path / "huge.json", "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)  # sparse: no disk
    _usage_error(_run("--baseline", "huge.json", ".", cwd=tmp_path), "huge.json: cannot read baseline: file too large (over 64 MiB)")
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    _usage_error(_run("--baseline", "deep.json", ".", cwd=tmp_path), "deep.json: not a conclint baseline (JSON nested too deep)")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_stdin_is_cut_off(tmp_path):
    with open("/dev/zero", "rb") as zero:
        _usage_error(_run("-", cwd=tmp_path, stdin=zero), "stdin: input too large (over 64 MiB)")
    # The limit is on stdin only: what fits is linted as before.
    (tmp_path / "good.py").write_bytes(GOOD_BODY)
    with open(tmp_path / "good.py", "rb") as source:
        result = _run("-", "--stdin-filename", "good.py", cwd=tmp_path, stdin=source)
    assert result.stdout.startswith("good.py:4:3: CCL301 ") and result.returncode == 1, result.stderr


@fifos
def test_fifo_gitignore_is_a_problem_not_a_hang(tmp_path):
    # Chosen: a .gitignore that is no regular file is reported (CCL000 on it) and its
    # patterns are not applied; the walk goes on. Silently skipping it would lint files
    # the user meant to ignore with no word why.
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.py").write_bytes(GOOD_BODY)
    os.mkfifo(tmp_path / "sub" / ".gitignore")
    assert_reported(
        lint(tmp_path),
        r"sub/\.gitignore:1:1: CCL000 cannot read: not a regular file; its patterns are not applied",
        r"sub/inner\.py:4:3: CCL301 .*",
    )
    # A FIFO .gitignore above the linted directory, read on the way up to the repository top.
    os.mkfifo(tmp_path / ".gitignore")
    result = _run("sub", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert f"{tmp_path}/.gitignore:1:1: CCL000 cannot read: not a regular file; its patterns are not applied" in lines
    assert any(line.startswith("sub/inner.py:4:3: CCL301 ") for line in lines) and result.returncode == 1, result.stdout


# 17. Form feeds in indentation. CPython counts the indentation from after the last form
# feed; LibCST 1.9 fails on some such lines ("Syntax Error @ 1:1": a false CCL000) and drops
# the form feed from the code it regenerates on the others (a fix then rewrote every such
# line, and columns were one off). Such files are linted as a copy without what CPython
# ignores of those indentations, columns moved back; fixes are withheld, with a warning.
FORM_FEEDS = {
    "before-nested-indentation": b"import threading\nclass A:\n\f    def f(self):\n        t = threading.Thread()\n\f        t.setDaemon(True)\n",
    "between-indentation": b"import threading\nclass A:\n    def f(self):\n        t = threading.Thread()\n    \f    t.setDaemon(True)\n",
    "after-indentation": b"import threading\nif True:\n    t = threading.Thread()\n    \ft.setDaemon(True)\n",
    "top-level": b"import threading\nt = threading.Thread()\n\ft.setDaemon(True)\n",
    "tab-and-form-feeds": b"import threading\ndef f():\n\tt = threading.Thread()\n\t\f\f\tt.setDaemon(True)\n",
    "crlf": b"import threading\r\ndef f():\r\n    t = threading.Thread()\r\n\f    t.setDaemon(True)\r\n",
}


@pytest.mark.parametrize("case", FORM_FEEDS)
def test_form_feed_in_indentation(tmp_path, case):
    content = FORM_FEEDS[case]
    compile(content, "ff.py", "exec")  # CPython reads every one of them
    (tmp_path / "ff.py").write_bytes(content)
    line_number, line = next((n, text) for n, text in enumerate(re.split(rb"\r\n|\n", content), 1) if b"setDaemon" in text)
    column = line.index(b"setDaemon") + 1
    # The finding is where the file has it, and offers no fix.
    assert_reported(lint(tmp_path), rf"ff\.py:{line_number}:{column}: CCL301 `setDaemon\(\)` .*")
    # (Unsafe fixes too: where the form feed dedents the call, `t` is of unknown type there.)
    fixed = run_cli("--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "ff.py").read_bytes() == content
    assert (tmp_path / "good.py").read_bytes() == GOOD_BODY.replace(b"t.setDaemon(True)", b"t.daemon = True")
    first = content.count(b"\n", 0, content.index(b"\f")) + 1
    assert fixed.stderr.splitlines() == [
        f"conclint: warning: ff.py: fixes not applied: line {first} has a form feed in its indentation, which LibCST "
        "drops or cannot parse (linted without it); file left unchanged"
    ]
    assert fixed.returncode == 1 and "internal error" not in fixed.stderr


def test_form_feeds_libcst_keeps_are_left_alone(tmp_path):
    # A form feed alone on a line (a page break, as in the standard library), or before a
    # comment, is kept by LibCST: linted and fixed as usual.
    content = b"import threading\n\f\ndef f():\n    t = threading.Thread()\n\f\n\f    # page two\n    t.setDaemon(True)\n"
    (tmp_path / "ff.py").write_bytes(content)
    assert_reported(lint(tmp_path), r"ff\.py:7:7: CCL301 \[\*\] .*")
    fixed = run_cli("--no-cache", "--fix", "ff.py", cwd=tmp_path)
    assert (tmp_path / "ff.py").read_bytes() == content.replace(b"t.setDaemon(True)", b"t.daemon = True")
    assert fixed.returncode == 0 and fixed.stderr == "", fixed.stderr


# Classic Mac OS line endings: a lone CR ends a line for CPython; LibCST dropped the last one
# on writing back, and the tokenizer (noqa comments) did not break lines there, so a fix
# lost the final CR, and a noqa's fix deleted a statement.
CR_FILE = b"import threading\rx = threading.currentThread()  # noqa: CCL201\ry = threading.currentThread()  # noqa: CCL301\r"


def test_a_file_of_lone_carriage_returns_is_linted_and_fixed_as_cpython_reads_it(tmp_path):
    target = tmp_path / "mac.py"
    target.write_bytes(CR_FILE)
    import json

    found = [(f["code"], f["line"]) for f in json.loads(run_cli("--no-cache", "--format", "json", "mac.py", cwd=tmp_path).stdout)]
    # Line 2's noqa names another rule (CCL900 says so); line 3's silences its finding.
    assert sorted(found) == [("CCL301", 2), ("CCL900", 2)]
    fixed = run_cli("--no-cache", "--fix", "mac.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert target.read_bytes() == (
        b"import threading\rx = threading.current_thread()\ry = threading.currentThread()  # noqa: CCL301\r"
    )
    piped = run_cli("--fix", "--stdin-filename", "mac.py", stdin=CR_FILE, cwd=tmp_path)  # bytes in, bytes out
    assert piped.stdout == target.read_bytes()


def test_a_file_mixing_lone_carriage_returns_with_newlines_is_linted_not_fixed(tmp_path):
    target = tmp_path / "mixed.py"
    source = b"import threading\nx = threading.currentThread()\ry = 1\n"
    target.write_bytes(source)
    result = run_cli("--no-cache", "--fix", "mixed.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "mixed.py:2:15: CCL301" in result.stdout
    assert "fixes not applied: line 2 ends with a lone carriage return (CR)" in result.stderr
    assert target.read_bytes() == source
