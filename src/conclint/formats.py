"""``--output-format``: every way findings are printed, one renderer per format.

Human formats: ``full`` (each finding with its source lines, the reported range underlined,
the fix as a ``help:`` line) and ``concise`` (one line a finding). Machine formats: ``json``,
``json-lines``, ``sarif``, ``github``, ``gitlab`` (Code Quality), ``junit``, ``pylint``,
``rdjson`` (reviewdog). Summaries and statistics are ``conclint.output``'s.
"""

from __future__ import annotations

import functools

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import click

from conclint.docs import rule_url
from conclint.findings import Finding, Related, occurrences
from conclint.output import fixable
from conclint.settings import known_codes, relative_path

FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit", "pylint", "rdjson")
# Older spellings still accepted: ``--format text`` was the one-line output.
ALIASES = {"text": "concise"}
# Formats whose findings carry their fixes' edits (which cost a regeneration of the module).
WITH_EDITS = frozenset({"json", "json-lines", "sarif", "rdjson"})
# Formats followed by the summary ("Found 3 problems.") and the --statistics table as text.
HUMAN = frozenset({"full", "concise"})

# Lines of source shown around a reported range in ``full`` output.
CONTEXT_LINES = 2
TAB_WIDTH = 4
_NEWLINES = re.compile(r"\r\n|\r|\n")

SourceReader = Callable[[str], Optional[str]]


@dataclass
class Context:
    """What a renderer may need besides the findings."""

    unsafe: bool = False
    color: bool = False
    # Paths in machine formats are made relative to this directory (the repository's top).
    root: Path = field(default_factory=Path.cwd)
    # The text of a linted file (None when it cannot be read): ``full`` shows its lines,
    # ``rdjson`` counts its columns in UTF-8 bytes.
    source: SourceReader = lambda path: None


def render(fmt: str, findings: Sequence[Finding], context: Context) -> str:
    """The whole output of ``findings`` in ``fmt``; empty or ending in a newline."""
    lines = _RENDERERS[fmt](findings, context)
    return "".join(line + "\n" for line in lines)


# ----------------------------------------------------------------------------- sources


def read_source(path: str) -> Optional[str]:
    """The text of ``path`` decoded as Python reads it (PEP 263 cookie or BOM); None when
    it cannot be read."""
    from conclint.reading import MAX_SOURCE_BYTES, decode_source, read_regular

    try:
        data = read_regular(path, MAX_SOURCE_BYTES)
    except OSError:
        return None
    return decode_source(data)


def caching_reader(overrides: Optional[Dict[str, str]] = None) -> SourceReader:
    """A reader that reads each file once; ``overrides`` maps names to texts (stdin's)."""
    cache: Dict[str, Optional[str]] = dict(overrides or {})

    def read(path: str) -> Optional[str]:
        if path not in cache:
            cache[path] = read_source(path)
        return cache[path]

    return read


@functools.lru_cache(maxsize=64)
def _lines(text: Optional[str]) -> List[str]:
    # As the engine numbers lines: \n, \r\n and \r only (not form feeds). Cached: a file with
    # many findings is split once (the reader hands out the same string, its hash kept).
    # Callers only read the list.
    return _NEWLINES.split(text) if text is not None else []


# ----------------------------------------------------------------------------- concise


def _header(f: Finding, context: Context) -> str:
    style = styler(context.color)
    location = f"{style(f.path, bold=True)}:{f.line}:{f.column}:"
    mark = " " + style("[*]", fg="cyan") if fixable(f, context.unsafe) else ""
    return f"{location} {style(f.code, fg='red', bold=True)}{mark} {f.message}"


def _concise(findings: Sequence[Finding], context: Context) -> List[str]:
    return [_header(f, context) for f in findings]


def styler(color: bool) -> Callable[..., str]:
    """``click.style`` when ``color``, else a function giving the text unstyled."""
    if color:
        return click.style
    return lambda text, **_: str(text)


# ----------------------------------------------------------------------------- full


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _full(findings: Sequence[Finding], context: Context) -> List[str]:
    out: List[str] = []
    style = styler(context.color)
    for f in findings:
        if out:
            out.append("")
        out.append(_header(f, context))
        lines = _lines(context.source(f.path))
        out.extend(_snippet(lines, f.line, f.column, f.end_line, f.end_column, style))
        if f.fix is not None:
            note = "" if fixable(f, context.unsafe) else ", applied with --unsafe-fixes"
            out.append(f"{style('help', fg='cyan', bold=True)}: {f.fix.message} ({f.fix.applicability} fix{note})")
        for related in f.related:
            out.extend(_related(related, context, style))
    return out


