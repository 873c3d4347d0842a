"""Lint one source: skip-before-parse, parse, one batched traversal, positions, noqa."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple, Type, Union
from weakref import WeakKeyDictionary

from conclint.findings import Edit, Finding, FixInfo, Related
from conclint.gate import Trigger
from conclint.noqa import comments, continued_lines, file_directives, may_have_line_noqa
# Where the project phase and the language server have always found them.
from conclint.noqa import file_noqa as file_noqa, is_suppressed as is_suppressed
from conclint.settings import Settings

if TYPE_CHECKING:
    from conclint.analysis.incremental import ParseCache
    from conclint.rule import Rule

PARSE_ERROR = "CCL000"
_NEWLINES = re.compile(r"\r\n|\r|\n")
_LINES_WITH_ENDS = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class FileResult:
    path: str
    findings: List[Finding] = field(default_factory=list)
    # Set when the file was parsed: used by the fixer.
    module: Any = None
    reports: List[Any] = field(default_factory=list)
    parse_failed: bool = False
    skipped: bool = False
    # Why fixes must not be applied to this file although the rules offer some.
    unfixable: Optional[str] = None
    # CPython's tree of the file, when asked for (``keep_ast``) and the screen made one.
    ast_tree: Any = None
    ast_facts: Any = None  # the screen's ``Facts`` of ``ast_tree`` (the project summary reads its calls)
    # What noqa silenced: (line, code) of each finding a line's comment silenced, and the codes
    # of those a `# conclint: noqa: CODES` silenced (read by CCL900, ``conclint.noqa_audit``).
    silenced: Set[Tuple[int, str]] = field(default_factory=set)
    file_silenced: Set[str] = field(default_factory=set)
    # Findings whose fix is text edits rather than tree changes (CCL900's), applied by the
    # fixer when no tree fix is left.
    text_fixes: List[Finding] = field(default_factory=list)


def fingerprint(code: str, lines: Sequence[str], line: int, end_line: int) -> str:
    """Identity of a finding that survives edits elsewhere in the file: rule + its code."""
    text = " ".join(" ".join(lines[i - 1].split()) for i in range(line, min(end_line, len(lines)) + 1))
    return hashlib.sha256(f"{code}\0{text}".encode()).hexdigest()[:16]


class RuleSet:
    """The rules that apply to files with one set of codes: their classes (in code order),
    the byte-level gate compiled from their triggers, and each one's options: its defaults
    merged with the user's ``[tool.conclint.<rule-name>]``, which is what ``could_report``
    and the rule instances get."""

    def __init__(self, classes: Sequence[Type[Rule]], rule_options: Mapping[str, Mapping[str, Any]]) -> None:
        # Project rules read the project's summaries (``conclint.project``), not one tree; the
        # noqa rule reads what the others' findings left (``lint_source``).
        self.classes: Tuple[Type[Rule], ...] = tuple(c for c in classes if not c.project and not c.noqa_check)
        trigger = _TRIGGERS.get(self.classes)
        if trigger is None:
            trigger = _TRIGGERS[self.classes] = Trigger(self.classes)
        self.trigger: Trigger = trigger
        self.options: Dict[Type[Rule], Mapping[str, Any]] = {
            cls: MappingProxyType({**cls.options, **rule_options.get(cls.code, {})}) for cls in self.classes
        }


# Compiled gates by rule classes: a run compiles one per set of codes, whatever its Settings.
_TRIGGERS: Dict[Tuple[Type[Rule], ...], Trigger] = {}


@dataclass
class _Selection:
    """What the rule classes decide for one Settings: the active codes, the rule sets."""

    active: FrozenSet[str]
    # The codes of project rules (their noqa applies in the project phase), of per-file rules
    # with a project part (theirs too, on the lines where the project phase may report), the
    # rule checking noqa comments (``rule.NoqaRule``) and the screen its interest declares.
    project: FrozenSet[str] = frozenset()
    project_part: Mapping[str, str] = field(default_factory=dict)  # code -> ``Rule.project_sites``
    audit: Optional[Type[Rule]] = None
    audit_trigger: Any = None
    rule_sets: Dict[FrozenSet[str], RuleSet] = field(default_factory=dict)


_SELECTIONS: "WeakKeyDictionary[Settings, _Selection]" = WeakKeyDictionary()


def _selection(settings: Settings) -> _Selection:
    found = _SELECTIONS.get(settings)
    if found is None:
        from conclint.rule import all_rules

        classes = all_rules()
        active = frozenset(
            c for c in settings.enabled if c not in classes or classes[c].default_enabled or c in settings.explicit
        )
        audits = [cls for cls in classes.values() if cls.noqa_check]
        audit = audits[0] if audits else None
        found = _SELECTIONS[settings] = _Selection(
            active,
            project=frozenset(c for c, cls in classes.items() if cls.project),
            project_part={c: cls.project_sites for c, cls in classes.items() if cls.project_part},
            audit=audit,
            audit_trigger=Trigger((audit,)) if audit is not None else None,
        )
    return found


def active_codes(settings: Settings) -> FrozenSet[str]:
    """The enabled codes less the rules that are off by default and not named in full by a
    selector (this imports the rules; a warm cached run never asks)."""
    return _selection(settings).active


def codes_for(settings: Settings, path: str) -> FrozenSet[str]:
    """The codes that apply to ``path``: the active ones less its per-file ignores."""
    return settings.for_path(active_codes(settings), path)


def rule_set(settings: Settings, codes: FrozenSet[str]) -> RuleSet:
    """The rules of ``codes`` (as ``codes_for`` gives them) under ``settings``, built once."""
    selection = _selection(settings)
    found = selection.rule_sets.get(codes)
    if found is None:
        from conclint.rule import all_rules

        classes = all_rules()
        found = RuleSet([classes[c] for c in sorted(codes) if c in classes], settings.rule_options)
        selection.rule_sets[codes] = found
    return found


def lint_source(
    data: bytes,
    path: str,
    settings: Settings,
    *,
    with_edits: bool = False,
    keep_tree: bool = False,
    rule_classes: Optional[Sequence[Type[Rule]]] = None,
    keep_ast: bool = False,
    cache: Optional[ParseCache] = None,
) -> FileResult:
    """Lint ``data`` (the file's bytes); ``path`` is only used in findings and config.
    ``keep_ast``: keep CPython's tree in the result if the screen parsed the file (the
    project summary reads it rather than parse again). ``cache``, the parse of the last
    version of the same document (an editor's buffer), lets LibCST parse only the top-level
    statements that changed; the result is the same."""
    options: Dict[str, Any] = dict(
        with_edits=with_edits, keep_tree=keep_tree, rule_classes=rule_classes, keep_ast=keep_ast, cache=cache
    )
    if b"\r" in data:
        lone = LONE_CR.search(data)
        if lone is not None:
            return _lint_lone_cr(data, lone.start(), path, settings, options)
    return _lint_source(data, path, settings, options)


# A carriage return that ends a line alone (classic Mac OS line endings): CPython reads it
# as a line break; LibCST drops the file's last one when it writes the module back, and the
# tokenizer (comments, noqa) does not break lines there.
LONE_CR = re.compile(rb"\r(?!\n)")


def _lint_lone_cr(data: bytes, first: int, path: str, settings: Settings, options: Dict[str, Any]) -> FileResult:
    """Lint a file with lone CRs as the same bytes with LF in their place: the same lines
    and columns. Fixes of a file of CRs alone are given back in CR (``fixer.fix_source``
    fixes the LF copy and writes CRs back); a file mixing them with other line endings gets
    none (which ending would a new line take?), and says so."""
    result = _lint_source(LONE_CR.sub(b"\n", data), path, settings, options)
    if b"\n" not in data:
        for finding in (*result.findings, *result.text_fixes):
            if finding.fix is not None:
                finding.fix.edits = [replace(e, content=e.content.replace("\n", "\r")) for e in finding.fix.edits]
        return result
    for finding in result.findings:
        finding.fix = None
    line = len(re.findall(rb"\r\n|\r|\n", data[:first])) + 1
    result.unfixable = (
        f"fixes not applied: line {line} ends with a lone carriage return (CR) among other line endings "
        "(linted as if it were LF)"
    )
    return result


def _lint_source(data: bytes, path: str, settings: Settings, options: Dict[str, Any]) -> FileResult:
    """``lint_source`` of bytes without lone CRs; ``options``, its keyword arguments."""
    with_edits, keep_tree, keep_ast = options["with_edits"], options["keep_tree"], options["keep_ast"]
    rule_classes, cache = options["rule_classes"], options["cache"]
    result = FileResult(path)
    codes = codes_for(settings, path)
    directives = file_directives(data) if settings.noqa and codes else None
    # The noqa rule (CCL900), when it is on and the file may have a comment naming our codes.
    audit = _audit_rule(settings, codes, data) if rule_classes is None else None
    disabled: FrozenSet[str] = frozenset()
    if directives is not None:
        if PARSE_ERROR in codes:  # a directive that does not say what it means is not obeyed
            for line, column, text, why in directives.malformed:
                message = why.format(comment=text)
                result.findings.append(Finding(PARSE_ERROR, message, path, line, column, line, column + len(text)))
        if directives.skip:
            result.skipped = True
            return result
        disabled = frozenset(c for c in codes if directives.disables(c))
        if audit is not None and audit.code in disabled:
            audit = None
        if audit is None:
            codes, disabled = codes - disabled, frozenset()
        # Else the rules turned off run all the same, so that CCL900 knows which of those
        # codes silence something; their findings are dropped (``analyse``).
    result = _lint_rules(
        data, path, settings, codes, disabled, result, with_edits=with_edits, keep_tree=keep_tree,
        rule_classes=rule_classes, keep_ast=keep_ast, cache=cache,
    )
    if audit is not None and not result.parse_failed:
        _audit(data, path, settings, audit, codes, disabled, result, with_edits or keep_tree)
    return result


# A file naming what conclint is about (a concurrency module, a lock, a coroutine function)
# is one its user expects checked: a syntax error there is reported even when no rule's
# vocabulary is in it (ruff reports every file's; reading all of them would cost conclint as
# much as all its rules do on the standard library). Plain searches, not one regular
# expression: that took 0.8 s on the standard library's files, most of which it skips.
_MODULE_WORDS = (b"threading", b"multiprocessing", b"asyncio", b"concurrent", b"_thread", b"gevent")


def _about_concurrency(data: bytes) -> bool:
    if b"async def" in data:
        return True
    for word in _MODULE_WORDS:
        start = data.find(word)
        while start >= 0:
            end = start + len(word)
            if (start == 0 or not _word_byte(data[start - 1])) and (end == len(data) or not _word_byte(data[end])):
                return True
            start = data.find(word, end)
    from conclint.analysis.project import names_locks

    return names_locks(data)


def _word_byte(byte: int) -> bool:
    return 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122 or byte == 95


def _syntax_check(data: bytes, path: str, result: FileResult, keep_ast: bool) -> None:
    """Report the syntax error of a file no rule's vocabulary gate let through (``_about_concurrency``);
    keep CPython's tree for the project summary (``keep_ast``), which would parse it anyway."""
    import ast
    import warnings

    from conclint.analysis.parsing import MAX_PARSE_BYTES, ParseFailure, parse_screened, screen

    if len(data) > MAX_PARSE_BYTES:
        return  # generated: no rule would read it either
    try:  # CPython's parse alone, most of the time (the screen's index of calls is not needed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to report
            tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass  # the screen says why, as it says it for every file
    else:
        if keep_ast:  # (the summary would parse it again)
            result.ast_tree = tree
        return
    try:
        screened = screen(data)
        if screened.error is not None:  # CPython cannot read it; LibCST may (newer syntax)
            parse_screened(data, screened)
        elif keep_ast:
            result.ast_tree = screened.tree
            result.ast_facts = screened.facts
    except ParseFailure as exc:
        result.parse_failed = True
        result.skipped = False
        result.findings.append(Finding(PARSE_ERROR, exc.message, path, exc.line, exc.column, exc.line, exc.column))


def _audit_rule(settings: Settings, codes: FrozenSet[str], data: bytes) -> Optional[Type[Rule]]:
    """The rule checking noqa comments, if it applies to a file with ``codes`` and the
    file's bytes pass its screen (a noqa naming one of our codes: rare)."""
    if not settings.noqa:  # flake8 applies its own noqa; --ignore-noqa: nothing is silenced
        return None
    selection = _selection(settings)
    if selection.audit is None or selection.audit.code not in codes:
        return None
    return selection.audit if selection.audit_trigger.matching(data) else None


def _audit(
    data: bytes, path: str, settings: Settings, rule: Type[Rule], codes: FrozenSet[str],
    disabled: FrozenSet[str], result: FileResult, with_edits: bool,
) -> None:
    """Add CCL900's findings to ``result`` (``conclint.noqa_audit``)."""
    from conclint.analysis.project import site_lines, summarise
    from conclint.noqa_audit import Scope, audit
    from conclint.reading import decode_source

    selection = _selection(settings)
    unjudged = selection.project
    # Codes of rules with a project part are left alone on the lines the file's summary
    # keeps (where the project phase may report), and in a file-level noqa when it keeps any.
    summaries: List[Any] = []

    def project_lines(code: str) -> FrozenSet[int]:
        if not summaries:
            summaries.append(summarise(data, result.ast_tree))
            summaries.append(continued_lines(decode_source(data)))
        lines = site_lines(summaries[0], selection.project_part[code])
        # A site inside a multi-line string or a continuation: the comment covering it is where it ends.
        return lines | frozenset(summaries[1].get(line, line) for line in lines)

    scope = Scope(
        rule.code, codes - disabled - unjudged, codes - unjudged, result.silenced, result.file_silenced,
        deferred=frozenset(selection.project_part), deferred_lines=project_lines,
    )
    source = decode_source(data)
    found = audit(source, path, scope, with_edits)
    if not found:
        return
    lines = _NEWLINES.split(source)
    policy = settings.fix_policy
    for finding in found:
        finding.fingerprint = fingerprint(finding.code, lines, finding.line, finding.line)
        if policy and finding.fix is not None:  # unfixable, extend-safe-fixes, extend-unsafe-fixes
            if not policy.fixable(finding.code):
                finding.fix = None
            else:
                finding.fix.applicability = policy.applicability(finding.code, finding.fix.applicability)
    result.findings.extend(found)  # noqa_audit has applied the comments' own CCL900 codes
    result.text_fixes.extend(found)
    result.findings.sort(key=Finding.sort_key)


def _lint_rules(
    data: bytes,
    path: str,
    settings: Settings,
    codes: FrozenSet[str],
    disabled: FrozenSet[str],
    result: FileResult,
    *,
    with_edits: bool,
    keep_tree: bool,
    rule_classes: Optional[Sequence[Type[Rule]]],
    keep_ast: bool,
    cache: Optional[ParseCache],
) -> FileResult:
    """The rules' part of ``lint_source``: the gates, the parse, the traversal."""
    if not codes:
        result.skipped = True
        return result
    rules = rule_set(settings, codes) if rule_classes is None else RuleSet(rule_classes, settings.rule_options)
    # Without the gate every enabled rule runs: the equivalence tests compare both ways.
    candidates = rules.trigger.matching(data) if settings.gate else list(rules.classes)
    from conclint.analysis.parsing import ParseFailure, parse_screened, screen

    if not candidates:
        result.skipped = True
        if PARSE_ERROR in codes and _about_concurrency(data):
            _syntax_check(data, path, result, keep_ast)
        return result

    try:
        screened = screen(data)
        if keep_ast:
            result.ast_tree = screened.tree
            result.ast_facts = screened.facts
        if settings.gate and screened.facts is not None:
            # The second gate: what CPython's tree shows (see conclint.analysis.facts).
            candidates = [c for c in candidates if c.could_report(screened.facts, rules.options[c])]
            if not candidates:
                result.skipped = True
                return result
        module = parse_screened(data, screened) if cache is None else cache.parse(data, screened)
        tree = screened.tree
    except ParseFailure as exc:
        result.parse_failed = True
        if PARSE_ERROR in codes:
            result.findings.append(Finding(PARSE_ERROR, exc.message, path, exc.line, exc.column, exc.line, exc.column))
        return result
    try:
        if screened.normalised is not None:
            return _analyse_normalised(
                module, screened.normalised, path, settings, candidates, result, keep_tree, rules.options, disabled
            )
        return analyse(
            module, data, path, settings, candidates, result,
            with_edits=with_edits, keep_tree=keep_tree, tree=tree, options=rules.options, disabled=disabled,
        )
    except RecursionError:
        # parse_module keeps trees within the recursion limit as measured; this is the
        # backstop for a rule or LibCST helper that recurses deeper than that.
        result = FileResult(path, parse_failed=True)
        if PARSE_ERROR in codes:
            result.findings.append(Finding(PARSE_ERROR, "cannot analyse: nesting too deep (RecursionError)", path, 1, 1, 1, 1))
        return result


def _never_run(tree: Any) -> List[Tuple[int, int]]:
    """The lines of the bodies under ``if False:`` / ``if 0:`` (code kept for another build, as
    psycopg_pool's sync twin): they never run, and what rules find there cannot happen."""
    import ast

    from conclint.analysis.facts import never_runs

    spans = []
    for node in ast.walk(tree):
        if type(node) is ast.If and never_runs(node) and node.body:
            spans.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
    return spans


def analyse(
    module: Any,
    data: bytes,
    path: str,
    settings: Settings,
    rule_classes: Sequence[Type[Rule]],
    result: FileResult,
    *,
    with_edits: bool = False,
    keep_tree: bool = False,
    tree: Any = None,
    options: Optional[Mapping[Type[Rule], Mapping[str, Any]]] = None,
    disabled: FrozenSet[str] = frozenset(),
) -> FileResult:
    """Run ``rule_classes`` over ``module``; ``tree``, CPython's tree of ``data`` when the
    caller has it, spares the positions a second ``ast.parse``. ``options`` are the rules'
    merged options (``RuleSet.options``; by default, those ``settings`` give). The findings
    of ``disabled`` codes (turned off by a ``# conclint: noqa: CODES``) are dropped and
    recorded in ``result.file_silenced``, those line noqa silences in ``result.silenced``."""
    from conclint.analysis import Semantic

    # Not module.code: generating code recurses, and text is needed only for noqa and fingerprints.
    # Strict: the screen has decoded these bytes already, and some codecs (idna) have no "replace".
    source = data.decode(module.encoding).lstrip("\ufeff")
    sem = Semantic(path, source)
    if options is None:
        options = RuleSet(rule_classes, settings.rule_options).options
    rules = [cls(sem, options[cls]) for cls in rule_classes]
    _run_rules(module, sem, rules)
    reports = [r for rule in rules for r in rule.reports]
    if settings.fix_policy:  # unfixable, extend-safe-fixes, extend-unsafe-fixes
        for r in reports:
            r.fix = settings.fix_policy.adjust(r.code, r.fix)
    if keep_tree:
        result.module = module
    if not reports:
        return result

    from conclint.analysis.positions import positions_of

    wanted = [(r.node, r.statement) for r in reports]
    wanted.extend((node, ()) for r in reports for node, _ in r.related)
    positions = positions_of(module, data, wanted, tree)
    # Python's line numbers count \n, \r\n and \r only; str.splitlines() also splits at form
    # feeds and other separators, which would shift noqa and fingerprints.
    lines = _NEWLINES.split(source)
    # Only real comments silence: the tokenizer tells them from `#` in strings and docstrings.
    noqa = comments(source) if settings.noqa and may_have_line_noqa(source) else {}
    # A line inside a multi-line string or continued by a backslash: its run's last line's comment.
    covering = continued_lines(source) if noqa else {}
    seen = set()
    dead = _never_run(tree) if tree is not None and (b"if False" in data or b"if 0" in data) else []
    for report in reports:
        pos = positions[report.node]
        line, col = pos.start.line, pos.start.column + 1
        end_line, end_col = pos.end.line, pos.end.column + 1
        key = (report.code, line, col, report.message)
        if key in seen or any(first <= line <= last for first, last in dead):
            continue
        seen.add(key)
        if report.code in disabled:
            result.file_silenced.add(report.code)
            continue
        at = covering.get(line, line)
        if at in noqa and is_suppressed(report.code, noqa[at]):
            result.silenced.add((at, report.code))
            continue
        fix_info = None
        if report.fix is not None:
            try:
                edits = fix_edits(module, source, report.fix) if with_edits else []
            except (RecursionError, BrokenFix):
                pass  # too deep for LibCST to rewrite (as the fixer finds), or broken: the finding, no fix
            else:
                fix_info = FixInfo(report.fix.applicability.value, report.fix.message, edits)
        related = [
            Related(path, at.start.line, at.start.column + 1, at.end.line, at.end.column + 1, text)
            for at, text in ((positions[node], text) for node, text in report.related)
        ]
        message = report.message
        for index, place in enumerate(related):  # rule.related_line marks
            message = message.replace(f"\x00related-line-{index}\x00", str(place.line))
        finding = Finding(
            report.code, message, path, line, col, end_line, end_col, fix_info,
            fingerprint=fingerprint(report.code, lines, line, end_line), related=related,
        )
        result.findings.append(finding)
        if keep_tree:
            result.reports.append((finding, report))
    result.findings.sort(key=Finding.sort_key)
    return result


def _analyse_normalised(
    module: Any, normalised: Any, path: str, settings: Settings, rule_classes: Sequence[Type[Rule]],
    result: FileResult, keep_tree: bool, options: Mapping[Type[Rule], Mapping[str, Any]],
    disabled: FrozenSet[str] = frozenset(),
) -> FileResult:
    """Lint the copy LibCST could read (see ``parsing.form_feeds``): columns are moved back
    to the file's own, and fixes are withheld, as they would write the copy's bytes."""
    result = analyse(
        module, normalised.data, path, settings, rule_classes, result, keep_tree=keep_tree, options=options,
        disabled=disabled,
    )
    shifts = normalised.shifts
    for finding in result.findings:
        finding.column += shifts.get(finding.line, 0)
        finding.end_column += shifts.get(finding.end_line, 0)
        finding.related = [
            replace(r, column=r.column + shifts.get(r.line, 0), end_column=r.end_column + shifts.get(r.end_line, 0))
            for r in finding.related
        ]
        finding.fix = None
    first = min(shifts)
    result.unfixable = (
        f"fixes not applied: line {first} has a form feed in its indentation, which LibCST "
        "drops or cannot parse (linted without it)"
    )
    return result


def _run_rules(module: Any, sem: Any, rules: Sequence[Any]) -> None:
    """One traversal for all rules: the Semantic model is updated around their callbacks,
    which are LibCST's batchable ``visit_<Node>``/``leave_<Node>`` methods.

    ``walk.traverse`` with the Semantic model's ``enter``/``leave`` and the rules' callbacks
    inlined: this loop runs once per node of every parsed file (half a million on the
    standard library), where each Python call it saves is measurable."""
    from conclint.analysis.walk import children

    names = [(rule, frozenset(rule.callback_names())) for rule in rules]

    def callbacks(prefix: str, kind: type) -> List[Any]:
        name = prefix + kind.__name__
        return [getattr(rule, name) for rule, defined in names if name in defined]

    # Per node type: (the model's hook on entering, the rules' visits), and on leaving the
    # rules' leaves and the model's hook. None: nothing to call for that type.
    entering: Dict[type, Any] = {}
    leaving: Dict[type, Any] = {}
    on_enter, on_leave = sem._on_enter, sem._on_leave
    path = sem.stack  # the model's ancestor stack, kept here as Scopes.enter/leave would
    push, pop = path.append, path.pop
    # Nodes to enter, and _LEAVE where the node on top of ``path`` is to be left (nodes are
    # left in the reverse order they were entered): no tuple per node.
    stack: List[Any] = [module]
    while stack:
        node = stack.pop()
        if node is _LEAVE:
            node = path[-1]
            kind = type(node)
            calls = leaving.get(kind, ())
            if calls == ():
                found, hook = callbacks("leave_", kind), on_leave.get(kind)
                calls = leaving[kind] = (found, hook) if found or hook is not None else None
            if calls is not None:
                for method in calls[0]:
                    method(node)
                if calls[1] is not None:
                    calls[1](sem, node)
            pop()
            continue
        kind = type(node)
        push(node)
        calls = entering.get(kind, ())
        if calls == ():
            found, hook = callbacks("visit_", kind), on_enter.get(kind)
            calls = entering[kind] = (hook, found) if found or hook is not None else None
        if calls is not None:
            if calls[0] is not None:
                calls[0](sem, node)
            for method in calls[1]:
                method(node)
        stack.append(_LEAVE)
        below = children(node)
        below.reverse()
        stack.extend(below)


_LEAVE = object()


class BrokenFix(Exception):
    """A fix whose text would not compile where the original does, or would be read in
    another encoding: never offered."""


def fix_edits(module: Any, source: str, fix: Any) -> List[Edit]:
    """Text edits equivalent to one fix, found by diffing the regenerated module. Raises
    ``BrokenFix`` if the fixed text would not compile or would declare another encoding
    (``--fix`` checks what it writes; an editor or a bot applies these edits as they are)."""
    from conclint.applier import apply_changes

    new_source = apply_changes(module, [fix]).code
    if compile_error(new_source) is not None and compile_error(source) is None:
        raise BrokenFix(fix.message)
    # (a removed first line brings a third line's coding comment into the two Python reads
    # it from: every non-ASCII character would change; --fix refuses it too)
    if declared_encoding(new_source[:4096].encode("utf-8", "surrogatepass")) != declared_encoding(
        source[:4096].encode("utf-8", "surrogatepass")
    ):
        raise BrokenFix(fix.message)
    return text_edits(source, new_source)


def declared_encoding(data: bytes) -> str:
    """The encoding Python reads ``data`` in, by its BOM or the coding comment of its first
    two lines (a BOM gives ``utf-8-sig``, which keeps it)."""
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def compile_error(source: Union[str, bytes]) -> Optional[Exception]:
    """CPython's error compiling ``source``, the symbol table's included (a name used before
    its `global` statement, `nonlocal` of nothing, which its parser lets through), or None."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<fix>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            return exc
    return None


# Lines between the first and the last changed one beyond which the change is one edit:
# difflib's matching grows with the square of the lines it matches where the changes are
# many (a fix-all of a file of 1,000 small defs took 83 s in the server).
_DIFF_LINES = 2000


def text_edits(old: str, new: str) -> List[Edit]:
    """Minimal line-anchored edits turning ``old`` into ``new`` (1-based, end exclusive);
    one edit of everything between the first and the last changed line when that is more
    than ``_DIFF_LINES`` lines (an editor applies it as well, as it does a formatter's)."""
    import difflib

    old_lines = _LINES_WITH_ENDS.findall(old)
    new_lines = _LINES_WITH_ENDS.findall(new)
    # The lines both texts share at their start and end are in no edit.
    head, shorter = 0, min(len(old_lines), len(new_lines))
    while head < shorter and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while tail < shorter - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    old_end, new_end = len(old_lines) - tail, len(new_lines) - tail
    if max(old_end, new_end) - head > _DIFF_LINES:
        opcodes = [("replace", head, old_end, head, new_end)]
    else:
        matcher = difflib.SequenceMatcher(a=old_lines[head:old_end], b=new_lines[head:new_end])
        opcodes = [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
    edits: List[Edit] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal" or (i1 == i2 and j1 == j2):
            continue
        old_text = "".join(old_lines[i1:i2])
        new_text = "".join(new_lines[j1:j2])
        # Trim what both sides share so an edit covers only what changes.
        prefix = 0
        while prefix < min(len(old_text), len(new_text)) and old_text[prefix] == new_text[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < min(len(old_text), len(new_text)) - prefix
            and old_text[len(old_text) - 1 - suffix] == new_text[len(new_text) - 1 - suffix]
        ):
            suffix += 1
        # Never between the CR and LF of one line break: a position there is on no line.
        if 0 < prefix < len(old_text) and old_text[prefix - 1] == "\r" and old_text[prefix] == "\n":
            prefix -= 1
        cut = len(old_text) - suffix
        if 0 < cut < len(old_text) and old_text[cut - 1] == "\r" and old_text[cut] == "\n":
            suffix -= 1
        start = _offset_to_position(old_lines, i1, old_text[:prefix])
        end = _offset_to_position(old_lines, i1, old_text[: len(old_text) - suffix])
        edits.append(Edit(start[0], start[1], end[0], end[1], new_text[prefix: len(new_text) - suffix]))
    return edits


def _offset_to_position(lines: List[str], first_line_index: int, consumed: str) -> Tuple[int, int]:
    # Lines end as Python ends them: "\r\n", "\r" or "\n" (a CR-only file has no "\n").
    breaks = _BREAK.findall(consumed)
    line = first_line_index + 1 + len(breaks)
    last_break = max(consumed.rfind("\n"), consumed.rfind("\r"))
    column = len(consumed) - (last_break + 1) + 1
    if first_line_index >= len(lines) and not consumed:
        return len(lines) + 1, 1
    return line, column
