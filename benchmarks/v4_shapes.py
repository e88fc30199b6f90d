"""Alias sets of typical shapes for the API v4 listing, and its request count on each.

Used by ``benchmarks/v4_listing.py`` (the table in the README) and by
``tests/test_v4_listing_shapes.py`` (completeness and the request bound).
Every shape is deterministic for a given (count, seed) and has unique guids
(random version-4 UUIDs drawn from the seed, like HOMER's):

a  sequential  hosts 10.0.0.1, 10.0.0.2, ... (no .0, no .255) across /24s, each host
               on ports 0 and 5060 with 4 capture ids (8 aliases a host)
b  random      random public IPv4 hosts, port 5060
c  one16       hosts of 172.16.0.0/16 with 1-3 of the ports 0/5060/5061/5080, 10 % IPv6
d  halfv6      half random 10.0.0.0/8 hosts, half random 2001:db8::/32 hosts
e  fewips      100 hosts, each on ports 5060, 5061, ... (N / 100 aliases a host)
f  mixedlen    1.2.3.4 beside 100.200.30.40: every octet 1-9 or 100-255, ports 0 and 5060

The count is done in process, against the emulator's own v4 list handler
(``homer_sync.emulator.v4.V4Api.list_aliases``), so it is exact and fast:
no HTTP, no threads.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import uuid
from collections.abc import Callable

SHAPES = {
    "a": "sequential hosts in a few /24s, ports 0 and 5060, 4 capture ids",
    "b": "random public IPv4",
    "c": "one /16, 1-3 ports a host, 10 % IPv6",
    "d": "half IPv6",
    "e": "many aliases on few IPs (100 hosts, ports 5060 and up)",
    "f": "mixed lengths (1.2.3.4 beside 100.200.30.40)",
}
SIZES = (2000, 5000, 20000)


def bound(count: int, cap: int = 1000) -> int:
    """The goal of issue 15: at most 4 * ceil(N / cap) + 4 list requests."""
    return 4 * math.ceil(count / cap) + 4


def _alias(rng: random.Random, number: int, ip: str, port: int, capture: str = "0") -> dict:
    return {
        "guid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "alias": f"host-{number:06d}",
        "ip": ip,
        "port": port,
        "mask": 128 if ":" in ip else 32,
        "capture_id": capture,
        "status": True,
    }


def _sequential(rng: random.Random, count: int) -> list:
    items: list = []
    host = 0
    while len(items) < count:
        third, fourth = divmod(host, 254)
        ip = f"10.0.{third}.{fourth + 1}"
        for port in (0, 5060):
            for capture in ("0", "1", "2", "3"):
                items.append(_alias(rng, len(items), ip, port, capture))
        host += 1
    return items[:count]


def _random_public(rng: random.Random, count: int) -> list:
    seen: set = set()
    items: list = []
    while len(items) < count:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if not address.is_global or address.is_multicast or address in seen:
            continue
        seen.add(address)
        items.append(_alias(rng, len(items), str(address), 5060))
    return items


def _one_16(rng: random.Random, count: int) -> list:
    seen: set = set()
    items: list = []
    while len(items) < count:
        if rng.random() < 0.1:
            ip = f"2001:db8:{rng.randrange(1, 0x10000):x}::{rng.randrange(1, 0x10000):x}"
        else:
            ip = f"172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if ip in seen:
            continue
        seen.add(ip)
        for port in rng.sample([0, 5060, 5061, 5080], rng.randint(1, 3)):
            items.append(_alias(rng, len(items), ip, port))
    return items[:count]


def _half_v6(rng: random.Random, count: int) -> list:
    seen: set = set()
    items: list = []
    while len(items) < count:
        if len(items) % 2:
            ip = str(ipaddress.IPv6Address((0x20010DB8 << 96) | rng.getrandbits(96)))
        else:
            ip = str(ipaddress.IPv4Address((10 << 24) | rng.getrandbits(24)))
        if ip in seen:
            continue
        seen.add(ip)
        items.append(_alias(rng, len(items), ip, 5060))
    return items


def _few_ips(rng: random.Random, count: int) -> list:
    per_host = math.ceil(count / 100)
    items = [_alias(rng, 0, f"10.20.{host // 250}.{host % 250 + 1}", 5060 + port)
             for host in range(100) for port in range(per_host)]
    for number, item in enumerate(items):
        item["alias"] = f"host-{number:06d}"
    return items[:count]


def _mixed_lengths(rng: random.Random, count: int) -> list:
    seen: set = set()
    items: list = []
    while len(items) < count:
        ip = ".".join(str(rng.randint(1, 9) if rng.random() < 0.5 else rng.randint(100, 255))
                      for _ in range(4))
        if ip in seen:
            continue
        seen.add(ip)
        for port in (0, 5060):
            items.append(_alias(rng, len(items), ip, port))
    return items[:count]


_MAKERS: dict[str, Callable[[random.Random, int], list]] = {
    "a": _sequential,
    "b": _random_public,
    "c": _one_16,
    "d": _half_v6,
    "e": _few_ips,
    "f": _mixed_lengths,
}


def shape(name: str, count: int, seed: int = 0) -> list:
    """``count`` aliases of shape ``name`` (v4 item dicts with guids)."""
    rng = random.Random(f"{name}-{count}-{seed}")
    return _MAKERS[name](rng, count)


class InProcessV4:
    """The emulator's v4 list handler called in process: ``fetch(ip_substring, sort)``."""

    def __init__(self, items: list, cap: int = 1000):
        from homer_sync.emulator import HomerEmulator
        from homer_sync.emulator.v4 import V4Api

        self.emulator = HomerEmulator(api="v4", list_cap=cap)  # never started: no socket
        self.emulator.seed(items)
        self.api = V4Api(self.emulator)
        self.cap = cap
        self.queries: list = []

    def fetch(self, text: str, sort: str) -> tuple[list, int]:
        from urllib.parse import urlencode

        from homer_sync.emulator.wire import Request

        self.queries.append((text, sort))
        params = [("page[limit]", str(self.cap)), ("sort", sort)]
        if text:
            params.append(("filter[ip]", text))
        response = self.api.list_aliases(Request("GET", "/api/v4/aliases?" + urlencode(params), []))
        assert response.status == 200, response.body
        return json.loads(response.body)["data"]["items"], self.cap


def measure(name: str, count: int, seed: int = 0) -> tuple[int, bool]:
    """(list requests, complete) of one listing of shape ``name`` with ``count`` aliases."""
    from homer_sync.api.listing import CompleteListing

    items = shape(name, count, seed)
    server = InProcessV4(items)
    found = CompleteListing(server.fetch).run()
    complete = sorted(item["guid"] for item in found) == sorted(item["guid"] for item in items)
    return len(server.queries), complete
