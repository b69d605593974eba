"""A reduced chaos run (bench/chaos.py): three intakes, each with a card payment, over HTTP while web
workers, Dramatiq workers, the scheduler and the database are killed with SIGKILL and restarted.
Nothing answered 2xx is lost, nothing (form, mail, charge) is done twice, nothing is left stuck."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.timeout(600)
def test_reduced_chaos_run_loses_doubles_and_strands_nothing():
    """Under random kill -9 of web, worker, scheduler and database, are lost = duplicated = stuck = 0?"""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/chaos.py"),
            "--intakes",
            "3",
            "--clients",
            "3",
            "--kill-every",
            "3",
            "--seed",
            "7",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = re.search(r"lost (\d+)\s+duplicated (\d+).*?stuck (\d+)\s+client errors (\d+)", done.stdout)
    assert summary, done.stdout
    lost, duplicated, stuck, errors = map(int, summary.groups())
    kills = int(re.search(r"kills (\d+)", done.stdout).group(1))
    assert kills >= 1, done.stdout
    assert (lost, duplicated, stuck, errors) == (0, 0, 0, 0), done.stdout
    assert "payments answered 201 3; lost charges 0, duplicated charges 0" in done.stdout, done.stdout
    assert re.search(
        r"audit chain verified \(\d+ rows\); completed tasks without their audit entry 0\b", done.stdout
    ), done.stdout
