"""``[tool.conclint]`` in pyproject.toml (or a file given with --config), validated."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple, Type, Union

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
    path: Optional[Path] = None  # the file that applies (the nearest one, or --config)
    root: Path = field(default_factory=Path.cwd)  # that file's directory
    select: List[str] = field(default_factory=lambda: ["CCL"])
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    exclude: Optional[List[str]] = None  # None: the default excludes
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    # The directory per-file-ignores patterns are relative to: that of the file that set them
    # (a file it extends, maybe); None: ``root``.
    per_file_root: Optional[Path] = None
    # --per-file-ignores / --extend-per-file-ignores: patterns relative to the current directory.
    command_line_ignores: Dict[str, List[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    respect_gitignore: bool = True
    rule_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by rule code
    unfixable: List[str] = field(default_factory=list)
    extend_safe_fixes: List[str] = field(default_factory=list)
    extend_unsafe_fixes: List[str] = field(default_factory=list)
    # Every file read, ``path`` first, then the one it extends, and so on.
    sources: List[Path] = field(default_factory=list)
    # The rule selection of each file read, the one extended first: (its ``select``, None
    # when it sets none; its ``extend-select``; its ``ignore``), layered as ruff layers them:
    # a file's ``select`` starts anew, its ``ignore`` and ``extend-select`` add to what the
    # files it extends selected.
    rule_layers: List[Tuple[Optional[List[str]], List[str], List[str]]] = field(default_factory=list)



@dataclass(frozen=True)
class Overrides:
    """What the command line sets over every configuration file, as ruff's options do:
    ``--exclude`` and ``--per-file-ignores`` replace a file's own, their ``--extend-``
    forms add to them, ``--[no-]respect-gitignore`` decides. Patterns are relative to the
    project root, as the configuration's are."""

    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()
    per_file_ignores: Optional[Tuple[Tuple[str, str], ...]] = None  # (pattern, code)
    extend_per_file_ignores: Tuple[Tuple[str, str], ...] = ()
    respect_gitignore: Optional[bool] = None

    def apply(self, config: "Config") -> "Config":
        if self == Overrides():
            return config
        changes: Dict[str, Any] = {"extend_exclude": [*config.extend_exclude, *self.extend_exclude]}
        if self.exclude is not None:
            changes["exclude"] = list(self.exclude)
        if self.respect_gitignore is not None:
            changes["respect_gitignore"] = self.respect_gitignore
        if self.per_file_ignores is not None or self.extend_per_file_ignores:
            if self.per_file_ignores is not None:
                changes["per_file_ignores"] = {}
            table: Dict[str, List[str]] = {}
            for pattern, code in (*(self.per_file_ignores or ()), *self.extend_per_file_ignores):
                table.setdefault(pattern, []).append(code)
            # Relative to the project root, whatever file the configuration's own came from.
            changes["command_line_ignores"] = table
        return replace(config, **changes)


