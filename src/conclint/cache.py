"""Result cache: findings per file, keyed by content hash, version and configuration.

One JSON file per configuration key holds, for every path, the file's
(mtime_ns, size, sha256) and its findings. A warm run stats each file, trusts an
exact (mtime, size) match, re-hashes the content otherwise, and lints only what
changed. Writes go through a temporary file and an atomic rename, so concurrent
runs never read a torn file (the last writer wins). Entries unused for
``MAX_AGE`` days, and cache files of other configurations or versions not
touched for as long, are pruned on write.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from conclint.findings import Finding
from conclint.settings import Settings

MAX_AGE = 30 * 24 * 3600
_GITIGNORE = "# Created by conclint automatically.\n*\n"


class Cache:
    def __init__(self, directory: Path, key: str) -> None:
        self.directory = Path(directory)
        self.file = self.directory / f"results-{key}.json"
        self.entries: Dict[str, Dict[str, Any]] = self._load()
        self.dirty = False

    def _load(self) -> Dict[str, Dict[str, Any]]:
        try:
            with open(self.file, "rb") as handle:
                data = json.load(handle)
            return data["files"] if isinstance(data.get("files"), dict) else {}
        except (OSError, ValueError, KeyError, AttributeError):
            return {}

    def lookup(self, path: str) -> Optional[List[Finding]]:
        entry = self.entries.get(path)
        if entry is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None  # a FIFO or device named on the command line: never read it here
        if entry["m"] != st.st_mtime_ns or entry["s"] != st.st_size:
            try:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                return None
            if digest != entry["h"]:
                return None
            entry["m"], entry["s"] = st.st_mtime_ns, st.st_size
            self.dirty = True
        now = int(time.time())
        if now - entry.get("t", 0) > 24 * 3600:
            entry["t"] = now
            self.dirty = True
        return [Finding.from_json(f) for f in entry["f"]]

    def store(self, path: str, findings: Sequence[Finding], data: bytes, st: os.stat_result) -> None:
        self.entries[path] = {
            "m": st.st_mtime_ns,
            "s": st.st_size,
            "h": hashlib.sha256(data).hexdigest(),
            "t": int(time.time()),
            "f": [f.to_json() for f in findings],
        }
        self.dirty = True

    def run(self, files: Sequence[str], settings: Settings, *, with_edits: bool, jobs: Optional[int]) -> List[Any]:
        from conclint.runner import FileOutcome, run

        outcomes: Dict[str, Any] = {}
        misses: List[str] = []
        for path in files:
            cached = self.lookup(path)
            if cached is None:
                misses.append(path)
            else:
                outcomes[path] = FileOutcome(path, cached)
        if misses:
            before = {p: _stat(p) for p in misses}
            for outcome in run(misses, settings, with_edits=with_edits, jobs=jobs):
                outcomes[outcome.path] = outcome
                st = before.get(outcome.path)
                if outcome.error or st is None or not stat.S_ISREG(st.st_mode) or any(f.code == "CCL000" and "cannot read" in f.message for f in outcome.findings):
                    continue
                data = _read(outcome.path)
                after = _stat(outcome.path)
                if data is not None and after is not None and after.st_mtime_ns == st.st_mtime_ns:
                    self.store(outcome.path, outcome.findings, data, st)
        self.save()
        return [outcomes[p] for p in files]

    def save(self) -> None:
        if not self.dirty:
            return
        now = time.time()
        self.entries = {p: e for p, e in self.entries.items() if now - e.get("t", now) <= MAX_AGE}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text(_GITIGNORE)
            fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=str(self.directory))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"files": self.entries}, handle, separators=(",", ":"))
            os.replace(tmp, self.file)
            self._prune_others(now)
        except OSError:
            pass  # a read-only checkout still lints; it just is not cached

    def _prune_others(self, now: float) -> None:
        for other in self.directory.glob("results-*.json"):
            if other != self.file:
                try:
                    if now - other.stat().st_mtime > MAX_AGE:
                        other.unlink()
                except OSError:
                    pass


def _stat(path: str) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None