def _related(r: Related, context: Context, style: Callable[..., str]) -> List[str]:
    # A related place may be in another file: read that one.
    out = [f"{style('note', fg='blue', bold=True)}: {style(r.path, bold=True)}:{r.line}:{r.column}: {r.message}"]
    out.extend(_snippet(_lines(context.source(r.path)), r.line, r.column, r.end_line, r.end_column, style))
    return out


def _snippet(
    lines: Sequence[str], line: int, column: int, end_line: int, end_column: int, style: Callable[..., str]
) -> List[str]:
    """The source around [line:column, end_line:end_column) with the range marked: carets
    under a range on one line; a margin from its first to its last line otherwise (as
    rustc and ruff draw them)."""
    if not 0 < line <= len(lines):
        return []
    # An end at column 1 of a later line ends with the line before it.
    if end_line > line and end_column <= 1 and end_line - 1 <= len(lines):
        end_line -= 1
        end_column = len(lines[end_line - 1]) + 1
    end_line = min(max(end_line, line), len(lines))
    first = max(1, line - CONTEXT_LINES)
    last = min(len(lines), end_line + CONTEXT_LINES)
    while first < line and not lines[first - 1].strip():
        first += 1
    while last > end_line and not lines[last - 1].strip():
        last -= 1
    gutter = len(str(last))
    blank = style(" " * gutter + " |", fg="blue", bold=True)

    def number(n: int) -> str:
        return style(f"{n:>{gutter}} |", fg="blue", bold=True)

    def col(text: str, column: int) -> int:
        # The display column before character ``column`` (1-based) of ``text``.
        return _width(text[: column - 1].expandtabs(TAB_WIDTH))

    shown = {n: lines[n - 1].expandtabs(TAB_WIDTH) for n in range(first, last + 1)}
    out = [blank]
    if end_line == line:
        start = col(lines[line - 1], column)
        stop = col(lines[line - 1], max(end_column, column + 1))
        for n in range(first, last + 1):
            out.append(f"{number(n)} {shown[n]}".rstrip())
            if n == line:
                out.append(f"{blank} {' ' * start}{style('^' * max(1, stop - start), fg='red', bold=True)}")
        out.append(blank)
        return out
    start = col(lines[line - 1], column)
    stop = col(lines[end_line - 1], end_column)
    for n in range(first, last + 1):
        if n < line or n > end_line:
            margin = "  "
        elif n == line:
            margin = style("/", fg="red", bold=True) + " " if start == 0 else "  "
        else:
            margin = style("|", fg="red", bold=True) + " "
        if n == line and start > 0:
            out.append(f"{number(n)} {margin}{shown[n]}".rstrip())
            out.append(f"{blank} {style(' ' + '_' * (start + 1) + '^', fg='red', bold=True)}")
            continue
        out.append(f"{number(n)} {margin}{shown[n]}".rstrip())
        if n == end_line:
            underline = "|" + "_" * max(0, stop) + "^"
            out.append(f"{blank} {style(underline, fg='red', bold=True)}")
    out.append(blank)
    return out


# ----------------------------------------------------------------------------- json


def shown_path(path: str) -> str:
    """``path`` as text every reader of a JSON or XML report can take: bytes of a file name
    that are not UTF-8 (which Python keeps as lone surrogates) become U+FFFD, as ruff
    shows them; the text formats write the name's own bytes."""
    if path.isascii():
        return path
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def finding_json(f: Finding) -> Dict[str, Any]:
    """A finding as the JSON formats give it: the public schema, with the rule's name and
    documentation URL (null until rule pages have a public home)."""
    data = f.to_json()
    data["path"] = shown_path(data["path"])
    for related in data.get("related") or ():
        related["path"] = shown_path(related["path"])
    data["name"] = known_codes().get(f.code, "")
    data["url"] = rule_url(f.code)
    return data


def _json(findings: Sequence[Finding], context: Context) -> List[str]:
    return [json.dumps([finding_json(f) for f in findings], indent=2)]


def _json_lines(findings: Sequence[Finding], context: Context) -> List[str]:
    return [json.dumps(finding_json(f), separators=(",", ":")) for f in findings]


# ----------------------------------------------------------------------------- CI formats


def _sarif(findings: Sequence[Finding], context: Context) -> List[str]:
    from conclint.sarif import format_sarif

    return [format_sarif(findings, context.root)]


def _github(findings: Sequence[Finding], context: Context) -> List[str]:
    from conclint.github import format_github

    return format_github(findings)


