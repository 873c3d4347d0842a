"""``--format sarif``: SARIF 2.1.0, the format GitHub code scanning ingests.

https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote

from conclint import __version__
from conclint.docs import rule_url
from conclint.findings import Edit, Finding, occurrences
from conclint.settings import PARSE_ERROR_CODE

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# Key of conclint's fingerprint in ``partialFingerprints``; bump the version if it changes meaning.
FINGERPRINT_KEY = "conclintFingerprint/v1"
# Findings are errors: conclint exits 1 on any of them, and code scanning should agree.
LEVEL = "error"
SRCROOT = "%SRCROOT%"
_FIRST_SENTENCE = re.compile(r".*?[.!?](?=\s|$)", re.S)


def format_sarif(findings: Sequence[Finding], root: Path) -> str:
    rules = _rules(findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f, count in zip(findings, occurrences(findings)):
        uri = _uri(f.path, root)
        # Code scanning merges results whose fingerprints are equal: the second finding of a
        # rule on one line (`currentThread().getName()`) gets ":2", as GitHub numbers its
        # own line hashes; the first keeps the plain fingerprint, so known alerts still match.
        fingerprint = f.fingerprint if count == 1 else f"{f.fingerprint}:{count}"
        result: Dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVEL,
            "message": {"text": f.message},
            "locations": [{"physicalLocation": _location(uri, _region(f.line, f.column, f.end_line, f.end_column))}],
            "properties": {"name": rules[index[f.code]]["name"]},
        }
        if f.fingerprint:  # (a file that cannot be read has no code to print: code scanning then hashes its own)
            result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint}
        if f.related:  # the other places of the finding (the other path of an inversion)
            result["relatedLocations"] = [
                {
                    "id": number,
                    "physicalLocation": _location(_uri(r.path, root), _region(r.line, r.column, r.end_line, r.end_column)),
                    "message": {"text": r.message},
                }
                for number, r in enumerate(f.related, 1)
            ]
        if f.fix is not None and f.fix.edits:
            result["fixes"] = [_fix(uri, f.fix.message, f.fix.applicability, f.fix.edits)]
        results.append(result)
    run = {
        "tool": {
            "driver": {
                "name": "conclint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        # Relative URIs resolve against the project root; code scanning maps it to the checkout.
        "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri() + "/"}},
        # LibCST columns count code points, not SARIF's default UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _rules(findings: Sequence[Finding]) -> List[Dict[str, Any]]:
    """Every rule, so code scanning can describe them; CCL000 only when a file failed to parse."""
    from conclint.docs import read_page, summary
    from conclint.rule import all_rules

    codes = {code: cls.name for code, cls in all_rules().items()}
    if any(f.code == PARSE_ERROR_CODE for f in findings):
        codes = {PARSE_ERROR_CODE: "syntax-error", **codes}
    rules = []
    for code, name in codes.items():
        page = read_page(code)
        full = summary(page) if page else ""
        rules.append(_descriptor(code, name, page, full))
    return rules


def _descriptor(code: str, name: str, page: Optional[str], full: str) -> Dict[str, Any]:
    # A rule's message may be a template ("{queue}"): its page's first sentence is its title.
    short = _FIRST_SENTENCE.match(full)
    descriptor: Dict[str, Any] = {
        "id": code,
        "name": name,
        "shortDescription": {"text": short.group(0).strip() if short else name},
        "fullDescription": {"text": full or name},
        "defaultConfiguration": {"level": LEVEL},
    }
    if page is not None:  # the page itself, which code scanning shows as the rule's help
        descriptor["help"] = {"text": page, "markdown": page}
    url = rule_url(code)
    if url is not None:
        descriptor["helpUri"] = url
    return descriptor


def _uri(path: str, root: Path) -> str:
    """Relative to the project root when inside it, else an absolute ``file:`` URI."""
    from conclint.baseline import project_path

    relative = project_path(path, root)
    # Percent-encoded from the name's own bytes (a name that is not UTF-8 included).
    return Path(relative).as_uri() if Path(relative).is_absolute() else quote(os.fsencode(relative))


def _artifact(uri: str) -> Dict[str, str]:
    if uri.startswith("file:"):
        return {"uri": uri}
    return {"uri": uri, "uriBaseId": SRCROOT}


def _location(uri: str, region: Dict[str, int]) -> Dict[str, Any]:
    return {"artifactLocation": _artifact(uri), "region": region}


def _region(line: int, column: int, end_line: int, end_column: int) -> Dict[str, int]:
    # conclint and SARIF agree: 1-based, the end column is that of the character after the end.
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _fix(uri: str, message: str, applicability: str, edits: Sequence[Edit]) -> Dict[str, Any]:
    replacements = [
        {
            "deletedRegion": _region(e.line, e.column, e.end_line, e.end_column),
            "insertedContent": {"text": e.content},
        }
        for e in edits
    ]
    return {
        "description": {"text": f"{message} ({applicability} fix)"},
        "artifactChanges": [{"artifactLocation": _artifact(uri), "replacements": replacements}],
    }