# Configuration is a few lines; anything larger is a mistake (a FIFO or device is refused).
MAX_CONFIG_BYTES = 1024 * 1024
# The files that configure conclint, in order of precedence within one directory (as ruff's
# .ruff.toml, ruff.toml, pyproject.toml). A pyproject.toml counts only with [tool.conclint].
CONFIG_NAMES = (".conclint.toml", "conclint.toml", "pyproject.toml")


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest configuration file at or above ``start`` (kept under its old name)."""
    return ConfigFinder().nearest(_start_directory(start))


def _start_directory(start: Path) -> str:
    # Where the file is reached, links not resolved (as ruff looks): a file under a directory
    # link inside the project gets the project's configuration.
    try:
        current = os.path.abspath(start)
        if os.path.isfile(current) or not os.path.exists(current):
            current = os.path.dirname(current)
    except (OSError, ValueError):  # a path too long to resolve: look from where we are
        current = os.getcwd()
    return current


class ConfigFinder:
    """Which configuration file applies in a directory, and what it says, each found once
    per directory and file: a run over thousands of files reads each configuration once.
    The command and the language server both resolve files through this class."""

    def __init__(self) -> None:
        self._nearest: Dict[str, Optional[Path]] = {}
        self._configs: Dict[Path, Union[Config, ConfigError]] = {}

    def nearest(self, directory: str) -> Optional[Path]:
        """The configuration file nearest to ``directory`` (an absolute path): its own,
        else its parent's; raises ``ConfigError`` for a pyproject.toml that cannot be read."""
        pending: List[str] = []
        current = directory
        found: Optional[Path] = None
        while True:
            if current in self._nearest:
                found = self._nearest[current]
                break
            pending.append(current)
            here = self._here(current)
            if here is not None:
                found = here
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for seen in pending:
            self._nearest[seen] = found
        return found

    def here(self, directory: str) -> Optional[Path]:
        """The configuration file in ``directory`` itself, if any (its parents not looked at);
        raises ``ConfigError`` for a pyproject.toml that cannot be read."""
        return self._here(directory)

    def _here(self, directory: str) -> Optional[Path]:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            try:
                if not os.path.isfile(candidate):
                    continue
            except (OSError, ValueError):
                continue
            path = Path(candidate)
            if name != "pyproject.toml" or _conclint_table(_read_toml(path), path) is not None:
                return path
        return None

    def config_for(self, path: str) -> Config:
        """The configuration of the file (or directory) ``path``: its nearest configuration
        file's, extends followed; the defaults without one. Raises ``ConfigError``."""
        found = self.nearest(_start_directory(Path(path)))
        return Config() if found is None else self.load(found)

    def load(self, path: Path) -> Config:
        """The configuration in ``path`` (a pyproject.toml's [tool.conclint], else the whole
        file), with what it extends; read once."""
        found = self._configs.get(path)
        if found is None:
            try:
                found = _load_chain(path, [])
            except ConfigError as exc:  # remembered too: every file under it says why
                found = exc
            self._configs[path] = found
        if isinstance(found, ConfigError):
            raise found
        return found


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
    """Read the configuration that applies to ``paths`` as a whole (that of their common
    directory), or the ``explicit`` file's."""
    if explicit is not None:
        return load_explicit(explicit)
    starts = [Path(p) for p in paths if p != "-"] or [Path.cwd()]
    return ConfigFinder().config_for(str(_common_dir(starts)))


def load_explicit(path: Path) -> Config:
    """The configuration in ``path`` (--config): a pyproject.toml's [tool.conclint] (none is
    the defaults), else the whole file; what it extends followed."""
    return _load_chain(path, [], explicit=True)  # named as given, in messages


def _load_chain(path: Path, chain: List[Path], explicit: bool = False) -> Config:
    """The configuration in ``path``, over the one it extends. ``chain``: the files that
    extend it, the first one first (to name a cycle)."""
    data = _read_toml(path)
    prefix = "tool.conclint." if path.name == "pyproject.toml" else ""
    if path.name == "pyproject.toml":
        table = _conclint_table(data, path)
        if table is None:
            if chain:
                raise ConfigError(f"{chain[-1]}: {_prefix(chain[-1])}extend: {path} has no [tool.conclint] table")
            if not explicit:  # only found files with the table are loaded
                raise ConfigError(f"{path}: no [tool.conclint] table")
            table = {}
    else:
        table = data
    base: Optional[Config] = None
    if "extend" in table:
        target = table["extend"]
        if not isinstance(target, str) or not target:
            raise ConfigError(f"{path}: {prefix}extend: must be the path of a configuration file, not {_shown(target)}")
        resolved = Path(os.path.abspath(path.parent / os.path.expanduser(target)))
        links = [*chain, path]
        if resolved in links:
            cycle = " -> ".join(str(p) for p in links[links.index(resolved):] + [resolved])
            raise ConfigError(f"{path}: {prefix}extend: {target!r} makes a cycle ({cycle})")
        if not resolved.is_file():
            raise ConfigError(f"{path}: {prefix}extend: {target!r}: no such file ({resolved})")
        base = _load_chain(resolved, links)
    config = parse_table({k: v for k, v in table.items() if k != "extend"}, path, path.parent, base)
    config.sources = [path, *(base.sources if base is not None else [])]
    return config


