"""A per-file rule's finding names another place of the same file (CCL210: where the field
is protected): in the message, in JSON's ``related`` and in SARIF's ``relatedLocations``."""

from __future__ import annotations

import json

from helpers import run_cli

SOURCE = '''import threading


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def add(self):
        with self._lock:
            self.count += 1

    def reset(self):
        self.count = 0
'''


def test_the_protected_place_is_in_the_message_json_and_sarif(tmp_path):
    (tmp_path / "counter.py").write_text(SOURCE)
    (finding,) = json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "counter.py", cwd=tmp_path).stdout)
    assert (finding["code"], finding["line"]) == ("CCL210", 14)
    assert "`Counter.add` writes it holding `self._lock` (line 11)" in finding["message"]
    assert "\x00" not in finding["message"]
    assert finding["related"] == [{
        "path": "counter.py", "line": 11, "column": 13, "end_line": 11, "end_column": 23,
        "message": "`self.count` is written here holding `self._lock`",
    }]
    sarif = json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "sarif", "counter.py", cwd=tmp_path).stdout)
    (result,) = sarif["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == 11
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "counter.py"


def test_a_lock_taken_in_the_other_method_too_clears_it(tmp_path):
    fixed = SOURCE.replace("        self.count = 0\n", "        with self._lock:\n            self.count = 0\n")
    (tmp_path / "counter.py").write_text(fixed)
    assert json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "counter.py", cwd=tmp_path).stdout) == []


HELPER = '''import threading


class Flusher:
    def __init__(self):
        self._lock = threading.Lock()
        self._pending = []

    def write(self, data):
        with self._lock:
            self._pending.append(data)
            self._flush()

    def on_writable(self):
        self._flush()

    def _flush(self):
        while self._pending:
            self._pending.pop(0)
'''


def test_a_helper_called_holding_the_lock_is_named_by_that_call(tmp_path):
    # The same code runs with the lock (from write) and without it (from on_writable): the
    # locked call of the helper is the first place named, then the locked change of the field.
    (tmp_path / "flusher.py").write_text(HELPER)
    (finding,) = json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "flusher.py", cwd=tmp_path).stdout)
    assert (finding["code"], finding["line"]) == ("CCL210", 19)
    assert "`Flusher.write` calls `_flush()` holding `self._lock` (line 12)" in finding["message"]
    assert [(r["line"], r["message"]) for r in finding["related"]] == [
        (12, "`_flush()` is called here holding `self._lock`"),
        (11, "`self._pending` is changed here holding `self._lock`"),
    ]
    # Called holding the lock from every method, the helper counts as locked: nothing to say.
    (tmp_path / "flusher.py").write_text(HELPER.replace(
        "on_writable(self):\n        self._flush()", "on_writable(self):\n        with self._lock:\n            self._flush()"
    ))
    assert json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "flusher.py", cwd=tmp_path).stdout) == []


TWO_LOCKS = '''import threading


class Two:
    def __init__(self):
        self._a = threading.Lock()
        self._b = threading.RLock()
        self.items = []

    def put(self, value):
        with self._a, self._b:
            self.items.append(value)

    def drain(self):
        self.items.clear()
'''


def test_the_lock_named_does_not_depend_on_the_hash_seed(tmp_path):
    # Two locks held: the message names the first taken, whatever order a set of them has.
    (tmp_path / "two.py").write_text(TWO_LOCKS)
    messages = {
        json.loads(run_cli(
            "--no-cache", "--select", "CCL210", "--format", "json", "two.py", cwd=tmp_path, env={"PYTHONHASHSEED": seed}
        ).stdout)[0]["message"]
        for seed in ("1", "2", "3", "4", "5", "6")
    }
    assert messages == {
        "`self.items` is changed here without a lock, while `Two.put` changes it holding `self._a` (line 12): "
        "updates can be lost"
    }


CLASS_STATE = '''import threading


class Registry:
    _lock = threading.Lock()
    _items = {}

    @classmethod
    def register(cls, key, value):
        with cls._lock:
            cls._items[key] = value

    def forget(self, key):
        del self._items[key]
'''


def test_the_state_is_named_as_each_place_spells_it(tmp_path):
    (tmp_path / "registry.py").write_text(CLASS_STATE)
    (finding,) = json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "registry.py", cwd=tmp_path).stdout)
    assert finding["message"].startswith("`self._items` is changed here without a lock, while `Registry.register`")
    assert [r["message"] for r in finding["related"]] == ["`cls._items` is changed here holding `cls._lock`"]


def test_a_locked_call_before_the_object_is_shared_is_not_the_evidence(tmp_path):
    # __init__ calls the helper holding the lock, but __init__ races with nothing: the
    # message names the locked change in write instead.
    source = HELPER.replace(
        "        self._pending = []\n", "        self._pending = []\n        with self._lock:\n            self._flush()\n"
    ).replace("            self._flush()\n\n    def on_writable", "\n    def on_writable")
    (tmp_path / "flusher.py").write_text(source)
    (finding,) = json.loads(run_cli("--no-cache", "--select", "CCL210", "--format", "json", "flusher.py", cwd=tmp_path).stdout)
    assert "while `Flusher.write` changes it holding `self._lock`" in finding["message"], finding["message"]
    assert "calls `_flush()`" not in finding["message"]
