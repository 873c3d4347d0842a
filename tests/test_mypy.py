"""The sources type-check: ``python -m mypy`` from the repository root, configured by
pyproject.toml's ``[tool.mypy]`` (strict, ``files = ["src"]``, unused ``type: ignore``
comments reported), exits 0. Skipped only where mypy is not installed (it is in the
``test`` extra, for Python 3.10 and later)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_passes():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mypy exited {result.returncode}:\n{result.stdout}{result.stderr}"
