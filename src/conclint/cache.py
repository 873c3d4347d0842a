"""Result cache: findings per file, keyed by resolved path, content hash, version and configuration.

One JSON file per configuration key, ``results-<key>.json``::

    {"home": <inode of the cache directory>,
     "files": {<resolved path>: {"h": sha256 of the bytes linted, "s": size,
                                 "k": [mtime_ns, inode, ctime_ns] or null,
                                 "t": last used (epoch seconds), "f": [findings],
                                 "p": whether the file has a project summary}},
     "project": {"d": digest of the project phase's inputs, "f": [its findings]}}

The project phase (``conclint.project``) joins the summaries of every file of a run; its
findings are kept under ``project`` with a digest of what it read (each summarised file's
path as named, module name and content hash), so a warm run with nothing changed neither
recomputes them nor imports the rules. A run whose inputs differ replaces them.

The summaries themselves, six times the size of the rest, are kept apart, by content hash,
in ``summaries-<key>.json`` (``{"home": inode, "s": {sha256: summary}}``): a run reads that
file only when the project phase has to run again (some summarised file changed), and then
validates only the summaries it uses. It is written before the results file, and holds only
the summaries of entries marked ``"p"``. A summary missing from it (a concurrent run wrote
the other file last) or malformed is made again from the file, if its bytes still hash as
recorded; otherwise the file is left out of the project phase for that run.

Paths are absolute, through the real path of their directory (and of the file, when it
is a symbolic link): ``x.py`` linted in two directories never shares an entry.

Whether a file is unchanged. The hash is of the very bytes the worker linted (it comes
back in ``FileOutcome.digest``), never of a later read, so a file swapped while it was
linted is not recorded with the findings of other bytes. A warm run skips hashing only
when the file's stat matches ``k``: mtime, inode and ctime. The mtime alone vouches for
nothing: anyone can set it (``touch -d``, ``os.utime``, an archive or checkout that
restores it). The ctime cannot be set: the kernel stamps it on every change, and a
checkout creates new inodes stamped with the time of the checkout. So a rewrite that
restores the mtime, or an entry that travelled with a repository, is never trusted on
its stat: the file is hashed again, and only the same bytes reuse the findings. ``k`` is
null when the stat cannot vouch for the bytes linted: the file changed while it was
linted, or its ctime lies within ``RACY_NS`` of the run, where a change in the same
clock tick would leave the stat as it is (git's "racily clean" entries); such an entry
is hashed on the next run, and trusted from then on.

A cache that travelled is not trusted even with matching hashes: its findings could be
made up. ``home`` is the inode of the cache directory that wrote it; a cache committed
to a repository (or copied) lies in a directory the checkout created, whose inode it
cannot know in advance, and is ignored.

The cache directory is never followed through a symbolic link: a planted link would
have the cache write, or prune, wherever it points. The directory is opened with
O_NOFOLLOW and everything in it is reached through that descriptor: the cache file is
read only if it is a regular file, new files are created with O_EXCL and O_NOFOLLOW (an
existing .gitignore, even a link, is left alone), and pruning deletes only regular
files. A linked cache directory is not used at all, with a warning. Platforms without
these calls (Windows) do not cache.

A cache file that is not what this module writes (not JSON, or of another shape, down
to the type of each field of each finding) is ignored with a warning naming it, and
rewritten by the run; nothing malformed gets past loading.

Writes go through a temporary file and an atomic rename, so concurrent runs never read
a torn file (the last writer wins); a failed write removes its temporary file, and one
older than ``STALE_TMP`` (left by a run that was killed) is removed by the next write,
before it writes: a full disk does not stay full. Entries unused for ``MAX_AGE``
seconds, and cache files of other configurations or versions not touched for as long,
are pruned on write.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from conclint.analysis.project import SummaryError
from conclint.analysis.project import validate as validate_summary
from conclint.discovery import real_directory
from conclint.findings import Finding
from conclint.reading import MAX_SOURCE_BYTES, IsLink, NotRegular, TooLarge, read_regular
from conclint.settings import Settings

MAX_AGE = 30 * 24 * 3600
# A temporary file is written within seconds; one this old belongs to no live run.
STALE_TMP = 3600
# Timestamps are as fine as the kernel's clock tick (ext4, tmpfs) or as coarse as a
# second (ext3, HFS+): a file changed less than this before a run may change again
# without its stat showing it.
RACY_NS = 2 * 10**9
_GITIGNORE = "# Created by conclint automatically.\n*\n"
# A cache file larger than this is not one conclint wrote (a million entries are ~200 MB).
_MAX_CACHE_BYTES = 1 << 30
# The fields of the cache's objects and their types (JSON's: a bool is no int here);
# entries also hold "k", findings "fix" (see the module's doc and Finding.to_json).
_ENTRY = {"h": str, "s": int, "t": int, "f": list, "p": bool}
_FINDING = {
    "code": str, "message": str, "path": str, "line": int, "column": int,
    "end_line": int, "end_column": int, "fingerprint": str, "related": list,
}
_RELATED = {"path": str, "line": int, "column": int, "end_line": int, "end_column": int, "message": str}
_FIX = {"applicability": str, "message": str, "edits": list}
_EDIT = {"line": int, "column": int, "end_line": int, "end_column": int, "content": str}
_USABLE = (
    hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
    and os.open in os.supports_dir_fd and os.scandir in os.supports_fd
)


class Cache:
    def __init__(self, directory: Path, key: str) -> None:
        self.directory = Path(directory)
        self.file = self.directory / f"results-{key}.json"
        self.summaries_file = self.directory / f"summaries-{key}.json"
        self.dirty = False
        self.started = time.time_ns()
        self.usable = _USABLE
        self.warnings: List[str] = []  # one line each, for stderr
        self.project: Optional[Dict[str, Any]] = None  # {"d": digest, "f": [findings]}
        # The summaries file as read (sha256 -> summary, not yet validated), read on demand;
        # summaries made by this run; the cache key of each path named in this run.
        self._summaries: Optional[Dict[str, Any]] = None
        self._new_summaries: Dict[str, Dict[str, Any]] = {}
        self._keys: Dict[str, str] = {}
        self.entries: Dict[str, Dict[str, Any]] = self._load() if self.usable else {}

    def _open_directory(self) -> Optional[int]:
        """A descriptor of the cache directory; None when it is missing, or a link (then
        the cache is not used)."""
        try:
            return os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            if os.path.islink(self.directory):
                self.usable = False
                self.warnings.append(f"{self.directory}: the cache directory is a symbolic link; not caching")
            return None

    def _load(self) -> Dict[str, Dict[str, Any]]:
        directory = self._open_directory()
        if directory is None:
            return {}
        try:
            raw = read_regular(self.file.name, _MAX_CACHE_BYTES, directory=directory, follow=False)
            home = os.fstat(directory).st_ino
        except IsLink:
            return self._discard("it is a symbolic link")
        except NotRegular:
            return self._discard("it is not a regular file")
        except TooLarge as exc:
            return self._discard(str(exc.strerror))
        except OSError:
            return {}  # none yet, or unreadable: the run lints all the same
        finally:
            os.close(directory)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            return self._discard(f"not JSON: {exc}")
        if not (type(data) is dict and data.keys() in ({"home", "files"}, {"home", "files", "project"})
                and type(data["home"]) is int and type(data["files"]) is dict):
            return self._discard('not {"home": inode, "files": {...}}')
        if data["home"] != home:
            self.dirty = True  # another directory's cache: replace it
            return {}
        for path, entry in data["files"].items():
            if not _valid_entry(entry):
                return self._discard(f"bad entry for {path}")
        project = data.get("project")
        if project is not None:
            if not (_fits(project, {"d": str, "f": list}) and all(_valid_finding(f) for f in project["f"])):
                return self._discard("bad project findings")
            self.project = project
        return data["files"]

    def _discard(self, why: str) -> Dict[str, Dict[str, Any]]:
        self.warnings.append(f"{self.file}: ignoring malformed cache ({why})")
        self.dirty = True  # this run rewrites it
        return {}

    def lookup(self, path: str, key: str, st: os.stat_result) -> Optional[Any]:
        """The outcome of ``path`` (resolved: ``key``), if the entry still holds for ``st``:
        its findings, summary and digest."""
        from conclint.runner import FileOutcome

        entry = self.entries.get(key)
        if entry is None or entry["s"] != st.st_size:
            return None
        if entry["k"] != _stamp(st):
            try:
                digest = hashlib.sha256(read_regular(key, MAX_SOURCE_BYTES, follow=False)).hexdigest()
            except OSError:
                return None
            if digest != entry["h"]:
                return None
            stamp = self._stamp_if_settled(st)
            if stamp != entry["k"]:  # None while the file is racy: nothing to save then
                entry["k"] = stamp
                self.dirty = True
        now = self.started // 10**9
        if now - entry["t"] > 24 * 3600:
            entry["t"] = now
            self.dirty = True
        findings = [Finding.from_json(f) for f in entry["f"]]
        for finding in findings:
            # As named in this run; a per-file rule's other places are in the same file.
            stored, finding.path = finding.path, path
            finding.related = [replace(r, path=path) if r.path == stored else r for r in finding.related]
        return FileOutcome(path, findings, digest=entry["h"], summary_stored=entry["p"])

    def store(
        self, key: str, findings: Sequence[Finding], digest: str, st: os.stat_result, trusted: bool,
        summary: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Record the findings (and project summary) of the bytes hashing to ``digest``, read
        from ``key`` (which stat'ed as ``st`` before, and, if ``trusted``, after)."""
        if summary is not None:
            self._new_summaries[digest] = summary
        self.entries[key] = {
            "h": digest,
            "s": st.st_size,
            "k": self._stamp_if_settled(st) if trusted else None,
            "t": self.started // 10**9,
            "f": [f.to_json() for f in findings],
            "p": summary is not None,
        }
        self.dirty = True

    def project_findings(self, digest: str) -> Optional[List[Finding]]:
        """The project phase's findings recorded for inputs hashing to ``digest``."""
        if self.project is None or self.project["d"] != digest:
            return None
        return [Finding.from_json(f) for f in self.project["f"]]

    def store_project_findings(self, digest: str, findings: Sequence[Finding]) -> None:
        self.project = {"d": digest, "f": [f.to_json() for f in findings]}
        self.dirty = True

    def summary(self, path: str, digest: str) -> Optional[Dict[str, Any]]:
        """The summary of the bytes of ``path`` (as named in this run) hashing to ``digest``:
        made by this run, or read from the summaries file, or made again from the file when
        that lacks it; None when the file no longer has those bytes."""
        found = self._new_summaries.get(digest)
        if found is not None:
            return found
        if self._summaries is None:
            self._summaries = self._load_summaries()
        stored = self._summaries.get(digest)
        if stored is not None:
            try:
                return validate_summary(stored)
            except SummaryError:
                pass
        from conclint.project import summary_of

        try:
            data = read_regular(self._keys.get(path, path), MAX_SOURCE_BYTES, follow=False)
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        made = summary_of(data)
        if made is not None:
            self._new_summaries[digest] = made
        return made

    def _load_summaries(self) -> Dict[str, Any]:
        directory = self._open_directory()
        if directory is None:
            return {}
        try:
            raw = read_regular(self.summaries_file.name, _MAX_CACHE_BYTES, directory=directory, follow=False)
            home = os.fstat(directory).st_ino
        except OSError:  # none, a link, not a regular file, too large: made again as needed
            return {}
        finally:
            os.close(directory)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if not (type(data) is dict and data.keys() == {"home", "s"} and type(data["s"]) is dict):
            self.warnings.append(f"{self.summaries_file}: ignoring malformed summaries")
            return {}
        return data["s"] if data["home"] == home else {}

    def _stamp_if_settled(self, st: os.stat_result) -> Optional[List[int]]:
        return _stamp(st) if st.st_ctime_ns < self.started - RACY_NS else None

    def run(self, files: Sequence[str], settings: Settings, *, with_edits: bool, jobs: Optional[int]) -> List[Any]:
        return run_groups([(self, settings, files)], with_edits=with_edits, jobs=jobs)[0]

    def _look_up(self, files: Sequence[str]) -> Tuple[Dict[str, Any], Dict[str, Tuple[str, os.stat_result]]]:
        """Each file's cached outcome (None: to lint), and the key and stat of those to lint
        that can be cached."""
        outcomes: Dict[str, Any] = {}
        before: Dict[str, Tuple[str, os.stat_result]] = {}
        if not self.usable:
            return {path: None for path in files}, before
        cwd = os.getcwd()
        for path in files:
            key, st = _identify(path, cwd)
            self._keys[path] = key
            if st is not None and stat.S_ISREG(st.st_mode):  # not a FIFO or device: never read those here
                cached = self.lookup(path, key, st)
                if cached is not None:
                    outcomes[path] = cached
                    continue
                before[path] = key, st
            outcomes[path] = None
        return outcomes, before

    def _record(self, outcome: Any, before: Dict[str, Tuple[str, os.stat_result]]) -> None:
        known = before.get(outcome.path)
        if outcome.error or outcome.digest is None or known is None:
            return
        key, st = known
        after = _stat(key)
        trusted = after is not None and after.st_size == st.st_size and _stamp(after) == _stamp(st)
        self.store(key, outcome.findings, outcome.digest, st, trusted, outcome.summary)

    def save(self) -> None:
        if not self.dirty:
            return
        now = time.time()
        self.entries = {p: e for p, e in self.entries.items() if now - e["t"] <= MAX_AGE}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # a read-only checkout still lints; it just is not cached
        directory = self._open_directory()
        if directory is None:
            return
        try:
            self._write(directory, now)
        except OSError:
            pass  # a full disk: likewise
        finally:
            os.close(directory)

    def _write(self, directory: int, now: float) -> None:
        _prune(directory, (self.file.name, self.summaries_file.name), now)  # first: it may free the space this needs
        try:
            with os.fdopen(_create(".gitignore", directory, 0o644), "w", encoding="utf-8") as handle:
                handle.write(_GITIGNORE)
        except FileExistsError:
            pass  # whatever it is, even a link, it is left alone
        home = os.fstat(directory).st_ino
        if self._new_summaries:  # first: the results file must not name summaries it lacks
            stored = self._summaries if self._summaries is not None else self._load_summaries()
            wanted = {e["h"] for e in self.entries.values() if e["p"]}
            kept = {d: v for d, v in stored.items() if d in wanted}
            kept.update((d, v) for d, v in self._new_summaries.items() if d in wanted)
            _replace(directory, self.summaries_file.name, {"home": home, "s": kept})
        document: Dict[str, Any] = {"home": home, "files": self.entries}
        if self.project is not None:
            document["project"] = self.project
        _replace(directory, self.file.name, document)


