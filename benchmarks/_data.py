"""Synthetic aliases for the benchmarks: deterministic, valid, lint-clean.

Alias ``i`` is ``host-NNNNNN`` at 10.0.0.0 + i + 1, mask 32, port 5060,
capture id "0" — the same identity in the inventory, in the emulator's seed
and in the naive script's input, so a seeded server is a no-op for the plan.
"""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

BASE = int(ipaddress.IPv4Address("10.0.0.0"))
PORT = 5060


def entry(i: int) -> dict:
    """Alias ``i`` in HOMER's v3 shape (what the emulator seeds and the naive script POSTs)."""
    return {
        "alias": f"host-{i:06d}",
        "ip": str(ipaddress.IPv4Address(BASE + i + 1)),
        "port": PORT,
        "mask": 32,
        "captureID": "0",
        "status": True,
    }


def entries(count: int, start: int = 0) -> list[dict]:
    return [entry(i) for i in range(start, start + count)]


def write_inventory(path: Path, count: int, start: int = 0) -> Path:
    """A block-style YAML inventory of ``count`` aliases, one entry each (as people write them)."""
    lines = ["version: 1", "defaults:", '  capture_id: "0"', f"  port: {PORT}", "aliases:"]
    for item in entries(count, start):
        lines.append(f"  - alias: {item['alias']}")
        lines.append(f"    ip: {item['ip']}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_entries(path: Path, count: int, start: int = 0) -> Path:
    """The naive script's input: a JSON list of v3 alias bodies."""
    path.write_text(json.dumps(entries(count, start)), encoding="utf-8")
    return path


def aliases(count: int, *, with_guids: bool, shuffle_seed: int | None = None) -> list:
    """homer_sync.model.Alias objects for the in-process diff engine benchmark."""
    from homer_sync.model import Alias

    result = [
        Alias(
            ip=item["ip"],
            mask=32,
            port=PORT,
            capture_id="0",
            name=item["alias"],
            status=True,
            guid=f"{i:08x}-0000-4000-8000-{i:012x}" if with_guids else None,
        )
        for i, item in enumerate(entries(count))
    ]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(result)  # a server lists in guid order, not ip order
    return result
