"""conclint as a flake8 plugin (entry point ``CCL`` in the ``flake8.extension`` group).

flake8 owns the user-facing filtering here: ``--select``/``--extend-ignore``,
``--per-file-ignores`` and ``# noqa`` are flake8's, so the plugin runs every conclint
rule flake8 may report and lets flake8 drop what the user does not want. "May report"
follows flake8's ``--select``/``--extend-select`` (all default rules when ``--select``
is not given), so ``--select E,F,W`` costs nothing; rules that are off by default run
only when named by their full code, as with ``conclint --select``.
"""

from __future__ import annotations

import ast
import codecs
import tokenize
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Sequence, Tuple

from conclint import __version__

Result = Tuple[int, int, str, type]


class Flake8Plugin:
    name = "conclint"
    version = __version__

    # Set once per flake8 run by ``parse_options``; None until then (e.g. used directly).
    _settings: ClassVar[Any] = None
    _directives: ClassVar[bool] = True

    # flake8 classifies plugins by their parameters: ``tree`` makes this an AST plugin,
    # which flake8 runs once per file and not at all when the file fails to compile
    # (it reports E999 instead). The tree itself is unused: conclint needs LibCST's.
    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls._settings = _settings(getattr(options, "select", None), getattr(options, "extend_select", None) or ())
        # `flake8 --disable-noqa` turns conclint's file-level directives off too.
        cls._directives = not getattr(options, "disable_noqa", False)
        # The configuration of where flake8 runs, read here, in flake8's main process: one
        # that cannot be used stops the run with one message (flake8 would print a traceback).
        from conclint.config import ConfigError

        try:
            cls._settings.finder.config_for(".")
        except ConfigError as exc:
            raise SystemExit(f"conclint: error: {exc}") from None

    def run(self) -> Iterator[Result]:
        from conclint.config import ConfigError
        from conclint.engine import PARSE_ERROR, lint_source
        from conclint.noqa import file_directives

        selection = self._settings if self._settings is not None else _settings(None, ())
        try:
            settings = selection.for_file(self.filename)
        except ConfigError as exc:
            # A subproject's configuration, met in one of flake8's worker processes: said on
            # the file (exiting there would leave flake8 waiting for the worker for ever).
            yield 1, 0, f"{PARSE_ERROR} conclint: configuration cannot be used: {exc}", type(self)
            return
        if not settings.enabled:
            return
        # The engine's byte-level trigger gate runs first, so a file that cannot contain
        # a pitfall costs a few regex searches and is never parsed with LibCST.
        data = _source_bytes(self.lines)
        # conclint's own file-level directives hold here too (flake8 knows `# flake8: noqa`,
        # not ours): `# conclint: noqa` skips the file, `# conclint: noqa: CODES` those rules.
        directives = file_directives(data) if self._directives else None
        if directives is not None:
            for line, column, text, why in directives.malformed:
                yield line, column - 1, f"{PARSE_ERROR} {why.format(comment=text)}", type(self)
            if directives.skip:
                return
        try:
            result = lint_source(data, self.filename, settings)
        except Exception as exc:  # a rule crashed: one finding, not an aborted flake8 run
            message = f"{PARSE_ERROR} conclint internal error: {type(exc).__name__}: {exc}"
            yield 1, 0, message, type(self)
            return
        for finding in result.findings:
            if directives is not None and directives.disables(finding.code):
                continue
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


class _Selection:
    """What flake8's selection lets conclint run, and each file's Settings: that selection
    with the rule options of the file's nearest configuration (as ``conclint`` reads them),
    made once per configuration file."""

    def __init__(self, enabled: Any, explicit: Any) -> None:
        from conclint.config import ConfigFinder

        self.enabled = enabled
        self.explicit = explicit
        self.finder = ConfigFinder()
        self.made: Dict[Optional[Path], Any] = {}

    def for_file(self, filename: str) -> Any:
        from conclint.settings import Settings

        config = self.finder.config_for(filename if filename not in ("-", "stdin") else ".")  # (raises ConfigError)
        settings = self.made.get(config.path)
        if settings is None:
            settings = self.made[config.path] = Settings(
                self.enabled, root=config.root, rule_options=config.rule_options, noqa=False, explicit=self.explicit
            )
        return settings


def _settings(select: Optional[Sequence[str]], extend_select: Sequence[str]) -> _Selection:
    """The rules flake8's selection can let through (rules off by default when named by
    their full code, as ``conclint --select`` has them)."""
    from conclint.rule import all_rules
    from conclint.settings import PARSE_ERROR_CODE, explicitly_selected, resolve_selection

    known = [*all_rules(), PARSE_ERROR_CODE]
    selectors = [s.strip().upper() for s in (*(["CCL"] if select is None else select), *extend_select)]
    # flake8 selects by prefix: "C" selects conclint's codes too, "E" none of them.
    ours = [s for s in selectors if any(code.startswith(s) for code in known)]
    return _Selection(resolve_selection(ours, [], []), explicitly_selected(ours, []))


def _source_bytes(lines: Sequence[str]) -> bytes:
    """The file's bytes again, from the decoded lines flake8 hands over.

    Encoding back with the file's declared encoding keeps a PEP 263 coding cookie
    truthful, so LibCST decodes exactly what flake8 decoded.
    """
    head: List[bytes] = [line.encode("utf-8", "surrogateescape") for line in lines[:2]]
    try:
        encoding, _ = tokenize.detect_encoding(iter(head).__next__)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":  # flake8 has already stripped the BOM from the first line
        encoding = "utf-8"
    if _escapes_line_breaks(encoding):
        # `unicode_escape` writes a line break as the two characters `\n`: the file would come
        # back as one line. Each line's text is encoded alone, its line break kept as it is
        # (which such a codec decodes to itself).
        return b"".join(_encode_line(line, encoding) for line in lines)
    text = "".join(lines)
    try:
        return text.encode(encoding, "surrogateescape")
    except UnicodeError:  # a codec without that handler (idna): strict, else the text as UTF-8
        try:
            return text.encode(encoding)
        except UnicodeError:
            return text.encode("utf-8", "surrogateescape")


def _escapes_line_breaks(encoding: str) -> bool:
    try:
        encoded = codecs.lookup(encoding).encode("\n")[0]
    except (LookupError, UnicodeError, TypeError):
        return False
    return isinstance(encoded, bytes) and encoded != b"\n"


def _encode_line(line: str, encoding: str) -> bytes:
    body = line.rstrip("\r\n")
    try:
        encoded = body.encode(encoding)
    except (UnicodeError, LookupError):
        encoded = body.encode("utf-8", "surrogateescape")
    return encoded + line[len(body):].encode("ascii")