def run_groups(
    groups: Sequence[Tuple[Cache, Settings, Sequence[str]]], *, with_edits: bool, jobs: Optional[int]
) -> List[List[Any]]:
    """The outcomes of each group's files (files under one configuration, with the cache of
    its key): what the caches hold, the rest linted in one run of the workers, each file
    under its group's Settings; then each group's project phase. Groups' files are distinct."""
    from conclint import project
    from conclint.runner import run

    looked_up = [cache._look_up(files) for cache, _, files in groups]
    misses: List[str] = []
    which: List[int] = []
    for index, (outcomes, _) in enumerate(looked_up):
        for path, outcome in outcomes.items():
            if outcome is None:
                misses.append(path)
                which.append(index)
    if misses:
        table = [settings for _, settings, _ in groups]
        for outcome, index in zip(run(misses, table, with_edits=with_edits, jobs=jobs, which=which), which):
            looked_up[index][0][outcome.path] = outcome
            if groups[index][0].usable:
                groups[index][0]._record(outcome, looked_up[index][1])
    results = [[outcomes[p] for p in files] for (_, _, files), (outcomes, _) in zip(groups, looked_up)]
    project.apply_groups([
        (result, settings, cache if cache.usable else None) for result, (cache, settings, _) in zip(results, groups)
    ])
    for cache, _, _ in groups:
        if cache.usable:
            cache.save()
    return results


