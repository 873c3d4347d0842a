"""The flake8 plugin, exercised through the real ``flake8`` command."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("flake8")

PITFALL = textwrap.dedent(
    """\
    import threading

    lock = threading.Lock()


    def work():
        lock.acquire()
        print("working")
        lock.release()
    """
)
MESSAGE = "CCL201 lock acquired without a guaranteed release: an exception or early return leaves it held"


def flake8(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # --isolated: no user or project flake8 configuration leaks into the test.
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def reported_codes(tmp_path: Path, name: str, *args: str) -> list:
    """The codes flake8 reports for ``name`` with ``args``, in order."""
    return [line.split()[1] for line in flake8(tmp_path, *args, name).stdout.splitlines()]


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return name


def test_reports_findings_in_flake8_format(tmp_path):
    name = write(tmp_path, "worker.py", PITFALL)
    result = flake8(tmp_path, name)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [f"worker.py:7:10: {MESSAGE}"]


def test_select_ccl_only_and_extend_ignore(tmp_path):
    name = write(tmp_path, "worker.py", PITFALL + "x=1\n")  # E225: only flake8's own checks see it
    assert flake8(tmp_path, "--select", "CCL", name).stdout.splitlines() == [f"worker.py:7:10: {MESSAGE}"]
    ignored = flake8(tmp_path, "--extend-ignore", "CCL2", name)
    assert "CCL" not in ignored.stdout and "E225" in ignored.stdout


def test_noqa_with_the_code_is_honoured(tmp_path):
    name = write(tmp_path, "worker.py", PITFALL.replace("lock.acquire()", "lock.acquire()  # noqa: CCL201"))
    result = flake8(tmp_path, "--select", "CCL", name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_disable_noqa_brings_suppressed_findings_back(tmp_path):
    # flake8 applies noqa itself, so the plugin must not drop the finding first.
    name = write(tmp_path, "worker.py", PITFALL.replace("lock.acquire()", "lock.acquire()  # noqa: CCL201"))
    result = flake8(tmp_path, "--select", "CCL", "--disable-noqa", name)
    assert result.stdout.splitlines() == [f"worker.py:7:10: {MESSAGE}"]


def test_noqa_for_another_code_does_not_hide_the_finding(tmp_path):
    name = write(tmp_path, "worker.py", PITFALL.replace("lock.acquire()", "lock.acquire()  # noqa: E501"))
    assert flake8(tmp_path, "--select", "CCL", name).stdout.splitlines() == [f"worker.py:7:10: {MESSAGE}"]


def test_per_file_ignores(tmp_path):
    write(tmp_path, "worker.py", PITFALL)
    write(tmp_path, "legacy.py", PITFALL)
    result = flake8(tmp_path, "--select", "CCL", "--per-file-ignores", "legacy.py:CCL201", ".")
    assert result.stdout.splitlines() == [f"./worker.py:7:10: {MESSAGE}"]


def test_syntax_error_is_e999_without_a_traceback(tmp_path):
    write(tmp_path, "broken.py", "import threading\ndef f(:\n    threading.Lock().acquire()\n")
    write(tmp_path, "worker.py", PITFALL)
    result = flake8(tmp_path, "broken.py", "worker.py")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("broken.py:2:") and " E999 SyntaxError" in line for line in lines), lines
    assert f"worker.py:7:10: {MESSAGE}" in lines


def test_file_without_triggers_is_clean(tmp_path):
    name = write(tmp_path, "plain.py", "def add(a, b):\n    return a + b\n")
    result = flake8(tmp_path, name)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_coding_cookie_keeps_columns(tmp_path):
    source = "# -*- coding: latin-1 -*-\n" + PITFALL.replace('print("working")', 'print("caf\xe9")')
    (tmp_path / "latin.py").write_bytes(source.encode("latin-1"))
    result = flake8(tmp_path, "--select", "CCL", "latin.py")
    assert result.stdout.splitlines() == [f"latin.py:8:10: {MESSAGE}"], result.stderr


def test_a_cookie_that_escapes_line_breaks_keeps_the_lines(tmp_path):
    # unicode_escape writes a line break as `\n`: the plugin must not hand LibCST one line.
    source = "# -*- coding: unicode_escape -*-\n" + PITFALL.replace('print("working")', 'print("caf\\xe9")')
    (tmp_path / "escaped.py").write_bytes(source.encode("ascii"))
    result = flake8(tmp_path, "--select", "CCL", "escaped.py")
    assert result.stdout.splitlines() == [f"escaped.py:8:10: {MESSAGE}"], result.stderr


def test_runs_only_the_rules_flake8_selects(tmp_path):
    deprecated = "import threading\n\nworker = threading.Thread(target=print)\nworker.setDaemon(True)\n"
    write(tmp_path, "worker.py", PITFALL + "\n\n" + deprecated.replace("import threading\n\n", ""))
    codes = functools.partial(reported_codes, tmp_path, "worker.py")
    assert codes("--select", "C") == ["CCL201", "CCL301"]  # flake8 matches prefixes: C covers CCL
    assert codes("--select", "E,F,W,C90") == []
    assert codes("--select", "E", "--extend-select", "CCL3") == ["CCL301"]


def test_rules_off_by_default_run_when_flake8_names_them(tmp_path):
    # As with `conclint --select`: a rule off by default runs when named by its full code.
    manual = textwrap.dedent(
        """\
        import threading

        lock = threading.Lock()


        def work():
            lock.acquire()
            try:
                print("working")
            finally:
                lock.release()
        """
    )
    write(tmp_path, "manual.py", manual)
    codes = functools.partial(reported_codes, tmp_path, "manual.py")
    assert codes("--select", "CCL") == []
    assert codes("--select", "CCL207") == ["CCL207"]
    assert codes("--select", "E", "--extend-select", "CCL207") == ["CCL207"]


def test_rule_options_come_from_each_files_nearest_configuration(tmp_path):
    spawn = "import threading\n\nfor i in range(101):\n    threading.Thread(target=print).start()\n"
    write(tmp_path, "top.py", spawn)
    (tmp_path / "sub").mkdir()
    write(tmp_path, "sub/spawn.py", spawn)
    write(tmp_path, "sub/pyproject.toml", "[tool.conclint.unbounded-thread-spawn]\nmax-threads = 1000\n")
    reported = flake8(tmp_path, "--select", "CCL", "top.py", "sub/spawn.py").stdout
    assert [line.split(":")[0] for line in reported.splitlines()] == ["top.py"]
    cli = subprocess.run(
        [sys.executable, "-m", "conclint", "--no-cache", "--output-format", "concise", "top.py", "sub/spawn.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert [line.split(":")[0] for line in cli.stdout.splitlines() if ": CCL" in line] == ["top.py"]


def test_a_subprojects_broken_configuration_is_a_finding_not_a_hang(tmp_path):
    # Read in a flake8 worker process: exiting there left flake8 waiting for it for ever.
    (tmp_path / "sub").mkdir()
    for n in range(13):  # enough for flake8 to run its worker processes
        write(tmp_path, f"sub/m{n}.py", "import threading\n")
    write(tmp_path, "sub/pyproject.toml", "[tool.conclint]\nselect = 3\n")
    result = flake8(tmp_path, "--select", "CCL", "--jobs", "2", "sub")
    assert result.returncode == 1
    assert result.stdout.count("CCL000 conclint: configuration cannot be used") == 13


def test_conclint_file_directives_hold_under_flake8_too(tmp_path):
    # flake8 knows `# flake8: noqa`, not conclint's own: the plugin applies those itself.
    daemon = "import threading\nt = threading.Thread()\nt.setDaemon(True)\nlock = threading.Lock()\nlock.acquire()\n"
    name = write(tmp_path, "worker.py", "# conclint: noqa: CCL301\n" + daemon)
    assert reported_codes(tmp_path, name, "--select", "CCL") == ["CCL201"]
    name = write(tmp_path, "skipped.py", "# conclint: noqa\n" + daemon)
    assert reported_codes(tmp_path, name, "--select", "CCL") == []
    name = write(tmp_path, "trailing.py", "x = 1  # conclint: noqa\n" + daemon)
    assert reported_codes(tmp_path, name, "--select", "CCL") == ["CCL000", "CCL301", "CCL201"]
    # --disable-noqa turns them off as it does flake8's own.
    assert reported_codes(tmp_path, "skipped.py", "--select", "CCL", "--disable-noqa") == ["CCL301", "CCL201"]
