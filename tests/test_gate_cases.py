"""The gate contract, case by case: skipping rules before LibCST parses never changes findings.

The byte-level triggers and ``could_report`` must be necessary conditions. Linting each
fixture whole (tests/test_equivalence.py) cannot show a gate that drops one form of a rule's
findings while the file holds another form the gate admits; cut into cases (tests/cases.py),
each form must pass the gates on its own. Every case is linted with every rule, gates on and
off (``Settings.gate``), with its fixture's options, and the findings must be identical.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Tuple

import pytest

from cases import Case, Findings, Split, difference, fixture_cases, gated_and_ungated, page_cases, split_source
from conclint.rule import all_rules
from helpers import FIXTURES

SPLITS = list(fixture_cases())
PAGES = page_cases()


@lru_cache(maxsize=None)
def both(case: Case) -> Tuple[Findings, Findings]:
    return gated_and_ungated(case.source, case.options)


def disagreements(cases: List[Case]) -> List[str]:
    out = []
    for case in cases:
        gated, ungated = both(case)
        if gated != ungated:
            out.append(f"{case.name}: {difference(gated, ungated)}\n{case.source}")
    return out


@pytest.mark.parametrize("path, split", SPLITS, ids=[str(p.relative_to(FIXTURES)) for p, _ in SPLITS])
def test_gates_keep_every_finding_of_each_fixture_case(path, split: Split):
    problems = disagreements(split.cases)
    assert not problems, "\n\n".join(problems)


def test_gates_keep_every_finding_of_each_page_example():
    assert len(PAGES.cases) >= 60 and not PAGES.invalid, PAGES.invalid
    problems = disagreements(PAGES.cases)
    assert not problems, "\n\n".join(problems)


def test_the_cases_are_many_valid_and_exercise_every_rule():
    cases = [c for _, split in SPLITS for c in split.cases] + PAGES.cases
    invalid = [name for _, split in SPLITS for name in split.invalid]
    assert len(cases) >= 1000
    assert len(invalid) <= len(cases) // 50, invalid
    reported: Dict[str, int] = {}
    for case in cases:
        for code in {f[0] for f in both(case)[1]}:
            reported[code] = reported.get(code, 0) + 1
    assert sum(1 for case in cases if both(case)[1]) >= 350, "most cases are clean: the cut loses findings"
    # Project rules (CCL209) have no per-file gate: tests/test_projects.py covers them.
    rules = {code for code, cls in all_rules().items() if not cls.project}
    assert rules <= set(reported), f"no case reports {sorted(rules - set(reported))}"
    # The option fixtures' cases keep their options.
    optioned = [c for c in cases if c.options]
    assert optioned and all(c.options == {"CCL307": c.options["CCL307"]} for c in optioned)


SAMPLE = '''\
"""Doc."""
import threading
from queue import Queue, SimpleQueue

lock = threading.Lock()


@decorated
def first():
    lock.acquire()


# about the loop
for i in range(3):
    first()
x = Queue()

y = 2; z = 3
'''


def test_split_cuts_prelude_and_groups():
    split = split_source(SAMPLE, "sample.py")
    prelude = '"""Doc."""\nimport threading\nfrom queue import Queue, SimpleQueue\n\nlock = threading.Lock()\n\n\n'
    first = "@decorated\ndef first():\n    lock.acquire()\n"
    loop = "# about the loop\nfor i in range(3):\n    first()\nx = Queue()\n"
    assert {c.name: c.source for c in split.cases} == {
        # Only the prelude statements the group reads, and what they read in turn.
        "sample.py:8": '"""Doc."""\nimport threading\nlock = threading.Lock()\n\n\n' + first,
        "sample.py:8 full prelude": prelude + first,
        "sample.py:13": '"""Doc."""\nfrom queue import Queue\n\n\n' + loop,
        "sample.py:13 full prelude": prelude + loop,
        # The group defining `first`, which the loop calls, and the prelude both use.
        "sample.py:13 with context": '"""Doc."""\nimport threading\nfrom queue import Queue\nlock = threading.Lock()\n\n\n'
        + first + "\n\n" + loop,
        "sample.py:18": '"""Doc."""\n\n\ny = 2; z = 3\n',
        "sample.py:18 full prelude": prelude + "y = 2; z = 3\n",
    }
    assert not split.invalid


def test_split_keeps_statements_with_findings_out_of_the_prelude():
    text = "import threading\nt = threading.currentThread()  # error: CCL301\nu = 1\n\n\ndef f():\n    pass\n"
    sources = {c.name: c.source for c in split_source(text, "m.py").cases}
    assert sources["m.py:2"] == "import threading\n\n\nt = threading.currentThread()\nu = 1\n"
    assert sources["m.py:6 full prelude"] == "import threading\n\n\ndef f():\n    pass\n"
    assert set(sources) == {"m.py:2", "m.py:6", "m.py:6 full prelude"}  # m.py:2 reads all the prelude


def test_split_counts_cases_that_do_not_compile():
    # CPython parses the text, but its compiler refuses the first def (no binding for x).
    text = "import os\n\n\ndef f():\n    nonlocal x\n\n\nos.getpid()\n"
    split = split_source(text, "m.py")
    assert split.invalid == ["m.py:4", "m.py:4 full prelude"]
    assert [c.name for c in split.cases] == ["m.py:8"]  # its full prelude is the same text
    assert split_source("print 'python 2'\n", "m.py").cases == []


def test_pruned_prelude_keeps_what_the_group_updates_or_declares_global():
    text = "import threading\nimport os\ncounter = 0\ntotals = {}\n\n\ndef bump():\n    global counter\n    counter += 1\n"
    [pruned, full] = split_source(text, "m.py").cases
    assert pruned.source == "counter = 0\n\n\ndef bump():\n    global counter\n    counter += 1\n"
    assert full.name == "m.py:7 full prelude"
