"""What --fix promises: it writes only what changes, byte for byte, atomically, and only
code that parses; a second run changes nothing. Checked on real files through the real
CLI, ending with the concurrency-related files of the standard library."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import sys
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest

from helpers import run_cli
from conclint.engine import rule_set
from conclint.settings import Settings, resolve_selection
from conclint.writes import WriteRefused, write_fixed

BOM = b"\xef\xbb\xbf"
BEFORE = b"import threading\nt = threading.Thread()\nt.setDaemon(True)\ns = 'caf\xc3\xa9'  # kept\n"


def expected_fix(data: bytes) -> bytes:
    """What CCL301's fix makes of ``BEFORE`` in any of its encodings: one line changes."""
    return data.replace(b"t.setDaemon(True)", b"t.daemon = True")


VARIANTS = {
    "lf": BEFORE,
    "bom": BOM + BEFORE,
    "crlf": BEFORE.replace(b"\n", b"\r\n"),
    "mixed-newlines": BEFORE.replace(b"\n", b"\r\n", 2),
    "no-final-newline": BEFORE.rstrip(b"\n"),
    "latin1-cookie": b"# -*- coding: latin-1 -*-\n" + BEFORE.replace(b"\xc3\xa9", b"\xe9"),
    "bom-crlf": BOM + BEFORE.replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("case", VARIANTS)
def test_fix_keeps_every_untouched_byte_and_the_file_mode(tmp_path, case):
    target = tmp_path / "mod.py"
    target.write_bytes(VARIANTS[case])
    os.chmod(target, 0o751)
    before = os.stat(target)
    result = run_cli("--no-cache", "--fix", "mod.py", cwd=tmp_path)
    assert result.returncode == 0 and "Fixed 1 problem." in result.stdout, result.stdout + result.stderr
    assert target.read_bytes() == expected_fix(VARIANTS[case])
    after = os.stat(target)
    assert stat.S_IMODE(after.st_mode) == 0o751
    # Written to a temporary file and renamed over the original, which leaves nothing behind.
    assert after.st_ino != before.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def test_files_without_fixes_are_not_rewritten(tmp_path):
    (tmp_path / "clean.py").write_bytes(b"import threading\nthreading.Thread(daemon=True).start()\n")
    (tmp_path / "unfixable.py").write_bytes(b"import threading\nimport _thread\n_thread.start_new_thread(print, ())\n")
    (tmp_path / "fixable.py").write_bytes(BEFORE)
    before = {p.name: os.stat(p) for p in tmp_path.iterdir()}
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "Fixed 1 problem." in result.stdout
    for name in ("clean.py", "unfixable.py"):
        after = os.stat(tmp_path / name)
        assert (after.st_ino, after.st_mtime_ns) == (before[name].st_ino, before[name].st_mtime_ns)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symbolic links")
def test_symbolic_links_are_written_through_only_inside_the_project(tmp_path):
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "pyproject.toml").write_text("[tool.conclint]\n")
    (project / "real.py").write_bytes(BEFORE)
    (outside / "foreign.py").write_bytes(BEFORE)
    os.symlink("real.py", project / "inside_link.py")
    os.symlink(outside / "foreign.py", project / "outside_link.py")
    result = run_cli("--no-cache", "--fix", "inside_link.py", "outside_link.py", cwd=project)
    assert (project / "real.py").read_bytes() == expected_fix(BEFORE)
    assert (project / "inside_link.py").is_symlink()
    assert (outside / "foreign.py").read_bytes() == BEFORE
    assert re.search(r"error: outside_link\.py: not fixed: it is a symbolic link to .*foreign\.py, outside", result.stderr)
    # The unwritten fix is not reported as clean: its finding remains, and the exit code says so.
    assert "outside_link.py:3:3: CCL301" in result.stdout and result.returncode == 1


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path):
    target = tmp_path / "mod.py"
    target.write_bytes(b"edited by someone else\n")
    with pytest.raises(WriteRefused, match="changed while conclint was fixing it"):
        write_fixed(str(target), expected_fix(BEFORE), expected=BEFORE)
    assert target.read_bytes() == b"edited by someone else\n"
    # Content that is already there is not written again.
    assert write_fixed(str(target), b"edited by someone else\n", expected=BEFORE) is False


