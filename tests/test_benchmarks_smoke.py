"""The benchmark script runs end to end (``--quick``: tiny sizes, one run each).

A correctness check, not a measurement: every scenario is in the printed table
and the no-op plan costs exactly two requests (login + list). No timing is asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = (
    "startup: python -c pass",
    "startup: homer-sync --help",
    "startup: homer-sync validate",
    "noop-plan",
    "naive no-op run",
    "diff-engine",
    "apply --concurrency 1",
    "apply --concurrency 8",
    "naive apply",
)


def _table_rows(output: str) -> list[list[str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("scenario "))
    rows = []
    for line in lines[start + 2:]:  # after the header and its dashes
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def test_quick_benchmark_prints_every_scenario_and_a_two_request_noop_plan():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        check=False, capture_output=True, text=True, timeout=300, cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = _table_rows(proc.stdout)
    header = ["scenario", "aliases", "runs", "requests", "connections", "median wall", "CPU", "peak RSS", "vs naive"]
    assert all(len(row) == len(header) for row in rows), rows
    by_name = {}
    for row in rows:
        by_name.setdefault(row[0], []).append(dict(zip(header, row, strict=True)))
    assert set(SCENARIOS) <= set(by_name), sorted(by_name)

    noop = by_name["noop-plan"]
    assert len(noop) >= 2  # several sizes, for the memory-growth line
    assert all(row["requests"] == "2" for row in noop), noop
    assert all(row["connections"] == "1" for row in noop), noop
    # apply: login + list + one POST per create + the verifying list; at most 8 connections at --concurrency 8
    c8 = by_name["apply --concurrency 8"][0]
    creates = int(c8["aliases"].replace(",", ""))
    assert int(c8["requests"].replace(",", "")) == creates + 3
    assert 1 <= int(c8["connections"]) <= 8
