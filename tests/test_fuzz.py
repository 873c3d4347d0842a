"""Every rule on generated programs: no crash, the gates change no finding, every fix parses,
a second pass changes nothing. A bounded, reproducible run; scripts/fuzz.py runs long campaigns."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conclint.analysis.parsing import LIBCST_ONLY
from conclint.engine import lint_source
from fuzz_properties import check, every_rule, programs

SETTINGS = every_rule()
GATED = every_rule(gate=True)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # generated code is odd on purpose
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same programs every run: the suite must not flake
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(programs())
def test_rules_on_generated_programs(source):
    _, problem = check(source, SETTINGS, GATED)
    assert problem is None, problem


def test_check_reports_findings_the_gated_run_lacks():
    """The comparison itself: a "gated" run that cannot find CCL301 must be reported."""
    from conclint.settings import Settings, resolve_selection

    source = "import threading\nt = threading.currentThread()\n"
    assert check(source, SETTINGS, GATED) == (True, None)
    blind = Settings(resolve_selection(["CCL2"], [], []), gate=True)
    _, problem = check(source, SETTINGS, blind)
    assert problem is not None and problem.startswith("the gates change the findings: lost ['CCL301'], added []")


def test_valid_python_libcst_cannot_read_is_not_a_gate_change():
    """CPython 3.11 accepts a backslash and CRLF as a file's last line, LibCST does not: the
    run without gates says LibCST cannot parse it, the gated run (whose CPython tree shows
    nothing to report) does not run LibCST; that is the design, not a lost finding. A program
    the fuzzer found."""
    source = "# a comment +\\\t\t\x0c\x0c\r\n\\\r\n"
    ungated = [f.message for f in lint_source(source.encode(), "fuzzed.py", SETTINGS).findings]
    assert len(ungated) == 1 and ungated[0].startswith(LIBCST_ONLY)
    assert lint_source(source.encode(), "fuzzed.py", GATED).findings == []
    assert check(source, SETTINGS, GATED) == (False, None)
    # Not a blanket pass: a real syntax error is found either way, and a gated run that
    # misses one (its selection's triggers do not match the file) is reported.
    broken = "import threading\nlock = threading.Lock()\ndef f(:\n"
    assert [f.code for f in lint_source(broken.encode(), "fuzzed.py", GATED).findings] == ["CCL000"]
    assert check(broken, SETTINGS, GATED) == (False, None)
    from conclint.settings import Settings, resolve_selection

    blind = Settings(resolve_selection(["CCL1"], [], []), gate=True)
    # No CCL1 rule's vocabulary, but the file names `threading`: parsed for its syntax.
    assert [f.code for f in lint_source(broken.encode(), "fuzzed.py", blind).findings] == ["CCL000"]
    unrelated = "x = compute()\ndef f(:\n"  # nothing conclint is about: not parsed
    assert lint_source(unrelated.encode(), "fuzzed.py", blind).findings == []
    _, problem = check(unrelated, SETTINGS, blind)
    assert problem is not None and problem.startswith("the gates change the findings: lost ['CCL000'], added []")


def test_a_fix_withheld_on_purpose_is_no_failure_but_must_leave_the_file_alone():
    # Lone CRs among other line endings: linted, not fixed, and said so (engine.LONE_CR).
    # The fuzzer met such programs; a withheld fix is by design, a changed file would not be.
    source = "import threading\rx = 1\nthreading.currentThread()\n"
    assert check(source, SETTINGS, GATED) == (False, None)


# The lock words the summary and the engine's syntax screen look for (``project.names_locks``):
# a search by hand, which must
# find exactly what its definition, ``TRIGGER_RE``, does, ends and starts of words included.
_LOCK_PIECES = ["Lock", "LOCK", "BLOCK", "_LOCK", "acquire", "Locked", ".lock", "_lock", "allocate_lock", "Condition",
                "x", " ", "_", "9", "é", "(", ".", "\n"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_LOCK_PIECES), max_size=8))
def test_the_lock_word_search_finds_what_its_regex_does(pieces):
    from conclint.analysis.project import TRIGGER_RE, names_locks

    data = "".join(pieces).encode()
    assert names_locks(data) is (TRIGGER_RE.search(data) is not None)


_LINE = st.sampled_from(["x = 1", "def f():", "    pass", "", "    return 2", "# é"])
_TEXT = st.lists(st.tuples(_LINE, st.sampled_from(["\n", "\r\n", "\r"])), max_size=40).map(
    lambda pairs: "".join(text + end for text, end in pairs)
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_TEXT, _TEXT, st.sampled_from([2000, 3]))
def test_text_edits_turn_the_old_text_into_the_new(old, new, most):
    """The edits offered for a fix (JSON, SARIF, the server) make the fixed text, whether
    they come from difflib or, past ``most`` lines between the first and last change, are
    one edit; no two overlap, and text both share at the ends is in none."""
    import conclint.engine as engine
    from conclint.noqa_audit import apply_edits

    before, engine._DIFF_LINES = engine._DIFF_LINES, most
    try:
        edits = engine.text_edits(old, new)
    finally:
        engine._DIFF_LINES = before
    assert apply_edits(old, edits) == new
    spans = sorted((e.line, e.column, e.end_line, e.end_column) for e in edits)
    assert all(a[2:] <= b[:2] for a, b in zip(spans, spans[1:]))
    assert (not edits) == (old == new)


def test_changes_spread_over_many_lines_are_one_edit():
    # A fix-all of 1,000 defs: difflib took 83 s to match them in the server; one edit
    # from the first changed line to the last.
    from conclint.engine import _DIFF_LINES, text_edits
    from conclint.noqa_audit import apply_edits

    old = "import threading\n" + "".join(f"\ndef f{i}():\n    threading.currentThread()\n" for i in range(1000))
    new = old.replace("currentThread", "current_thread")
    assert len(old.splitlines()) > _DIFF_LINES
    (edit,) = text_edits(old, new)
    assert (edit.line, edit.end_line) == (4, 3001) and apply_edits(old, [edit]) == new
    # A change or two: the edits of those lines only.
    one = old.replace("def f7():\n    threading.currentThread()", "def f7():\n    threading.current_thread()")
    assert [(e.line, e.content) for e in text_edits(old, one)] == [(25, "_t")]
