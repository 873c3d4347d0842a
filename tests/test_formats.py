"""Every ``--output-format`` from the real command, checked the way its consumers read it:
the human formats pinned, machine formats against their schemas or parsers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from xml.dom import minidom
from pathlib import Path

import pytest

from helpers import ROOT, run_cli

jsonschema = pytest.importorskip("jsonschema")

# A multi-line finding with a fix (the busy-wait loop), one starting mid-line (CCL308's call)
# and a single-line one whose line holds non-ASCII text before the range.
BUSY = textwrap.dedent(
    """\
    import threading

    done = threading.Event()


    def on_event():
        while not done.is_set():
            pass
        t = threading.Thread(
            print,
        )
        é = t; é.setDaemon(True)
    """
)

FULL = textwrap.dedent(
    """\
    busy.py:7:5: CCL202 [*] busy-wait on an event; call `.wait()` instead
       |
     6 |   def on_event():
     7 |       while not done.is_set():
       |  _____^
     8 | |         pass
       | |____________^
     9 |       t = threading.Thread(
    10 |           print,
       |
    help: Replace the loop with `.wait()` (safe fix)

    busy.py:9:9: CCL308 [*] the first positional parameter of `Thread` is `group`; pass the function as `target=`
       |
     7 |       while not done.is_set():
     8 |           pass
     9 |       t = threading.Thread(
       |  _________^
    10 | |         print,
    11 | |     )
       | |_____^
    12 |       é = t; é.setDaemon(True)
       |
    help: Pass it as `target=` (safe fix)

    busy.py:12:14: CCL301 [*] `setDaemon()` is deprecated since Python 3.10; assign `.daemon = ...`
       |
    10 |         print,
    11 |     )
    12 |     é = t; é.setDaemon(True)
       |              ^^^^^^^^^
       |
    help: Assign `.daemon` (safe fix)

    Found 3 problems (3 fixable with --fix).
    """
)


@pytest.fixture
def busy(tmp_path: Path) -> Path:
    (tmp_path / "busy.py").write_text(BUSY, encoding="utf-8")
    return tmp_path


def lint(cwd: Path, *args: str, env=None):
    return run_cli("--no-cache", *args, cwd=cwd, env=env)


def test_full_is_the_default_and_pinned(busy):
    result = lint(busy, "busy.py")
    assert result.returncode == 1, result.stderr
    assert result.stdout == FULL
    assert lint(busy, "--output-format", "full", "busy.py").stdout == FULL


def test_full_marks_unsafe_fixes_and_shows_related_places():
    # CCL209 (lock-order inversion) has a related place in another file: its lines are shown.
    project = ROOT / "tests" / "fixtures" / "projects" / "nested_with"
    result = run_cli("--no-cache", "--select", "CCL209", "shop", cwd=project)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    (note,) = [i for i, line in enumerate(lines) if line.startswith("note: shop/stock.py:10:14: ")]
    assert lines[note + 4] == "10 |         with ORDERS_LOCK:  # error: CCL209"
    assert lines[note + 5] == "   |              ^^^^^^^^^^^"


def test_unsafe_fix_help_says_how_to_apply_it(tmp_path):
    (tmp_path / "a.py").write_text("import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\n    g()\n    lock.release()\n")
    result = lint(tmp_path, "a.py")
    assert "help: Use `with` to hold the lock (unsafe fix, applied with --unsafe-fixes)" in result.stdout
    assert "a.py:4:10: CCL201 lock acquired" in result.stdout  # no [*] without --unsafe-fixes
    shown = lint(tmp_path, "--unsafe-fixes", "a.py").stdout
    assert "help: Use `with` to hold the lock (unsafe fix)" in shown and "a.py:4:10: CCL201 [*]" in shown


def test_concise_and_its_old_names(busy):
    concise = lint(busy, "--output-format", "concise", "busy.py").stdout
    assert concise.splitlines() == [
        "busy.py:7:5: CCL202 [*] busy-wait on an event; call `.wait()` instead",
        "busy.py:9:9: CCL308 [*] the first positional parameter of `Thread` is `group`; pass the function as `target=`",
        "busy.py:12:14: CCL301 [*] `setDaemon()` is deprecated since Python 3.10; assign `.daemon = ...`",
        "Found 3 problems (3 fixable with --fix).",
    ]
    assert lint(busy, "--format", "text", "busy.py").stdout == concise
    assert lint(busy, "--format", "concise", "busy.py").stdout == concise
    assert lint(busy, "busy.py", env={"CONCLINT_OUTPUT_FORMAT": "concise"}).stdout == concise


def test_colour_follows_the_terminal_and_the_environment(busy):
    assert "\x1b[" not in lint(busy, "busy.py").stdout  # not a terminal
    forced = lint(busy, "busy.py", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[31m\x1b[1mCCL202\x1b[0m" in forced
    assert "\x1b[" not in lint(busy, "busy.py", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert "\x1b[" not in lint(busy, "--no-color", "busy.py", env={"FORCE_COLOR": "1"}).stdout
    # A report file is plain text whatever forces colour on the terminal (as ruff).
    lint(busy, "-o", "report.txt", "busy.py", env={"FORCE_COLOR": "1"})
    report = (busy / "report.txt").read_text()
    assert "CCL202" in report and "\x1b[" not in report


def test_output_file(busy):
    result = lint(busy, "--output-file", "report.txt", "busy.py")
    assert result.returncode == 1 and result.stdout == ""
    assert (busy / "report.txt").read_text(encoding="utf-8") == FULL
    machine = lint(busy, "--output-format", "json", "-o", "out/report.json", "busy.py")
    assert machine.returncode == 2 and "out/report.json: cannot write" in machine.stderr
    (busy / "out").mkdir()
    lint(busy, "--output-format", "json", "-o", "out/report.json", "busy.py")
    assert [f["code"] for f in json.loads((busy / "out" / "report.json").read_text())] == ["CCL202", "CCL308", "CCL301"]


def test_json_lines_is_the_json_array_one_per_line(busy):
    array = json.loads(lint(busy, "--output-format", "json", "busy.py").stdout)
    lines = lint(busy, "--output-format", "json-lines", "busy.py").stdout.splitlines()
    assert [json.loads(line) for line in lines] == array
    assert [f["name"] for f in array] == ["busy-wait", "thread-positional-target", "deprecated-threading-alias"]


# GitLab Code Quality: what a report must hold for each issue
# (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def test_gitlab_code_quality_report(tmp_path):
    (tmp_path / "sub").mkdir()
    # The same pitfall twice in one file: one conclint fingerprint, two GitLab issues.
    (tmp_path / "sub" / "w.py").write_text("import threading\nt = threading.Thread()\nt.setDaemon(True)\nt.setDaemon(True)\n")
    issues = json.loads(lint(tmp_path, "--output-format", "gitlab", "sub").stdout)
    assert len(issues) == 2
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert issue["check_name"] == "CCL301"
        assert issue["severity"] in GITLAB_SEVERITIES
        assert issue["location"]["path"] == "sub/w.py"
        assert isinstance(issue["location"]["positions"]["begin"]["line"], int)
    assert len({issue["fingerprint"] for issue in issues}) == 2
    assert [i["location"]["positions"]["begin"]["line"] for i in issues] == [3, 4]


def test_junit_xml(busy):
    (busy / "clean.py").write_text("import threading\n")
    result = lint(busy, "--output-format", "junit", ".")
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "3"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "busy.py"
    cases = suite.findall("testcase")
    assert [(c.get("name"), c.get("line")) for c in cases] == [("conclint.CCL202", "7"), ("conclint.CCL308", "9"), ("conclint.CCL301", "12")]
    assert cases[0].find("failure").get("message") == "busy-wait on an event; call `.wait()` instead"
    clean = ET.fromstring(lint(busy, "--output-format", "junit", "clean.py").stdout.encode("utf-8"))
    assert clean.get("failures") == "0" and len(clean.findall("testsuite/testcase")) == 1


def test_pylint(busy):
    assert lint(busy, "--output-format", "pylint", "busy.py").stdout.splitlines() == [
        "busy.py:7: [CCL202(busy-wait)] busy-wait on an event; call `.wait()` instead",
        "busy.py:9: [CCL308(thread-positional-target)] the first positional parameter of `Thread` is `group`; pass the function as `target=`",
        "busy.py:12: [CCL301(deprecated-threading-alias)] `setDaemon()` is deprecated since Python 3.10; assign `.daemon = ...`",
    ]


# reviewdog's DiagnosticResult, written from its published definition
# (reviewdog/reviewdog proto/rdf/reviewdog.proto and proto/rdf/jsonschema/DiagnosticResult.jsonschema):
# draft-04, additional properties allowed, lines and columns integers, columns in UTF-8 bytes.
_POSITION = {"type": "object", "properties": {"line": {"type": "integer"}, "column": {"type": "integer"}}}
_RANGE = {"type": "object", "properties": {"start": _POSITION, "end": _POSITION}, "required": ["start"]}
_SOURCE = {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}}
_SEVERITY = {"oneOf": [{"type": "string", "enum": ["UNKNOWN_SEVERITY", "ERROR", "WARNING", "INFO"]}, {"type": "integer"}]}
RDJSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "source": _SOURCE,
        "severity": _SEVERITY,
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["message", "location"],
                "properties": {
                    "message": {"type": "string"},
                    "location": {
                        "type": "object",
                        "required": ["path"],
                        "properties": {"path": {"type": "string"}, "range": _RANGE},
                    },
                    "severity": _SEVERITY,
                    "source": _SOURCE,
                    "code": {"type": "object", "properties": {"value": {"type": "string"}, "url": {"type": "string"}}},
                    "suggestions": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"range": _RANGE, "text": {"type": "string"}}},
                    },
                    "original_output": {"type": "string"},
                },
            },
        },
    },
}


def test_rdjson_against_its_schema_with_byte_columns(busy):
    document = json.loads(lint(busy, "--output-format", "rdjson", "busy.py").stdout)
    jsonschema.Draft4Validator.check_schema(RDJSON_SCHEMA)
    errors = [e.message for e in jsonschema.Draft4Validator(RDJSON_SCHEMA).iter_errors(document)]
    assert errors == []
    last = document["diagnostics"][-1]
    assert last["code"] == {"value": "CCL301"}  # no URL until rule pages are published
    # `    é = t; é.setDaemon(True)`: `setDaemon` is character 14, byte 16 (é is 2 bytes).
    assert last["location"]["range"] == {"start": {"line": 12, "column": 16}, "end": {"line": 12, "column": 25}}
    (suggestion,) = last["suggestions"]
    line = BUSY.splitlines()[11].encode("utf-8")
    start, end = suggestion["range"]["start"]["column"] - 1, suggestion["range"]["end"]["column"] - 1
    assert (line[:start] + suggestion["text"].encode() + line[end:]).decode() == "    é = t; é.daemon = True"


def test_machine_formats_print_nothing_else(busy):
    for fmt in ("json", "sarif", "gitlab", "rdjson"):
        result = lint(busy, "--output-format", fmt, "--statistics", "busy.py")
        json.loads(result.stdout)  # one document, no summary after it
        # json: the statistics array; the others ignore --statistics, and say so.
        assert ("--statistics" in result.stderr) is (fmt != "json")
    github = lint(busy, "--output-format", "github", "busy.py").stdout.splitlines()
    assert len(github) == 3 and all(line.startswith("::error file=busy.py,") for line in github)


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    # More output than a pipe holds, so conclint is still writing when the reader leaves.
    (tmp_path / "many.py").write_text("import threading\nt = threading.Thread()\n" + "t.setDaemon(True)\n" * 3000)
    process = subprocess.Popen(
        [sys.executable, "-m", "conclint", "--no-cache", "many.py"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"many.py:3:3: CCL301")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 1  # findings: the usual exit code
    assert stderr == ""


def test_one_setting_gives_every_format_its_rule_urls(monkeypatch, tmp_path):
    from conclint import docs
    from conclint.findings import Finding
    from conclint.formats import Context, render

    monkeypatch.setattr(docs, "RULE_URL_TEMPLATE", "https://docs.example/rules/{code}")
    finding = Finding("CCL301", "m", str(tmp_path / "w.py"), 1, 1, 1, 2)
    context = Context(root=tmp_path)
    assert json.loads(render("json", [finding], context))[0]["url"] == "https://docs.example/rules/CCL301"
    assert json.loads(render("rdjson", [finding], context))["diagnostics"][0]["code"]["url"] == "https://docs.example/rules/CCL301"
    rules = json.loads(render("sarif", [finding], context))["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["helpUri"] for r in rules}["CCL201"] == "https://docs.example/rules/CCL201"


def test_file_names_that_are_not_utf8_or_hold_control_characters(tmp_path):
    # Every machine format stays a valid document: SARIF percent-encodes the name's bytes,
    # JSON and GitLab show them as U+FFFD (as ruff does), JUnit writes no character XML forbids.
    if sys.platform == "darwin":  # APFS refuses names that are not UTF-8
        pytest.skip("the file system needs UTF-8 names")
    source = b"import threading\nprint(threading.currentThread())\n"
    (tmp_path / os.fsdecode(b"bad\xff.py")).write_bytes(source)
    (tmp_path / "ctl\x01.py").write_bytes(source)
    out = {}
    for fmt in ("sarif", "gitlab", "json", "rdjson", "junit"):
        result = run_cli("--isolated", "--no-cache", "--output-format", fmt, ".", cwd=tmp_path)
        assert result.returncode == 1, (fmt, result.stderr)
        out[fmt] = result.stdout
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(out["sarif"])["runs"][0]["results"]]
    assert sorted(uris) == ["bad%FF.py", "ctl%01.py"]
    assert sorted(f["path"] for f in json.loads(out["json"])) == ["bad\ufffd.py", "ctl\x01.py"]
    assert sorted(i["location"]["path"] for i in json.loads(out["gitlab"])) == ["bad\ufffd.py", "ctl\x01.py"]
    json.loads(out["rdjson"])
    names = sorted(s.getAttribute("name") for s in minidom.parseString(out["junit"].encode()).getElementsByTagName("testsuite"))
    assert names == ["bad\ufffd.py", "ctl\ufffd.py"]


def test_json_reports_what_the_text_formats_report_on_code_too_deep_to_rewrite(tmp_path):
    # Building a fix's edits for JSON regenerates the tree, deeper than parsing it: too deep
    # there, the finding stays (without its fix) instead of the file becoming one CCL000.
    for depth in range(150, 200, 12):
        path = tmp_path / f"deep{depth}.py"
        path.write_text("x = " + "[" * depth + "]" * depth + "\nimport threading\nthreading.currentThread()\n")
        concise = run_cli("--isolated", "--no-cache", "--output-format", "concise", path.name, cwd=tmp_path).stdout
        shown = json.loads(run_cli("--isolated", "--no-cache", "--output-format", "json", path.name, cwd=tmp_path).stdout)
        assert [(f["code"], f["line"]) for f in shown] == [
            (line.split(": ")[1].split()[0], int(line.split(":")[1])) for line in concise.splitlines() if ": CCL" in line
        ], depth
        assert [f["code"] for f in shown] == ["CCL301"], depth
