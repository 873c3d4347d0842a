"""Skipping files before parsing, the cache and parallelism never change what is found."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import pytest

from conclint.engine import lint_source
from helpers import FIXTURES, PROJECTS, run_cli, settings, strip_markers

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Concurrency-heavy stdlib modules plus modules that mention threads without using them.
STDLIB_SAMPLE = [
    "threading.py", "queue.py", "concurrent/futures/thread.py", "concurrent/futures/process.py",
    "multiprocessing/pool.py", "multiprocessing/managers.py", "asyncio/base_events.py", "asyncio/locks.py",
    "socketserver.py", "logging/handlers.py", "subprocess.py", "sched.py", "functools.py", "argparse.py",
]


def corpus():
    files = sorted(p for p in FIXTURES.rglob("*.py") if PROJECTS not in p.parents)
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


def test_second_gate_allows_every_rule_that_reports():
    """``could_report`` is a necessary condition: on every corpus file and rule page example,
    each rule that finds something without any gate says yes on CPython's facts of it."""
    from conclint.docs import code_blocks, read_page
    from conclint.analysis.parsing import screen
    from conclint.rule import all_rules

    rules = all_rules()
    ungated = settings(gate=False)
    checked, exercised = 0, set()
    pages = [code_blocks(read_page(code) or "") for code in rules]
    examples = [strip_markers(body).encode() for blocks in pages for tag, body in blocks if tag == "bad"]
    for path, data in [*((p, p.read_bytes()) for p in corpus()), *(("page example", e) for e in examples)]:
        facts = screen(data).facts
        if facts is None:
            continue
        for code in {f.code for f in lint_source(data, str(path), ungated).findings} - {"CCL000"}:
            assert rules[code].could_report(facts, {}), f"{path}: {code} reports but its second gate says no"
            checked += 1
            exercised.add(code)
    gated = {code for code, cls in rules.items() if "could_report" in vars(cls)}
    assert gated <= exercised, f"rules with a second gate but no finding in the corpus: {gated - exercised}"


@pytest.mark.parametrize(
    "source, imported",
    [
        (b"import threading\n", True),
        (b"import os, threading as t\n", True),
        (b"from threading import Lock\n", True),
        (b"if True: import threading\n", True),
        (b"x = 1; import threading\n", True),
        (b"import os, \\\nthreading\n", True),
        (b"import os, \\\r\nthreading\r\n", True),
        (b"from threading.x import y\n", True),
        (b"# threading is not imported here\nimport os\n", False),
        (b"import dummy_threading\n", False),
        (b"import os\nthreading = None\n", False),
    ],
)
def test_import_trigger_reads_logical_lines(source, imported):
    """The ``uses()`` trigger sees every import CPython sees, and skips mere mentions."""
    import ast

    from conclint.gate import imports_name

    assert imports_name(source, b"threading") is imported
    names = [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    assert any(name.split(".")[0] == "threading" for name in names) is imported


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


def test_positions_by_statement_equal_libcsts_position_provider():
    """Positions from generating one statement (top-level, or the innermost def/class of a
    report's chain) are LibCST's own."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from conclint.analysis.positions import _by_statement
    from conclint.rule import statement_chain
    from conclint.analysis.walk import traverse

    compared = nested = 0
    for path in corpus():
        data = path.read_bytes()
        try:
            module = cst.parse_module(data)
        except cst.ParserSyntaxError:
            continue
        exact = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        stack, chains = [], {}

        def enter(node, stack=stack, chains=chains):
            stack.append(node)
            chains[node] = statement_chain(stack)

        traverse(module, enter, lambda node, stack=stack: stack.pop())
        sample = [n for n in chains if n is not module][::5]
        # Half with the statements holding them (as rules report), half found by a search.
        wanted = [(n, chains[n] if i % 2 else ()) for i, n in enumerate(sample)]
        fast = _by_statement(module, data, wanted)
        assert fast is not None, f"{path}: fell back to the whole-module provider"
        for node in sample:
            assert fast[node] == exact[node], (path, type(node).__name__)
        compared += len(sample)
        nested += sum(len(chain) > 1 for _, chain in wanted)
    assert compared > 10_000
    assert nested > 1_000, "the corpus must exercise defs nested in classes"
