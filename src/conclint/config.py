"""``[tool.conclint]`` in pyproject.toml (or a file given with --config), validated."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from conclint.rule import Rule
    from conclint.settings import Settings


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI exits 2 with this message."""


_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
# Lists of rule selectors that decide which fixes are offered and how far they are trusted.
_FIX_KEYS = ("unfixable", "extend-safe-fixes", "extend-unsafe-fixes")
_KNOWN_KEYS = set(_LIST_KEYS) | set(_FIX_KEYS) | {"per-file-ignores", "unsafe-fixes", "respect-gitignore"}


@dataclass
class Config:
    path: Optional[Path] = None  # the file it came from
    root: Path = field(default_factory=Path.cwd)
    select: List[str] = field(default_factory=lambda: ["CCL"])
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    exclude: Optional[List[str]] = None  # None: the default excludes
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    respect_gitignore: bool = True
    rule_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by rule code
    unfixable: List[str] = field(default_factory=list)
    extend_safe_fixes: List[str] = field(default_factory=list)
    extend_unsafe_fixes: List[str] = field(default_factory=list)


# Configuration is a few lines; anything larger is a mistake (a FIFO or device is refused).
MAX_CONFIG_BYTES = 1024 * 1024


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml with a [tool.conclint] table at or above ``start``."""
    try:
        current = start.resolve()
        if current.is_file() or not current.exists():
            current = current.parent
    except OSError:  # a path too long to resolve: look from where we are
        current = Path.cwd()
    for directory in (current, *current.parents):
        candidate = directory / "pyproject.toml"
        try:
            if not candidate.is_file():
                continue
        except OSError:
            continue
        if _conclint_table(_read_toml(candidate), candidate) is not None:
            return candidate
    return None


def _conclint_table(data: Dict[str, Any], path: Path) -> Optional[Dict[str, Any]]:
    """pyproject.toml's [tool.conclint] table, None without one; raises when ``tool`` or
    ``tool.conclint`` is something else than a table."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool: must be a table, not {_shown(tool)}")
    table = tool.get("conclint")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.conclint: must be a table, not {_shown(table)}")
    return table


def _read_toml(path: Path) -> Dict[str, Any]:
    from conclint.reading import read_regular

    try:
        data = read_regular(path, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: invalid TOML: byte 0x{data[exc.start]:02x} at line {line}, column {column} is not UTF-8"
        ) from None
    try:
        # Annotated: where tomli stands in for tomllib, mypy may not have its types.
        parsed: Dict[str, Any] = tomllib.loads(text)
        return parsed
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deep to read") from None


def load_config(explicit: Optional[Path], paths: Sequence[str]) -> Config:
    """Read the configuration that applies to ``paths``."""
    if explicit is not None:
        data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            return parse_table(_conclint_table(data, explicit) or {}, explicit, explicit.resolve().parent)
        return parse_table(data, explicit, explicit.resolve().parent)
    starts = [Path(p) for p in paths if p != "-"] or [Path.cwd()]
    found = find_pyproject(_common_dir(starts))
    if found is None:
        return Config()
    return parse_table(_read_toml(found)["tool"]["conclint"], found, found.resolve().parent)


def _common_dir(paths: Sequence[Path]) -> Path:
    # realpath, unlike Path.resolve, does not raise on a symbolic link loop.
    resolved = [Path(os.path.realpath(p)) for p in paths]
    common = resolved[0]
    for p in resolved[1:]:
        while common not in (p, *p.parents):
            common = common.parent
    return common


