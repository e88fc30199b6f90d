#!/usr/bin/env python3
"""Requests of a complete API v4 listing, per shape of alias set and size (issue 15).

    python benchmarks/v4_listing.py               # 2,000, 5,000 and 20,000 aliases (a few minutes)
    python benchmarks/v4_listing.py --sizes 2000  # one size

Counts list requests only (not the login), in process against the emulator's
v4 list handler, with the cap of 1,000 (see v4_shapes.py for the shapes). The
"before" column is what the listing of commit aabacec sent; the goal is at most
4 * ceil(N / 1000) + 4 requests. Exit status 0 when every listing is complete.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout, installed or not

import v4_shapes  # noqa: E402  (a sibling in benchmarks/)

# List requests measured on commit aabacec (substring refinement in fixed alphabet order).
BEFORE = {
    ("a", 2000): 66, ("a", 5000): 91, ("a", 20000): 368,
    ("b", 2000): 17, ("b", 5000): 31, ("b", 20000): 329,
    ("c", 2000): 4, ("c", 5000): 53, ("c", 20000): 258,
    ("d", 2000): 5, ("d", 5000): 166, ("d", 20000): 437,
    ("e", 2000): 121, ("e", 5000): 84, ("e", 20000): 405,
    ("f", 2000): 15, ("f", 5000): 31, ("f", 20000): 301,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(v4_shapes.SIZES))
    args = parser.parse_args(argv)
    print(f"{'shape':<62} {'aliases':>7} {'before':>6} {'now':>5} {'goal':>5}  met")
    complete = True
    for name, description in v4_shapes.SHAPES.items():
        for size in args.sizes:
            requests, ok = v4_shapes.measure(name, size)
            complete = complete and ok
            before = BEFORE.get((name, size))
            goal = v4_shapes.bound(size)
            print(f"{name} {description:<60} {size:>7,} {before if before else '-':>6} {requests:>5}"
                  f" {goal:>5}  {'yes' if requests <= goal else 'no'}{'' if ok else '  INCOMPLETE'}",
                  flush=True)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