def _replace(directory: int, name: str, document: Any) -> None:
    """Write ``document`` as JSON to ``name`` in ``directory``, atomically."""
    tmp = f".results-{os.urandom(8).hex()}.tmp"
    handle = os.fdopen(_create(tmp, directory, 0o600), "w", encoding="utf-8")
    try:
        with handle:
            # dumps, not dump: json.dump streams through the pure-Python encoder (5x slower).
            handle.write(json.dumps(document, separators=(",", ":")))
        os.replace(tmp, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        _unlink(tmp, directory)
        raise


def _prune(directory: int, own: Tuple[str, str], now: float) -> None:
    """Delete the cache files of other keys not written for ``MAX_AGE``, and temporary
    files older than ``STALE_TMP``: regular files only, never a link (nor what it points to)."""
    with os.scandir(directory) as found:
        names = [e.name for e in found]
    for name in names:
        if name.startswith(("results-", "summaries-")) and name.endswith(".json") and name not in own:
            limit = MAX_AGE
        elif name.startswith(".results-") and name.endswith(".tmp"):
            limit = STALE_TMP
        else:
            continue
        try:
            st = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and now - st.st_mtime > limit:
            _unlink(name, directory)


def _create(name: str, directory: int, mode: int) -> int:
    """A new file in ``directory``: never an existing one, nor through a link."""
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=directory)


