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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Protocol, Sequence, Tuple
from weakref import WeakKeyDictionary

from conclint.analysis.project import ModuleInfo, ModuleNamer, Project, Summary, decode, summarise
from conclint.engine import active_codes, codes_for, file_noqa, fingerprint, is_suppressed
from conclint.noqa import comments, continued_lines, may_have_line_noqa, says_noqa
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
    if summary is not None and summary["t"] and says_noqa(data):
        kept = summary["t"]
        source = decode(data)
        # A kept line inside a multi-line string or a continuation is covered by the comment
        # where that run ends (``noqa.continued_lines``): filed under the kept line. (Such a
        # line ends with a backslash or opens a triple-quoted string: the tokenizer runs only then.)
        runs = any(text.rstrip().endswith("\\") or '"""' in text or "\'\'\'" in text for text in kept.values())
        covering = continued_lines(source) if runs else {}
        if any(may_have_line_noqa(text) for text in kept.values()) or covering:
            found = comments(source)
            summary["q"] = {
                line: found[at] for line in kept for at in [covering.get(int(line), int(line))] if at in found
            }
    return summary


Group = Tuple[Sequence["FileOutcome"], Settings, Optional[Memo]]


def apply(outcomes: Sequence["FileOutcome"], settings: Settings, memo: Optional[Memo] = None) -> None:
    """``apply_groups`` of the files of one configuration."""
    apply_groups([(outcomes, settings, memo)])


def apply_groups(groups: Sequence[Group]) -> None:
    """Run the project rules over the summaries of each group's outcomes (the files of one
    configuration, its Settings, where its cache keeps the phase's findings) and add their
    findings to the outcomes of the files they are in. A group whose configuration lies
    inside another's root (a nested ``tests/.conclint.toml``) is part of that project: one
    phase sees both, module names come from the outer root, and each finding is reported
    as its own file's settings say (selection, per-file ignores, noqa). Summaries the cache
    kept (``summary_stored``) are read from the memo only when the phase's inputs changed."""
    for project in _projects(groups):
        _apply_project(project)


def _projects(groups: Sequence[Group]) -> List[List[Group]]:
    """``groups`` joined by project: each with the groups whose root lies inside its own,
    the outermost first."""
    def root(group: Group) -> Path:
        try:
            return group[1].root.resolve()
        except (OSError, RuntimeError):
            return group[1].root.absolute()

    roots = [root(g) for g in groups]
    order = sorted(range(len(groups)), key=lambda i: len(roots[i].parts))
    projects: List[List[Group]] = []
    tops: List[Path] = []
    for index in order:
        for top, project in zip(tops, projects):
            if roots[index] == top or top in roots[index].parents:
                project.append(groups[index])
                break
        else:
            tops.append(roots[index])
            projects.append([groups[index]])
    return projects


def _apply_project(groups: Sequence[Group]) -> None:
    settings = groups[0][1]
    memos = [memo for _, _, memo in groups]
    memo = memos[0] if all(m is not None for m in memos) else None
    summarised = [
        (o, m) for outcomes, _, m in groups for o in outcomes
        if o.summary is not None or (m is not None and o.summary_stored)
    ]
    if not summarised:
        return
    settings_of: Dict[str, Settings] = {o.path: s for outcomes, s, _ in groups for o in outcomes}
    namer = ModuleNamer(settings.root)
    names = [namer.name(o.path) for o, _ in summarised]
    digest = None
    findings = None
    every = [o for outcomes, _, _ in groups for o in outcomes]

    # Every module of the run by name, when a rule asks (rarely): import chains (CCL401's)
    # may pass through files that have no summary, so every file's content is an input.
    def linted() -> Mapping[str, str]:
        paths: Dict[str, str] = {}
        twice = set()
        for outcome in every:
            name = namer.name(outcome.path)
            if paths.setdefault(name, outcome.path) != outcome.path:
                twice.add(name)  # one name, two files (under different import roots): neither is meant for sure
        return {name: path for name, path in paths.items() if name not in twice}

    if memo is not None:
        inputs: List[Any] = [[o.path, name, o.digest] for name, (o, _) in zip(names, summarised)]
        inputs.append(sorted([o.path, o.digest] for o in every if o.digest is not None))
        if len(groups) > 1:  # the other configurations' settings decide what is reported too
            inputs.append([[g[1].cache_key(), sorted(o.path for o in g[0])] for g in groups])
        digest = hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
        findings = memo.project_findings(digest)
    if findings is None:
        modules = []
        for name, (outcome, own_memo) in zip(names, summarised):
            summary = outcome.summary
            if summary is None and own_memo is not None and outcome.digest is not None:
                summary = own_memo.summary(outcome.path, outcome.digest)
            if summary is not None:
                modules.append(ModuleInfo(name, outcome.path, os.path.basename(outcome.path) == "__init__.py", summary))
        findings = project_findings(
            modules, settings, linted, settings_of=settings_of.get,
            codes=frozenset().union(*(project_codes(g[1]) for g in groups)),
            exact=frozenset(namer.name(o.path) for o in every if namer.exact(o.path)) if namer.src_layout else frozenset(),
        )
        if memo is not None and digest is not None:
            memo.store_project_findings(digest, findings)
    by_path: Dict[str, List[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    for outcome in every:
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
    modules: Sequence[ModuleInfo], settings: Settings, linted: Optional[Callable[[], Mapping[str, str]]] = None,
    *, settings_of: Optional[Callable[[str], Optional[Settings]]] = None, codes: Optional[FrozenSet[str]] = None,
    exact: FrozenSet[str] = frozenset(),
) -> List[Finding]:
    """What the active project rules (``codes``: those ``settings`` turns on) find in
    ``modules``, with the rules' options of ``settings``; each finding reported as the
    settings of its file say (``settings_of``, else ``settings``): selection, per-file
    ignores, ``# noqa`` and ``# conclint: noqa``, as to any finding."""
    if codes is None:
        codes = project_codes(settings)
    if not codes:
        return []
    from conclint.rule import all_rules

    classes = all_rules()
    project = Project(modules, linted, exact)
    by_path = {m.path: m.summary for m in modules}
    out: List[Finding] = []
    seen = set()
    for code in sorted(codes):
        cls = classes[code]
        options: Mapping[str, Any] = {**cls.options, **settings.rule_options.get(code, {})}
        for report in cls.check(project, options):  # type: ignore[attr-defined]  # a ProjectRule
            site = report.site
            summary = by_path.get(site.path)
            own = (settings_of(site.path) if settings_of is not None else None) or settings
            if summary is None or report.code not in codes_for(own, site.path):
                continue
            lines = [""] * site.end_line
            for line in range(site.line, site.end_line + 1):
                lines[line - 1] = summary["t"].get(str(line), "")
            comment = summary["q"].get(str(site.line))
            if own.noqa and (summary["n"] or (comment is not None and is_suppressed(report.code, comment))):
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