def parse_table(table: Dict[str, Any], path: Path, root: Path) -> Config:
    from conclint.settings import SelectorError, known_codes, resolve_selection

    codes_by_name = {name: code for code, name in known_codes().items()}
    config = Config(path=path, root=root)
    prefix = "tool.conclint." if path.name == "pyproject.toml" else ""

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {prefix}{key}: {why}")

    def check_selectors(key: str, codes: List[str]) -> None:
        try:
            resolve_selection(codes, [], [])
        except SelectorError as exc:
            raise fail(key, str(exc)) from None

    for key, value in table.items():
        if key in codes_by_name:
            if not isinstance(value, dict):
                raise fail(key, f"must be a table of rule options, not {_shown(value)}")
            from conclint.rule import all_rules  # option types live on the rule classes

            cls = all_rules()[codes_by_name[key]]
            config.rule_options[cls.code] = _rule_options(cls, value, key, fail)
            continue
        if key not in _KNOWN_KEYS:
            if not prefix:
                raise ConfigError(f"{path}: unknown key {key!r}")
            raise ConfigError(f"{path}: tool.conclint: unknown key {key!r}")
        if key in _LIST_KEYS or key in _FIX_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, f"must be a list of strings, not {_shown(value)}")
            if key in ("select", "ignore", "extend-select", *_FIX_KEYS):
                check_selectors(key, value)
            setattr(config, key.replace("-", "_"), list(value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise fail(key, f"must be a table of glob patterns to lists of codes, not {_shown(value)}")
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise fail(f"{key}.{_toml_key(pattern)}", f"must be a list of rule codes, not {_shown(codes)}")
                check_selectors(f"{key}.{_toml_key(pattern)}", codes)
            config.per_file_ignores = {k: list(v) for k, v in value.items()}
        else:
            if not isinstance(value, bool):
                raise fail(key, f"must be true or false, not {_shown(value)}")
            setattr(config, key.replace("-", "_"), value)
    return config


def _rule_options(cls: Type[Rule], values: Dict[str, Any], table: str, fail: Callable[[str, str], ConfigError]) -> Dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key not in cls.options:
            raise fail(table, f"unknown option {key!r} for rule {cls.name} ({cls.code})")
        default = cls.options[key]
        if type(value) is not type(default):
            raise fail(f"{table}.{_toml_key(key)}", f"must be {_shown(default).split()[0]}, not {_shown(value)}")
        out[key] = value
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    """``key`` as TOML spells it in a dotted key."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _shown(value: Any) -> str:
    """A value's TOML type and (the start of) its repr, for messages."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    kind = names.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"


def settings_from_config(
    config: Config, select: Sequence[str] = (), extend_select: Sequence[str] = (), ignore: Sequence[str] = (),
    unfixable: Sequence[str] = (),
) -> Settings:
    """The run's Settings from ``config`` and selectors given on top of it (the command's
    ``--select``, which replaces the configured selection, ``--extend-select`` and ``--ignore``,
    which add to it; the language server's client settings alike). ``unfixable`` (the
    command's ``--unfixable``) adds to the configured ``unfixable``."""
    from conclint import __version__
    from conclint.discovery import PatternSpec
    from conclint.fixpolicy import FixPolicy
    from conclint.settings import SelectorError, Settings, explicitly_selected, resolve_selection

    chosen = list(select) or config.select
    extend = config.extend_select + list(extend_select)
    ignored = config.ignore + list(ignore)
    try:
        enabled = resolve_selection(chosen, extend, ignored)
        per_file: List[Tuple[Any, Tuple[str, ...]]] = []
        for pattern, codes in config.per_file_ignores.items():
            resolve_selection(codes, [], [])
            spec = PatternSpec.from_lines([pattern])
            spec.patterns_text = pattern
            per_file.append((spec, tuple(c.upper() for c in codes)))
        resolve_selection(list(unfixable), [], [])
    except SelectorError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        enabled=enabled,
        root=config.root,
        per_file_ignores=per_file,
        rule_options=config.rule_options,
        explicit=explicitly_selected(chosen, extend),
        fingerprint_data={"version": __version__},
        fix_policy=FixPolicy(
            tuple(c.upper() for c in (*config.unfixable, *unfixable)),
            tuple(c.upper() for c in config.extend_safe_fixes),
            tuple(c.upper() for c in config.extend_unsafe_fixes),
        ),
    )