@pytest.mark.parametrize("case", ["bom-crlf", "latin1-cookie"])
def test_stdin_fix_and_diff_obey_the_same_guarantees(tmp_path, case):
    original = VARIANTS[case]
    fixed = run_cli("-", "--fix", stdin=original)
    assert fixed.stdout == expected_fix(original) and fixed.returncode == 0
    again = run_cli("-", "--fix", stdin=fixed.stdout)
    assert again.stdout == fixed.stdout
    diff = run_cli("-", "--diff", stdin=original)
    assert diff.returncode == 1 and b"+t.daemon = True" in diff.stdout
    settled = run_cli("-", "--diff", stdin=fixed.stdout)
    assert settled.returncode == 0 and settled.stdout == b""


def test_diff_writes_nothing(tmp_path):
    (tmp_path / "mod.py").write_bytes(BEFORE)
    diff = run_cli("--no-cache", "--diff", "mod.py", cwd=tmp_path)
    assert diff.returncode == 1 and "+t.daemon = True" in diff.stdout
    assert (tmp_path / "mod.py").read_bytes() == BEFORE


# ---------------------------------------------------------------------- the standard library
STDLIB = Path(os.__file__).parent
# The concurrency packages and the tests that exercise them; other modules only when they
# import one of them (the rules' own byte triggers then decide what is parsed).
STDLIB_GLOBS = ("asyncio/*.py", "concurrent/futures/*.py", "multiprocessing/*.py", "*.py", "test/*.py", "test/test_asyncio/*.py")
_USES_CONCURRENCY = re.compile(rb"^\s*(?:import|from)\s+(?:threading|_thread|multiprocessing|asyncio|concurrent)\b", re.M)
# Bytes of source to fix: keeps the test near 20 s on two busy cores. CONCLINT_STDLIB_BYTES=0
# lifts the cap (every matching file, for a full run).
BUDGET = int(os.environ.get("CONCLINT_STDLIB_BYTES", 250_000)) or sys.maxsize


def stdlib_concurrency_files() -> List[Path]:
    """Standard-library files using concurrency APIs that some rule would parse,
    smallest first up to ``BUDGET`` bytes (whatever rules exist today)."""
    enabled = resolve_selection(["ALL"], [], [])
    trigger = rule_set(Settings(enabled), enabled).trigger
    found: Dict[Path, int] = {}
    for pattern in STDLIB_GLOBS:
        for path in STDLIB.glob(pattern):
            data = path.read_bytes()
            if _USES_CONCURRENCY.search(data) and trigger.matching(data):
                found[path] = len(data)
    chosen, total = [], 0
    for path, size in sorted(found.items(), key=lambda item: (item[1], str(item[0]))):
        if total + size > BUDGET:
            break
        chosen.append(path)
        total += size
    return chosen


