"""What the language server knows and computes, without the protocol's transport: client
settings, the configuration of each document (resolved as the command resolves it), lint
results as LSP diagnostics, and code actions (a fix, all safe fixes, a ``# noqa``).

Everything here runs on the server's one lint thread (``conclint.server``); what it returns
are lsprotocol values the server sends as they are. Positions: the engine counts lines from
1 and columns in characters from 1; LSP counts both from 0, columns in the units the client
and server agreed on (UTF-16 unless the client offers another).
"""

from __future__ import annotations

import ast
import gc
import hashlib
import io
import os
import re
import tokenize
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Type

from lsprotocol import types

from conclint.config import ConfigError, ConfigFinder, settings_from_config
from conclint.analysis.incremental import ParseCache
from conclint.addnoqa import commented_line
from conclint.engine import PARSE_ERROR, BrokenFix, FileResult, codes_for, fix_edits, lint_source, rule_set, text_edits
from conclint.noqa import comment_tokens, continued_lines
from conclint.findings import Edit, Finding
from conclint.analysis.parsing import MAX_PARSE_BYTES
from conclint import project
from conclint.reading import MAX_SOURCE_BYTES, decode_source
from conclint.settings import Settings

if TYPE_CHECKING:
    from conclint.rule import Rule

SOURCE = "conclint"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
LOG_LEVELS = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
    "debug": types.MessageType.Log,
}
# Open documents whose last parse is kept, to be reused by their next version (each costs
# about one tree: the documents the user last edited).
MAX_PARSE_CACHES = 8
# Line breaks as Python and LSP count them (not str.splitlines(), which also breaks at form feeds).
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


class SettingsError(ValueError):
    """A client setting of the wrong type."""


