"""The v4 listing on typical shapes of alias sets (benchmarks/v4_shapes.py), in process.

Completeness: the multiset of guids listed equals the server's. Cost: never more
requests than the listing measured when these shapes were introduced (issue 15's
goal, 4 * ceil(N / 1000) + 4, is met for some shapes only; see the README).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import v4_shapes  # noqa: E402

from homer_sync.api.listing import CompleteListing  # noqa: E402

# List requests at 2,000 aliases: when the shapes were introduced (substring refinement in a fixed
# order), then with covers chosen by what the answers already hold (the bound these tests keep).
INTRODUCED_2000 = {"a": 66, "b": 17, "c": 4, "d": 5, "e": 121, "f": 15}
MEASURED_2000 = {"a": 45, "b": 13, "c": 4, "d": 5, "e": 76, "f": 13}


@pytest.mark.parametrize("name", sorted(v4_shapes.SHAPES))
def test_every_shape_is_listed_completely(name):
    items = v4_shapes.shape(name, 2000)
    assert len(items) == 2000
    assert len({item["guid"] for item in items}) == 2000
    server = v4_shapes.InProcessV4(items)
    found = CompleteListing(server.fetch).run()
    assert Counter(item["guid"] for item in found) == Counter(item["guid"] for item in items)
    assert len(server.queries) <= MEASURED_2000[name]


def test_shapes_are_deterministic_and_distinct():
    assert v4_shapes.shape("b", 50) == v4_shapes.shape("b", 50)
    assert v4_shapes.shape("b", 50, seed=1) != v4_shapes.shape("b", 50)
    ips = {name: {item["ip"] for item in v4_shapes.shape(name, 2000)} for name in v4_shapes.SHAPES}
    assert len(ips["e"]) == 100
    assert sum(":" in ip for ip in ips["d"]) == len(ips["d"]) // 2
    assert {len(ip) for ip in ips["f"]} >= {7, 15}


def test_the_goal_bound():
    assert [v4_shapes.bound(n) for n in v4_shapes.SIZES] == [12, 24, 84]


@pytest.mark.parametrize("name", ["b", "f"])
def test_random_and_mixed_length_addresses_meet_the_goal_at_5000(name):
    items = v4_shapes.shape(name, 5000)
    server = v4_shapes.InProcessV4(items)
    found = CompleteListing(server.fetch).run()
    assert Counter(item["guid"] for item in found) == Counter(item["guid"] for item in items)
    assert len(server.queries) <= v4_shapes.bound(5000)


def test_a_string_whose_members_already_fill_two_windows_is_not_queried():
    # 2,000 aliases in one /24: the root's two windows receive them all without overlapping, so every
    # string all of them contain ("." "0." "10.0.0." ...) is certainly capped in both orders.
    items = v4_shapes.shape("a", 2000)
    server = v4_shapes.InProcessV4(items)
    listing = CompleteListing(server.fetch)
    found = listing.run()
    assert len(found) == 2000
    assert server.queries[:2] == [("", "guid"), ("", "-guid")]
    ips = [item["ip"] for item in items]
    for text, _ in server.queries[2:]:
        assert sum(text in ip for ip in ips) < 2000, text
    assert listing.report.skipped > 0
