"""The diff engine alone: homer_sync.plan.build_plan on N declared vs N stored aliases.

    python benchmarks/diff_engine.py N REPEATS

Run by run.py in a child process so that its peak RSS is its own (run.py reads it). Builds the
Alias objects first (not timed: the inventory loader and the API client make
them), then times ``build_plan`` REPEATS times on a no-op (every alias already
on the server, listed in a shuffled order as a server would) and once on a plan
where 10% are missing, 10% renamed and 10% undeclared (with prune).

Prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import replace

from _data import aliases


def main(argv: list[str]) -> int:
    count, repeats = int(argv[1]), int(argv[2])
    from homer_sync.plan import build_plan

    desired = aliases(count, with_guids=False)
    existing = aliases(count, with_guids=True, shuffle_seed=7)

    noop, noop_cpu = [], []
    for _ in range(repeats):
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        plan = build_plan(desired, existing)
        noop.append(time.perf_counter() - start)
        noop_cpu.append(time.process_time() - cpu)
        if plan.has_changes or plan.unchanged_count != count:
            print(json.dumps({"error": f"expected a no-op plan, got {plan.summary()}"}))
            return 1

    tenth = max(1, count // 10)
    mixed_desired = [replace(a, name=a.name + "-x") if i % 10 == 1 else a
                     for i, a in enumerate(desired) if i % 10 != 0]
    mixed_existing = [a for a in existing if int(a.guid[:8], 16) % 10 != 2]
    gc.collect()
    start = time.perf_counter()
    mixed = build_plan(mixed_desired, mixed_existing, prune=True)
    mixed_seconds = time.perf_counter() - start
    summary = mixed.summary()
    if not (summary["create"] == tenth and summary["update"] == tenth and summary["delete"] == tenth):
        print(json.dumps({"error": f"unexpected mixed plan {summary}"}))
        return 1

    print(json.dumps({"count": count, "noop_seconds": noop, "noop_cpu": noop_cpu, "mixed_seconds": mixed_seconds,
                      "mixed_summary": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
