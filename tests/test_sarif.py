"""``--format sarif`` from the real CLI, validated against the official SARIF 2.1.0 schema.

tests/data/sarif-schema-2.1.0.json is the OASIS errata01 schema, unmodified, from
https://github.com/oasis-tcs/sarif-spec (sarif-2.1/schema/sarif-schema-2.1.0.json).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import ROOT, run_cli

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

DEPRECATED = textwrap.dedent(
    """\
    import threading

    worker = threading.Thread(target=print)
    worker.setDaemon(True)
    """
)


@pytest.fixture
def sarif(tmp_path):
    (tmp_path / "pkg dir").mkdir()
    (tmp_path / "pkg dir" / "worker.py").write_text(DEPRECATED)
    (tmp_path / "broken.py").write_text("import threading\nwhile True:\n    threading.Lock(\n")
    result = run_cli("--no-cache", "--format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


# The schema declares draft-04; GitHub validates uploads with a draft-07 copy. Pass both.
@pytest.mark.parametrize("validator", [jsonschema.Draft4Validator, jsonschema.Draft7Validator])
def test_valid_against_the_official_schema(sarif, validator):
    validator.check_schema(SCHEMA)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(SCHEMA).iter_errors(sarif)]
    assert errors == []


def test_driver_describes_every_rule_from_its_page(sarif):
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "conclint" and driver["version"]
    # No home page and no rule URL until one exists (docs.RULE_URL_TEMPLATE): no placeholders.
    assert "informationUri" not in driver
    rules = {rule["id"]: rule for rule in driver["rules"]}
    ccl301 = rules["CCL301"]
    assert ccl301["name"] == "deprecated-threading-alias"
    page = (ROOT / "rules" / "CCL301.md").read_text(encoding="utf-8")
    # The whole page, as code scanning shows a rule's help.
    assert ccl301["help"] == {"text": page, "markdown": page}
    assert ccl301["fullDescription"]["text"] and "helpUri" not in ccl301
    assert all("helpUri" not in rule for rule in driver["rules"])
    # A rule's title is its page's first sentence, never its message template (CCL108's
    # message has a "{queue}" to fill).
    assert "{" not in rules["CCL108"]["shortDescription"]["text"]
    assert rules["CCL108"]["shortDescription"]["text"].startswith("Flags `p.join()`")
    assert ccl301["defaultConfiguration"]["level"] == "error"
    assert "CCL000" in rules  # broken.py could not be parsed
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["properties"]["name"] == driver["rules"][result["ruleIndex"]]["name"]


def test_result_location_fingerprint_and_fix(sarif):
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "CCL301"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg%20dir/worker.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 4, "startColumn": 8, "endLine": 4, "endColumn": 17}
    assert len(result["partialFingerprints"]["conclintFingerprint/v1"]) == 16
    (fix,) = result["fixes"]
    (change,) = fix["artifactChanges"]
    (replacement,) = change["replacements"]
    # Applying the replacement to the file gives what --fix writes.
    region = replacement["deletedRegion"]
    lines = DEPRECATED.splitlines(keepends=True)
    assert region["startLine"] == region["endLine"] == 4
    line = lines[3]
    fixed_line = line[: region["startColumn"] - 1] + replacement["insertedContent"]["text"] + line[region["endColumn"] - 1:]
    assert fixed_line == "worker.daemon = True\n"


def test_two_findings_of_a_rule_on_one_line_keep_two_fingerprints(tmp_path):
    # Code scanning merges results whose partialFingerprints are equal: both must stay.
    (tmp_path / "names.py").write_text("import threading\n\nname = threading.currentThread().getName()\n")
    result = run_cli("--no-cache", "--format", "sarif", "names.py", cwd=tmp_path)
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("CCL301", 3), ("CCL301", 3)
    ]
    first, second = (r["partialFingerprints"]["conclintFingerprint/v1"] for r in results)
    assert second == f"{first}:2"
    # The first is the finding's own fingerprint, as JSON (and the baseline) give it.
    findings = json.loads(run_cli("--no-cache", "--format", "json", "names.py", cwd=tmp_path).stdout)
    assert [f["fingerprint"] for f in findings] == [first, first]


def test_github_annotations_escape_per_the_workflow_command_spec(tmp_path):
    (tmp_path / "a,b:c%.py").write_text(DEPRECATED)
    result = run_cli("--no-cache", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "::error file=a%2Cb%3Ac%25.py,line=4,col=8,endLine=4,endColumn=17,title=CCL301::"
        "`setDaemon()` is deprecated since Python 3.10; assign `.daemon = ...`"
    ]


def test_github_escapes_newlines_and_percent_in_the_message():
    from conclint.findings import Finding
    from conclint.github import format_github

    finding = Finding("CCL201", "50% of\r\nthe time", "x.py", 1, 2, 3, 4)
    assert format_github([finding]) == [
        "::error file=x.py,line=1,col=2,endLine=3,endColumn=4,title=CCL201::50%25 of%0D%0Athe time"
    ]


def test_files_that_cannot_be_read_carry_no_empty_fingerprint_to_merge_them(tmp_path):
    # Two syntax errors in two files: with the same empty fingerprint, code scanning could
    # take them for one alert; without one, it hashes each itself.
    (tmp_path / "a.py").write_text("import threading\ndef (:\n")
    (tmp_path / "b.py").write_text("import threading\nclass :\n")
    sarif = json.loads(run_cli("--no-cache", "--output-format", "sarif", ".", cwd=tmp_path).stdout)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["CCL000", "CCL000"]
    assert all("partialFingerprints" not in r for r in results)
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(sarif)) == []
