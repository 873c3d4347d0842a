"""conclint as a flake8 plugin (entry point ``CCL`` in the ``flake8.extension`` group).

flake8 owns the user-facing filtering here: ``--select``/``--extend-ignore``,
``--per-file-ignores`` and ``# noqa`` are flake8's, so the plugin enables every
conclint rule that is on by default and lets flake8 drop what the user does not want.
Rules that are off by default run only when flake8's ``--select``/``--extend-select``
names them by their full code, as with ``conclint --select``.
"""

from __future__ import annotations

import ast
import tokenize
from typing import Any, ClassVar, Iterator, List, Sequence, Tuple

from conclint import __version__

Result = Tuple[int, int, str, type]


class Flake8Plugin:
    name = "conclint"
    version = __version__

    # Set once per flake8 run by ``parse_options``; None until then (e.g. used directly).
    _settings: ClassVar[Any] = None

    # flake8 classifies plugins by their parameters: ``tree`` makes this an AST plugin,
    # which flake8 runs once per file and not at all when the file fails to compile
    # (it reports E999 instead). The tree itself is unused: conclint needs LibCST's.
    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls._settings = _settings(
            list(getattr(options, "select", None) or ()) + list(getattr(options, "extend_select", None) or ())
        )

    def run(self) -> Iterator[Result]:
        from conclint.engine import PARSE_ERROR, lint_source

        settings = self._settings if self._settings is not None else _settings(())
        # The engine's byte-level trigger gate runs first, so a file that cannot contain
        # a pitfall costs a few regex searches and is never parsed with LibCST.
        data = _source_bytes(self.lines)
        try:
            result = lint_source(data, self.filename, settings)
        except Exception as exc:  # a rule crashed: one finding, not an aborted flake8 run
            message = f"{PARSE_ERROR} conclint internal error: {type(exc).__name__}: {exc}"
            yield 1, 0, message, type(self)
            return
        for finding in result.findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


def _settings(selectors: Sequence[str]) -> Any:
    """Every default rule, plus off-by-default rules named in full; options from [tool.conclint]."""
    from conclint.config import ConfigError, load_config
    from conclint.rule import all_rules
    from conclint.settings import Settings, resolve_selection

    named = {s.strip().upper() for s in selectors}
    extra = [code for code, cls in all_rules().items() if not cls.default_enabled and code in named]
    try:
        config = load_config(None, ["."])
    except ConfigError as exc:  # flake8 would print a traceback; say what to fix instead
        raise SystemExit(f"conclint: error: {exc}") from None
    return Settings(resolve_selection(["CCL"], extra, []), root=config.root, rule_options=config.rule_options)


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
    return "".join(lines).encode(encoding, "surrogateescape")