@dataclass(frozen=True)
class ClientSettings:
    """What the editor's configuration says (``initializationOptions`` or
    ``workspace/didChangeConfiguration``): keys ``unsafeFixes``, ``select``,
    ``extendSelect``, ``ignore`` (as the command's options), ``logLevel``, ``debounceMs``."""

    unsafe_fixes: Optional[bool] = None  # None: the configuration's unsafe-fixes
    select: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    log_level: types.MessageType = types.MessageType.Warning
    debounce: float = 0.0  # seconds

    @classmethod
    def parse(cls, raw: Any) -> "ClientSettings":
        """Read the settings, flat or under a ``conclint`` key; raises ``SettingsError``."""
        if isinstance(raw, dict) and SOURCE in raw:
            raw = raw[SOURCE]
            if raw is not None and not isinstance(raw, dict):
                raise SettingsError(f"{SOURCE} settings must be an object, not {type(raw).__name__}")
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise SettingsError(f"settings must be an object, not {type(raw).__name__}")
        unsafe = raw.get("unsafeFixes")
        if unsafe is not None and not isinstance(unsafe, bool):
            raise SettingsError("unsafeFixes must be true, false or null")
        level = raw.get("logLevel", "warning")
        if not isinstance(level, str) or level not in LOG_LEVELS:  # (a list is no key: not hashable)
            raise SettingsError(f"logLevel must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        debounce = raw.get("debounceMs", 0)
        if isinstance(debounce, bool) or not isinstance(debounce, (int, float)) or not 0 <= debounce <= 10_000:
            raise SettingsError("debounceMs must be a number of milliseconds from 0 to 10000")
        return cls(
            unsafe_fixes=unsafe,
            select=_codes(raw, "select"),
            extend_select=_codes(raw, "extendSelect"),
            ignore=_codes(raw, "ignore"),
            log_level=LOG_LEVELS[level],
            debounce=debounce / 1000,
        )


def _codes(raw: Dict[str, Any], key: str) -> Tuple[str, ...]:
    value = raw.get(key) or []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{key} must be a list of rule codes or prefixes")
    return tuple(v.strip().upper() for v in value if v.strip())


@dataclass
class Document:
    """One document as the client has it: ``path`` is None for one not in a file."""

    uri: str
    text: str
    version: Optional[int]
    path: Optional[Path]
    unreadable: Optional[str] = None  # a file on disk that cannot be linted: why (a CCL000)

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else self.uri


@dataclass
class Linted:
    """A document's diagnostics, and what the server should log about them."""

    diagnostics: List[types.Diagnostic]
    messages: List[Tuple[types.MessageType, str]] = field(default_factory=list)
    # A configuration the user must fix: shown once (not logged), no diagnostics meanwhile.
    config_error: Optional[str] = None


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the code units of an LSP position encoding (UTF-16 unless
    the client chose UTF-8 or UTF-32)."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def apply_edit(text: str, start: types.Position, end: types.Position, new_text: str, encoding: str) -> str:
    """``text`` with the range ``start``-``end`` (LSP positions in ``encoding``'s units)
    replaced by ``new_text``. Lines are broken as LSP and Python break them (CR LF, CR, LF:
    not at form feeds or U+2028, where ``str.splitlines()``, and pygls with it, broke them);
    a character past the end of its line is the line's end, a line past the last the end of
    the text (as LSP says)."""
    starts = [0, *(match.end() for match in _LINE_BREAKS.finditer(text))]

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        first = starts[position.line]
        last = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
        line = text[first:last].rstrip("\r\n")
        return first + _index(line, position.character, encoding)

    begin = offset(start)
    return text[:begin] + new_text + text[max(begin, offset(end)):]


def _index(line: str, count: int, encoding: str) -> int:
    """The index in ``line`` of the position ``count`` code units of ``encoding`` in (at most
    the line's length; inside a character, after it)."""
    if encoding == types.PositionEncodingKind.Utf32 or line.isascii():
        return min(count, len(line))
    seen = 0
    for index, char in enumerate(line):
        if seen >= count:
            return index
        seen += units(char, encoding)
    return len(line)


class Positions:
    """Engine positions (1-based lines, 1-based character columns of the text without its
    BOM) to LSP positions in ``encoding``'s units."""

    def __init__(self, text: str, encoding: str, uri: str = "") -> None:
        self.uri = uri  # the document's, for the related places of a finding in it
        self.lines = _LINE_BREAKS.split(text)
        self.bom = text.startswith("\ufeff")
        self.encoding = encoding

    def position(self, line: int, column: int) -> types.Position:
        index, char = line - 1, column - 1
        if index >= len(self.lines):  # an edit's end after the last line
            index, char = len(self.lines) - 1, len(self.lines[-1])
        text = self.lines[index]
        if index == 0 and self.bom:
            char += 1
        if not text.isascii():
            char = units(text[:char], self.encoding)
        return types.Position(line=index, character=char)

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        return types.Range(start=self.position(line, column), end=self.position(end_line, end_column))

    def text_edit(self, edit: Edit) -> types.TextEdit:
        return types.TextEdit(range=self.range(edit.line, edit.column, edit.end_line, edit.end_column), new_text=edit.content)


def encoded(text: str) -> bytes:
    """The bytes the buffer would be saved as: its PEP 263 encoding, else UTF-8 (lone
    surrogates pass through, for the screen to refuse); raises ``UnicodeError`` when the
    text cannot be written in the encoding it declares."""
    data = text.encode("utf-8", "surrogatepass")
    try:
        declared = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:  # an unknown or contradictory cookie: the screen says which
        return data
    if declared in ("utf-8", "utf-8-sig"):
        return data
    return text.encode(declared)


class Session:
    """Client settings, configurations by directory, and lint results by document."""

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = root
        self.position_encoding: str = types.PositionEncodingKind.Utf16
        self.client = ClientSettings()
        # Bumped whenever a configuration or client setting changes: results made before are stale.
        self.generation = 0
        self._by_directory: Dict[Path, Tuple[Settings, bool]] = {}
        self._by_config: Dict[Optional[Path], Tuple[Settings, bool]] = {}
        self._config_errors: Dict[Path, str] = {}
        # Which configuration file applies where, as the command finds it (``ConfigFinder``).
        self._finder = ConfigFinder()
        self._failed_rules: Set[str] = set()
        self._shown_errors: Set[str] = set()
        # The last lint, with its tree, kept for code actions and for a lint of the same text
        # again (a save, a pull): (uri, version, generation), the text, the result.
        self._tree: Optional[Tuple[Tuple[str, Optional[int], int], str, FileResult]] = None
        # The last fix-all's edits (an editor asks for them with every cursor move): (uri,
        # version, generation, unsafe fixes on), the text, the edits.
        self._fixed_all: Optional[Tuple[Tuple[str, Optional[int], int, bool], str, List[Edit]]] = None
        # Each document's last parse, by uri, the least recently linted first.
        self._parses: "OrderedDict[str, ParseCache]" = OrderedDict()

    # ------------------------------------------------------------------ configuration
    def set_client(self, client: ClientSettings) -> None:
        self.client = client
        self.forget_configuration()

    def forget_configuration(self) -> None:
        """A pyproject.toml or the client settings changed: read everything again."""
        self.generation += 1
        self._by_directory.clear()
        self._by_config.clear()
        self._config_errors.clear()
        self._finder = ConfigFinder()
        self._shown_errors.clear()
        self._tree = None
        self._fixed_all = None

    def settings_for(self, document: Document) -> Tuple[Settings, bool]:
        """The document's Settings and whether unsafe fixes are on, as the command would
        have them for the file (its nearest configuration file, through the same
        ``ConfigFinder``), with the client's selectors on top; raises ``ConfigError``."""
        directory = document.path.parent if document.path is not None else (self.root or Path.cwd())
        found = self._by_directory.get(directory)
        if found is not None:
            return found
        if directory in self._config_errors:
            raise ConfigError(self._config_errors[directory])
        try:
            config = self._finder.config_for(str(document.path or directory))
            shared = self._by_config.get(config.path)
            if shared is None:
                client = self.client
                settings = settings_from_config(config, client.select, client.extend_select, client.ignore)
                unsafe = config.unsafe_fixes if client.unsafe_fixes is None else client.unsafe_fixes
                settings.unsafe_fixes = unsafe
                # One Settings per configuration file: the engine keeps its rule sets per Settings.
                shared = self._by_config[config.path] = (settings, unsafe)
        except ConfigError as exc:
            self._config_errors[directory] = str(exc)
            raise
        self._by_directory[directory] = shared
        return shared

    def result_id(self, document: Document) -> str:
        """Names what a pull of diagnostics would return: the text under this configuration."""
        digest = hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return f"{self.generation}:{digest}"

    # ------------------------------------------------------------------ linting
    def warm_up(self) -> None:
        """Import the rules and LibCST, and build the default rule set, before the first document."""
        sample = b"import threading\nlock = threading.Lock()\nlock.acquire()\n"
        lint_source(sample, "warm_up.py", Settings.default())
        # What is loaded now lives as long as the server: out of the collector's way, and the
        # collector tuned as the command's workers tune it (LibCST trees are many objects).
        gc.freeze()
        gc.set_threshold(10_000, 20, 100)

    def diagnose(self, document: Document) -> Linted:
        """The document's diagnostics; never raises."""
        try:
            settings, _ = self.settings_for(document)
        except ConfigError as exc:
            message = str(exc)
            shown = message not in self._shown_errors
            self._shown_errors.add(message)
            # In the problems panel too, for as long as it lasts: the document is not linted
            # (as the command says "not checked"), and no diagnostic at all would look clean.
            where = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
            unusable = types.Diagnostic(
                range=where, message=f"not linted: the configuration cannot be used: {message}",
                severity=types.DiagnosticSeverity.Error, code=PARSE_ERROR, source=SOURCE,
            )
            return Linted([unusable], config_error=message if shown else None)
        result, messages = self._kept_tree(document, settings)
        positions = Positions(document.text, self.position_encoding, document.uri)
        diagnostics = [to_diagnostic(f, positions, document.version) for f in result.findings]
        if result.unfixable:  # why its fixes are withdrawn (form feeds in indentation...), once
            notice = f"conclint: {document.name}: {result.unfixable}"
            if notice not in self._shown_errors:
                self._shown_errors.add(notice)
                messages = [*messages, (types.MessageType.Warning, notice)]
        return Linted(diagnostics, messages)

    def lint(self, document: Document, settings: Settings, *, keep_tree: bool = False) -> Tuple[FileResult, List[Tuple[types.MessageType, str]]]:
        """Lint the buffer; a rule that raises is left out (and logged once a session), the
        others still report; a document that cannot be linted at all is one CCL000."""
        messages: List[Tuple[types.MessageType, str]] = []
        name = document.name
        if document.unreadable is not None:
            return _unreadable(name, settings, document.unreadable), messages
        try:
            data = encoded(document.text)
        except (LookupError, UnicodeError) as exc:
            return _unreadable(name, settings, f"cannot encode the buffer as its coding declaration says ({exc})"), messages
        if len(data) > MAX_SOURCE_BYTES:
            # What the command says of a file it will not read; a smaller one goes through the
            # gates as the command's does (a large data file without concurrency code gets
            # nothing; one with it, the screen's "too large to analyse").
            mib = 1024 * 1024
            return _unreadable(name, settings, f"file too large ({len(data) // mib} MiB > {MAX_SOURCE_BYTES // mib} MiB); skipped"), messages
        left_out: List[Type[Rule]] = []
        while True:
            classes = None
            if left_out:
                classes = [c for c in rule_set(settings, codes_for(settings, name)).classes if c not in left_out]
            try:
                cache = self.parse_cache(document.uri)
                result = lint_source(
                    data, name, settings, keep_tree=keep_tree, rule_classes=classes, cache=cache,
                    keep_ast=project.wants_summaries(settings),
                )
            except Exception as exc:  # a bug in a rule (or below): the document stays linted without it
                culprit = failing_rule(exc)
                if culprit is None or culprit in left_out:
                    messages.append((types.MessageType.Error, f"conclint: internal error linting {name}: {type(exc).__name__}: {exc}"))
                    return FileResult(name), messages
                left_out.append(culprit)
                if culprit.code not in self._failed_rules:
                    self._failed_rules.add(culprit.code)
                    messages.append((
                        types.MessageType.Error,
                        f"conclint: internal error in rule {culprit.code} ({culprit.name}) on {name}: "
                        f"{type(exc).__name__}: {exc}; its findings are left out, the other rules still report",
                    ))
                continue
            if not result.parse_failed and len(data) <= MAX_PARSE_BYTES:
                try:
                    _add_project_findings(result, data, name, settings, frozenset(c.code for c in left_out))
                except Exception as exc:  # a bug in a project rule: the file's own findings stand
                    notice = f"conclint: internal error in the project rules on {name}: {type(exc).__name__}: {exc}"
                    if notice not in self._shown_errors:
                        self._shown_errors.add(notice)
                        messages.append((types.MessageType.Error, notice))
            return result, messages

    # ------------------------------------------------------------------ code actions
    def code_actions(self, document: Document, wanted: types.Range, only: Optional[Sequence[str]]) -> List[types.CodeAction]:
        """Quick fixes and "disable" actions for the findings overlapping ``wanted``, and
        the fix-all source action, as versioned edits of ``document``."""
        try:
            settings, unsafe = self.settings_for(document)
        except ConfigError:
            return []
        result, _ = self._kept_tree(document, settings)
        positions = Positions(document.text, self.position_encoding)
        source = document.text.lstrip("\ufeff")
        actions: List[types.CodeAction] = []
        quick = _allowed(types.CodeActionKind.QuickFix, only)
        lines = _LINE_BREAKS.split(source)
        disabling: Set[Tuple[int, str]] = set()
        comments: Optional[Dict[int, Tuple[int, str]]] = None  # each line's comment: where, what
        covering: Dict[int, int] = {}  # a line in a multi-line string or continuation: where it ends
        for finding, report in result.reports:
            diagnostic = to_diagnostic(finding, positions, document.version)
            if not quick or not _overlaps(diagnostic.range, wanted):
                continue
            fix = finding.fix
            edits: List[Edit] = []
            if fix is not None and result.module is not None and (unsafe or fix.applicability == "safe"):
                try:
                    edits = _quick_fix_edits(result.module, source, report.fix)
                except (RecursionError, BrokenFix):  # too deep for LibCST to rewrite, or broken: left out
                    edits = []
            if fix is not None and edits:
                label = " (unsafe)" if fix.applicability != "safe" else ""
                actions.append(types.CodeAction(
                    title=f"Fix {finding.code}: {fix.message}{label}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=fix.applicability == "safe",
                    edit=_workspace_edit(document, [positions.text_edit(e) for e in edits]),
                ))
            if (finding.line, finding.code) in disabling:
                continue  # two findings of one rule on a line: one action disables both
            disabling.add((finding.line, finding.code))
            if comments is None:
                comments = {line: (column - 1, text) for line, column, text in comment_tokens(source)}
                covering = continued_lines(source)
            at = covering.get(finding.line, finding.line)
            noqa = _noqa_edit(source, lines, finding, comments.get(at), at)
            if noqa is not None:
                actions.append(types.CodeAction(
                    title=f"Disable {finding.code} for this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=_workspace_edit(document, [positions.text_edit(noqa)]),
                ))
        for finding in result.text_fixes if quick else ():  # CCL900's: edits of comments
            diagnostic = to_diagnostic(finding, positions, document.version)
            fix = finding.fix
            if fix is not None and fix.edits and (unsafe or fix.applicability == "safe") and _overlaps(diagnostic.range, wanted):
                edit = _workspace_edit(document, [positions.text_edit(e) for e in fix.edits])
                label = " (unsafe)" if fix.applicability != "safe" else ""  # (extend-unsafe-fixes)
                actions.append(types.CodeAction(
                    title=f"Fix {finding.code}: {fix.message}{label}", kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic], is_preferred=not label, edit=edit,
                ))
        if _allowed(FIX_ALL_KIND, only) and any(f.fix is not None and (unsafe or f.fix.applicability == "safe") for f in result.findings):
            try:
                edits = self._fix_all(document, settings, source, unsafe)
            except RecursionError:
                edits = []
            if edits:
                actions.append(types.CodeAction(
                    title="Fix all conclint problems" if unsafe else "Fix all safe conclint problems",
                    kind=FIX_ALL_KIND,
                    edit=_workspace_edit(document, [positions.text_edit(e) for e in edits]),
                ))
        return actions

    def _kept_tree(self, document: Document, settings: Settings) -> Tuple[FileResult, List[Tuple[types.MessageType, str]]]:
        """The document's lint with its tree and reports (fixes are built from them), and what
        to log of it (nothing when it was kept): kept for one document version at a time, as
        an editor asks for actions at every cursor move, and after every change."""
        key = (document.uri, document.version, self.generation)
        if self._tree is not None and self._tree[0] == key and self._tree[1] == document.text:
            return self._tree[2], []
        self._tree = None  # let the old tree go before building a new one
        result, messages = self.lint(document, settings, keep_tree=True)
        self._tree = (key, document.text, result)
        return result, messages

    def parse_cache(self, uri: str) -> ParseCache:
        """The document's parse cache (LibCST parses only the statements an edit changed); the
        least recently linted document's is dropped beyond ``MAX_PARSE_CACHES``."""
        cache = self._parses.pop(uri, None)
        if cache is None:
            cache = ParseCache()
        self._parses[uri] = cache
        while len(self._parses) > MAX_PARSE_CACHES:
            self._parses.popitem(last=False)
        return cache

    def forget(self, uri: str) -> None:
        """The document was closed: nothing of it is kept."""
        if self._tree is not None and self._tree[0][0] == uri:
            self._tree = None
        if self._fixed_all is not None and self._fixed_all[0][0] == uri:
            self._fixed_all = None
        self._parses.pop(uri, None)

    def _fix_all(self, document: Document, settings: Settings, source: str, unsafe: bool) -> List[Edit]:
        """The edits ``conclint --fix`` would make to the buffer (safe fixes, unsafe ones too
        where the configuration or the client turns them on; passes until stable); those of
        the last request again for the same text under the same settings."""
        key = (document.uri, document.version, self.generation, unsafe)
        if self._fixed_all is not None and self._fixed_all[0] == key and self._fixed_all[1] == document.text:
            return self._fixed_all[2]
        self._fixed_all = None
        edits = self._fixed_edits(document, settings, source, unsafe)
        self._fixed_all = (key, document.text, edits)
        return edits

    def _fixed_edits(self, document: Document, settings: Settings, source: str, unsafe: bool) -> List[Edit]:
        """``_fix_all``'s edits, made anew."""
        from conclint.fixer import fix_source

        data = encoded(document.text)
        # With the document's cache: the buffer's statements are parsed already, and the fixed
        # text, which the client is about to make the buffer's, is what the cache keeps.
        outcome = fix_source(data, document.name, settings, unsafe=unsafe, cache=self.parse_cache(document.uri))
        if not outcome.changed:
            return []
        # Decoded as its coding declaration says (a latin-1 buffer's fixed bytes are latin-1).
        return text_edits(source, decode_source(outcome.fixed).lstrip("\ufeff"))


