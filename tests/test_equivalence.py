"""Skipping files before parsing, the cache and parallelism never change what is found."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import pytest

from conclint.engine import lint_source
from helpers import FIXTURES, run_cli, settings

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Concurrency-heavy stdlib modules plus modules that mention threads without using them.
STDLIB_SAMPLE = [
    "threading.py", "queue.py", "concurrent/futures/thread.py", "concurrent/futures/process.py",
    "multiprocessing/pool.py", "multiprocessing/managers.py", "asyncio/base_events.py", "asyncio/locks.py",
    "socketserver.py", "logging/handlers.py", "subprocess.py", "sched.py", "functools.py", "argparse.py",
]


def corpus():
    files = sorted(p for p in FIXTURES.rglob("*.py"))
    files += [STDLIB / name for name in STDLIB_SAMPLE if (STDLIB / name).exists()]
    return files


def as_tuples(findings):
    return sorted((f.code, f.line, f.column, f.end_line, f.end_column, f.message) for f in findings)


def test_skip_before_parse_never_changes_findings():
    gated, ungated = settings(), settings(gate=False)
    checked = 0
    for path in corpus():
        data = path.read_bytes()
        with_gate = lint_source(data, str(path), gated)
        without = lint_source(data, str(path), ungated)
        assert as_tuples(with_gate.findings) == as_tuples(without.findings), path
        checked += not with_gate.skipped
    assert checked > 20, "the corpus must exercise parsed files, not only skipped ones"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for i, path in enumerate(corpus()):
        # Enough files that --jobs 2 really uses a process pool.
        shutil.copy(path, root / f"f{i:03d}_{path.name}")
    return root


def run_json(tree, *options):
    result = run_cli("--format", "json", "--exit-zero", *options, ".", cwd=tree)
    assert result.returncode == 0, result.stderr
    return sorted(json.dumps(f, sort_keys=True) for f in json.loads(result.stdout))


def test_cache_and_parallelism_never_change_findings(tree, tmp_path):
    serial = run_json(tree, "--no-cache", "--jobs", "1")
    assert serial, "the corpus has findings"
    assert run_json(tree, "--no-cache", "--jobs", "2") == serial
    cache = str(tmp_path / "cache")
    assert run_json(tree, "--cache-dir", cache, "--jobs", "2") == serial  # cold: fills the cache
    assert run_json(tree, "--cache-dir", cache, "--jobs", "2") == serial  # warm: reads it
    assert list((tmp_path / "cache").glob("results-*.json")), "the cache was written"
