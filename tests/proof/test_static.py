"""Static checks as tests: the linter (STYLE habit 11) runs with the suite, so nobody merges a finding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.static  # ./dev test runs these first, as their own step
ROOT = Path(__file__).resolve().parents[2]


def test_ruff_reports_nothing():
    """Does `ruff check .` (bugbear and bandit rules included, config in pyproject.toml) find nothing?"""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"ruff check . reported:\n{result.stdout}{result.stderr}"


def test_the_code_is_laid_out_by_ruff_format():
    """Is every Python file as `ruff format` lays it out (config in pyproject.toml), so that no diff is about
    layout?"""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"ruff format --check . reported (run `ruff format .`):\n{result.stdout}{result.stderr}"
    )


def test_mypy_reports_nothing():
    """Does mypy (config in pyproject.toml: engine/ and web/) find no type error?"""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"mypy reported:\n{result.stdout}{result.stderr}"