def functions(data: bytes) -> List[Tuple[str, int, int, bytes]]:
    """(qualified name, first line, last line, source) of module-level functions and of
    methods, in source order: the units a fix must leave alone when it has no business
    in them (nested functions belong to their enclosing function)."""
    lines = data.splitlines(keepends=True)
    out = []

    def collect(body: List[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                end = node.end_lineno or node.lineno
                out.append((prefix + node.name, start, end, b"".join(lines[start - 1: end])))
            elif isinstance(node, ast.ClassDef):
                collect(node.body, f"{prefix}{node.name}.")

    collect(ast.parse(data).body, "")
    return out


def is_subsequence(items: List[Any], sequence: List[Any]) -> bool:
    remaining = iter(sequence)
    return all(item in remaining for item in items)


def test_stdlib_fix_run(tmp_path):
    sources = stdlib_concurrency_files()
    if not sources:
        pytest.skip("no standard-library sources (a stripped Python)")
    copies = {}
    for source in sources:
        copy = tmp_path / source.relative_to(STDLIB)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
        copies[str(copy.relative_to(tmp_path))] = copy.read_bytes()
    common = ("--no-cache", "--select", "ALL", "--unsafe-fixes", "--jobs", "2", "--exit-zero")

    report = run_cli(*common, "--format", "json", ".", cwd=tmp_path)
    findings = json.loads(report.stdout)
    assert report.returncode == 0, report.stderr
    fixable: Dict[str, Set[int]] = {}
    for finding in findings:
        if finding["fix"]:
            fixable.setdefault(finding["path"], set()).update(range(finding["line"], finding["end_line"] + 1))
    with_findings = {f["path"] for f in findings}

    first = run_cli(*common, "--fix", ".", cwd=tmp_path)
    assert first.returncode == 0 and "warning" not in first.stderr, first.stderr
    after = {name: (tmp_path / name).read_bytes() for name in copies}
    changed = [name for name in copies if after[name] != copies[name]]
    assert set(changed) <= set(fixable), "a file without fixable findings was changed"
    for name in changed:
        compile(after[name], name, "exec")
        # Functions without a fixable finding keep their text and their order. (Fixes
        # can take several passes, later ones fixing what earlier ones uncovered, so
        # the unit is the function, not the first pass's edits.)
        untouched = [
            (function, text) for function, start, end, text in functions(copies[name])
            if not fixable[name] & set(range(start, end + 1))
        ]
        kept = [(function, text) for function, _, _, text in functions(after[name])]
        assert is_subsequence(untouched, kept), name
    for name in set(copies) - with_findings:
        assert after[name] == copies[name]

    second = run_cli(*common, "--fix", ".", cwd=tmp_path)
    unsettled = [name for name in copies if (tmp_path / name).read_bytes() != after[name]]
    assert not unsettled and second.returncode == 0, (unsettled, second.stderr, second.stdout[-500:])
    assert "Fixed" not in second.stdout
    print(f"stdlib fix run: {len(copies)} files, {len(findings)} findings, {len(changed)} changed, all compile, second pass no-op")


def test_a_fix_never_changes_how_python_reads_the_file(tmp_path):
    # Removing a first-line comment (CCL900's safe fix) would bring the coding comment of
    # line 3 into the two lines Python reads it from: every non-ASCII string would change.
    source = b'# noqa: CCL301\n# Copyright 2020 Example Corp.\n# -*- coding: latin-1 -*-\nGREETING = "h\xc3\xa9llo"\n'
    (tmp_path / "h.py").write_bytes(source)
    result = run_cli("--no-cache", "--fix", "--output-format", "concise", "h.py", cwd=tmp_path)
    assert (tmp_path / "h.py").read_bytes() == source
    assert "would make Python read the file as iso-8859-1" in result.stderr and result.returncode == 1
    # The finding stands, no longer offered as fixable by the run that could not fix it.
    assert "CCL900 [*]" not in result.stdout and "fixable" not in result.stdout


def test_an_offered_fix_never_changes_how_python_reads_the_file_either(tmp_path):
    # CCL402's fix drops `import time` from line 1, which brings line 2's coding comment into
    # effect: the edits offered as they are (JSON, SARIF, the server) leave that fix out.
    source = b'import time\n# -*- coding: latin-1 -*-\nimport asyncio\n\n\nasync def f():\n    time.sleep(1)\n    return "\xc3\xa9"\n'
    (tmp_path / "c.py").write_bytes(source)
    report = run_cli("--isolated", "--no-cache", "--output-format", "json", "c.py", cwd=tmp_path)
    (finding,) = json.loads(report.stdout)
    assert finding["code"] == "CCL402" and finding["fix"] is None


def test_a_fix_whose_result_would_not_compile_is_not_written(tmp_path):
    # CPython's parser accepts a name used before its `global` statement; only compiling
    # rejects it. Such a result is never written.
    from conclint.fixer import _reparse_problem

    before = b"X = 1\n\n\ndef f():\n    global X\n    print(X)\n"
    after = b"X = 1\n\n\ndef f():\n    print(X)\n    global X\n"
    problem = _reparse_problem(before, after)
    assert problem is not None and "used prior to global declaration" in problem
    assert _reparse_problem(before, before) is None
    assert _reparse_problem(after, after) is None  # the original does not compile either: no judge


def test_safe_fixes_leave_what_may_behave_otherwise_to_unsafe_fixes(tmp_path):
    # `join()` raises on a thread never started (the loop just ends); `(pair())` may already
    # be the argument tuple. Both are fixed only with --unsafe-fixes.
    source = (
        "import threading\n\n\ndef work(a=0, b=0):\n    pass\n\n\ndef pair():\n    return (1, 2)\n\n\n"
        "def maybe(background):\n    t = threading.Thread(target=work)\n    if background:\n        t.start()\n"
        "    while t.is_alive():\n        pass\n\n\n"
        "def surely():\n    t = threading.Thread(target=work)\n    t.start()\n    while t.is_alive():\n        pass\n\n\n"
        "threading.Thread(target=work, args=(pair())).start()\n"
        "threading.Thread(target=work, args=(\"ab\")).start()\n"
    )
    (tmp_path / "m.py").write_text(source)
    (tmp_path / "m.py").write_text(source + (
        "\n\ndef rebound():\n    t = threading.Thread(target=work)\n    t.start()\n    t = threading.Thread(target=work)\n"
        "    while t.is_alive():\n        pass\n"
    ))
    run_cli("--no-cache", "--fix", "m.py", cwd=tmp_path)
    safe = (tmp_path / "m.py").read_text()
    assert "    t.start()\n    t.join()\n" in safe and safe.count("    while t.is_alive():\n") == 2
    assert 'args=("ab",)' in safe and "args=(pair())" in safe
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "m.py", cwd=tmp_path)
    unsafe = (tmp_path / "m.py").read_text()
    assert "is_alive" not in unsafe and "args=(pair(),)" in unsafe


def test_code_too_deeply_nested_to_rewrite_is_left_as_it_is_with_a_reason(tmp_path):
    source = "import threading\nx = " + "[" * 150 + "]" * 150 + "\nthreading.currentThread()\n"
    (tmp_path / "deep.py").write_text(source)
    result = run_cli("--no-cache", "--fix", "--output-format", "concise", "deep.py", cwd=tmp_path)
    assert (tmp_path / "deep.py").read_text() == source
    assert "nested too deeply for fixes to be applied" in result.stderr and "internal error" not in result.stderr
    assert result.returncode == 1 and "CCL301" in result.stdout


def test_many_fixes_nested_in_others_are_all_applied(tmp_path):
    # `currentThread().getName()`: two fixes, one inside the other, take two passes; twenty
    # of them took more than the old limit of ten passes, and the file was left unchanged.
    # Fixes inside others go first, the ones around them in the next pass: a pass per level
    # of nesting, so 150 of them (more than the passes allowed) take two passes, not 300.
    body = "".join(f"\n\ndef name{i}():\n    return threading.currentThread().getName()\n" for i in range(150))
    path = tmp_path / "m.py"
    path.write_text("import threading\n" + body)
    result = run_cli("--isolated", "--no-cache", "--fix", str(path))
    assert result.returncode == 0, result.stderr
    assert "current_thread().name" in path.read_text() and "getName" not in path.read_text()
    assert "Fixed 300 problems" in result.stdout


def test_a_fix_that_would_break_the_code_is_left_out_and_the_others_applied(tmp_path):
    # CCL309's call of super() goes above a `global super` (which compiling rejects): that
    # fix is left out, with the reason, and CCL301's in the same file is applied all the same.
    source = (
        "import threading\n\n\nclass W(threading.Thread):\n    def __init__(self):\n        global super\n"
        "        self.x = 1\n\n\nprint(threading.currentThread())\n"
    )
    path = tmp_path / "m.py"
    path.write_text(source)
    # The edits offered to editors and bots (JSON, SARIF, the server's quick fixes), which
    # apply them unchecked, leave it out as well.
    report = run_cli("--isolated", "--no-cache", "--output-format", "json", "m.py", cwd=tmp_path)
    offered = {f["code"]: f["fix"] for f in json.loads(report.stdout)}
    assert offered["CCL309"] is None and offered["CCL301"]["edits"], offered
    result = run_cli("--isolated", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", "m.py", cwd=tmp_path)
    assert path.read_text() == source.replace("currentThread()", "current_thread()")
    assert "fixes left out: CCL309 at line 5, the code would break: it would not compile" in result.stderr
    assert "m.py:5:9: CCL309 " in result.stdout and "CCL309 [*]" not in result.stdout and result.returncode == 1
    compile(path.read_text(), "m.py", "exec")
    # The same again changes nothing and says the same.
    again = run_cli("--isolated", "--no-cache", "--fix", "--unsafe-fixes", "m.py", cwd=tmp_path)
    assert path.read_text() == source.replace("currentThread()", "current_thread()") and "CCL309 at line 5" in again.stderr


def test_the_daemon_flag_moves_safely_only_from_right_after_the_start(tmp_path):
    # Across other statements (any may raise, leaving the thread started without its flag,
    # which decides whether the program waits for it), the move is an unsafe fix.
    source = (
        "import threading\n\n\ndef work():\n    pass\n\n\n"
        "def adjacent():\n    t = threading.Thread(target=work)\n    t.start()\n    t.daemon = True\n\n\n"
        "def apart():\n    t = threading.Thread(target=work)\n    t.start()\n    print('started')\n    t.daemon = True\n"
    )
    path = tmp_path / "m.py"
    path.write_text(source)
    run_cli("--isolated", "--no-cache", "--fix", "m.py", cwd=tmp_path)
    safe = path.read_text()
    assert "    t.daemon = True\n    t.start()\n\n\ndef apart" in safe and "print('started')\n    t.daemon = True\n" in safe
    run_cli("--isolated", "--no-cache", "--fix", "--unsafe-fixes", "m.py", cwd=tmp_path)
    assert "    t.daemon = True\n    t.start()\n    print('started')\n" in path.read_text()


def test_fixes_still_applying_after_the_last_pass_keep_what_the_passes_wrote(monkeypatch):
    # Each pass's result was checked: at the limit, they are kept and the rest left for
    # another run (before, all of it was thrown away). Ten fixes nested in each other take
    # ten passes; with the limit lowered to three, three are applied (the innermost first;
    # the very first `isDaemon()` is an Event's, no finding).
    from conclint import fixer
    from conclint.settings import Settings

    monkeypatch.setattr(fixer, "MAX_PASSES", 3)
    source = b"import threading\ne = threading.Event()\nx = e" + b".isDaemon()" * 10 + b"\n"
    outcome = fixer.fix_source(source, "m.py", Settings.default(), unsafe=True)
    assert outcome.changed and outcome.applied == 3
    assert outcome.fixed == b"import threading\ne = threading.Event()\nx = e.isDaemon()" + b".daemon" * 3 + b".isDaemon()" * 6 + b"\n"
    assert outcome.rejected == ["fixes still apply after 3 passes: the rest are left for another run"]
    compile(outcome.fixed, "m.py", "exec")
