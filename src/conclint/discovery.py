"""Which files to lint: walk the given paths, honouring excludes and .gitignore."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import pathspec

# Directories no one wants linted (ruff and flake8 skip the same kind of things).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox", ".pants.d",
    ".pytype", ".ruff_cache", ".conclint_cache", ".pytest_cache", ".svn", ".tox", ".venv", "venv",
    "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "*.egg-info",
)
PYTHON_SUFFIXES = (".py", ".pyi")


def anchored(pattern: str, root: Path) -> str:
    """An exclude or per-file-ignores pattern as matching relative to ``root`` reads it:
    ``./x`` names ``x`` in ``root`` itself (``/x``), and an absolute path inside ``root``
    that place (as ruff and flake8 take them); anything else as written (``/build``, Git's
    way of anchoring a pattern, stays)."""
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    if body.startswith("./"):
        while body.startswith("./"):
            body = body[2:].lstrip("/")
        body = "/" + body
    elif os.path.isabs(body) and body != "/":
        for base in (root.absolute(), _resolved(root)):
            try:
                body = "/" + Path(body).relative_to(base).as_posix()
                break
            except ValueError:
                continue
    return ("!" if negated else "") + body


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
# Far above any real .gitignore; a larger one is a mistake, and pathspec compiles every line.
MAX_GITIGNORE_BYTES = 8 * 1024 * 1024


def _pattern_style() -> Any:
    """pathspec's pattern class for excludes, with Git's own semantics (``foo/*`` excludes
    ``foo/b/c.py`` as Git does). pathspec 1.0 names it ``GitIgnoreSpecPattern`` and
    deprecates the name "gitwildmatch" (its "gitignore" is another, simpler class, which
    matches differently); 0.12, which pyproject still allows, knows only "gitwildmatch"."""
    try:
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern
    except ImportError:
        return "gitwildmatch"
    return GitIgnoreSpecPattern


_STYLE = _pattern_style()


class PatternSpec(pathspec.GitIgnoreSpec):
    """One gitignore-style pattern of per-file-ignores, compiled, with its text (which goes
    into cache keys: see ``Settings.cache_key``); ``negated`` for a pattern written with a
    leading ``!``, which applies to the files it does not match (as in ruff)."""

    patterns_text: str
    negated: bool = False
    root: Optional[Path] = None  # what the pattern is relative to, when not the settings' own


# A directory being walked: its path, the .gitignores that apply in it, its entries left.
# A pathspec.PathSpec of exclude patterns (generic in the newer pathspec releases, not in the older).
_Excludes = Any
_Level = Tuple[
    Path, List[Tuple[Path, "pathspec.GitIgnoreSpec"]], Iterator["os.DirEntry[str]"], Optional[Tuple[Path, _Excludes]]
]
# What an entry of a directory is matched against: the run's excludes, the nested
# configuration's, then each .gitignore's (its spec, and the directory's path relative to
# where it applies, "." for that place itself).
_Checks = List[Tuple[_Excludes, str]]


@dataclass
class Discovery:
    root: Path
    exclude: Sequence[str] = DEFAULT_EXCLUDE
    extend_exclude: Sequence[str] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    # Problems met while walking (unreadable directories, directory link loops): (path, why).
    # Files that cannot be read are yielded all the same: the runner reports them.
    problems: List[Tuple[str, str]] = field(default_factory=list)
    # Where configurations nest: for a directory, the root and the exclude patterns of the
    # configuration governing it when that is not the run's own (else None). Its excludes
    # then apply below it, relative to its root, besides the run's own.
    nested: Optional[Callable[[Path], Optional[Tuple[Path, Sequence[str]]]]] = None

    def __post_init__(self) -> None:
        patterns = [anchored(p, self.root) for p in (*self.exclude, *self.extend_exclude)]
        self._exclude = pathspec.PathSpec.from_lines(_STYLE, patterns)
        self._specs: Dict[Tuple[str, Tuple[str, ...]], _Excludes] = {}
        self._global: Union[None, bool, pathspec.GitIgnoreSpec] = None  # (False: there is none)

    def _spec(self, root: Path, patterns: Sequence[str]) -> _Excludes:
        key = (str(root), tuple(patterns))
        found = self._specs.get(key)
        if found is None:
            found = self._specs[key] = pathspec.PathSpec.from_lines(_STYLE, [anchored(p, root) for p in patterns])
        return found

    def excluded(
        self,
        path: Path,
        is_dir: bool,
        gitignores: Sequence[Tuple[Path, "pathspec.GitIgnoreSpec"]] = (),
        base: Optional[Path] = None,
        nested: Optional[Tuple[Path, _Excludes]] = None,
    ) -> bool:
        """Whether the configured excludes (relative to ``base``, default the project root),
        those of the ``nested`` configuration governing ``path`` (its root, its patterns) or
        one of the ``gitignores`` exclude ``path``."""
        checks = [(base or self.root, self._exclude)]
        if nested is not None:
            checks.append(nested)
        for start, spec in checks:
            relative = _relative(path, start)
            candidate = relative if relative is not None else path.name
            if spec.match_file(candidate + "/" if is_dir else candidate):
                return True
        return _gitignored(path, is_dir, gitignores)

    def files(self, paths: Sequence[str]) -> Iterator[str]:
        """Python files under ``paths``; a file named explicitly is always included
        (unless ``force_exclude``), as in ruff and flake8."""
        real_directory.cache_clear()  # links may have changed since the last walk
        seen: Set[str] = set()  # each file once, however it is named (`a.py`, `./a.py`, a link)
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                if self.force_exclude and self.excluded(path, True, nested=self._governing(path)):
                    continue
                gitignores = self._parent_gitignores(path) if self.respect_gitignore else []
                # Likewise a directory that a parent .gitignore ignores (a pyenv's stdlib).
                gitignores = [g for g in gitignores if not _gitignored(path, True, [g])]
                # A directory named on the command line is linted even if excluded: its
                # contents are then matched against the excludes relative to it.
                base = path if self.excluded(path, True) else self.root
                for found, link in self._walk(path, gitignores, base):
                    if _first_time(found, seen, link):
                        yield found
            else:
                if self.force_exclude and self.excluded(path, False, nested=self._governing(path)):
                    continue
                if _first_time(raw, seen, os.path.islink(raw)):
                    yield raw

    def _governing(self, path: Path) -> Optional[Tuple[Path, _Excludes]]:
        """The excludes of the nested configuration governing a path named on the command
        line (the nearest one between it and the run's root), as the walk would have
        applied them below that configuration's directory; None when it is the run's own."""
        if self.nested is None:
            return None
        root = os.path.abspath(self.root)
        directory = os.path.dirname(os.path.abspath(path))
        while directory != root:
            found = self.nested(Path(directory))
            if found is not None:
                return found[0], self._spec(found[0], found[1])
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent
        return None

    def _parent_gitignores(self, directory: Path) -> List[Tuple[Path, "pathspec.GitIgnoreSpec"]]:
        """.gitignore files above ``directory`` up to the repository (or root) top, and the
        repository's own excludes (``_repository_excludes``) when there is one."""
        out = []
        current = directory.resolve()
        for parent in (current, *current.parents):
            if parent != current:
                spec = self._load_gitignore(parent)
                if spec is not None:
                    out.append((parent, spec))
            if _has_git(parent):
                if parent != current:  # (the walk adds those of a top it enters)
                    out.extend((parent, spec) for spec in self._repository_excludes(parent))
                break
        out.reverse()  # the weakest first (``_gitignored``)
        return out

    def _repository_excludes(self, top: Path) -> List["pathspec.GitIgnoreSpec"]:
        """What git ignores in the repository at ``top`` besides its .gitignore files: its
        ``.git/info/exclude``, and the user's global excludes file (``core.excludesFile``,
        by default ``$XDG_CONFIG_HOME/git/ignore``); patterns relative to ``top``."""
        out = []
        if self._global is None:
            found = global_excludes_file()
            self._global = (self._load_ignore_file(found, quiet=True) if found is not None else None) or False
        if isinstance(self._global, pathspec.GitIgnoreSpec):
            out.append(self._global)  # (the weakest: ``_gitignored``)
        git = top / ".git"
        directory: Optional[str] = str(git)
        if os.path.isfile(git):  # a worktree or a submodule: `gitdir: <path>` (isfile: False when it cannot tell)
            try:
                line = git.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                line = ""
            directory = os.path.realpath(os.path.join(top, line[len("gitdir:"):].strip())) if line.startswith("gitdir:") else None
            common = os.path.join(directory, "commondir") if directory is not None else None
            if directory is not None and common is not None and os.path.isfile(common):
                try:
                    with open(common, encoding="utf-8", errors="replace") as text:
                        directory = os.path.realpath(os.path.join(directory, text.read().strip()))
                except OSError:
                    pass
        if directory is not None:
            spec = self._load_ignore_file(Path(directory, "info", "exclude"), quiet=True)
            if spec is not None:
                out.append(spec)
        return out

    def _walk(
        self, top: Path, gitignores: List[Tuple[Path, "pathspec.GitIgnoreSpec"]], base: Path
    ) -> Iterator[Tuple[str, bool]]:
        """Depth-first, in name order. Iterative: a tree thousands of directories deep is
        legal, and past PATH_MAX the listing fails and is reported like any other."""
        stack = [self._enter(top, gitignores, None)]
        checks: List[Optional[_Checks]] = [self._checks(stack[0], base)]
        while stack:
            level = stack[-1]
            if level is None:
                stack.pop()
                checks.pop()
                continue
            directory, gitignores, entries, nested = level
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                checks.pop()
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:  # e.g. a link in a loop: as a Python file, reading it says why
                is_dir = False
            if is_dir:
                path = Path(directory, entry.name)
                if self._entry_excluded(checks[-1], entry, directory, True, gitignores, base, nested) or _is_virtualenv(path):
                    continue
                if entry.is_symlink() and _is_loop(path):
                    # A link back up the tree (or one that resolves nowhere): what it leads to
                    # is walked already, or is not there. Passed over quietly, as ruff and git do.
                    continue
                stack.append(self._enter(path, gitignores, nested))
                checks.append(self._checks(stack[-1], base))
            elif entry.name.endswith(PYTHON_SUFFIXES):
                if self._entry_excluded(checks[-1], entry, directory, False, gitignores, base, nested):
                    continue
                # Links (even broken ones, which the runner reports) and regular files; not
                # FIFOs, sockets or devices, which are no source and could block a reader.
                link = entry.is_symlink()
                if link or _is_regular(entry):
                    text = str(directory)  # (as str(Path(directory, name)) spells it)
                    yield (entry.name if text == "." else os.path.join(text, entry.name)), link

    def _checks(self, level: Optional[_Level], base: Path) -> Optional[_Checks]:
        """What ``excluded`` matches an entry of ``level``'s directory against, with the
        directory's path relative to each place (``OUTSIDE`` for a place it is not in, nor
        holds, even through links): an entry's relative path is then that and its name,
        which spares ``excluded``'s path arithmetic per entry (most of a warm run's time).
        None when a place is reached through a link: ``excluded`` then decides."""
        if level is None:
            return None
        directory, gitignores, _, nested = level
        here = os.path.abspath(directory)
        places = [(base, self._exclude), *([nested] if nested is not None else []), *gitignores]
        checks = []
        for start, spec in places:
            start_text = os.path.abspath(start)
            relative = _textually_under(here, start_text)
            if relative is None:
                if not _apart(here, start_text) or not _apart(real_directory(here), real_directory(start_text)):
                    return None
                relative = OUTSIDE
            checks.append((spec, relative))
        return checks

    def _entry_excluded(
        self,
        checks: Optional[_Checks],
        entry: "os.DirEntry[str]",
        directory: Path,
        is_dir: bool,
        gitignores: Sequence[Tuple[Path, "pathspec.GitIgnoreSpec"]],
        base: Path,
        nested: Optional[Tuple[Path, _Excludes]],
    ) -> bool:
        """``excluded(path, ...)`` for ``entry`` of a directory whose ``_checks`` are given."""
        name = entry.name
        if checks is None or (any(r is OUTSIDE for _, r in checks) and entry.is_symlink()):
            return self.excluded(Path(directory, name), is_dir, gitignores, base, nested)
        suffix = "/" if is_dir else ""
        configured = len(checks) - len(gitignores)
        for spec, relative in checks[:configured]:
            # (the run's and the nested excludes match a name alone where they do not hold it)
            if spec.match_file((name if relative is OUTSIDE or relative == "." else f"{relative}/{name}") + suffix):
                return True
        for spec, relative in reversed(checks[configured:]):  # the strongest .gitignore first (``_gitignored``)
            if relative is not OUTSIDE:
                decided = _decision(spec, (name if relative == "." else f"{relative}/{name}") + suffix)
                if decided is not None:
                    return decided
        return False

    def _enter(
        self, directory: Path, gitignores: List[Tuple[Path, "pathspec.GitIgnoreSpec"]],
        nested: Optional[Tuple[Path, _Excludes]],
    ) -> Optional[_Level]:
        """The directory, the .gitignores that apply in it, its entries, sorted, and the
        nested configuration's excludes that apply in it (its root, its patterns); None (and
        a problem) when it cannot be listed."""
        if self.nested is not None:
            found = self.nested(directory)
            if found is not None:
                nested = (found[0], self._spec(found[0], found[1]))
        if self.respect_gitignore:
            if _has_git(directory):
                # A repository's top (a nested one, a submodule, included): what the one around
                # it ignores does not reach into it, its own excludes do, weakest first.
                top = directory.resolve()
                gitignores = [(top, spec) for spec in self._repository_excludes(top)]
            spec = self._load_gitignore(directory)
            if spec is not None:
                gitignores = gitignores + [(directory.resolve(), spec)]
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            self.problems.append((str(directory), f"cannot list directory: {exc.strerror or exc}"))
            return None
        return directory, gitignores, iter(entries), nested

    def _load_gitignore(self, directory: Path) -> Optional["pathspec.GitIgnoreSpec"]:
        """The patterns of ``directory``'s .gitignore, None without one."""
        return self._load_ignore_file(directory / ".gitignore")

    def _load_ignore_file(self, candidate: Path, quiet: bool = False) -> Optional["pathspec.GitIgnoreSpec"]:
        """The patterns of a file of gitignore patterns, None without one. One that is no
        regular file (a FIFO would block the walk) or is too large is a problem, and its
        patterns do not apply; one that cannot be read is passed over, as before. ``quiet``:
        git's own excludes files, where `core.excludesFile = /dev/null` is how excludes are
        turned off: no problem said of it."""
        from conclint.reading import IsDirectory, NotRegular, TooLarge, read_regular

        try:
            data = read_regular(candidate, MAX_GITIGNORE_BYTES)
        except IsDirectory:  # git passes over it too
            return None
        except (NotRegular, TooLarge) as exc:
            if not quiet:
                self.problems.append((str(candidate), f"{exc.strerror}; its patterns are not applied"))
            return None
        except OSError:
            return None
        return pathspec.GitIgnoreSpec.from_lines(data.decode("utf-8", "replace").splitlines())


def _has_git(directory: Path) -> bool:
    """Whether ``directory`` is the top of a git repository (``.git`` in it); False when that
    cannot be told (a directory that cannot be read: listing it reports the problem)."""
    try:
        return os.path.lexists(directory / ".git")
    except OSError:
        return False


def global_excludes_file() -> Optional[Path]:
    """The user's global file of git excludes: ``core.excludesFile`` of the global git
    configuration (``~/.gitconfig``, ``$XDG_CONFIG_HOME/git/config``), else git's default
    ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``)."""
    home = Path(os.path.expanduser("~"))
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    named = None
    for config in (xdg / "git" / "config", home / ".gitconfig"):  # (the later one wins, as in git)
        value = _core_excludes_file(config)
        if value is not None:
            named = value
    if named is not None:
        return Path(os.path.expanduser(named))
    return xdg / "git" / "ignore"


def _core_excludes_file(config: Path) -> Optional[str]:
    """``core.excludesFile`` as one git configuration file sets it (the last setting)."""
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = None
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line[1:line.find("]")].strip().lower() if "]" in line else ""
        elif section == "core" and "=" in line:
            key, _, value = line.partition("=")
            if key.strip().lower() == "excludesfile":
                value = value.split(" #")[0].split(" ;")[0].strip()
                found = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
    return found


def _gitignored(path: Path, is_dir: bool, gitignores: Sequence[Tuple[Path, "pathspec.GitIgnoreSpec"]]) -> bool:
    """Whether ``gitignores`` (the weakest first: the global excludes, .git/info/exclude,
    then each .gitignore from the top down) ignore ``path``: as in git, the strongest file
    with a pattern matching it decides (a `!keep.py` in a .gitignore brings back what the
    global excludes ignore)."""
    for base, spec in reversed(gitignores):
        relative = _relative(path, base)
        if relative is not None:
            decided = _decision(spec, relative + "/" if is_dir else relative)
            if decided is not None:
                return decided
    return False


def _decision(spec: "pathspec.GitIgnoreSpec", path: str) -> Optional[bool]:
    """True: ``spec`` ignores ``path``; False: a negation of it brings it back; None: no
    pattern of it matches."""
    check = getattr(spec, "check_file", None)
    if check is not None:
        return check(path).include  # type: ignore[no-any-return]
    return True if spec.match_file(path) else None


def _is_virtualenv(directory: Path) -> bool:
    try:
        return (directory / "pyvenv.cfg").exists()
    except OSError:  # unreadable: then listing it reports the problem
        return False


def _is_regular(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _is_loop(path: Path) -> bool:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return target in path.absolute().parents


def _relative(path: Path, base: Path) -> Optional[str]:
    """``path`` relative to ``base`` as a POSIX string, None when it lies elsewhere.

    Textual first (as git matches .gitignore patterns, and without the two realpath walks
    per file that made discovery the whole cost of a warm run); through symlinks only when
    the texts disagree.
    """
    relative = _textually_under(os.path.abspath(path), os.path.abspath(base))
    if relative is not None:
        return relative
    try:
        absolute = os.path.abspath(path)
        if os.path.islink(absolute):
            real = os.path.realpath(absolute)
        else:
            real = os.path.join(real_directory(os.path.dirname(absolute)), os.path.basename(absolute))
        return _textually_under(real, real_directory(os.path.abspath(base)))
    except (OSError, RuntimeError, ValueError):
        return None


# A place a directory is not in: its entries' paths relative to it are None.
OUTSIDE = "\0outside"


def _apart(directory: str, place: str) -> bool:
    """Whether neither of two absolute paths is, or holds, the other."""
    directory, place = directory.rstrip(os.sep), place.rstrip(os.sep)
    return not (place == directory or place.startswith(directory + os.sep) or directory.startswith(place + os.sep))


def _textually_under(text: str, start: str) -> Optional[str]:
    start = start.rstrip(os.sep)
    if text == start:
        return "."
    if text.startswith(start + os.sep):
        return text[len(start) + 1:].replace(os.sep, "/")
    return None


def _first_time(path: str, seen: Set[str], link: bool) -> bool:
    """Whether ``path`` names a file not met yet, adding it to ``seen``: files are known by
    their real path (their directory's, cached, then the name; a link's (``link``) own
    target), so a file named twice, or linked to from inside the tree, is linted and fixed
    once."""
    if link:
        key = os.path.realpath(path)
    else:
        directory, name = os.path.split(path)
        key = os.path.join(real_directory(directory or "."), name)
    if key in seen:
        return False
    seen.add(key)
    return True


@functools.lru_cache(maxsize=4096)
def real_directory(directory: str) -> str:
    """``os.path.realpath`` of a directory, once per directory and walk: per file it was two
    realpath walks for every file outside the project root (the whole cost of a warm run)."""
    return os.path.realpath(directory)


def repository_root(start: Optional[Path] = None) -> Path:
    """The top of the git work tree holding ``start`` (default: the current directory),
    else ``start`` itself: what paths in reports, SARIF files and baselines are relative to."""
    here = Path(os.path.abspath(start or os.getcwd()))
    for directory in (here, *here.parents):
        try:
            if (directory / ".git").exists():  # a directory, or a file in worktrees and submodules
                return directory
        except OSError:
            continue
    return here