def _gitlab(findings: Sequence[Finding], context: Context) -> List[str]:
    """GitLab Code Quality: description, check_name, fingerprint, severity, location."""
    issues = []
    for f, count in zip(findings, occurrences(findings)):
        path = shown_path(relative_path(f.path, context.root))
        # GitLab merges issues of equal fingerprints: a second copy of one pitfall in one
        # file (same conclint fingerprint) must stay a second issue.
        base = f"{f.code}\0{path}\0{f.fingerprint}"
        issues.append(
            {
                "description": f"{f.code}: {f.message}",
                "check_name": f.code,
                "fingerprint": hashlib.sha256(f"{base}\0{count}".encode()).hexdigest()[:32],
                "severity": "major",
                "location": {
                    "path": path,
                    "positions": {
                        "begin": {"line": f.line, "column": f.column},
                        "end": {"line": f.end_line, "column": f.end_column},
                    },
                },
            }
        )
    return [json.dumps(issues, indent=2)]


def _junit(findings: Sequence[Finding], context: Context) -> List[str]:
    """JUnit XML: one test suite per file, one failed test case per finding."""
    import xml.etree.ElementTree as ET

    by_file: Dict[str, List[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.path, []).append(f)
    suites = ET.Element("testsuites", name="conclint", tests=str(len(findings)), failures=str(len(findings)), errors="0")
    for path, found in by_file.items():
        shown = _xml_text(shown_path(relative_path(path, context.root)))
        suite = ET.SubElement(
            suites, "testsuite", name=shown, tests=str(len(found)), failures=str(len(found)), errors="0", skipped="0"
        )
        for f in found:
            case = ET.SubElement(
                suite, "testcase", name=f"conclint.{f.code}", classname=shown, file=shown,
                line=str(f.line), column=str(f.column),
            )
            message = _xml_text(f.message)
            failure = ET.SubElement(case, "failure", message=message, type=f.code)
            failure.text = f"line {f.line}, col {f.column}, {message}"
    if not by_file:  # a run without findings is one passing test, not an empty report
        suite = ET.SubElement(suites, "testsuite", name="conclint", tests="1", failures="0", errors="0", skipped="0")
        ET.SubElement(suite, "testcase", name="conclint", classname="conclint")
        suites.set("tests", "1")
    ET.indent(suites)
    return ['<?xml version="1.0" encoding="UTF-8"?>', ET.tostring(suites, encoding="unicode")]


# What XML 1.0 cannot hold, escaped or not: control characters but tab and line breaks, lone
# surrogates, U+FFFE and U+FFFF (ElementTree writes them, and the document is not XML).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _pylint(findings: Sequence[Finding], context: Context) -> List[str]:
    names = known_codes()
    return [f"{f.path}:{f.line}: [{f.code}({names.get(f.code, '')})] {f.message}" for f in findings]


def _rdjson(findings: Sequence[Finding], context: Context) -> List[str]:
    """Reviewdog Diagnostic Format: columns count UTF-8 bytes, ends are exclusive."""
    diagnostics = []
    for f in findings:
        lines = _lines(context.source(f.path))

        def position(line: int, column: int) -> Dict[str, int]:
            if 0 < line <= len(lines):
                column = len(lines[line - 1][: column - 1].encode("utf-8")) + 1
            return {"line": line, "column": column}

        diagnostic: Dict[str, Any] = {
            "message": f.message,
            "location": {
                "path": shown_path(relative_path(f.path, context.root)),
                "range": {"start": position(f.line, f.column), "end": position(f.end_line, f.end_column)},
            },
            "severity": "ERROR",
            "code": {"value": f.code},
        }
        url = rule_url(f.code)
        if url:
            diagnostic["code"]["url"] = url
        if f.fix is not None and f.fix.edits:
            diagnostic["suggestions"] = [
                {"range": {"start": position(e.line, e.column), "end": position(e.end_line, e.end_column)}, "text": e.content}
                for e in f.fix.edits
            ]
        diagnostics.append(diagnostic)
    document = {"source": {"name": "conclint"}, "severity": "ERROR", "diagnostics": diagnostics}
    return [json.dumps(document, indent=2)]


_RENDERERS: Dict[str, Callable[[Sequence[Finding], Context], List[str]]] = {
    "full": _full,
    "concise": _concise,
    "json": _json,
    "json-lines": _json_lines,
    "sarif": _sarif,
    "github": _github,
    "gitlab": _gitlab,
    "junit": _junit,
    "pylint": _pylint,
    "rdjson": _rdjson,
}


def statistics_rows(findings: Sequence[Finding], unsafe: bool) -> List[Tuple[str, str, int, int]]:
    """(code, name, count, fixable count), most frequent first."""
    names = known_codes()
    counts: Dict[str, List[int]] = {}
    for f in findings:
        row = counts.setdefault(f.code, [0, 0])
        row[0] += 1
        row[1] += fixable(f, unsafe)
    return [
        (code, names.get(code, ""), count, fixes)
        for code, (count, fixes) in sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