def _unlink(name: str, directory: int) -> None:
    try:
        os.unlink(name, dir_fd=directory)
    except OSError:
        pass


def _valid_entry(entry: Any) -> bool:
    if not _fits(entry, _ENTRY, "k"):
        return False
    stamp = entry["k"]
    if stamp is not None and not (type(stamp) is list and len(stamp) == 3 and all(type(n) is int for n in stamp)):
        return False
    return all(_valid_finding(f) for f in entry["f"])


def _valid_finding(finding: Any) -> bool:
    if not _fits(finding, _FINDING, "fix"):
        return False
    fix = finding["fix"]
    if not all(_fits(r, _RELATED) for r in finding["related"]):
        return False
    return fix is None or (_fits(fix, _FIX) and all(_fits(e, _EDIT) for e in fix["edits"]))


def _fits(value: Any, shape: Mapping[str, type], *others: str) -> bool:
    """Whether ``value`` is an object with exactly the fields of ``shape`` (of those types)
    and ``others`` (checked by the caller)."""
    return (
        type(value) is dict and len(value) == len(shape) + len(others)
        and all(type(value.get(k)) is t for k, t in shape.items()) and all(k in value for k in others)
    )


def _stamp(st: os.stat_result) -> List[int]:
    """What a stat says of a file's content, short of reading it (see the module's doc)."""
    return [st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _identify(path: str, cwd: str) -> Tuple[str, Optional[os.stat_result]]:
    """The key of ``path`` (its resolved absolute path) and its stat (None if it has none).

    One lstat per file: directories are resolved once per run (``real_directory``), and
    only a symbolic link is resolved all the way."""
    absolute = os.path.join(cwd, path)
    try:
        st = os.lstat(absolute)
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(absolute)
            return real, os.stat(real)
    except OSError:
        return absolute, None
    head, tail = os.path.split(absolute)
    return os.path.join(real_directory(head), tail), st


def _stat(path: str) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None
