"""Benchmark: submissions validated per second for the largest default template.

Usage: .venv/bin/python bench/forms.py [--runs 7] [--n 2000]
Prints the median of several runs (no database needed: validation is pure Python).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.forms import validate_submission  # noqa: E402
from engine.forms.validator import all_questions  # noqa: E402
from tests.form_fills import INVALID, VALID  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    templates = {p.stem: json.loads(p.read_text()) for p in (ROOT / "form_defs").glob("*.json")}

    # "largest" = most questions, counting matrix columns and dynamic-panel questions
    def size(d):
        qs = list(all_questions(d, nested=True))
        return len(qs) + sum(len(q.get("columns") or []) + len(q.get("items") or []) for q in qs)

    key = max(templates, key=lambda k: size(templates[k]))
    definition = templates[key]
    submissions = [VALID[key], INVALID[key][0]]
    rates = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for i in range(args.n):
            validate_submission(definition, submissions[i % 2])
        rates.append(args.n / (time.perf_counter() - start))
    print(f"largest template: {key} ({size(definition)} questions incl. columns)")
    print(
        f"submissions validated per second (median of {args.runs} runs of {args.n}, half valid/half invalid): "
        f"{statistics.median(rates):,.0f}"
    )
    print(f"min {min(rates):,.0f}  max {max(rates):,.0f}")


if __name__ == "__main__":
    main()
