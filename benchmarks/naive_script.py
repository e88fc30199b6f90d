"""The naive baseline: what a hand-written sync script does.

    python benchmarks/naive_script.py URL ENTRIES.json

Logs in to HOMER 7 (POST /api/v3/auth), then POSTs every entry of the JSON
list to /api/v3/alias, one at a time, each with a plain ``requests.post``
(no session, so no connection reuse) — the loop found in most ad-hoc scripts.
It never lists, so every run creates every entry again (duplicates).

Prints one JSON line: {"posted": N, "loop_seconds": S, "failures": F}.
Credentials come from HOMER_USERNAME / HOMER_PASSWORD (admin / sipcapture).
"""

from __future__ import annotations

import json
import os
import sys
import time

import requests


def main(argv: list[str]) -> int:
    url, path = argv[1].rstrip("/"), argv[2]
    with open(path, encoding="utf-8") as handle:
        items = json.load(handle)
    login = requests.post(
        f"{url}/api/v3/auth",
        json={"username": os.environ.get("HOMER_USERNAME", "admin"),
              "password": os.environ.get("HOMER_PASSWORD", "sipcapture")},
        timeout=10,
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    failures = 0
    start = time.perf_counter()
    for item in items:
        reply = requests.post(f"{url}/api/v3/alias", json=item, headers=headers, timeout=10)
        failures += not reply.ok
    loop = time.perf_counter() - start
    print(json.dumps({"posted": len(items), "loop_seconds": loop, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
