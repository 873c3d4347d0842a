"""``[tool.conclint]`` in pyproject.toml (or a file given with --config), validated."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI exits 2 with this message."""


_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
_KNOWN_KEYS = set(_LIST_KEYS) | {"per-file-ignores", "unsafe-fixes", "respect-gitignore"}


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


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml with a [tool.conclint] table at or above ``start``."""
    current = start.resolve()
    if current.is_file() or not current.exists():
        current = current.parent
    for directory in (current, *current.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = _read_toml(candidate)
            except ConfigError:
                raise
            if "conclint" in data.get("tool", {}):
                return candidate
    return None


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(explicit: Optional[Path], paths: Sequence[str]) -> Config:
    """Read the configuration that applies to ``paths``."""
    if explicit is not None:
        data = _read_toml(explicit)
        table = data.get("tool", {}).get("conclint", {}) if explicit.name == "pyproject.toml" else data
        return parse_table(table, explicit, explicit.resolve().parent)
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
    from conclint.settings import known_codes

    codes_by_name = {name: code for code, name in known_codes().items()}
    config = Config(path=path, root=root)
    where = f"{path}: [tool.conclint]" if path.name == "pyproject.toml" else str(path)
    for key, value in table.items():
        if key in codes_by_name and isinstance(value, dict):
            from conclint.rule import all_rules  # option types live on the rule classes

            cls = all_rules()[codes_by_name[key]]
            config.rule_options[cls.code] = _rule_options(cls, value, where)
            continue
        if key not in _KNOWN_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key!r} must be a list of strings")
            setattr(config, key.replace("-", "_"), list(value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in value.values()
            ):
                raise ConfigError(f"{where}: 'per-file-ignores' must map glob patterns to lists of codes")
            config.per_file_ignores = {k: list(v) for k, v in value.items()}
        else:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {key!r} must be true or false")
            setattr(config, key.replace("-", "_"), value)
    return config


def _rule_options(cls: type, values: Dict[str, Any], where: str) -> Dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key not in cls.options:
            raise ConfigError(f"{where}: unknown option {key!r} for rule {cls.name} ({cls.code})")
        default = cls.options[key]
        if type(value) is not type(default):
            raise ConfigError(
                f"{where}: option {cls.name}.{key} must be of type {type(default).__name__}, got {value!r}"
            )
        out[key] = value
    return out