def _quick_fix_edits(module: Any, source: str, fix: Any) -> List[Edit]:
    """One fix's edits of ``source``. A buffer whose lines end with CR alone is linted as
    its LF copy (same lines and columns): the fix is diffed against that copy, and its new
    text given back the buffer's CRs."""
    if "\r" in source and "\n" not in source:
        return [replace(e, content=e.content.replace("\n", "\r")) for e in fix_edits(module, source.replace("\r", "\n"), fix)]
    return fix_edits(module, source, fix)


def _add_project_findings(result: FileResult, data: bytes, name: str, settings: Settings, left_out: FrozenSet[str]) -> None:
    """The project rules' findings (CCL209) over the document alone, added to ``result``: what
    ``conclint FILE`` reports of that one file (the command over the whole project also
    follows names into the other files). ``left_out``: rules that failed on the document."""
    from conclint.analysis.project import ModuleInfo, ModuleNamer

    codes = project.project_codes(settings) - left_out
    if not codes:
        return
    summary = project.summary_of(data, result.ast_tree, result.ast_facts)
    if summary is None:
        return
    module = ModuleInfo(ModuleNamer(settings.root).name(name), name, os.path.basename(name) == "__init__.py", summary)
    own = {(f.code, f.line, f.column) for f in result.findings}
    found = [f for f in project.project_findings([module], settings, codes=codes) if (f.code, f.line, f.column) not in own]
    if not found:
        return
    # The other places named relative to the project's root, as the command run there names them.
    try:
        shown = Path(name).resolve().relative_to(settings.root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        shown = name
    if shown != name:
        found = [replace(f, message=f.message.replace(f"{name}:", f"{shown}:")) for f in found]
    result.findings = sorted([*result.findings, *found], key=Finding.sort_key)


def to_diagnostic(finding: Finding, positions: Positions, version: Optional[int]) -> types.Diagnostic:
    """The finding as an LSP diagnostic; ``data`` says which fix it has, for which version of
    the document (a code action rebuilds it from that version's tree)."""
    fix = finding.fix
    related = [  # (the places in this document: its own are the ones with positions here)
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=positions.uri, range=positions.range(r.line, r.column, r.end_line, r.end_column)),
            message=r.message,
        )
        for r in finding.related if r.path == finding.path and positions.uri
    ]
    return types.Diagnostic(
        related_information=related or None,
        range=positions.range(finding.line, finding.column, finding.end_line, finding.end_column),
        message=finding.message,
        severity=types.DiagnosticSeverity.Error if finding.code == PARSE_ERROR else types.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        data={
            "version": version,
            "fingerprint": finding.fingerprint,
            "fix": None if fix is None else {"applicability": fix.applicability, "message": fix.message},
        },
    )