def _common_dir(paths: Sequence[Path]) -> Path:
    # realpath, unlike Path.resolve, does not raise on a symbolic link loop.
    resolved = [Path(os.path.realpath(p)) for p in paths]
    common = resolved[0]
    for p in resolved[1:]:
        while common not in (p, *p.parents):
            common = common.parent
    return common


def _prefix(path: Path) -> str:
    return "tool.conclint." if path.name == "pyproject.toml" else ""


def parse_table(table: Dict[str, Any], path: Path, root: Path, base: Optional[Config] = None) -> Config:
    """The configuration ``table`` (read from ``path``) sets, over ``base`` (what it extends:
    each key it sets replaces the base's; rule options merge option by option)."""
    from conclint.settings import SelectorError, known_codes, resolve_selection

    codes_by_name = {name: code for code, name in known_codes().items()}
    config = Config(path=path, root=root)
    if base is not None:
        config = replace(
            base, path=path, root=root, per_file_root=base.per_file_root or base.root,
            rule_options={code: dict(options) for code, options in base.rule_options.items()},
        )
    prefix = _prefix(path)

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {prefix}{key}: {why}")

    def check_selectors(key: str, codes: List[str]) -> None:
        try:
            resolve_selection(codes, [], [])
        except SelectorError as exc:
            raise fail(key, str(exc)) from None

    layer: Tuple[Optional[List[str]], List[str], List[str]] = (None, [], [])
    for key, value in table.items():
        if key in codes_by_name:
            if not isinstance(value, dict):
                raise fail(key, f"must be a table of rule options, not {_shown(value)}")
            from conclint.rule import all_rules  # option types live on the rule classes

            cls = all_rules()[codes_by_name[key]]
            options = _rule_options(cls, value, key, fail)
            config.rule_options[cls.code] = {**config.rule_options.get(cls.code, {}), **options}
            continue
        if key not in _KNOWN_KEYS:
            if not prefix:
                raise ConfigError(f"{path}: unknown key {key!r}")
            raise ConfigError(f"{path}: tool.conclint: unknown key {key!r}")
        if key in _LIST_KEYS or key in _FIX_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, f"must be a list of strings, not {_shown(value)}")
            if key in ("select", "ignore", "extend-select", *_FIX_KEYS):
                value = [v.upper() for v in value]  # rule codes are case-insensitive
                check_selectors(key, value)
            setattr(config, key.replace("-", "_"), list(value))
            if key == "select":
                layer = (list(value), layer[1], layer[2])
            elif key == "extend-select":
                layer = (layer[0], list(value), layer[2])
            elif key == "ignore":
                layer = (layer[0], layer[1], list(value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise fail(key, f"must be a table of glob patterns to lists of codes, not {_shown(value)}")
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise fail(f"{key}.{_toml_key(pattern)}", f"must be a list of rule codes, not {_shown(codes)}")
                check_selectors(f"{key}.{_toml_key(pattern)}", [c.upper() for c in codes])
            config.per_file_ignores = {k: [c.upper() for c in v] for k, v in value.items()}
            config.per_file_root = root
        else:
            if not isinstance(value, bool):
                raise fail(key, f"must be true or false, not {_shown(value)}")
            setattr(config, key.replace("-", "_"), value)
    config.rule_layers = [*(base.rule_layers if base is not None else []), layer]
    return config


def _rule_options(cls: Type[Rule], values: Dict[str, Any], table: str, fail: Callable[[str, str], ConfigError]) -> Dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key not in cls.options:
            raise fail(table, f"unknown option {key!r} for rule {cls.name} ({cls.code})")
        default = cls.options[key]
        if type(value) is not type(default):
            raise fail(f"{table}.{_toml_key(key)}", f"must be {_shown(default).split()[0]}, not {_shown(value)}")
        if type(value) is int and value < 0:  # the rules' integer options are all counts
            raise fail(f"{table}.{_toml_key(key)}", f"must be a count (0 or more), not {value}")
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
    """The run's Settings from ``config`` and selectors given on top of it, as ruff layers
    them (the command's options, the language server's client settings alike): ``--select``
    starts the selection anew, configured ignores included; ``--extend-select`` and
    ``--ignore`` decide the codes they match, most specific first, over what the
    configuration selected. ``unfixable`` (the command's ``--unfixable``) adds to the
    configured ``unfixable``."""
    from conclint import __version__
    from conclint.discovery import PatternSpec, anchored
    from conclint.fixpolicy import FixPolicy
    from conclint.settings import SelectorError, Settings, explicitly_selected, resolve_layers, resolve_selection

    # The default selection, then each configuration file's, the one extended first, then the
    # command line's: a layer's select starts anew (as ruff layers them).
    layers = [(Config().select, [], []), *config.rule_layers, (list(select) or None, list(extend_select), list(ignore))]
    explicit: FrozenSet[str] = frozenset()
    for layer_select, layer_extend, _ in layers:
        if layer_select is not None:
            explicit = explicitly_selected(layer_select, layer_extend)
        else:
            explicit |= explicitly_selected([], layer_extend)
    try:
        enabled = resolve_layers(layers)
        per_file: List[Tuple[Any, Tuple[str, ...]]] = []
        # The command line's patterns are relative to the current directory, as ruff's are.
        for table, anchor in ((config.per_file_ignores, None), (config.command_line_ignores, Path.cwd())):
            for pattern, codes in table.items():
                resolve_selection(codes, [], [])
                negated = pattern.startswith("!")
                relative = anchored(pattern, anchor or config.per_file_root or config.root)
                spec = PatternSpec.from_lines([relative[1:] if negated else relative])
                spec.patterns_text = pattern
                spec.negated = negated
                spec.root = anchor
                per_file.append((spec, tuple(c.upper() for c in codes)))
        resolve_selection(list(unfixable), [], [])
    except SelectorError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        enabled=enabled,
        root=config.root,
        ignores_root=config.per_file_root if config.per_file_root != config.root else None,
        per_file_ignores=per_file,
        rule_options=config.rule_options,
        explicit=explicit,
        # The files read: one cache file per configuration file, so two subprojects (whose
        # per-file-ignores and module names are relative to their own roots) never share one.
        fingerprint_data={"version": __version__, "sources": [str(p) for p in config.sources]},
        fix_policy=FixPolicy(
            tuple(c.upper() for c in (*config.unfixable, *unfixable)),
            tuple(c.upper() for c in config.extend_safe_fixes),
            tuple(c.upper() for c in config.extend_unsafe_fixes),
        ),
    )


class Resolver:
    """Each file's Settings in one run of the command: its nearest configuration's (or the
    --config file's for every file, or the defaults with --isolated), through ``make``
    (which puts the command line's options on top). Resolved once per directory, made once
    per configuration file: the engine keeps its rule sets per Settings object."""

    def __init__(
        self, make: Callable[[Config], "Settings"], explicit: Optional[Path] = None, isolated: bool = False,
        overrides: Overrides = Overrides(),
    ) -> None:
        self.make = make
        self.finder = ConfigFinder()
        self.overrides = overrides
        # --config or --isolated: one configuration for every file (raises ConfigError).
        fixed = load_explicit(explicit) if explicit is not None else (Config() if isolated else None)
        self.fixed: Optional[Config] = None if fixed is None else overrides.apply(fixed)
        self._applied: Dict[Optional[Path], Config] = {}  # each file's configuration, overridden once
        self._by_directory: Dict[str, Any] = {}  # a Settings, or the ConfigError of its configuration
        self._by_config: Dict[Optional[Path], "Settings"] = {}
        self._configs: Dict[Optional[Path], Config] = {}

    def config_for(self, path: str) -> Config:
        """The configuration of the file or directory ``path``; raises ``ConfigError``."""
        if self.fixed is not None:
            return self.fixed
        return self._overridden(self.finder.config_for(path))

    def _overridden(self, config: Config) -> Config:
        found = self._applied.get(config.path)
        if found is None:
            found = self._applied[config.path] = self.overrides.apply(config)
        return found

    def own_config(self, directory: str) -> Optional[Config]:
        """The configuration whose file is in ``directory`` itself (None without one, and
        always None with --config or --isolated); raises ``ConfigError``."""
        if self.fixed is not None:
            return None
        found = self.finder.here(directory)
        return None if found is None else self._overridden(self.finder.load(found))

    def settings_for(self, path: str) -> "Settings":
        """The Settings of the file ``path`` ('-': stdin, resolved from the current
        directory); raises ``ConfigError`` for a configuration that cannot be used."""
        return self.settings_in(os.path.dirname(os.path.abspath(path)) if path != "-" else os.getcwd())

    def settings_in(self, directory: str) -> "Settings":
        """The Settings of the files in ``directory`` (absolute); raises ``ConfigError``."""
        found = self._by_directory.get(directory)
        if found is None:
            try:
                config = self.config_for(directory)
                found = self._by_config.get(config.path)
                if found is None:
                    found = self._by_config[config.path] = self.make(config)
                    self._configs[config.path] = config
            except ConfigError as exc:
                found = exc
            self._by_directory[directory] = found
        if isinstance(found, ConfigError):
            raise found
        return found

    def config_of(self, settings: "Settings") -> Config:
        """The configuration ``settings`` were made from."""
        for path, made in self._by_config.items():
            if made is settings:
                return self._configs[path]
        raise KeyError(settings)


def describe_settings(path: str, config: Config, settings: "Settings", isolated: bool = False) -> str:
    """What --show-settings prints: the configuration files, the resolved values (command
    line included) and the rules that apply to ``path``."""
    from conclint.engine import codes_for

    if config.sources:
        origin = "\n".join(f"  {source}" + (" (extended)" if n else "") for n, source in enumerate(config.sources))
    else:
        origin = "  none: --isolated" if isolated else "  none found: the defaults"
    per_file = {
        pattern: codes for spec, codes in settings.per_file_ignores if getattr(spec, "root", None) is None
        for pattern in [getattr(spec, "patterns_text", "")]
    }
    from_command = {
        getattr(spec, "patterns_text", ""): list(codes) for spec, codes in settings.per_file_ignores
        if getattr(spec, "root", None) is not None
    }
    lines = [
        f"Settings for {path}",
        "configuration files:",
        origin,
        f"root = {json.dumps(str(settings.root))}",
        f"select = {json.dumps(config.select)}",
        f"extend-select = {json.dumps(config.extend_select)}",
        f"ignore = {json.dumps(config.ignore)}",
        f"per-file-ignores = {json.dumps({k: list(v) for k, v in per_file.items()})}"
        + (f" (relative to {settings.ignores_root or settings.root})" if per_file else ""),
        *([f"command-line per-file-ignores = {json.dumps(from_command)} (relative to {Path.cwd()})"] if from_command else []),
        f"unsafe-fixes = {json.dumps(settings.unsafe_fixes)}",
        f"exclude = {json.dumps(config.exclude) if config.exclude is not None else '(the defaults)'}",
        f"extend-exclude = {json.dumps(config.extend_exclude)}",
        f"respect-gitignore = {json.dumps(config.respect_gitignore)}",
        f"noqa = {json.dumps(settings.noqa)}",
    ]
    for code, options in sorted(settings.rule_options.items()):
        lines.append(f"options of {code} = {json.dumps(options, sort_keys=True)}")
    lines.append(f"rules for this file = {json.dumps(sorted(codes_for(settings, path)))}")
    return "\n".join(lines)
