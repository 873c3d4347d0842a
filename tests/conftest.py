"""The tests test this checkout: a run against another installed copy of conclint (a stale
`pip install .`) stops at once instead of passing or failing for the wrong code."""

from __future__ import annotations

from pathlib import Path

import pytest

import conclint

SOURCE = Path(__file__).resolve().parents[1] / "src"


def pytest_configure(config: pytest.Config) -> None:
    location = Path(conclint.__file__).resolve()
    if SOURCE not in location.parents:
        raise pytest.UsageError(
            f"conclint is imported from {location}, not from this checkout ({SOURCE}): "
            "install it with `pip install -e '.[test]'`"
        )