def failing_rule(exc: BaseException) -> Optional[Type[Rule]]:
    """The rule whose code raised ``exc``: the outermost frame of its traceback run for a
    rule instance (a visitor callback) or class (its gate)."""
    from conclint.rule import Rule

    tb = exc.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        owner = local.get("self", local.get("cls"))
        if isinstance(owner, Rule):
            return type(owner)
        if isinstance(owner, type) and issubclass(owner, Rule) and owner is not Rule:
            return owner
        tb = tb.tb_next
    return None


def _unreadable(name: str, settings: Settings, why: str) -> FileResult:
    result = FileResult(name, parse_failed=True)
    if PARSE_ERROR in codes_for(settings, name):
        result.findings.append(Finding(PARSE_ERROR, why, name, 1, 1, 1, 1))
    return result


def _noqa_edit(source: str, lines: List[str], finding: Finding, comment: Optional[Tuple[int, str]], at: int) -> Optional[Edit]:
    """The edit adding the finding's code to the ``# noqa`` of line ``at``: the line it
    starts on, or where the multi-line string or continuation it starts in ends (its real
    ``comment``, where and what, not text in a string that looks like one), as ``--add-noqa``
    adds it; None for CCL000 (which noqa does not silence) or where a comment would change
    the code."""
    if finding.code == PARSE_ERROR or not 0 < at <= len(lines):
        return None
    line = lines[at - 1]
    new = commented_line(line, comment, [finding.code])
    if new == line:
        return None
    breaks = [m.end() for m in _LINE_BREAKS.finditer(source)]
    offset = breaks[at - 2] if at > 1 else 0
    changed = source[:offset] + new + source[offset + len(line):]
    if not _same_program(source, changed):
        return None
    return Edit(at, 1, at, len(line) + 1, new)


def _same_program(before: str, after: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False


def _allowed(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Whether an action of ``kind`` answers a request for ``only`` (kinds are hierarchical:
    ``source`` asks for ``source.fixAll.conclint``)."""
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> Tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _workspace_edit(document: Document, edits: List[types.TextEdit]) -> types.WorkspaceEdit:
    """Edits against the version they were computed for: a client holding a newer one refuses them."""
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=list(edits))])
