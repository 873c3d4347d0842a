"""Fixes never drop a comment silently: the fix machinery (``Rule.report``) makes any fix
that loses one unsafe and says so, for every rule; CCL201 never makes a timed or
non-blocking acquire blocking. Real CLI, real files; the comment count comes from
CPython's tokenizer, independently of LibCST."""

from __future__ import annotations

import io
import json
import tokenize
from collections import Counter

import pytest

from helpers import FIXTURES, fixture_files, run_cli


def comments(source: bytes) -> Counter:
    tokens = tokenize.tokenize(io.BytesIO(source).readline)
    return Counter(t.string.rstrip() for t in tokens if t.type == tokenize.COMMENT)


# Each pitfall is written with a comment inside the code its fix rewrites.
COMMENTED = {
    "CCL304": "import threading\nw = threading.Thread(target=print, args=(\n    'hello'  # greeting\n))\nw.start()\nw.join()\n",
    "CCL308": "import threading\nw = threading.Thread(\n    print  # the target\n)\nw.start()\nw.join()\n",
    "CCL301": "import threading\nt = threading.Thread()\nt.setDaemon(  # daemonic\n    True)\n",
    "CCL201": (
        "import threading\nlock = threading.Lock()\n\n\ndef f(items):\n    lock.acquire()\n"
        "    items.append(1)\n    lock.release()  # done with it\n"
    ),
}


@pytest.mark.parametrize("code", COMMENTED)
def test_a_fix_that_drops_a_comment_is_unsafe_and_says_so(tmp_path, code):
    source = COMMENTED[code].encode()
    target = tmp_path / "mod.py"
    target.write_bytes(source)
    report = run_cli("--no-cache", "--format", "json", "--select", code, "mod.py", cwd=tmp_path)
    [finding] = json.loads(report.stdout)
    assert finding["fix"]["applicability"] == "unsafe"
    assert "(removes 1 comment)" in finding["fix"]["message"]
    safe = run_cli("--no-cache", "--fix", "--select", code, "mod.py", cwd=tmp_path)
    assert target.read_bytes() == source and safe.returncode == 1
    assert "1 more fix available with --unsafe-fixes" in safe.stdout
    unsafe = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", code, "mod.py", cwd=tmp_path)
    assert unsafe.returncode == 0, unsafe.stdout + unsafe.stderr
    assert sum((comments(source) - comments(target.read_bytes())).values()) == 1


def test_safe_fixes_keep_every_comment_of_the_fixtures(tmp_path):
    """Over every fixture: what --fix (safe fixes only) writes holds every comment it had."""
    copies = []
    for path in fixture_files():
        copy = tmp_path / path.relative_to(FIXTURES)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
        copies.append((path, copy))
    run_cli("--no-cache", "--fix", ".", cwd=tmp_path)
    changed = 0
    for original, copy in copies:
        before, after = original.read_bytes(), copy.read_bytes()
        changed += before != after
        assert not comments(before) - comments(after), copy
    assert changed >= 10  # the fixtures have many safe fixes: this checked them


@pytest.mark.parametrize("call", ["lock.acquire(timeout=1)", "lock.acquire(False)", "lock.acquire(blocking=False)"])
def test_ccl201_never_makes_a_conditional_acquire_blocking(tmp_path, call):
    source = (
        "import threading\nlock = threading.Lock()\n\n\ndef f(items):\n"
        f"    {call}\n    items.append(1)\n    lock.release()\n"
    ).encode()
    target = tmp_path / "mod.py"
    target.write_bytes(source)
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "CCL201", "mod.py", cwd=tmp_path)
    assert target.read_bytes() == source
    assert "mod.py:6:10: CCL201" in result.stdout and result.returncode == 1
    # The blocking form is still fixed.
    target.write_bytes(source.replace(call.encode(), b"lock.acquire(True)"))
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "CCL201", "mod.py", cwd=tmp_path)
    assert b"    with lock:\n        items.append(1)\n" in target.read_bytes()


def test_an_import_a_fix_leaves_unused_goes_unless_a_comment_is_on_it(tmp_path):
    """CCL402's fix replaces the last `time.sleep`: `import time` goes with it, but not when
    the user wrote a comment on that import (the comment would go too)."""
    plain = tmp_path / "plain.py"
    plain.write_text("import time\n\n\nasync def main():\n    time.sleep(1)\n")
    commented = tmp_path / "commented.py"
    commented.write_text("import time  # for the pauses\n\n\nasync def main():\n    time.sleep(1)\n")
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "CCL402", "plain.py", "commented.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert plain.read_text() == "import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"
    assert commented.read_text() == (
        "import time  # for the pauses\nimport asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"
    )


@pytest.mark.parametrize("line", ["lock.acquire(); s = 1", "s = 1; lock.acquire()"])
def test_ccl201_keeps_the_statements_beside_the_acquire(tmp_path, line):
    source = (
        "import threading\nlock = threading.Lock()\n\n\ndef f():\n"
        f"    {line}\n    x = 1\n    lock.release()\n    return s, x\n"
    ).encode()
    target = tmp_path / "mod.py"
    target.write_bytes(source)
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "CCL201", "mod.py", cwd=tmp_path)
    assert target.read_bytes() == source and "CCL201" in result.stdout
    shown = run_cli("--no-cache", "--unsafe-fixes", "--select", "CCL201", "--output-format", "json", "mod.py", cwd=tmp_path)
    assert [f["fix"] for f in json.loads(shown.stdout)] == [None]
