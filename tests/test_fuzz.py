"""Every rule on generated programs: no crash, every fix parses, a second pass changes
nothing. A bounded, reproducible run; scripts/fuzz.py runs long campaigns."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_properties import check, every_rule, programs

SETTINGS = every_rule()


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # generated code is odd on purpose
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same programs every run: the suite must not flake
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(programs())
def test_rules_on_generated_programs(source):
    _, problem = check(source, SETTINGS)
    assert problem is None, problem
