"""scripts/new_rule.py, the rule scaffolder, run for real into a copy of the checkout: what it
writes registers and passes the registry, architecture and page-structure tests as it is, and
fails only the tests that need what the contributor must write, saying what that is.

Also here: the check that no placeholder of the scaffolder is left in the checkout itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

from conclint.rules import catalogue
from helpers import ROOT

SCRIPT = ROOT / "scripts" / "new_rule.py"
PLACEHOLDER = "TODO(new_rule)"  # what scripts/new_rule.py marks; a test below checks it does


def scaffolded_files(root: Path) -> List[Path]:
    """Where the scaffolder writes: rule modules, rule pages, fixtures."""
    return sorted(
        [
            *(root / "src" / "conclint" / "rules").glob("ccl*.py"),
            *(root / "rules").glob("CCL*.md"),
            *(root / "tests" / "fixtures").rglob("*.py"),
        ]
    )


def placeholders_left(root: Path) -> List[str]:
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in scaffolded_files(root)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PLACEHOLDER in line
    ]


def test_no_placeholders_of_new_rule_are_left():
    left = placeholders_left(ROOT)
    assert not left, "scripts/new_rule.py left these for the rule's author to write:\n" + "\n".join(left)


# ------------------------------------------------------------------ the scaffolder, for real
def free_code(hundreds: int, taken: Set[str]) -> str:
    return next(f"CCL{hundreds}{n:02d}" for n in range(1, 100) if f"CCL{hundreds}{n:02d}" not in taken)


TAKEN = set(catalogue())
PLAIN = (free_code(4, TAKEN), "scaffolded-plain")  # no fix, area from the code: coroutines
FIXING = (free_code(2, TAKEN), "scaffolded-fixing")  # --fix unsafe --area locks
# Free codes for the refusals, whatever the other tests created.
FREE4 = free_code(4, TAKEN | {PLAIN[0]})
FREE5 = free_code(5, TAKEN)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of what the scaffolder and the tests read: src/, rules/, tests/, pyproject.toml."""
    root = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.pyc")
    for name in ("src", "rules", "tests"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def env_for(root: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root / "src")  # the copy's conclint, not this checkout's
    env.pop("PYTEST_ADDOPTS", None)
    return env


def new_rule(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--root", str(root)],
        capture_output=True, text=True, env=env_for(root), timeout=60,
    )


def snapshot(root: Path) -> Set[Path]:
    return set(scaffolded_files(root))


def stem(code: str, name: str) -> str:
    return f"{code.lower()}_{name.replace('-', '_')}"


@pytest.fixture(scope="module")
def scaffolded(checkout) -> Path:
    """The copy with two new rules: one without a fix, one with an unsafe fix."""
    for args in (PLAIN, (*FIXING, "--fix", "unsafe", "--area", "locks")):
        result = new_rule(checkout, *args)
        assert result.returncode == 0, result.stderr
        assert f"Created {args[0]} {args[1]}:" in result.stdout
    return checkout


def test_the_files_are_created(scaffolded):
    for (code, name), area, twin in ((PLAIN, "coroutines", False), (FIXING, "locks", True)):
        module = scaffolded / "src" / "conclint" / "rules" / f"{stem(code, name)}.py"
        fixture = scaffolded / "tests" / "fixtures" / area / f"{stem(code, name)}.py"
        page = (scaffolded / "rules" / f"{code}.md").read_text(encoding="utf-8")
        assert module.is_file() and fixture.is_file()
        assert fixture.with_name(f"{stem(code, name)}.fixed.py").is_file() is twin
        assert page.startswith(f"# {code}: {name}\n")
        assert ("```python fixed" in page) is twin
        for path in (module, fixture):
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
            assert PLACEHOLDER in path.read_text(encoding="utf-8")


REGISTERED = """
import json, sys
from conclint.engine import lint_source
from conclint.rule import all_rules, hand_written_gate
from conclint.settings import Settings, resolve_selection

out = {}
for code in sys.argv[1:]:
    cls = all_rules()[code]
    source = b"import asyncio\\nimport threading\\n\\nasync def f(lock):\\n    lock.acquire()\\n    asyncio.create_task(f(lock))\\n"
    findings = lint_source(source, "x.py", Settings(resolve_selection([code], [], []), gate=False)).findings
    out[code] = {
        "module": cls.__module__, "name": cls.name, "class": cls.__name__, "doc": cls.__doc__,
        "fix": cls.fix and cls.fix.value, "triggers": len(cls.triggers),
        "hand_written_gate": hand_written_gate(cls) is not None, "findings": [f.code for f in findings],
    }
print(json.dumps(out))
"""


def test_the_rules_import_and_register(scaffolded):
    result = subprocess.run(
        [sys.executable, "-c", REGISTERED, PLAIN[0], FIXING[0]],
        capture_output=True, text=True, env=env_for(scaffolded), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rules = json.loads(result.stdout)
    plain, fixing = rules[PLAIN[0]], rules[FIXING[0]]
    assert plain["module"] == f"conclint.rules.{stem(*PLAIN)}" and plain["class"] == "ScaffoldedPlain"
    assert fixing["module"] == f"conclint.rules.{stem(*FIXING)}" and fixing["class"] == "ScaffoldedFixing"
    assert (plain["fix"], fixing["fix"]) == (None, "unsafe")
    for rule, name in ((plain, PLAIN[1]), (fixing, FIXING[1])):
        assert rule["name"] == name
        assert rule["triggers"] > 0, "the triggers are derived from the interest"
        assert not rule["hand_written_gate"], "the second gate is derived too"
        assert rule["findings"] == [], "a new rule reports nothing until it is written"
        assert "\n" not in rule["doc"]


def test_the_cli_explains_and_lists_them(scaffolded):
    run = [sys.executable, "-m", "conclint"]
    explained = subprocess.run([*run, "--explain", PLAIN[0]], capture_output=True, text=True, env=env_for(scaffolded), timeout=120)
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith(f"# {PLAIN[0]}: {PLAIN[1]}")
    listed = subprocess.run([*run, "--list-rules"], capture_output=True, text=True, env=env_for(scaffolded), timeout=120)
    assert {PLAIN[0], FIXING[0]} <= {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def outcomes(report: Path) -> Dict[str, Tuple[str, str]]:
    """test id (file::name) -> (outcome, message) from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        test = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found: Optional[ET.Element] = case.find(kind)
            if found is not None:
                outcome, message = kind, (found.get("message") or "") + "\n" + (found.text or "")
                break
        out[test] = (outcome, message)
    return out


def test_the_copy_passes_the_registry_and_fails_only_on_what_is_left_to_write(scaffolded, tmp_path):
    (plain_code, plain_name), (fixing_code, fixing_name) = PLAIN, FIXING
    plain_fixture = f"coroutines/{stem(plain_code, plain_name)}.py"
    fixing_fixture = f"locks/{stem(fixing_code, fixing_name)}.py"
    tests = [
        "tests/test_registry.py",
        "tests/test_architecture.py",
        "tests/test_rule_pages.py::test_every_page_belongs_to_a_rule",
        "tests/test_rule_pages.py::test_pages_are_the_checkout_rules_directory_or_packaged_copy",
        *(f"tests/test_rule_pages.py::test_page_structure[{c}]" for c in (plain_code, fixing_code)),
        *(f"tests/test_rule_pages.py::test_page_examples_behave_as_documented[{c}]" for c in (plain_code, fixing_code)),
        *(f"tests/test_fixtures.py::test_fixture_findings_match_markers[{f}]" for f in (plain_fixture, fixing_fixture)),
        f"tests/test_fixtures.py::test_fix_matches_fixed_twin_and_is_stable[{fixing_fixture}]",
        "tests/test_new_rule.py::test_no_placeholders_of_new_rule_are_left",
    ]
    report = tmp_path / "report.xml"
    result = subprocess.run(
        # (in this process: a handful of tests, no workers of its own on top of the suite's)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", f"--junitxml={report}", *tests],
        cwd=scaffolded, capture_output=True, text=True, env=env_for(scaffolded), timeout=600,
    )
    assert report.exists(), result.stdout + result.stderr
    seen = outcomes(report)
    assert len(seen) >= len(tests), result.stdout
    failed = {test: message for test, (outcome, message) in seen.items() if outcome != "passed"}
    examples = {f"tests/test_rule_pages.py::test_page_examples_behave_as_documented[{c}]" for c in (plain_code, fixing_code)}
    placeholders = "tests/test_new_rule.py::test_no_placeholders_of_new_rule_are_left"
    assert set(failed) == examples | {placeholders}, result.stdout
    for test in examples:
        assert "the Example marks at least one finding of its rule" in failed[test]
    left = failed[placeholders]
    for path in (
        f"src/conclint/rules/{stem(plain_code, plain_name)}.py",
        f"rules/{plain_code}.md",
        f"tests/fixtures/{plain_fixture}",
        f"src/conclint/rules/{stem(fixing_code, fixing_name)}.py",
        f"rules/{fixing_code}.md",
        f"tests/fixtures/{fixing_fixture}",
        f"tests/fixtures/locks/{stem(fixing_code, fixing_name)}.fixed.py",
    ):
        assert f"{path}:" in left, path


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    "args, problem",
    [
        (("CCL405", "some-new-name"), "code CCL405 is taken by async-busy-wait"),
        ((FREE4, "async-busy-wait"), "name async-busy-wait is taken by CCL405"),
        (("CCL45", "some-new-name"), "must be CCL and three digits"),
        (("XYZ406", "some-new-name"), "must be CCL and three digits"),
        (("CCL4060", "some-new-name"), "must be CCL and three digits"),
        (("CCL000", "some-new-name"), "reserved"),
        ((FREE4, "Some_Name"), "must be kebab-case"),
        ((FREE4, "some--name"), "must be kebab-case"),
        ((FREE4, "9-lives"), "must be kebab-case"),
        ((FREE4, "rule"), "its class would be Rule"),
        ((FREE4, "some-new-name", "--area", "threads"), "is a code of coroutines (CCL4xx), not of threads"),
        ((FREE5, "some-new-name"), "no area goes with CCL5xx codes; give one with --area"),
    ],
)
def test_refusals_create_nothing(checkout, args, problem):
    before = snapshot(checkout)
    result = new_rule(checkout, *args)
    assert result.returncode == 2
    assert problem in result.stderr and "nothing was created" in result.stderr
    assert snapshot(checkout) == before


def test_a_file_in_the_way_is_not_overwritten(checkout):
    code = free_code(3, TAKEN)
    page = checkout / "rules" / f"{code}.md"
    page.write_text("someone's draft\n", encoding="utf-8")
    try:
        before = snapshot(checkout)
        result = new_rule(checkout, code, "some-new-name")
        assert result.returncode == 2 and f"would overwrite rules/{code}.md" in result.stderr
        assert snapshot(checkout) == before
        assert page.read_text(encoding="utf-8") == "someone's draft\n"
    finally:
        page.unlink()


def test_a_root_that_is_no_checkout_is_refused(tmp_path):
    result = new_rule(tmp_path, FREE4, "some-new-name")
    assert result.returncode == 2 and "is not a conclint checkout" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_lowercase_code_and_an_explicit_area_are_accepted(checkout):
    code = free_code(5, TAKEN | {FREE5})
    result = new_rule(checkout, code.lower(), "some-other-area", "--area", "threads")
    assert result.returncode == 0, result.stderr
    created = [checkout / "src/conclint/rules" / f"{stem(code, 'some-other-area')}.py", checkout / "rules" / f"{code}.md",
               checkout / "tests/fixtures/threads" / f"{stem(code, 'some-other-area')}.py"]
    try:
        assert all(path.is_file() for path in created)
        assert f'code = "{code}"' in created[0].read_text(encoding="utf-8")
    finally:
        for path in created:
            path.unlink()
