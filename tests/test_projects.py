"""Project rules (CCL209) through the real ``conclint`` command: each fixture project under
tests/fixtures/projects/ (several modules) reports exactly its ``# error:`` markers, and the
project phase gives the same findings with and without the cache, serially and in parallel,
after edits, under suppression, selection, per-file ignores and baselines."""

from __future__ import annotations

import json
import os
import textwrap
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import EVERY_RULE, PROJECTS, markers, run_cli

NAMES = sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())
INVERTED = ["acquire_release", "call_chain", "def_imports", "nested_with", "self_method"]
CLEAN = ["consistent", "instance_order", "rlock_reentry"]
# Per-file rules that also see across modules (CCL404: another module's coroutine function).
CROSS_MODULE = {
    "async_sibling": "CCL404", "gevent_first_party": "CCL401", "spawn_closure": "CCL105", "target_called": "CCL303",
    "helper_lock": "CCL201",
}


def copy_project(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    if not (target / "pyproject.toml").exists():  # the project root: module names start there
        (target / "pyproject.toml").write_text("[tool.conclint]\n")
    return target


def small_project(root: Path, files: dict) -> Path:
    """A project of ``files`` (relative path -> text) at ``root``, its own root."""
    (root / "pyproject.toml").write_text("[tool.conclint]\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def expected(root: Path) -> set:
    return {
        (path.relative_to(root).as_posix(), line, code)
        for path in root.rglob("*.py")
        for line, code in markers(path.read_text(encoding="utf-8"))
    }


def findings(root: Path, *args: str) -> list:
    result = run_cli("--format", "json", *args, ".", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    assert "error" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_the_fixture_projects_cover_the_cases():
    assert NAMES == sorted(INVERTED + CLEAN + list(CROSS_MODULE))
    for name in INVERTED:
        assert any(code == "CCL209" for _, _, code in expected(PROJECTS / name)), name
    for name, code in CROSS_MODULE.items():
        assert any(found == code for _, _, found in expected(PROJECTS / name)), name
    for name in CLEAN:
        assert expected(PROJECTS / name) == set(), name


@pytest.mark.parametrize("name", NAMES)
def test_project_findings_match_markers(name, tmp_path):
    root = copy_project(name, tmp_path)
    # Every rule, as for the other fixtures (CCL207 is off by default).
    found = {(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache", "--select", ",".join(EVERY_RULE))}
    assert found == expected(root)


def test_the_report_names_the_other_path_in_text_json_and_sarif(tmp_path):
    root = copy_project("call_chain", tmp_path)
    text = run_cli("--no-cache", ".", cwd=root).stdout
    assert "src/app/config.py:10:9: CCL209" in text
    assert "`app.plugins.PLUGINS_LOCK` is taken (through refresh() -> _scan() -> _load_one())" in text
    assert "while `app.plugins.PLUGINS_LOCK` is held at src/app/plugins.py:23" in text
    # Each place of the cycle is reported, naming the other.
    first, other = findings(root, "--no-cache")
    assert (first["path"], first["line"], other["path"], other["line"]) == (
        "src/app/config.py", 10, "src/app/plugins.py", 23
    )
    assert [(r["path"], r["line"]) for r in first["related"]] == [
        ("src/app/plugins.py", 23), ("src/app/plugins.py", 17), ("src/app/config.py", 14),
    ]
    assert "is held at src/app/config.py:10" in other["message"]
    assert [(r["path"], r["line"]) for r in other["related"]] == [
        ("src/app/config.py", 10), ("src/app/config.py", 14), ("src/app/plugins.py", 17),
    ]
    sarif = json.loads(run_cli("--no-cache", "--format", "sarif", ".", cwd=root).stdout)
    result, _ = sarif["runs"][0]["results"]
    related = result["relatedLocations"]
    assert [r["physicalLocation"]["artifactLocation"]["uri"] for r in related] == [
        "src/app/plugins.py", "src/app/plugins.py", "src/app/config.py",
    ]
    assert related[0]["physicalLocation"]["region"]["startLine"] == 23
    assert "while `app.plugins.PLUGINS_LOCK` is held" in related[0]["message"]["text"]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(sarif)


def _all_projects(tmp_path: Path) -> Path:
    """Every fixture project side by side, and enough plain files for a worker pool."""
    root = tmp_path / "all"
    for name in NAMES:
        shutil.copytree(PROJECTS / name, root / name)
    (root / "pyproject.toml").write_text("[tool.conclint]\n")
    for i in range(12):
        (root / f"plain{i}.py").write_text(f"VALUE = {i}\n")
    return root


def test_findings_are_the_same_with_and_without_cache_and_in_parallel(tmp_path):
    root = _all_projects(tmp_path)
    serial = findings(root, "--no-cache", "--jobs", "1")
    assert sum(f["code"] == "CCL209" for f in serial) == 2 * len(INVERTED)  # both places of each
    # The cross-module halves of per-file rules, too.
    for name, code in CROSS_MODULE.items():
        assert any(f["code"] == code and f["path"].startswith(f"{name}/") for f in serial), name
    assert findings(root, "--no-cache", "--jobs", "2") == serial
    cold = findings(root, "--jobs", "2")
    assert list((root / ".conclint_cache").glob("results-*.json")), "the run was cached"
    warm = findings(root, "--jobs", "1")
    assert cold == serial and warm == serial


def test_a_warm_run_recomputes_the_project_phase_after_an_edit(tmp_path):
    root = copy_project("nested_with", tmp_path)
    assert [f["code"] for f in findings(root)] == ["CCL209", "CCL209"]
    stock = root / "shop" / "stock.py"
    # The same order as orders.py now: the inversion is gone, although orders.py (where it
    # was reported too) did not change and comes from the cache.
    stock.write_text(stock.read_text().replace("with STOCK_LOCK:\n        with ORDERS_LOCK:",
                                               "with ORDERS_LOCK:\n        with STOCK_LOCK:"))
    assert findings(root) == []
    stock.write_text((PROJECTS / "nested_with" / "shop" / "stock.py").read_text())
    assert [f["code"] for f in findings(root)] == ["CCL209", "CCL209"]


def test_cached_project_findings_survive_a_warm_run_exactly(tmp_path):
    root = copy_project("self_method", tmp_path)
    first = findings(root)
    cache = json.loads(next((root / ".conclint_cache").glob("results-*.json")).read_text())
    assert cache["project"]["f"] and any(entry["p"] for entry in cache["files"].values())
    assert findings(root) == first


def _summaries_file(root: Path) -> Path:
    (found,) = (root / ".conclint_cache").glob("summaries-*.json")
    return found


def test_the_summaries_are_kept_apart_and_read_only_when_the_phase_runs_again(tmp_path):
    root = copy_project("nested_with", tmp_path)
    first = run_cli("--format", "json", ".", cwd=root)
    (results,) = (root / ".conclint_cache").glob("results-*.json")
    document = json.loads(results.read_text())
    summarised = [entry["h"] for entry in document["files"].values() if entry["p"] is True]
    assert summarised and all(type(entry["p"]) is bool for entry in document["files"].values())
    assert set(json.loads(_summaries_file(root).read_text())["s"]) == set(summarised)
    # Nothing changed: the phase's findings come from the results file alone, so even a
    # mangled summaries file is not read (it would be warned about).
    _summaries_file(root).write_text("not json")
    warm = run_cli("--format", "json", ".", cwd=root)
    assert warm.stdout == first.stdout and warm.stderr == ""
    # A change elsewhere in the project makes the phase run again: the mangled file is
    # ignored with a warning, the summaries are made again from the files, and written.
    (root / "shop" / "extra.py").write_text("import threading\nEXTRA_LOCK = threading.Lock()\n")
    again = run_cli("--format", "json", ".", cwd=root)
    assert "ignoring malformed summaries" in again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert len(json.loads(_summaries_file(root).read_text())["s"]) == len(summarised) + 1


def test_a_missing_summary_is_made_again_from_the_file(tmp_path):
    root = copy_project("nested_with", tmp_path)
    first = findings(root)
    assert [f["code"] for f in first] == ["CCL209", "CCL209"]
    _summaries_file(root).unlink()  # as when a concurrent run wrote the results file last
    (root / "shop" / "extra.py").write_text("import threading\nEXTRA_LOCK = threading.Lock()\n")
    assert findings(root) == first
    # An edited file's summary comes from linting it again, the others' from their files.
    _summaries_file(root).unlink()
    stock = root / "shop" / "stock.py"
    stock.write_text(stock.read_text().replace("with STOCK_LOCK:\n        with ORDERS_LOCK:",
                                               "with ORDERS_LOCK:\n        with STOCK_LOCK:"))
    assert findings(root) == []


def test_noqa_on_a_reported_line_silences_that_place_only(tmp_path):
    root = copy_project("nested_with", tmp_path)
    orders, stock = root / "shop" / "orders.py", root / "shop" / "stock.py"
    orders.write_text(orders.read_text().replace("# error: CCL209", "# noqa: CCL209"))
    # CCL900 does not judge CCL209's codes: its noqa applies in the project phase. The
    # cycle's other place is still reported.
    assert [(f["path"], f["code"]) for f in findings(root, "--no-cache")] == [("shop/stock.py", "CCL209")]
    stock.write_text(stock.read_text().replace("# error: CCL209", "# noqa: CCL209"))
    assert findings(root, "--no-cache") == []
    orders.write_text(orders.read_text().replace("# noqa: CCL209", "# noqa: CCL201"))
    # CCL201 silences nothing on that line: CCL900 says so.
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL900"]
    # Only a real comment silences: the same words in a string on that line do not.
    orders.write_text(orders.read_text().replace(
        "with stock.STOCK_LOCK:  # noqa: CCL201", 'with stock.STOCK_LOCK, print("# noqa: CCL209"):'
    ))
    assert [(f["path"], f["code"]) for f in findings(root, "--no-cache")] == [("shop/orders.py", "CCL209")]


def test_selection_per_file_ignores_and_baseline(tmp_path):
    root = copy_project("nested_with", tmp_path)
    assert findings(root, "--no-cache", "--ignore", "CCL209") == []
    assert [f["code"] for f in findings(root, "--no-cache", "--select", "CCL2")] == ["CCL209", "CCL209"]
    (root / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "shop/orders.py" = ["CCL209"] }\n')
    assert [f["path"] for f in findings(root, "--no-cache")] == ["shop/stock.py"]
    (root / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "shop/*.py" = ["CCL209"] }\n')
    assert findings(root, "--no-cache") == []
    (root / "pyproject.toml").write_text("[tool.conclint]\n")
    written = run_cli("--no-cache", "--write-baseline", "base.json", ".", cwd=root)
    assert written.returncode == 0, written.stderr
    baseline = json.loads((root / "base.json").read_text())
    assert [e["code"] for e in baseline["findings"]] == ["CCL209", "CCL209"]
    assert run_cli("--no-cache", "--baseline", "base.json", ".", cwd=root).returncode == 0


def test_a_new_path_into_a_known_cycle_is_a_new_finding(tmp_path):
    """Silencing the places of one inversion (a noqa, a baseline) hides no other place that
    takes the same locks in an order of the cycle: a second module taking them the other
    way round is reported."""
    root = small_project(tmp_path, {
        "app/__init__.py": "",
        "app/locks.py": """\
            import threading
            A_LOCK = threading.Lock()
            B_LOCK = threading.Lock()

            def a_then_b():
                with A_LOCK:
                    with B_LOCK:
                        pass
        """,
        "app/run.py": """\
            from app.locks import A_LOCK, B_LOCK

            def b_then_a():
                with B_LOCK:
                    with A_LOCK:
                        pass
        """,
    })
    written = run_cli("--no-cache", "--write-baseline", "base.json", ".", cwd=root)
    assert written.returncode == 0, written.stderr
    assert run_cli("--no-cache", "--baseline", "base.json", ".", cwd=root).returncode == 0
    (root / "app" / "late.py").write_text((root / "app" / "run.py").read_text().replace("b_then_a", "late"))
    late = run_cli("--no-cache", "--format", "json", "--baseline", "base.json", ".", cwd=root)
    assert late.returncode == 1
    assert [(f["path"], f["line"]) for f in json.loads(late.stdout)] == [("app/late.py", 5)]
    # The same through noqa comments on every place the first run reported.
    for name, line in (("locks.py", 7), ("run.py", 5)):
        path = root / "app" / name
        lines = path.read_text().splitlines()
        lines[line - 1] += "  # noqa: CCL209"
        path.write_text("\n".join(lines) + "\n")
    assert [(f["path"], f["line"]) for f in findings(root, "--no-cache")] == [("app/late.py", 5)]


def test_a_broken_module_does_not_stop_the_project_phase(tmp_path):
    root = copy_project("nested_with", tmp_path)
    (root / "shop" / "broken.py").write_text("import threading\nLOCK = threading.Lock(\n")
    (root / "shop" / "binary.py").write_bytes(b"LOCK = 1\x00\xff\xfe acquire")
    found = {(f["path"], f["code"]) for f in findings(root, "--no-cache")}
    assert ("shop/orders.py", "CCL209") in found
    assert ("shop/broken.py", "CCL000") in found


def test_list_rules_and_explain_know_the_project_rule():
    listed = run_cli("--list-rules").stdout
    assert "CCL209  lock-order-inversion" in listed
    page = run_cli("--explain", "CCL209")
    assert page.returncode == 0 and page.stdout.startswith("# CCL209: lock-order-inversion")


def test_stdin_runs_the_project_phase_over_the_one_file():
    source = (PROJECTS.parent.parent.parent / "rules" / "CCL209.md").read_text()
    bad = source.split("```python bad\n", 1)[1].split("```", 1)[0]
    result = run_cli("--select", "CCL209", "-", stdin=bad)
    assert result.returncode == 1
    assert "-:9:14: CCL209" in result.stdout


def test_flake8_runs_no_project_rule(tmp_path):
    pytest.importorskip("flake8")
    root = copy_project("nested_with", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "CCL", "."],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CCL209" not in result.stdout


def test_a_coroutine_function_of_another_module_called_without_await(tmp_path):
    """CCL404 across modules: the finding names the module defining the coroutine function and
    points at its ``async def``; with the defining module left out of the run, nothing is known."""
    root = copy_project("async_sibling", tmp_path)
    found = [f for f in findings(root, "--no-cache", "--select", "CCL404") if f["line"] == 9]
    assert len(found) == 1, found
    assert "`async def` in `app.db`" in found[0]["message"]
    (related,) = found[0]["related"]
    assert related["path"] == "app/db.py" and related["line"] == 4
    # Imported under another name (`save as store`), the function's own name is given too.
    (aliased,) = [f for f in findings(root, "--no-cache", "--select", "CCL404") if f["line"] == 11]
    assert "`async def save` in `app.db`" in aliased["message"]
    assert aliased["related"][0]["message"].startswith("`save` is defined here")
    # The project is what the run lints: linting api.py alone, db.py's coroutines are unknown.
    alone = run_cli("--format", "json", "--no-cache", "--select", "CCL404", "app/api.py", cwd=root)
    assert json.loads(alone.stdout) == [], alone.stdout


def test_a_project_module_imported_before_monkey_patching(tmp_path):
    """CCL401 across modules: the finding sits on the import and names the chain to the module
    the patch changes; the cache notices when a file with no summary of its own (app/net.py)
    stops importing it."""
    root = copy_project("gevent_first_party", tmp_path)
    cache = str(tmp_path / "cache")
    (found,) = [f for f in findings(root, "--cache-dir", cache, "--select", "CCL401")]
    assert (found["path"], found["line"]) == ("server.py", 5)
    assert "`app.models`" in found["message"] and "`socket` (through app.models -> app.net)" in found["message"]
    (related,) = found["related"]
    assert (related["path"], related["line"]) == ("server.py", 7)
    net = root / "app" / "net.py"
    net.write_text(net.read_text().replace("import socket", "import json as socket"))
    assert findings(root, "--cache-dir", cache, "--select", "CCL401") == []


def test_a_standard_library_import_is_not_a_project_module_of_the_same_last_name(tmp_path):
    # Modules are also found by their last names (code linted from above its import root),
    # but never for the standard library's: `import json` is not app/json.py.
    root = copy_project("gevent_first_party", tmp_path)
    (root / "app" / "json.py").write_text("import socket\n\n\nasync def dumps(obj):\n    return obj\n")
    server = root / "server.py"
    server.write_text("import json\n" + server.read_text())
    (root / "app" / "use.py").write_text("from json import dumps\n\n\nasync def main():\n    dumps({})\n")
    # Nor is a third-party package a module inside one of the project's packages.
    (root / "app" / "redis.py").write_text("async def get(key):\n    return key\n")
    (root / "worker.py").write_text("from redis import get\n\n\nasync def main():\n    get('k')\n")
    found = {(f["path"], f["code"]) for f in findings(root, "--no-cache")}
    assert found == {("server.py", "CCL401")}


def test_a_noqa_for_a_cross_module_finding_is_obeyed_and_not_called_unused(tmp_path):
    root = copy_project("async_sibling", tmp_path)
    api = root / "app" / "api.py"
    api.write_text(api.read_text().replace("fetch_user(user_id)  # error: CCL404", "fetch_user(user_id)  # noqa: CCL404", 1))
    found = [(f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert (9, "CCL404") not in found and not any(code == "CCL900" for _, code in found), found


def test_a_closure_or_lambda_of_another_module_handed_to_a_process(tmp_path):
    """CCL105 across modules: the finding names the module defining the factory or lambda and
    points at it; the defining module has no summary of its own (it names no process), so the
    cache must notice its edits; linted alone, the caller knows nothing of it."""
    root = copy_project("spawn_closure", tmp_path)
    cache = str(tmp_path / "cache")
    found = {(f["path"], f["line"]): f for f in findings(root, "--cache-dir", cache, "--select", "CCL105")}
    factory = found[("app/run.py", 10)]
    assert "`make_worker()` returns a function defined inside it (in `app.helpers`)" in factory["message"]
    assert [(r["path"], r["line"]) for r in factory["related"]] == [("app/helpers.py", 10)]
    lambda_ = found[("app/run.py", 20)]  # re-exported by the package as `exported_handler`
    assert "`exported_handler` is a lambda (bound at the top of `app.helpers`)" in lambda_["message"]
    assert [(r["path"], r["line"]) for r in lambda_["related"]] == [("app/helpers.py", 3)]
    helpers = root / "app" / "helpers.py"
    helpers.write_text(helpers.read_text().replace(
        "handler = lambda value: value + 1", "def handler(value):\n    return value + 1\n"
    ))
    lines = sorted(line for path, line in found)
    assert sorted(f["line"] for f in findings(root, "--cache-dir", cache, "--select", "CCL105")) == [
        line for line in lines if line not in (9, 12, 20, 31)
    ]
    alone = run_cli("--format", "json", "--no-cache", "--select", "CCL105", "app/run.py", cwd=root)
    assert json.loads(alone.stdout) == [], alone.stdout


def test_a_function_of_another_module_called_in_the_target_place(tmp_path):
    """CCL303 across modules: reported at the call, naming the module; a noqa there silences it
    (and is not called unused); no fix is offered from the project phase."""
    root = copy_project("target_called", tmp_path)
    (found, *_) = [f for f in findings(root, "--no-cache", "--select", "CCL303") if f["line"] == 10]
    assert found["message"].startswith("`compute()` runs now, in the caller")
    assert "in `app.calc`" in found["message"] and "pass `compute` itself" in found["message"]
    assert [(r["path"], r["line"]) for r in found["related"]] == [("app/calc.py", 1)]
    main = root / "app" / "main.py"
    main.write_text(main.read_text().replace("# error: CCL303", "# noqa: CCL303", 1))
    left = [(f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert (10, "CCL303") not in left and not any(code == "CCL900" for _, code in left), left
    fixed = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "CCL303", ".", cwd=root)
    assert fixed.returncode == 1 and main.read_text().count("# error: CCL303") == 3, fixed.stdout + fixed.stderr


@pytest.mark.parametrize("name", ["spawn_closure", "target_called"])
def test_spawning_calls_are_filed_alike_with_and_without_the_screens_index(name):
    """The summary looks for spawning calls through the screen's index of calls when the file
    was screened, and through a walk of the tree when not: both file the same calls."""
    from conclint.analysis.parsing import screen
    from conclint.analysis.project import summarise

    filed = 0
    for path in sorted((PROJECTS / name).rglob("*.py")):
        data = path.read_bytes()
        screened = screen(data)
        alone, indexed = summarise(data), summarise(data, screened.tree, facts=screened.facts)
        assert (alone and alone["s"]) == (indexed and indexed["s"]), path
        filed += len(alone["s"]) if alone else 0
    assert filed >= 3


def test_a_noqa_of_a_rule_with_a_project_part_is_judged_where_the_project_phase_cannot_report(tmp_path):
    """CCL900 leaves a CCL105 noqa alone on a line the project phase may report (the file's
    summary keeps it), and calls it unused elsewhere, as for any per-file rule."""
    root = copy_project("spawn_closure", tmp_path)
    run = root / "app" / "run.py"
    text = run.read_text().replace("first = pool.map(make_worker(3), items)  # error: CCL105",
                                   "first = pool.map(make_worker(3), items)  # noqa: CCL105")
    run.write_text(text.replace("with Pool(4) as pool:", "with Pool(4) as pool:  # noqa: CCL105", 1))
    found = [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert ("app/run.py", 10, "CCL105") not in found and ("app/run.py", 10, "CCL900") not in found, found
    assert ("app/run.py", 9, "CCL900") in found, found


def test_a_lock_made_by_a_helper_of_another_module(tmp_path):
    """CCL201 across modules: the lock comes from the project's compat module (an import of
    `_thread.allocate_lock`, a function returning `threading.Lock()`, an alias of
    `threading.RLock`); reported once where the file alone reports it too; nothing when the
    helper module is not in the run, or stops making a lock."""
    root = copy_project("helper_lock", tmp_path)
    cache = str(tmp_path / "cache")
    found = findings(root, "--cache-dir", cache, "--select", "CCL201")
    places = [(f["path"], f["line"]) for f in found]
    assert len(places) == len(set(places)) == 4, places
    (put,) = [f for f in found if (f["path"], f["line"]) == ("app/store.py", 33)]
    assert put["message"].endswith("(the lock is made by `compat.make_lock()` of `app.compat`)")
    assert [(r["path"], r["line"]) for r in put["related"]] == [("app/compat.py", 13)]
    alone = run_cli("--format", "json", "--no-cache", "--select", "CCL201", "app/store.py", cwd=root)
    assert json.loads(alone.stdout) == [], alone.stdout
    compat = root / "app" / "compat.py"
    compat.write_text(compat.read_text().replace("return threading.Lock()", "return threading.Event()"))
    left = {(f["path"], f["line"]) for f in findings(root, "--cache-dir", cache, "--select", "CCL201")}
    assert left == {("app/store.py", 9), ("app/store.py", 52), ("app/jobs.py", 12)}, left


@pytest.mark.parametrize("name", ["ccl201_acquire_without_release.py", "ccl201_break_into_finally.py"])
def test_the_summary_files_the_acquires_ccl201_reports_when_the_lock_is_made_elsewhere(name):
    """``analysis.acquires`` reads CCL201's tests in CPython's tree: on the rule's fixtures,
    with each `threading.Lock()` made by an imported helper instead, it files exactly the
    acquires the rule reports there (locks in containers and locks never released are the
    per-file rule's alone)."""
    import ast
    import re

    from conclint.analysis.acquires import acquires

    text = (PROJECTS.parent / "locks" / name).read_text()
    expected = {line for line, code in markers(text) if code == "CCL201"}
    tree = ast.parse(re.sub(r"\bthreading\.(R?Lock)\(\)", r"make_\1()", text))

    def imported(func):
        return f"n:{func.id}" if type(func) is ast.Name and func.id.startswith("make_") else None

    assert {attribute.end_lineno for _, attribute in acquires(tree, imported)} == expected


def test_every_project_part_says_where_it_reports():
    from conclint.rule import all_rules

    parts = {code: cls.project_sites for code, cls in all_rules().items() if cls.project_part}
    assert parts == {"CCL105": "s", "CCL201": "r", "CCL303": "s", "CCL401": "g", "CCL404": "w"}


def test_lock_order_follows_what_runs_where_it_is_called(tmp_path):
    # A parameter or a local named like a module's def is not that def; a lambda made while
    # holding a lock runs later; `acquire(timeout=-1)` waits for ever, as `acquire()` does.
    pkg = small_project(tmp_path, {"pkg/__init__.py": "", "pkg/locks.py": """\
        import threading

        a_lock = threading.Lock()
        b_lock = threading.Lock()


        def helper():
            with a_lock:
                pass


        def ordered():
            with a_lock:
                with b_lock:
                    pass
        """, "pkg/users.py": """\
        from pkg.locks import a_lock, b_lock, helper


        def given(helper):
            with b_lock:
                helper()


        def shadowed():
            helper = print
            with b_lock:
                helper()


        def later():
            with b_lock:
                return lambda: a_lock.acquire()
        """}) / "pkg"
    assert findings(tmp_path, "--no-cache") == []
    (pkg / "users.py").write_text(
        (pkg / "users.py").read_text() + "\n\ndef forever():\n    with b_lock:\n        if a_lock.acquire(timeout=-1):\n            a_lock.release()\n"
    )
    assert [(f["path"], f["code"]) for f in findings(tmp_path, "--no-cache")] == [("pkg/locks.py", "CCL209"), ("pkg/users.py", "CCL209")]
    # The same with the lock's positional arguments: `acquire(True, -1)`; a timeout is no wait for ever.
    users = (pkg / "users.py").read_text()
    (pkg / "users.py").write_text(users.replace("a_lock.acquire(timeout=-1)", "a_lock.acquire(True, -1)"))
    assert [(f["path"], f["code"]) for f in findings(tmp_path, "--no-cache")] == [("pkg/locks.py", "CCL209"), ("pkg/users.py", "CCL209")]
    (pkg / "users.py").write_text(users.replace("a_lock.acquire(timeout=-1)", "a_lock.acquire(True, 5)"))
    assert findings(tmp_path, "--no-cache") == []


def test_monkey_patching_order_follows_what_an_import_runs(tmp_path):
    # `import app.util` runs app/__init__.py first; an import under `if TYPE_CHECKING:`
    # never runs.
    small_project(tmp_path, {
        "app/__init__.py": "import socket\n", "app/util.py": "x = 1\n",
        "typed.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import ssl\n",
        "server.py": "from gevent import monkey\n\nimport typed\nimport app.util\n\nmonkey.patch_all()\n",
    })
    (found,) = findings(tmp_path, "--no-cache")
    assert (found["path"], found["line"], found["code"]) == ("server.py", 4, "CCL401")
    assert "`app`" in found["message"] and "`socket`" in found["message"]


def test_module_locks_spelled_as_constants_are_locks_too(tmp_path):
    # PEP 8 spells module-level locks A_LOCK: files that only import and take them are read.
    files = {"pkg/__init__.py": "", "pkg/a.py": "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n"}
    for name, first, second in (("x", "A_LOCK", "B_LOCK"), ("y", "B_LOCK", "A_LOCK")):
        files[f"pkg/{name}.py"] = (
            f"from pkg.a import A_LOCK, B_LOCK\n\n\ndef {name}():\n    with {first}:\n        with {second}:\n            pass\n"
        )
    small_project(tmp_path, files)
    assert [(f["path"], f["code"]) for f in findings(tmp_path, "--no-cache")] == [("pkg/x.py", "CCL209"), ("pkg/y.py", "CCL209")]


def test_module_names_do_not_depend_on_where_the_command_runs(tmp_path):
    # Without a configuration file the root is the current directory; a root inside a
    # package still names its modules as Python imports them (pkg.a, not a).
    small_project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "import threading\n\na_lock = threading.Lock()\nb_lock = threading.Lock()\n\n\ndef f():\n"
                    "    with a_lock:\n        with b_lock:\n            pass\n",
        "pkg/b.py": "from pkg.a import a_lock, b_lock\n\n\ndef g():\n    with b_lock:\n        with a_lock:\n            pass\n",
    })
    (tmp_path / "pyproject.toml").unlink()
    from_top = [(f["code"], f["line"], f["message"].split(" is held at ")[0]) for f in findings(tmp_path, "--no-cache")]
    result = run_cli("--no-cache", "--format", "json", "..", cwd=tmp_path / "pkg")
    from_inside = [(f["code"], f["line"], f["message"].split(" is held at ")[0]) for f in json.loads(result.stdout)]
    assert from_inside == from_top and "`pkg.a.b_lock`" in from_top[0][2]


def test_a_cycle_through_many_locks_is_reported_in_findings_of_a_readable_size(tmp_path):
    # A ring of 60 modules, each taking its lock then the next one's: one cycle, reported
    # at each of its 60 places, each message naming the first steps after it and counting
    # the rest.
    files = {"pkg/__init__.py": ""}
    for i in range(60):
        j = (i + 1) % 60
        files[f"pkg/m{i}.py"] = (
            f"import threading\nfrom pkg.m{j} import lock_{j}\n\nlock_{i} = threading.Lock()\n\n\n"
            f"def f():\n    with lock_{i}:\n        with lock_{j}:\n            pass\n"
        )
    found = findings(small_project(tmp_path, files), "--no-cache")
    assert sorted(f["path"] for f in found) == sorted(f"pkg/m{i}.py" for i in range(60))
    for finding in found:
        assert finding["code"] == "CCL209" and "and 54 more steps of the cycle" in finding["message"]
        assert len(finding["message"]) < 1000 and len(finding["related"]) <= 21


@pytest.mark.parametrize("init", [None, ""])  # a namespace package; an empty __init__.py
def test_a_module_reached_through_a_package_that_has_no_summary(tmp_path, init):
    # `import pkg.locks` binds `pkg`, whose file (if any) names no lock: its submodules
    # are still reached.
    files = {
        "pkg/locks.py": "import threading\n\na_lock = threading.Lock()\nb_lock = threading.Lock()\n\n\ndef f():\n"
                        "    with a_lock:\n        with b_lock:\n            pass\n",
        "pkg/x.py": "import pkg.locks\n\n\ndef g():\n    with pkg.locks.b_lock:\n        with pkg.locks.a_lock:\n            pass\n",
    }
    if init is not None:
        files["pkg/__init__.py"] = init
    assert [(f["path"], f["code"]) for f in findings(small_project(tmp_path, files), "--no-cache")] == [
        ("pkg/locks.py", "CCL209"), ("pkg/x.py", "CCL209")
    ]


def test_nothing_is_reported_in_code_that_never_runs(tmp_path):
    # psycopg_pool keeps the sync twin of its async pool under `if False:  # ASYNC`.
    files = {
        "app/__init__.py": "",
        "app/db.py": "async def gather(*tasks):\n    return tasks\n",
        "app/pool.py": "from app.db import gather\n\n\nclass Pool:\n    if False:  # ASYNC\n\n"
                       "        def __del__(self):\n            gather()\n\n    async def close(self):\n        gather()\n",
    }
    found = [(f["path"], f["line"], f["code"]) for f in findings(small_project(tmp_path, files), "--no-cache")]
    assert found == [("app/pool.py", 11, "CCL404")]


def test_a_nested_configuration_is_part_of_the_project_around_it(tmp_path):
    # tests/ with a configuration of its own (extending the root's, as ruff users write one):
    # its files are modules of the same project, named from the outer root.
    files = {
        "app/__init__.py": "",
        "app/db.py": "async def fetch():\n    return 1\n",
        "app/locks.py": "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
                        "def one():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n",
        "tests/test_db.py": "from app.db import fetch\nfrom app.locks import A_LOCK, B_LOCK\n\n\n"
                            "async def test_fetch():\n    fetch()\n\n\n"
                            "def test_other_order():\n    with B_LOCK:\n        with A_LOCK:\n            pass\n",
    }
    (tmp_path / "proj").mkdir()
    root = small_project(tmp_path / "proj", files)
    (root / "tests" / ".conclint.toml").write_text('extend = "../pyproject.toml"\n')
    want = [("app/locks.py", 9, "CCL209"), ("tests/test_db.py", 6, "CCL404"), ("tests/test_db.py", 11, "CCL209")]
    for args in (("--no-cache",), (), (), ("--no-cache", "--jobs", "2")):
        found = sorted((f["path"], f["line"], f["code"]) for f in findings(root, *args))
        assert found == want, args
    # What the nested configuration turns off is off in its files only.
    (root / "tests" / ".conclint.toml").write_text('extend = "../pyproject.toml"\nignore = ["CCL404"]\n')
    for args in (("--no-cache",), ()):
        found = sorted((f["path"], f["line"], f["code"]) for f in findings(root, *args))
        assert found == [("app/locks.py", 9, "CCL209"), ("tests/test_db.py", 11, "CCL209")], args
    # A configuration beside the other (not inside its root) is a project of its own.
    (root / "tests" / ".conclint.toml").unlink()
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text("[tool.conclint]\n")
    (other / "use.py").write_text("from app.db import fetch\n\n\nasync def run():\n    fetch()\n")
    result = run_cli("--no-cache", "--format", "json", str(root), str(other), cwd=tmp_path)
    found = sorted((Path(f["path"]).name, f["code"]) for f in json.loads(result.stdout))
    assert found == [("locks.py", "CCL209"), ("test_db.py", "CCL209"), ("test_db.py", "CCL404")]


def test_the_project_phase_reports_nothing_that_only_code_under_if_false_shows(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/net.py": "import ssl\n",
        "app/helpers.py": "handler = lambda x: x\n",
        "app/locks.py": "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
                        "def one():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
                        "if False:  # the other build\n    def two():\n        with B_LOCK:\n"
                        "            with A_LOCK:\n                pass\n",
        "app/main.py": "if False:\n    from app import net\nfrom gevent import monkey\n\nmonkey.patch_all()\n",
        "app/work.py": "from multiprocessing import Pool\n\nfrom app.helpers import handler\n\n\n"
                       "def main():\n    with Pool(2) as pool:\n        if 0:\n            pool.map(handler, range(3))\n"
                       "        return pool.map(abs, range(3))\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    # The same code where it runs is reported by each rule.
    for name in ("app/locks.py", "app/main.py", "app/work.py"):
        path = root / name
        path.write_text(path.read_text().replace("if False:", "if True:").replace("if 0:", "if 1:"))
    found = sorted((f["path"], f["code"]) for f in findings(root, "--no-cache"))
    assert found == [("app/locks.py", "CCL209"), ("app/locks.py", "CCL209"), ("app/main.py", "CCL401"), ("app/work.py", "CCL105")]


def test_a_fix_not_written_leaves_the_project_findings_at_the_lines_on_disk(tmp_path):
    # The busy-wait's fix would shorten the file by a line; written, the inversion moves up.
    source = (
        "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\ndone = threading.Event()\n\n\n"
        "def spin():\n    while not done.is_set():\n        pass\n\n\n"
        "def transfer():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
        "def audit():\n    with B_LOCK:\n        with A_LOCK:\n            pass\n"
    )
    root = small_project(tmp_path, {"m.py": source})
    os.link(root / "m.py", root / "m.bak")  # a hard-linked file is never replaced
    result = run_cli("--no-cache", "--fix", "--output-format", "json", "m.py", cwd=root)
    assert "not fixed" in result.stderr and (root / "m.py").read_text() == source
    places = [(f["line"], [r["line"] for r in f["related"]]) for f in json.loads(result.stdout) if f["code"] == "CCL209"]
    assert places == [(15, [21]), (21, [15])]
    os.unlink(root / "m.bak")
    written = run_cli("--no-cache", "--fix", "--output-format", "json", "m.py", cwd=root)
    places = [(f["line"], [r["line"] for r in f["related"]]) for f in json.loads(written.stdout) if f["code"] == "CCL209"]
    assert (root / "m.py").read_text() != source and places == [(14, [20]), (20, [14])]


STORE = """\
import threading


class Store:
    def __init__(self):
        self._lock = threading.RLock()
        self._io_lock = threading.Lock()

    def save(self):
        with self._lock:
            self._flush()

    def _flush(self):
        with self._io_lock:
            with self._lock:  # taken again: every caller holds it
                pass
"""


def test_an_rlock_taken_again_in_a_helper_every_caller_holds_it_for_is_no_inversion(tmp_path):
    root = small_project(tmp_path, {"store.py": STORE})
    assert findings(root, "--no-cache") == []
    # Handed on as a thread's target, the helper also runs without the lock: an inversion.
    (root / "store.py").write_text(STORE + "\n    def start(self):\n        threading.Thread(target=self._flush).start()\n")
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]
    # So it does if one caller does not hold it.
    (root / "store.py").write_text(STORE + "\n    def other(self):\n        self._flush()\n")
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]


def test_a_cycle_every_step_of_which_holds_one_gate_lock_is_no_inversion(tmp_path):
    both_orders = (
        "def f():\n    with GATE:\n        with A_LOCK:\n            with B_LOCK:\n                pass\n\n\n"
        "def g():\n    with GATE:\n        with B_LOCK:\n            with A_LOCK:\n                pass\n"
    )
    head = "import threading\n\nGATE = threading.Lock()\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
    root = small_project(tmp_path, {"m.py": head + both_orders})
    assert findings(root, "--no-cache") == []
    # Without the gate on one of the paths, the two can meet.
    (root / "m.py").write_text(head + both_orders.replace("    with GATE:\n        with B_LOCK:", "    if True:\n        with B_LOCK:"))
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]
    # An instance's lock is no gate for module locks: two instances can each hold their own.
    cls = (
        "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\nclass Job:\n"
        "    def __init__(self):\n        self._gate = threading.Lock()\n\n"
        "    def f(self):\n        with self._gate:\n            with A_LOCK:\n                with B_LOCK:\n                    pass\n\n"
        "    def g(self):\n        with self._gate:\n            with B_LOCK:\n                with A_LOCK:\n                    pass\n"
    )
    (root / "m.py").write_text(cls)
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]


def test_one_lock_bound_to_two_names_is_one_lock(tmp_path):
    source = (
        "import threading\n\nR_LOCK = S_LOCK = threading.RLock()\n\n\n"
        "def f():\n    with R_LOCK:\n        with S_LOCK:\n            pass\n\n\n"
        "def g():\n    with S_LOCK:\n        with R_LOCK:\n            pass\n\n\n"
        "class Box:\n    def __init__(self):\n        self._a = self._b = threading.RLock()\n\n"
        "    def f(self):\n        with self._a:\n            with self._b:\n                pass\n\n"
        "    def g(self):\n        with self._b:\n            with self._a:\n                pass\n"
    )
    root = small_project(tmp_path, {"m.py": source})
    assert findings(root, "--no-cache") == []
    # `B_LOCK = A_LOCK` names A_LOCK again: taking C between them in both orders is an inversion.
    alias = (
        "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = A_LOCK\nC_LOCK = threading.Lock()\n\n\n"
        "def one():\n    with A_LOCK:\n        with C_LOCK:\n            pass\n\n\n"
        "def two():\n    with C_LOCK:\n        with B_LOCK:\n            pass\n"
    )
    (root / "m.py").write_text(alias)
    assert [f["line"] for f in findings(root, "--no-cache")] == [10, 16]


def test_a_module_under_src_is_never_taken_for_a_third_party_one_of_its_name_tail(tmp_path):
    # src/ is the import root: `redis.client` is the third-party package, not acme.redis.client
    # (acme: a namespace package, without __init__.py).
    files = {
        "src/acme/redis/__init__.py": "",
        "src/acme/redis/client.py": "async def flush(conn):\n    await conn.flushdb()\n",
        "src/acme/jobs.py": "from redis.client import flush\n\n\nasync def nightly(conn):\n    flush(conn)\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    jobs = root / "src" / "acme" / "jobs.py"
    jobs.write_text(jobs.read_text().replace("from redis.client", "from acme.redis.client"))
    assert [(f["path"], f["code"]) for f in findings(root, "--no-cache")] == [("src/acme/jobs.py", "CCL404")]


def test_a_coroutine_function_rebound_after_its_def_is_not_one_for_its_importers(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/sync.py": "def fetch():\n    return 1\n",
        "app/db.py": "async def fetch():\n    return 1\n\n\nfrom app.sync import fetch  # the final binding\n",
        "app/main.py": "from app.db import fetch\n\n\nasync def main():\n    fetch()\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    (root / "app" / "db.py").write_text("from app.sync import fetch\n\n\nasync def fetch():\n    return 1\n")
    assert [(f["path"], f["code"]) for f in findings(root, "--no-cache")] == [("app/main.py", "CCL404")]


def test_a_relative_import_beyond_the_top_level_package_names_no_module(tmp_path):
    # Python raises ImportError there: `from ..locks` in pkg/x.py is not the root's locks.py.
    locks = "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\ndef one():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n"
    other = "from {dots}locks import A_LOCK, B_LOCK\n\n\ndef two():\n    with B_LOCK:\n        with A_LOCK:\n            pass\n"
    root = small_project(tmp_path, {"locks.py": locks, "pkg/__init__.py": "", "pkg/x.py": other.format(dots="..")})
    assert findings(root, "--no-cache") == []
    (root / "pkg" / "locks.py").write_text(locks)
    (root / "pkg" / "x.py").write_text(other.format(dots="."))
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]


def test_a_noqa_where_a_string_or_continuation_ends_covers_a_cross_module_finding(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/lib.py": "async def coro(x):\n    return x\n",
        "pkg/use.py": 'from pkg.lib import coro\n\n\nasync def main():\n    coro("""\n""")\n    coro(2 \\\n         )\n',
        "pkg/locks.py": "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
                        "def f():\n    with A_LOCK:\n        with B_LOCK, \\\n             open('x'):\n            pass\n\n\n"
                        "def g():\n    with B_LOCK:\n        with A_LOCK:\n            pass\n",
    }
    root = small_project(tmp_path, files)
    assert sorted((f["path"], f["code"]) for f in findings(root, "--no-cache")) == [
        ("pkg/locks.py", "CCL209"), ("pkg/locks.py", "CCL209"), ("pkg/use.py", "CCL404"), ("pkg/use.py", "CCL404"),
    ]
    added = run_cli("--no-cache", "--add-noqa", ".", cwd=root)
    assert "Added 4 noqa comments." in added.stderr
    assert findings(root, "--no-cache") == []
    before = {name: (root / name).read_text() for name in files}
    run_cli("--no-cache", "--fix", ".", cwd=root)  # the comments are used: CCL900 keeps them
    assert {name: (root / name).read_text() for name in files} == before


def test_an_import_under_if_false_binds_nothing_for_the_project_phase(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/other.py": "def coro():\n    return 1\n",
        "pkg/lib.py": "async def coro():\n    return 1\n",
        "pkg/x.py": "from pkg.other import coro\n\nif False:\n    from pkg.lib import coro\n\n\nasync def b():\n    coro()\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    (root / "pkg" / "x.py").write_text(files["pkg/x.py"].replace("if False:", "if True:"))
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL404"]


def test_gates_of_pairs_do_not_hide_a_longer_cycle_and_a_condition_is_no_gate(tmp_path):
    # Each pair under its own gate; the ring A -> B -> C -> A has none in common.
    pairs = "".join(
        f"def {x}{y}():\n    with {g}:\n        with {x}:\n            with {y}:\n                pass\n\n\n"
        f"def {y}{x}():\n    with {g}:\n        with {y}:\n            with {x}:\n                pass\n\n\n"
        for x, y, g in (("A", "B", "G1"), ("B", "C", "G2"), ("C", "A", "G3"))
    )
    head = "import threading\n\nG1 = threading.Lock()\nG2 = threading.Lock()\nG3 = threading.Lock()\n"
    head += "A = threading.Lock()\nB = threading.Lock()\nC = threading.Lock()\n\n\n"
    root = small_project(tmp_path, {"ring.py": head + pairs})
    # Both rings (A -> B -> C and A -> C -> B), each at its three places.
    assert [(f["line"], f["code"]) for f in findings(root, "--no-cache")] == [(line, "CCL209") for line in (14, 21, 28, 35, 42, 49)]
    # A Condition's wait() lets go of it: no gate.
    cond = (
        "import threading\n\nCOND = threading.Condition()\nA = threading.Lock()\nB = threading.Lock()\n\n\n"
        "def f():\n    with COND:\n        with A:\n            COND.wait(0.1)\n            with B:\n                pass\n\n\n"
        "def g():\n    with COND:\n        with B:\n            with A:\n                pass\n"
    )
    (root / "ring.py").write_text(cond)
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]


def test_what_a_def_imports_makes_locks_and_reaches_its_nested_defs(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/locks.py": "import threading\n\nA = threading.Lock()\nB = threading.Lock()\n\n\n"
                        "def take_a():\n    with A:\n        pass\n\n\ndef take_b():\n    with B:\n        pass\n",
        "pkg/user.py": "import threading  # (lock vocabulary: threading.Lock)\n\n\n"
                       "def outer():\n    from pkg.locks import A, take_b\n\n    def inner():\n        with A:\n            take_b()\n\n    inner()\n\n\n"
                       "def other():\n    from pkg.locks import B, take_a\n    with B:\n        take_a()\n",
        "pkg/cls.py": "class Two:\n    def __init__(self):\n        import threading\n        self._a = threading.Lock()\n        self._b = threading.Lock()\n\n"
                      "    def one(self):\n        with self._a:\n            with self._b:\n                pass\n\n"
                      "    def two(self):\n        with self._b:\n            with self._a:\n                pass\n",
    }
    root = small_project(tmp_path, files)
    assert sorted(f["path"] for f in findings(root, "--no-cache")) == ["pkg/cls.py", "pkg/cls.py", "pkg/user.py", "pkg/user.py"]


def test_a_helper_called_where_its_caller_cannot_be_told_is_judged_as_it_stands(tmp_path):
    root = small_project(tmp_path, {"store.py": STORE + "\n    def poke(self):\n        self.peer._flush()\n"})
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL209", "CCL209"]


def test_imports_on_a_def_line_after_a_semicolon_or_a_backslash_are_followed(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/io.py": "async def fetch():\n    return 1\n",
        "app/one.py": "async def z():\n    pass\n\n\n"
                      "def e(): from app.io import fetch; fetch()\n\n\n"
                      "def s():\n    import os; from app.io import fetch\n    fetch()\n\n\n"
                      "def b():\n    from app.io import \\\n        fetch\n    fetch()\n",
    }
    root = small_project(tmp_path, files)
    assert [(f["line"], f["code"]) for f in findings(root, "--no-cache")] == [(5, "CCL404"), (10, "CCL404"), (16, "CCL404")]


def test_one_place_reports_one_cycle_pairs_included(tmp_path):
    source = (
        "import threading\n\nA = threading.Lock()\nB = threading.Lock()\nC = threading.Lock()\n\n\n"
        "def f():\n    with A:\n        with B:\n            pass\n\n\n"
        "def g():\n    with B:\n        with A:\n            pass\n\n\n"
        "def h():\n    with B:\n        with C:\n            pass\n\n\n"
        "def k():\n    with C:\n        with A:\n            pass\n"
    )
    root = small_project(tmp_path, {"m.py": source})
    places = [(f["line"], f["column"]) for f in findings(root, "--no-cache")]
    assert len(places) == len(set(places)) and places


def test_a_call_that_does_not_run_its_body_there_takes_no_lock_there(tmp_path):
    # Calling a generator or a coroutine function makes an object and runs nothing; a def
    # behind a decorator conclint does not know may run later, elsewhere (a thread); a
    # generator made a context manager runs on entering its `with`.
    head = (
        "import threading\nfrom contextlib import contextmanager\n\nfrom pkg.deco import in_thread\n\n"
        "A_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
        "def ordered():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
    )
    made = (
        "def gen_a():\n    with A_LOCK:\n        yield 1\n\n\n"
        "async def co_a():\n    with A_LOCK:\n        pass\n\n\n"
        "@in_thread\ndef background():\n    with A_LOCK:\n        pass\n\n\n"
        "def user():\n    with B_LOCK:\n        g = gen_a()\n        c = co_a()\n        background()\n    return list(g), c\n"
    )
    deco = "import threading\n\n\ndef in_thread(f):\n    return lambda: threading.Thread(target=f).start()\n"
    root = small_project(tmp_path, {"pkg/__init__.py": "", "pkg/deco.py": deco, "pkg/m.py": head + made})
    assert findings(root, "--no-cache") == []
    managed = "\n\n@contextmanager\ndef holding_a():\n    with A_LOCK:\n        yield\n\n\ndef cm_user():\n    with B_LOCK:\n        with holding_a():\n            pass\n"
    (root / "pkg" / "m.py").write_text(head + made + managed)
    found = [(f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert found == [(12, "CCL209"), (48, "CCL209")]
    # A decorator known to run the def at once is followed.
    (root / "pkg" / "m.py").write_text(head + made.replace("@in_thread", "@staticmethod"))
    assert [f["line"] for f in findings(root, "--no-cache")] == [12, 36]


def test_code_that_never_runs_holding_a_lock_and_a_lock_let_go_of_inside_its_with_take_no_edge(tmp_path):
    head = (
        "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
        "def ordered():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
    )
    others = (
        # The idiom for calling out without the lock: let go of it, take it back after.
        "def call_out():\n    with B_LOCK:\n        B_LOCK.release()\n        try:\n            with A_LOCK:\n"
        "                pass\n        finally:\n            B_LOCK.acquire()\n\n\n"
        "def dead():\n    with B_LOCK:\n        return\n        with A_LOCK:\n            pass\n\n\n"
        "def never():\n    with B_LOCK:\n        while False:\n            with A_LOCK:\n                pass\n"
    )
    root = small_project(tmp_path, {"m.py": head + others})
    assert findings(root, "--no-cache") == []
    # Each of them, where it runs, is an inversion.
    for old, new in (
        ("        B_LOCK.release()\n", ""), ("        return\n        with A_LOCK", "        print()\n        with A_LOCK"),
        ("while False:", "while True:"),
    ):
        (root / "m.py").write_text(head + others.replace(old, new, 1))
        assert [f["code"] for f in findings(root, "--no-cache", "--select", "CCL209")] == ["CCL209"] * 2, old


def test_names_are_followed_through_packages_that_have_no_summary(tmp_path):
    # `import app.sub.db` then `app.sub.db.fetch()`, with app/ and app/sub/ holding nothing
    # the summaries keep (an empty __init__.py, a namespace package), and a package whose
    # __init__.py only re-exports (`from .db import fetch`).
    files = {
        "app/__init__.py": "",
        "app/sub/db.py": "async def fetch():\n    return 1\n",
        "app/main.py": "import app.sub.db\n\n\nasync def main():\n    app.sub.db.fetch()\n",
        "shop/__init__.py": "from .impl import grab_first, fetch_all\n",
        "shop/impl.py": "import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
                        "def take_both():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
                        "def grab_first():\n    with A_LOCK:\n        pass\n\n\nasync def fetch_all():\n    return []\n",
        "shop/user.py": "import shop\nfrom shop import grab_first\nfrom shop.impl import B_LOCK\n\n\n"
                        "def g():\n    with B_LOCK:\n        grab_first()\n\n\nasync def h():\n    shop.fetch_all()\n",
    }
    root = small_project(tmp_path, files)
    found = [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert found == [
        ("app/main.py", 5, "CCL404"), ("shop/impl.py", 9, "CCL209"), ("shop/user.py", 8, "CCL209"),
        ("shop/user.py", 12, "CCL404"),
    ]
    assert [(f["path"], f["line"], f["code"]) for f in findings(root)] == found  # (cached)
    # The re-export is an input of the project phase: without it, nothing is found there.
    (root / "shop" / "__init__.py").write_text("")
    assert [f["path"] for f in findings(root)] == ["app/main.py"]


def test_one_module_name_under_two_import_roots_is_neither_module(tmp_path):
    # `conclint ../one ../two` from a third directory: each tree has its own util.py, each
    # taking the locks in one order; merged by name, they made a false cycle.
    for name, first, second in (("one", "A_LOCK", "B_LOCK"), ("two", "B_LOCK", "A_LOCK")):
        tree = tmp_path / name
        tree.mkdir()
        (tree / "util.py").write_text("import threading\n\nA_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n")
        (tree / "user.py").write_text(
            f"from util import A_LOCK, B_LOCK\n\n\ndef f():\n    with {first}:\n        with {second}:\n            pass\n"
        )
    (tmp_path / "cwd").mkdir()
    result = run_cli("--no-cache", "--format", "json", "../one", "../two", cwd=tmp_path / "cwd")
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout
    # One tree alone is one import root: its inversion, if any, is found.
    (tmp_path / "one" / "other.py").write_text(
        "from util import A_LOCK, B_LOCK\n\n\ndef g():\n    with B_LOCK:\n        with A_LOCK:\n            pass\n"
    )
    result = run_cli("--no-cache", "--format", "json", "../one", cwd=tmp_path / "cwd")
    assert sorted(Path(f["path"]).name for f in json.loads(result.stdout)) == ["other.py", "user.py"]
    # Both trees' cycles inside one module each: reported in each, the module named as written.
    for name in ("one", "two"):
        (tmp_path / name / "util.py").write_text(
            "import threading\n\nA = threading.Lock()\nB = threading.Lock()\n\n\n"
            "def f():\n    with A:\n        with B:\n            pass\n\n\n"
            "def g():\n    with B:\n        with A:\n            pass\n"
        )
    result = run_cli("--no-cache", "--format", "json", "--select", "CCL209", "../one", "../two", cwd=tmp_path / "cwd")
    found = [f for f in json.loads(result.stdout) if Path(f["path"]).name == "util.py"]
    assert len(found) == 4 and all("`util.B` is taken" in f["message"] or "`util.A` is taken" in f["message"] for f in found)
    assert not any("[" in f["message"] for f in found)


def test_an_imported_name_rebound_or_shadowed_is_not_the_import(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/db.py": "async def fetch():\n    return 1\n",
        "app/work.py": "handler = lambda x: x + 1\n\n\ndef compute(x):\n    print(x)\n\n\n"
                       "def make(n):\n    def inner(x):\n        return x * n\n    return inner\n",
        "app/compat.py": "import threading\n\n\ndef make_lock():\n    return threading.Lock()\n",
        # Rebound at module level after the import: callers get the new binding.
        "app/co.py": "from app.db import fetch\nfrom app import db\n\n\ndef sync_fetch():\n    return 1\n\n\n"
                     "fetch = sync_fetch\ndb = None\n\n\nasync def main():\n    fetch()\n    db.fetch()\n",
        "app/spawn.py": "from multiprocessing import Process\nfrom app.work import handler, compute, make\n\n"
                        "handler = abs\ncompute = make\n\n\ndef run():\n    Process(target=handler).start()\n"
                        "    Process(target=compute(1)).start()\n",
        # A parameter or a local of the def (or of a def around it) named like the import.
        "app/locks.py": "from app.compat import make_lock\n\n\ndef given(make_lock):\n    lk = make_lock()\n"
                        "    lk.acquire()\n    print(1)\n    lk.release()\n\n\n"
                        "def local():\n    make_lock = object\n    lk = make_lock()\n    lk.acquire()\n    print(1)\n    lk.release()\n\n\n"
                        "def outer(make_lock):\n    def inner():\n        lk = make_lock()\n        lk.acquire()\n"
                        "        print(1)\n        lk.release()\n    return inner\n",
    }
    root = small_project(tmp_path, files)
    # `compute = make` is an alias of the import `make`, whose call returns a closure.
    assert [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")] == [("app/spawn.py", 10, "CCL105")]
    # Without the rebinding or the shadowing, each is reported.
    files["app/co.py"] = files["app/co.py"].replace("fetch = sync_fetch\ndb = None\n", "")
    files["app/spawn.py"] = files["app/spawn.py"].replace("handler = abs\n", "")
    files["app/locks.py"] = files["app/locks.py"].replace("def given(make_lock):", "def given():")
    small_project(root, files)
    found = [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")]
    assert found == [
        ("app/co.py", 12, "CCL404"), ("app/co.py", 13, "CCL404"), ("app/locks.py", 6, "CCL201"),
        ("app/spawn.py", 8, "CCL105"), ("app/spawn.py", 9, "CCL105"),
    ]


def test_a_first_party_module_that_patches_first_patches_for_what_follows(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/boot.py": "from gevent import monkey\n\nmonkey.patch_all()\nimport socket\n",
        "app/net.py": "import ssl\n",
        "main.py": "import app.boot\nimport app.net\nfrom gevent import monkey\n\nmonkey.patch_all()\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    # Imported before the module that patches, app.net keeps the blocking ssl.
    (root / "main.py").write_text(files["main.py"].replace("import app.boot\nimport app.net\n", "import app.net\nimport app.boot\n"))
    assert [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")] == [("main.py", 1, "CCL401")]
    # A module that imports a patched module above its own patch keeps it; what is imported
    # after it is patched.
    (root / "main.py").write_text(files["main.py"])
    (root / "app" / "boot.py").write_text("import socket\nfrom gevent import monkey\n\nmonkey.patch_all()\n")
    assert [(f["path"], f["line"], f["code"]) for f in findings(root, "--no-cache")] == [("app/boot.py", 4, "CCL401"), ("main.py", 1, "CCL401")]


def test_only_an_unconditional_patch_all_of_a_first_party_module_patches_for_its_importer(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/net.py": "import ssl\n",
        "app/thr.py": "import threading\n",
        "main.py": "import app.boot\nimport app.net\nimport app.thr\nfrom gevent import monkey\n\nmonkey.patch_all()\n",
    }
    root = small_project(tmp_path, files)
    for boot, flagged in (
        ("from gevent import monkey\n\nmonkey.patch_all()\n", []),
        # A plain `import time` above its own patch is fine, as it is in the importer (the
        # patch changes the module's functions in place).
        ("import time\nfrom gevent import monkey\n\nmonkey.patch_all()\n", []),
        # Under a guard (runs only as a script), or a partial patch: the importer is not patched.
        ("from gevent import monkey\n\nif __name__ == '__main__':\n    monkey.patch_all()\n", [2, 3]),
        ("from gevent import monkey\n\nmonkey.patch_socket()\n", [2, 3]),
    ):
        (root / "app" / "boot.py").write_text(boot)
        found = [f["line"] for f in findings(root, "--no-cache") if f["path"] == "main.py"]
        assert found == flagged, boot


def test_a_release_that_may_not_happen_leaves_the_lock_held_and_an_aliased_contextmanager_runs(tmp_path):
    head = (
        "import contextlib as cl\nimport threading\nfrom contextlib import contextmanager as cm\n\n"
        "A_LOCK = threading.Lock()\nB_LOCK = threading.Lock()\n\n\n"
        "def ordered():\n    with A_LOCK:\n        with B_LOCK:\n            pass\n\n\n"
    )
    cases = {
        # Let go of only when `cond`, or after a call that may raise first: still held otherwise.
        "branch": "def f(cond):\n    with B_LOCK:\n        if cond:\n            B_LOCK.release()\n        with A_LOCK:\n            pass\n",
        "try": "def f(work):\n    with B_LOCK:\n        try:\n            work()\n            B_LOCK.release()\n        except ValueError:\n"
               "            pass\n        with A_LOCK:\n            pass\n",
        # A generator made a context manager through an alias of contextmanager.
        "cm": "@cm\ndef held():\n    with A_LOCK:\n        yield\n\n\ndef f():\n    with B_LOCK:\n        with held():\n            pass\n",
        "cl": "@cl.contextmanager\ndef held():\n    with A_LOCK:\n        yield\n\n\ndef f():\n    with B_LOCK:\n        with held():\n            pass\n",
    }
    root = small_project(tmp_path, {"m.py": head})
    for name, tail in cases.items():
        (root / "m.py").write_text(head + tail)
        assert [f["code"] for f in findings(root, "--no-cache", "--select", "CCL209")] == ["CCL209", "CCL209"], name
    # Let go of on every path before the other lock is taken: no inversion.
    (root / "m.py").write_text(head + "def f(cond):\n    with B_LOCK:\n        B_LOCK.release()\n        with A_LOCK:\n            pass\n"
                               "        B_LOCK.acquire()\n")
    assert findings(root, "--no-cache", "--select", "CCL209") == []


@pytest.mark.parametrize("rebinding", [
    "fetch, x = print, 1\n", "for fetch in [print]:\n    pass\n", "if (fetch := print):\n    pass\n",
    "with open(__file__) as fetch:\n    pass\n",
])
def test_any_module_level_rebinding_of_an_imported_name_ends_the_import(tmp_path, rebinding):
    files = {
        "app/__init__.py": "",
        "app/db.py": "async def fetch():\n    return 1\n",
        "app/use.py": "from app.db import fetch\n\n" + rebinding + "\n\nasync def main():\n    fetch()\n",
    }
    root = small_project(tmp_path, files)
    assert findings(root, "--no-cache") == []
    (root / "app" / "use.py").write_text(files["app/use.py"].replace(rebinding, ""))
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL404"]



@pytest.mark.parametrize("layout", [
    # An optional dependency's fallback, a binding before the import, one in a branch: the
    # import may well be what the name holds, and is followed.
    "try:\n    from app.db import fetch\nexcept ImportError:\n    fetch = None\n",
    "fetch = None\nfrom app.db import fetch\n",
    "from app.db import fetch\n\nif __debug__ is False:\n    fetch = print\n",
    "from app.db import fetch\n\ntry:\n    pass\nexcept ValueError as fetch:\n    pass\n",
])
def test_a_binding_that_may_not_run_after_the_import_keeps_it(tmp_path, layout):
    files = {
        "app/__init__.py": "",
        "app/db.py": "async def fetch():\n    return 1\n",
        "app/use.py": layout + "\n\nasync def main():\n    fetch()\n",
    }
    root = small_project(tmp_path, files)
    assert [f["code"] for f in findings(root, "--no-cache")] == ["CCL404"]
