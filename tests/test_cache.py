"""The result cache: warm runs parse nothing, edits and configuration changes invalidate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from helpers import run_cli

BAD = "import threading\n\nt = threading.Thread(target=print)\nt.setDaemon(True)\n"


def lint(tree: Path, cache: Path, *options: str, importtime: bool = False):
    env = {"PYTHONPROFILEIMPORTTIME": "1"} if importtime else None
    return run_cli("--format", "json", "--cache-dir", str(cache), *options, ".", cwd=tree, env=env)


def test_warm_run_parses_nothing_and_imports_no_libcst(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    cache = tmp_path / ".cache"
    cold = lint(tmp_path, cache, importtime=True)
    assert "libcst" in cold.stderr
    warm = lint(tmp_path, cache, importtime=True)
    assert warm.stdout == cold.stdout
    assert "libcst" not in warm.stderr
    # Touching a file without changing it keeps the entry (matched by content hash).
    os.utime(tmp_path / "a.py", None)
    assert "libcst" not in lint(tmp_path, cache, importtime=True).stderr


def test_edits_invalidate_the_entry(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    cache = tmp_path / ".cache"
    assert len(json.loads(lint(tmp_path, cache).stdout)) == 1
    (tmp_path / "a.py").write_text(BAD.replace("t.setDaemon(True)", "t.daemon = True"))
    assert json.loads(lint(tmp_path, cache).stdout) == []


def test_configuration_is_part_of_the_key(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    cache = tmp_path / ".cache"
    assert len(json.loads(lint(tmp_path, cache).stdout)) == 1
    assert json.loads(lint(tmp_path, cache, "--ignore", "CCL301").stdout) == []
    assert len(list(cache.glob("results-*.json"))) == 2


def test_default_location_is_the_project_root_and_no_cache_writes_nothing(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.conclint]\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(BAD)
    run_cli("--no-cache", "pkg", cwd=tmp_path)
    assert not (tmp_path / ".conclint_cache").exists()
    run_cli("pkg", cwd=tmp_path / "pkg" / "..")
    assert list((tmp_path / ".conclint_cache").glob("results-*.json"))
    assert (tmp_path / ".conclint_cache" / ".gitignore").read_text().strip().endswith("*")


def test_concurrent_runs_leave_a_valid_cache(tmp_path):
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(BAD.replace("print", f"print  # {i}"))
    cache = tmp_path / ".cache"
    command = [sys.executable, "-m", "conclint", "--format", "json", "--cache-dir", str(cache), "."]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [json.loads(r.communicate(timeout=300)[0]) for r in runs]
    assert all(len(o) == 30 for o in outputs)
    for entry in cache.glob("results-*.json"):
        assert len(json.loads(entry.read_text())["files"]) == 30
    assert not list(cache.glob("*.tmp")), "no temporary file is left behind"


def test_entries_unused_for_a_month_are_pruned(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    (tmp_path / "b.py").write_text(BAD)
    cache = tmp_path / ".cache"
    lint(tmp_path, cache)
    (entry,) = cache.glob("results-*.json")
    data = json.loads(entry.read_text())
    data["files"][os.path.realpath(tmp_path / "b.py")]["t"] = int(time.time()) - 40 * 24 * 3600
    entry.write_text(json.dumps(data))
    (tmp_path / "b.py").unlink()
    (tmp_path / "c.py").write_text(BAD)
    lint(tmp_path, cache)
    assert sorted(Path(p).name for p in json.loads(entry.read_text())["files"]) == ["a.py", "c.py"]


def test_a_fifo_named_on_the_command_line_is_never_read_by_the_cache(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "a.py").write_text(BAD)
    cache = tmp_path / ".cache"
    for _ in range(2):  # the second run would look the FIFO up in the cache
        result = run_cli("--cache-dir", str(cache), "--ignore", "CCL000", "pipe.py", "a.py", cwd=tmp_path)
        assert result.returncode == 1 and "a.py:4:3: CCL301" in result.stdout


def test_a_cached_finding_names_its_other_places_as_this_run_names_the_file(tmp_path):
    # CCL210 relates its finding to a locked write in the same file: from the cache, that
    # place must be named as the run names the file, not as the run that cached it did.
    (tmp_path / "pyproject.toml").write_text('[tool.conclint]\nextend-select = ["CCL210"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "c.py").write_text(
        "import threading\n\n\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
        "        self.count = 0\n\n    def add(self):\n        with self._lock:\n            self.count += 1\n\n"
        "    def reset(self):\n        self.count = 0\n"
    )
    cold = run_cli("--format", "json", ".", cwd=tmp_path)
    ((path, related),) = [(f["path"], [r["path"] for r in f["related"]]) for f in json.loads(cold.stdout)]
    assert (path, related) == ("pkg/c.py", ["pkg/c.py"])
    for _ in range(2):  # the second run reads what the first cached under this naming
        warm = run_cli("--format", "json", "c.py", cwd=tmp_path / "pkg")
        assert [(f["path"], [r["path"] for r in f["related"]]) for f in json.loads(warm.stdout)] == [("c.py", ["c.py"])]
