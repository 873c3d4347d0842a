"""The result cache against hostile or unlucky trees: nothing it holds may hide a finding."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import run_cli

from conclint.cache import RACY_NS

BAD = "import threading\n\nt = threading.Thread(target=print)\nt.setDaemon(True)\n"
# As long as BAD, byte for byte, without the finding.
CLEAN = BAD.replace("t.setDaemon(True)", "t.daemon = True  ")
assert len(CLEAN) == len(BAD)


def lint(tree: Path, *options: str, importtime: bool = False):
    env = {"PYTHONPROFILEIMPORTTIME": "1"} if importtime else None
    return run_cli("--format", "json", *options, cwd=tree, env=env)


def codes(result) -> list:
    return [f["code"] for f in json.loads(result.stdout)]


def settle(*paths: Path) -> None:
    """Wait until the files' last change is older than the cache's racy window, so that
    the next run trusts their stat (what these tests are about) instead of hashing them."""
    while time.time_ns() - max(os.stat(p).st_ctime_ns for p in paths) <= RACY_NS:
        time.sleep(0.1)


def entries(cache: Path) -> dict:
    (results,) = cache.glob("results-*.json")
    return entries_of(results)


def entries_of(results: Path) -> dict:
    return json.loads(results.read_text())["files"]


def test_a_rewrite_that_restores_the_mtime_is_linted_again(tmp_path):
    source = tmp_path / "a.py"
    source.write_text(CLEAN)
    settle(source)
    assert codes(lint(tmp_path, "--cache-dir", ".cache", "a.py")) == []
    (entry,) = entries(tmp_path / ".cache").values()
    assert entry["k"] is not None, "the entry trusts the stat: the case under test"
    before = os.stat(source)
    source.write_text(BAD)  # same size, same inode
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(source).st_mtime_ns == before.st_mtime_ns
    assert codes(lint(tmp_path, "--cache-dir", ".cache", "a.py")) == ["CCL301"]


def test_a_cache_committed_with_the_tree_whitelists_nothing(tmp_path):
    # A tree and its cache, then a fresh checkout at the same place holding other bytes of
    # the same size and mtime, and the old cache (as if committed to the repository).
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(CLEAN)
    settle(tree / "a.py")
    assert codes(lint(tree, "a.py")) == []
    mtime = os.stat(tree / "a.py").st_mtime_ns
    tree.rename(tmp_path / "old")
    tree.mkdir()
    (tree / "a.py").write_text(BAD)
    os.utime(tree / "a.py", ns=(mtime, mtime))
    shutil.copytree(tmp_path / "old" / ".conclint_cache", tree / ".conclint_cache")
    assert codes(lint(tree, "a.py")) == ["CCL301"]


def test_findings_of_a_cache_that_travelled_are_not_believed(tmp_path):
    # The same bytes, but a cache claiming they are clean: hashes match, findings lie.
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(BAD)
    assert codes(lint(tree, "a.py")) == ["CCL301"]
    (results,) = (tree / ".conclint_cache").glob("results-*.json")
    forged = json.loads(results.read_text())
    for entry in forged["files"].values():
        entry["f"] = []
    tree.rename(tmp_path / "old")
    tree.mkdir()
    (tree / "a.py").write_text(BAD)
    (tree / ".conclint_cache").mkdir()
    (tree / ".conclint_cache" / results.name).write_text(json.dumps(forged))
    assert codes(lint(tree, "a.py")) == ["CCL301"]
    # The cache is then this directory's own, and serves the next run.
    warm = lint(tree, "a.py", importtime=True)
    assert codes(warm) == ["CCL301"] and "libcst" not in warm.stderr


def test_same_named_files_in_two_directories_never_share_an_entry(tmp_path):
    # Same name, size and mtime, other bytes; linted from their own directory with one cache.
    cache = tmp_path / "cache"
    for name, text in (("clean", CLEAN), ("bad", BAD)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.py").write_text(text)
        os.utime(tmp_path / name / "x.py", ns=(10**18, 10**18))
    expected = {"clean": [], "bad": ["CCL301"]}
    for name in ("clean", "bad"):
        assert codes(lint(tmp_path / name, "--cache-dir", str(cache), "x.py")) == expected[name]
    # Both entries are kept: each directory's warm run parses nothing.
    for name in ("clean", "bad"):
        warm = lint(tmp_path / name, "--cache-dir", str(cache), "x.py", importtime=True)
        assert codes(warm) == expected[name]
        assert "libcst" not in warm.stderr
    assert sorted(entries(cache)) == sorted(os.path.realpath(tmp_path / n / "x.py") for n in expected)


def test_cached_findings_name_the_file_as_this_run_does(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(BAD)
    cold = lint(tmp_path, "--cache-dir", "cache", "pkg/a.py")
    warm = lint(tmp_path / "pkg", "--cache-dir", "../cache", "a.py", importtime=True)
    assert "libcst" not in warm.stderr
    assert [f["path"] for f in json.loads(cold.stdout)] == ["pkg/a.py"]
    assert [f["path"] for f in json.loads(warm.stdout)] == ["a.py"]


def test_a_linked_file_is_keyed_by_its_target(tmp_path):
    (tmp_path / "real.py").write_text(BAD)
    (tmp_path / "link.py").symlink_to("real.py")
    assert codes(lint(tmp_path, "--cache-dir", "cache", "link.py")) == ["CCL301"]
    assert list(entries(tmp_path / "cache")) == [os.path.realpath(tmp_path / "real.py")]
    (tmp_path / "real.py").write_text(CLEAN)
    assert codes(lint(tmp_path, "--cache-dir", "cache", "link.py")) == []


def tree_with_bad_file(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pyproject.toml").write_text("[tool.conclint]\n")
    (tree / "a.py").write_text(BAD)
    return tree


def test_a_planted_gitignore_link_is_not_written_through(tmp_path):
    tree = tree_with_bad_file(tmp_path)
    (tree / ".conclint_cache").mkdir()
    (tree / ".conclint_cache" / ".gitignore").symlink_to(tmp_path / "planted")
    result = lint(tree, ".")
    assert codes(result) == ["CCL301"] and result.stderr == ""
    assert not os.path.lexists(tmp_path / "planted")
    assert entries(tree / ".conclint_cache"), "the cache itself still works"


def test_a_linked_cache_directory_is_neither_written_nor_pruned(tmp_path):
    tree = tree_with_bad_file(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "results-precious.json"
    victim.write_text("precious")
    old = time.time() - 400 * 24 * 3600
    os.utime(victim, (old, old))
    (tree / ".conclint_cache").symlink_to(elsewhere)
    for _ in range(2):
        result = lint(tree, ".")
        assert codes(result) == ["CCL301"] and result.returncode == 1
        assert result.stderr.splitlines() == [
            f"conclint: warning: {tree / '.conclint_cache'}: the cache directory is a symbolic link; not caching"
        ]
        assert sorted(p.name for p in elsewhere.iterdir()) == ["results-precious.json"]
    # A cache directory named with --cache-dir is no different.
    result = lint(tree, "--cache-dir", ".conclint_cache", ".")
    assert codes(result) == ["CCL301"] and "symbolic link" in result.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["results-precious.json"]


def test_links_inside_the_cache_directory_are_replaced_or_left_not_followed(tmp_path):
    tree = tree_with_bad_file(tmp_path)
    lint(tree, ".")
    cache = tree / ".conclint_cache"
    (results,) = cache.glob("results-*.json")
    outside = tmp_path / "outside.json"
    outside.write_text("outside")
    old = time.time() - 400 * 24 * 3600
    os.utime(outside, (old, old))
    results.unlink()
    results.symlink_to(outside)  # the cache file itself
    (cache / "results-other.json").symlink_to(outside)  # another key's, long unused
    os.utime(cache / "results-other.json", (old, old), follow_symlinks=False)
    stale = cache / "results-stale.json"  # a regular one, for contrast: pruned
    stale.write_text("{}")
    os.utime(stale, (old, old))
    result = lint(tree, ".")
    assert codes(result) == ["CCL301"] and result.returncode == 1
    assert outside.read_text() == "outside"
    assert not results.is_symlink() and entries_of(results)
    assert (cache / "results-other.json").is_symlink()
    assert not stale.exists()


def _first_entry(data: dict) -> dict:
    return next(iter(data["files"].values()))


def _edit_first_finding(data: dict, **fields) -> dict:
    _first_entry(data)["f"][0].update(fields)
    return data


# Each takes the cache a run wrote (parsed) and returns what to put in its place.
MALFORMED = {
    "entry not an object": lambda data: {"files": {"a.py": 3}},
    "a list": lambda data: [],
    "entry of strings": lambda data: {"files": {"a.py": {"m": "x"}}},
    "not json": lambda data: "this is not JSON {",
    "not utf-8": lambda data: b"\xff\xfe\x00garbage",
    "nested too deep": lambda data: "[" * 200_000,
    "empty": lambda data: "",
    "size a string": lambda data: _first_entry(data).update(s="12") or data,
    "size a bool": lambda data: _first_entry(data).update(s=True) or data,
    "stamp too short": lambda data: _first_entry(data).update(k=[1, 2]) or data,
    "findings not a list": lambda data: _first_entry(data).update(f={}) or data,
    "finding line a string": lambda data: _edit_first_finding(data, line="4"),
    "finding without fingerprint": lambda data: (_first_entry(data)["f"][0].pop("fingerprint"), data)[1],
    "fix edit with a stray field": lambda data: (
        _first_entry(data)["f"][0]["fix"]["edits"][0].update(stray=1), data)[1],
    "entry with a stray field": lambda data: _first_entry(data).update(m=1) or data,
    "home a string": lambda data: {**data, "home": "1"},
}


@pytest.mark.parametrize("mangle", MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_cache_is_discarded_with_a_warning_and_rewritten(tmp_path, mangle):
    (tmp_path / "a.py").write_text(BAD)
    (tmp_path / "b.py").write_text(CLEAN)
    expected = lint(tmp_path, "--cache-dir", "cache", ".").stdout
    (results,) = (tmp_path / "cache").glob("results-*.json")
    replacement = mangle(json.loads(results.read_text()))
    if isinstance(replacement, bytes):
        results.write_bytes(replacement)
    else:
        results.write_text(replacement if isinstance(replacement, str) else json.dumps(replacement))
    broken = lint(tmp_path, "--cache-dir", "cache", ".")
    assert broken.returncode == 1 and broken.stdout == expected
    (line,) = broken.stderr.splitlines()
    assert line.startswith(f"conclint: warning: {Path('cache') / results.name}: ignoring malformed cache (")
    again = lint(tmp_path, "--cache-dir", "cache", ".", importtime=True)
    assert again.stdout == expected and "libcst" not in again.stderr
    assert "conclint: warning" not in again.stderr


def test_a_fifo_in_place_of_the_cache_is_not_waited_on(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    lint(tmp_path, "--cache-dir", "cache", ".")
    (results,) = (tmp_path / "cache").glob("results-*.json")
    results.unlink()
    os.mkfifo(results)
    result = lint(tmp_path, "--cache-dir", "cache", ".")
    assert codes(result) == ["CCL301"]
    assert "ignoring malformed cache (it is not a regular file)" in result.stderr
    assert results.is_file(), "replaced by a cache"


def test_a_failed_save_leaves_no_temporary_file(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    lint(tmp_path, "--cache-dir", "cache", ".")
    (results,) = (tmp_path / "cache").glob("results-*.json")
    results.unlink()
    results.mkdir()  # renaming the new cache over it fails
    (results / "keep").write_text("")
    for text in (BAD, BAD + "\n", BAD + "\n\n"):  # each run has something new to save
        (tmp_path / "a.py").write_text(text)
        result = lint(tmp_path, "--cache-dir", "cache", ".")
        assert codes(result) == ["CCL301"] and result.returncode == 1
        assert "ignoring malformed cache (it is not a regular file)" in result.stderr
        assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [".gitignore", results.name]


def test_stale_temporary_files_are_removed_by_a_later_save(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    cache = tmp_path / "cache"
    cache.mkdir()
    stale, live = cache / ".results-killed.tmp", cache / ".results-running.tmp"
    stale.write_text("{" * 1000)
    live.write_text("{")  # another run's, being written now
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert codes(lint(tmp_path, "--cache-dir", "cache", ".")) == ["CCL301"]
    assert not stale.exists()
    assert live.exists()
    assert entries(cache)


def test_a_file_swapped_after_it_was_read_is_not_cached_as_clean(tmp_path):
    """Item 8: the run lints the clean bytes; the file is swapped for a same-size file with a
    finding before the run caches its result. The cache must hold the hash of what was
    linted, so the next run (even after a touch) lints the new bytes."""
    import subprocess
    import sys

    from conclint.testhooks import PAUSE

    tree, hook = tmp_path / "tree", tmp_path / "hook"
    tree.mkdir()
    hook.mkdir()
    (hook / "stage").write_text("read")
    target = tree / "a.py"
    target.write_text(CLEAN)
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-m", "conclint", "--format", "json", "--cache-dir", str(cache), "a.py"],
        cwd=tree, env={**os.environ, PAUSE: str(hook)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (hook / "paused").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    target.write_text(BAD)  # after the read, before the result is cached
    (hook / "resume").touch()
    out, _ = process.communicate(timeout=60)
    assert json.loads(out) == []  # what it read was clean
    os.utime(target, None)
    settle(target)
    assert codes(lint(tree, "--cache-dir", str(cache), "a.py")) == ["CCL301"]
