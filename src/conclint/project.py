"""The project phase: after every file is linted, project rules (``rule.ProjectRule``) read
the summaries of all of them (``conclint.analysis.project``) and report what no single file
shows, such as a lock-order inversion between two modules (CCL209).

Where it runs: the ``conclint`` command, after the per-file phase (``cache.Cache.run`` with
the cache, ``cli`` without it, and for standard input over that one file). Workers return
each file's summary with its findings; summaries are cached per file like findings, and the
phase's own findings are cached with a digest of its inputs, so a warm run with nothing
changed costs a hash. The flake8 plugin sees one file at a time and runs no project rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Protocol, Sequence
from weakref import WeakKeyDictionary

from conclint.analysis.project import ModuleInfo, ModuleNamer, Project, Summary, decode, summarise
from conclint.engine import active_codes, codes_for, file_noqa, fingerprint, is_suppressed
from conclint.noqa import comments, may_have_line_noqa
from conclint.findings import Finding, Related
from conclint.settings import Settings

if TYPE_CHECKING:
    from conclint.runner import FileOutcome


class Memo(Protocol):
    """Where the phase's findings are kept between runs (``cache.Cache``)."""

    def project_findings(self, digest: str) -> Optional[List[Finding]]: ...

    def store_project_findings(self, digest: str, findings: Sequence[Finding]) -> None: ...

    def summary(self, path: str, digest: str) -> Optional[Summary]: ...


_PROJECT_CODES: "WeakKeyDictionary[Settings, FrozenSet[str]]" = WeakKeyDictionary()


def project_codes(settings: Settings) -> FrozenSet[str]:
    """The active codes of project rules (this imports the rules)."""
    found = _PROJECT_CODES.get(settings)
    if found is None:
        from conclint.rule import all_rules

        classes = all_rules()
        found = frozenset(
            c for c in active_codes(settings) if c in classes and (classes[c].project or classes[c].project_part)
        )
        _PROJECT_CODES[settings] = found
    return found


def wants_summaries(settings: Settings) -> bool:
    """Whether files linted under ``settings`` need a summary: some project rule is on."""
    return bool(project_codes(settings))


_NOQA_BYTES = re.compile(rb"noqa", re.IGNORECASE)


def summary_of(data: bytes, tree: Any = None, facts: Any = None) -> Optional[Summary]:
    """The summary of a file's bytes (``tree``: CPython's tree of them, when at hand, and
    ``facts``, the screen's index of that tree's calls), with the
    real comments of its kept lines: a ``# noqa`` inside a string silences nothing, here as in
    the per-file phase."""
    summary = summarise(data, tree, file_noqa=file_noqa(data), facts=facts)
    # The bytes first: Python source is in an ASCII-compatible encoding, so a file whose
    # bytes hold no "noqa" is not decoded a second time for nothing.
    # Then the kept lines themselves: a noqa comment on one is in its text, and only then is
    # the whole file tokenized for its real comments.
    if summary is not None and summary["t"] and _NOQA_BYTES.search(data):
        kept = summary["t"]
        if any(may_have_line_noqa(text) for text in kept.values()):
            summary["q"] = {str(line): text for line, text in comments(decode(data)).items() if str(line) in kept}
    return summary


def apply(outcomes: Sequence["FileOutcome"], settings: Settings, memo: Optional[Memo] = None) -> None:
    """Run the project rules over the summaries of ``outcomes`` and add their findings to
    the outcomes of the files they are in. Summaries the cache kept (``summary_stored``)
    are read from ``memo`` only when the phase's inputs changed."""
    summarised = [o for o in outcomes if o.summary is not None or (memo is not None and o.summary_stored)]
    if not summarised:
        return
    namer = ModuleNamer(settings.root)
    names = [namer.name(o.path) for o in summarised]
    digest = None
    findings = None
    # Every module of the run by name, when a rule asks (rarely): import chains (CCL401's)
    # may pass through files that have no summary, so every file's content is an input.
    def linted() -> Mapping[str, str]:
        return {namer.name(o.path): o.path for o in outcomes}

    if memo is not None:
        inputs: List[Any] = [[o.path, name, o.digest] for name, o in zip(names, summarised)]
        inputs.append(sorted([o.path, o.digest] for o in outcomes if o.digest is not None))
        digest = hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
        findings = memo.project_findings(digest)
    if findings is None:
        modules = []
        for name, outcome in zip(names, summarised):
            summary = outcome.summary
            if summary is None and memo is not None and outcome.digest is not None:
                summary = memo.summary(outcome.path, outcome.digest)
            if summary is not None:
                modules.append(ModuleInfo(name, outcome.path, os.path.basename(outcome.path) == "__init__.py", summary))
        findings = project_findings(modules, settings, linted)
        if memo is not None and digest is not None:
            memo.store_project_findings(digest, findings)
    by_path: Dict[str, List[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    for outcome in outcomes:
        found = by_path.pop(outcome.path, None)
        if found:
            # A rule with a project part may have reported the same place from the file alone.
            own = {(f.code, f.line, f.column) for f in outcome.findings}
            found = [f for f in found if (f.code, f.line, f.column) not in own]
        if found:
            if outcome.unfixed is not outcome.findings:
                outcome.unfixed.extend(found)
            outcome.findings.extend(found)


def project_findings(
    modules: Sequence[ModuleInfo], settings: Settings, linted: Optional[Callable[[], Mapping[str, str]]] = None
) -> List[Finding]:
    """What the active project rules find in ``modules``: per-file ignores, ``# noqa`` and
    ``# conclint: noqa`` applied as to any finding."""
    codes = project_codes(settings)
    if not codes:
        return []
    from conclint.rule import all_rules

    classes = all_rules()
    project = Project(modules, linted)
    by_path = {m.path: m.summary for m in modules}
    out: List[Finding] = []
    seen = set()
    for code in sorted(codes):
        cls = classes[code]
        options: Mapping[str, Any] = {**cls.options, **settings.rule_options.get(code, {})}
        for report in cls.check(project, options):  # type: ignore[attr-defined]  # a ProjectRule
            site = report.site
            summary = by_path.get(site.path)
            if summary is None or report.code not in codes_for(settings, site.path):
                continue
            lines = [""] * site.end_line
            for line in range(site.line, site.end_line + 1):
                lines[line - 1] = summary["t"].get(str(line), "")
            comment = summary["q"].get(str(site.line))
            if settings.noqa and (summary["n"] or (comment is not None and is_suppressed(report.code, comment))):
                continue
            key = (report.code, site, report.message)
            if key in seen:
                continue
            seen.add(key)
            related = [Related(r.path, r.line, r.column, r.end_line, r.end_column, text) for r, text in report.related]
            out.append(Finding(
                report.code, report.message, site.path, site.line, site.column, site.end_line, site.end_column,
                fingerprint=fingerprint(report.code, lines, site.line, site.end_line), related=related,
            ))
    out.sort(key=Finding.sort_key)
    return out
