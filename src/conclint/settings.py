"""The effective configuration of one run: which rules apply to which file, with what options."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from conclint.fixpolicy import FixPolicy, specificity as _specificity

PARSE_ERROR_CODE = "CCL000"


class SelectorError(ValueError):
    pass


def known_codes() -> Dict[str, str]:
    """Every rule code and name (without importing the rules), plus CCL000."""
    from conclint.rules import catalogue

    return {**catalogue(), PARSE_ERROR_CODE: "syntax-error"}


def resolve_selection(
    select: Sequence[str], extend_select: Sequence[str], ignore: Sequence[str]
) -> FrozenSet[str]:
    """Codes enabled by ruff-style selectors: the most specific selector wins, ignore on ties;
    CCL000 is on unless ignored.

    ``CCL`` selects every rule, ``CCL2`` every 2xx rule. A rule that is off by default
    is dropped later, by the engine (``engine.codes_for``), unless named by its full code:
    knowing that needs the rule classes, and a warm cached run should not import them.
    Rule codes are case-insensitive (``ccl2`` is ``CCL2``), here as in ``# noqa`` comments.
    """
    return resolve_layers([(select, extend_select, ignore)])


Layer = Tuple[Optional[Sequence[str]], Sequence[str], Sequence[str]]


def resolve_layers(layers: Sequence[Layer]) -> FrozenSet[str]:
    """Codes enabled by layers of selectors, each on top of the one before (as ruff puts the
    command line's on the configuration's): a layer's ``select`` (not None) starts the
    selection anew; otherwise the codes its ``extend_select`` or ``ignore`` match are decided
    by it (the most specific selector wins, ignore on ties) and the others keep their state.
    CCL000 starts on, and any ``select`` keeps it on: only an ignore turns it off."""
    known = known_codes()
    enabled = {PARSE_ERROR_CODE}
    for select, extend_select, ignore in layers:
        select_upper = None if select is None else [s.upper() for s in select]
        extend_upper = [s.upper() for s in extend_select]
        ignore_upper = [s.upper() for s in ignore]
        for selector in (*(select_upper or ()), *extend_upper, *ignore_upper):
            if selector != "ALL" and not any(code.startswith(selector) for code in known):
                raise SelectorError(f"unknown rule selector {selector!r}")
        if select_upper is not None:
            enabled = {PARSE_ERROR_CODE}
        for code in sorted(known):
            best_on = _specificity(code, (*(select_upper or ()), *extend_upper))
            best_off = _specificity(code, ignore_upper)
            if best_off >= 0 and best_off >= best_on:
                enabled.discard(code)
            elif best_on >= 0:
                enabled.add(code)
    return frozenset(enabled)


def explicitly_selected(select: Sequence[str], extend_select: Sequence[str]) -> FrozenSet[str]:
    """The codes named in full, which turns on a rule that is off by default; ``ALL`` names
    every rule (as in ruff, where it means every rule there is)."""
    named = {s.upper() for s in (*select, *extend_select)}
    if "ALL" in named:
        return frozenset(known_codes())
    return frozenset(code for code in named if code in known_codes())


@dataclass(eq=False)
class Settings:
    """The effective configuration of one run, as plain data: it imports no rule. What the
    rule classes decide (default-off rules, option defaults, triggers) is the engine's
    (``engine.codes_for``, ``engine.rule_set``), which caches it per Settings object: equal
    only to itself, a Settings is hashable. So a Settings must not change its selection or
    options once it has been used to lint."""

    enabled: FrozenSet[str]
    root: Path = field(default_factory=Path.cwd)
    per_file_ignores: List[Tuple[Any, Tuple[str, ...]]] = field(default_factory=list)
    rule_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    # Skip rules whose byte-level triggers do not match a file (never changes results).
    gate: bool = True
    # Honour `# noqa` comments; off under flake8, which applies its own (and --disable-noqa).
    noqa: bool = True
    # Codes named in full by a selector: they enable rules that are off by default.
    explicit: FrozenSet[str] = frozenset()
    # unfixable, extend-safe-fixes, extend-unsafe-fixes (applied by the engine to every report).
    fix_policy: FixPolicy = field(default_factory=FixPolicy)
    # Raw values that define this configuration, for cache keys.
    fingerprint_data: Dict[str, Any] = field(default_factory=dict)
    # What per-file-ignores patterns are relative to, when not ``root`` (a file it extends set them).
    ignores_root: Optional[Path] = None

    @classmethod
    def default(cls, **kwargs: Any) -> "Settings":
        return cls(resolve_selection(["CCL"], [], []), **kwargs)

    def for_path(self, codes: FrozenSet[str], path: str) -> FrozenSet[str]:
        """``codes`` less those the per-file ignores drop for ``path``."""
        if not self.per_file_ignores:
            return codes
        default = self.ignores_root or self.root
        relative = {default: _pattern_path(path, default)}
        kept = set(codes)
        for spec, ignored in self.per_file_ignores:
            root = getattr(spec, "root", None) or default
            if root not in relative:
                relative[root] = _pattern_path(path, root)
            if spec.match_file(relative[root]) != getattr(spec, "negated", False):
                kept = set() if "ALL" in ignored else {c for c in kept if not any(c.startswith(i) for i in ignored)}
        return frozenset(kept)

    def cache_key(self) -> str:
        data = {
            "enabled": sorted(self.enabled),
            "per_file_ignores": [
                (getattr(s, "patterns_text", ""), list(i), str(getattr(s, "root", None) or "")) for s, i in self.per_file_ignores
            ],
            # What the patterns are relative to: two runs from different places sharing a
            # --cache-dir must not share results filtered by them.
            "relative_to": [str(self.root), str(self.ignores_root or "")] if self.per_file_ignores else None,
            "options": self.rule_options,
            "explicit": sorted(self.explicit),
            "noqa": self.noqa,
            "fix_policy": self.fix_policy.key(),
            "code": _package_stamp(),
            **self.fingerprint_data,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


@functools.lru_cache(maxsize=None)
def _package_stamp() -> str:
    """Changes whenever conclint's own code does, so that an editable install (or a
    development checkout) never reads results cached by older rules."""
    package = Path(__file__).parent
    stamps = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in package.rglob("*.py"))
    return hashlib.sha256(repr(stamps).encode()).hexdigest()[:16]


def _pattern_path(path: str, root: Path) -> str:
    """What a per-file-ignore pattern relative to ``root`` is matched against: ``path``
    relative to it; for a file outside it, its name alone, which only a pattern without a
    ``/`` can match (as such a pattern matches at any depth), whichever way the path is
    spelled (`tests/x.py`, `/abs/tests/x.py` or `x.py` from inside `tests/`: as ruff)."""
    p = Path(path)
    # As spelt first (a file reached through a directory link inside the root is where it
    # is reached), then with links resolved (the root itself given through a link).
    try:
        return Path(os.path.abspath(p)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        pass
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # outside root
        return p.name
    except (RuntimeError, OSError):  # a symbolic link loop
        return p.as_posix()


def relative_path(path: str, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, as per-file-ignore patterns match it (as
    given when it lies outside ``root`` or cannot be resolved)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix() if p.is_absolute() or p.exists() else p.as_posix()
    except (ValueError, RuntimeError, OSError):  # outside root; a symbolic link loop
        return p.as_posix()
