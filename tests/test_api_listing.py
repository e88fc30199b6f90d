"""API v4 complete listing: a fake of the v4 list semantics (filters, sort, cap) behind `responses`.

Run with ``-s`` to see the request counts of the realistic cases.
"""

from __future__ import annotations

import ipaddress
import json
import random
import threading
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from homer_sync.api import ConnectionSettings, connect
from homer_sync.api.iptext import (
    ALPHABET,
    could_be_ip,
    could_contain,
    could_end,
    could_start,
)
from homer_sync.api.listing import CompleteListing, _children
from homer_sync.errors import IncompleteListError

BASE = "https://coordinator.example"
SORT_FIELDS = ("guid", "ip", "alias", "port", "mask", "capture_id", "status")


class FakeV4List:
    """GET /api/v4/aliases as the contract describes it: substring filters, sort, a cap."""

    def __init__(self, items, cap=1000):
        self.items = items
        self.cap = cap
        self.queries = []
        self._lock = threading.Lock()

    def __call__(self, request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        with self._lock:
            self.queries.append(query)
        limit = int(query.get("page[limit]", "100"))
        if not 1 <= limit <= 1000:
            return 400, {}, json.dumps({"error": "bad_request",
                                        "message": "page[limit] must be between 1 and 1000"})
        matches = self.items
        for key in ("ip", "alias", "capture_id"):
            needle = query.get(f"filter[{key}]")
            if needle:
                matches = [i for i in matches if needle.lower() in str(i.get(key, "")).lower()]
        sort = query.get("sort", "guid")
        field = sort.lstrip("-")
        assert field in SORT_FIELDS
        matches = sorted(matches, key=lambda i: i["guid"])  # ties: guid ascending
        matches.sort(key=lambda i: i.get(field, _zero(field)), reverse=sort.startswith("-"))
        page = [_omit_zero(i) for i in matches[:min(limit, self.cap)]]
        body = {"data": {"items": page}, "meta": {"limit": min(limit, self.cap),
                                                  "count": len(page)}}
        return 200, {}, json.dumps(body)


def _zero(field):
    return 0 if field in ("port", "mask") else False if field == "status" else ""


def _omit_zero(item):
    return {k: v for k, v in item.items() if v not in (0, False, "") or k == "guid"}


def realistic(count, seed=1, ipv6_share=0.1, structured=False):
    """10.x.y.z hosts with 1-3 SIP ports, some subnets, ~10 % IPv6 in one /32."""
    rng = random.Random(seed)
    items = []
    while len(items) < count:
        roll = rng.random()
        if roll < ipv6_share:
            ip, mask = f"2001:db8:{rng.randrange(1, 40):x}::{rng.randrange(1, 65535):x}", 128
        elif structured:
            ip, mask = f"10.{rng.randrange(1, 25)}.{rng.randrange(16)}.{rng.randrange(1, 255)}", 32
        else:
            ip, mask = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", 32
        if mask == 32 and rng.random() < 0.03:
            ip, mask = ip.rsplit(".", 1)[0] + ".0", 24
        for port in rng.sample([0, 5060, 5061, 5080], rng.randint(1, 3)):
            items.append(item(rng, ip, mask=mask, port=port))
    return items[:count]


def item(rng, ip, *, mask=32, port=5060, guid=None):
    return {"guid": guid or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "alias": f"host-{ip}", "ip": ip, "port": port, "mask": mask,
            "capture_id": rng.choice(["0", "0", "0", "CAP1"]), "status": rng.random() < 0.9,
            "custom_image": "", "tag1": "", "tag2": "", "tag3": "",
            "tag4": rng.choice(["", "ci"])}


def list_with(items, *, cap=1000, pool_size=1, max_requests=None, token=False):
    fake = FakeV4List(items, cap=cap)
    with responses.RequestsMock() as rsps:
        if token:
            rsps.add("GET", f"{BASE}/api/v3/alias", status=404, json={"message": "Not Found"})
        else:
            rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=201,
                     json={"data": {"token": "jwt", "scope": "admin", "user": {"admin": True}}})
        rsps.add_callback("GET", f"{BASE}/api/v4/aliases", callback=fake)
        auth = {"token": "t"} if token else {"username": "admin", "password": "pw", "api": "v4"}
        client = connect(ConnectionSettings(url=BASE, pool_size=pool_size, backoff_factor=0,
                                            **auth))
        if max_requests is not None:
            client.max_list_requests = max_requests
        try:
            aliases = client.list_aliases()
        finally:
            client.close()
    return aliases, fake, client


def assert_complete(aliases, items):
    assert len({i["guid"] for i in items}) == len(items), "test data must have unique guids"
    guids = [a.guid for a in aliases]
    assert len(guids) == len(set(guids)), "duplicates across queries must be merged"
    assert set(guids) == {i["guid"] for i in items}
    by_guid = {a.guid: a for a in aliases}
    for i in items[:50]:
        a = by_guid[i["guid"]]
        assert (a.port, a.mask, a.capture_id, a.status) == \
            (i["port"], i["mask"], i["capture_id"], i["status"])
        assert a.extra_dict() == ({"tag4": "ci"} if i["tag4"] else {})


# -- realistic sizes --------------------------------------------------------------------------

MEASURED = {}


@pytest.mark.parametrize("count, structured, pool_size, budget", [
    (700, False, 1, 1),
    (1500, False, 1, 2),
    (5000, False, 1, 120),
    (5000, True, 8, 120),
    (10000, False, 8, 200),
    (10000, True, 1, 200),
])
def test_realistic_listing_is_complete_and_cheap(count, structured, pool_size, budget):
    items = realistic(count, seed=count, structured=structured)
    aliases, fake, client = list_with(items, pool_size=pool_size)
    assert_complete(aliases, items)
    report = client.last_listing
    assert report.requests == len(fake.queries)
    returned = sum(q[2] for q in report.queries)
    MEASURED[(count, structured)] = (report.requests, returned)
    print(f"\n{count} aliases ({'structured' if structured else 'random'} 10.x.y.z, 10% IPv6,"
          f" pool {pool_size}): {report.requests} list requests, {returned} items transferred,"
          f" {report.refined} refined, {report.skipped} skipped by estimate,"
          f" {report.settled_free} settled for free")
    assert report.requests <= budget
    if count > 1000:
        assert returned > count  # overlapping queries happened and were merged


def test_first_page_is_the_token_probe():
    items = realistic(300, seed=3)
    aliases, fake, client = list_with(items, token=True)
    assert_complete(aliases, items)
    assert client.request_count == 2 and len(fake.queries) == 1


def test_parallel_and_sequential_listings_ask_the_same_questions():
    items = realistic(6000, seed=11)
    _, sequential, _ = list_with(items, pool_size=1)
    _, parallel, _ = list_with(items, pool_size=8)

    def key(query):
        return sorted(query.items())

    assert sorted(map(key, sequential.queries)) == sorted(map(key, parallel.queries))


def test_every_query_is_a_valid_v4_request():
    items = realistic(3000, seed=5)
    _, fake, _ = list_with(items)
    for query in fake.queries:
        assert query["page[limit]"] == "1000"
        assert query["sort"] in ("guid", "-guid", "ip", "-ip")
        assert set(query) <= {"page[limit]", "sort", "filter[ip]"}


def test_a_server_that_caps_lower_than_asked():
    items = realistic(2500, seed=6)
    aliases, _, _ = list_with(items, cap=300)
    assert_complete(aliases, items)


def test_guids_that_are_not_uuids():
    rng = random.Random(7)
    items = [dict(i, guid=f"alias-{n:06d}") for n, i in enumerate(realistic(4000, seed=7))]
    rng.shuffle(items)
    aliases, _, _ = list_with(items)
    assert_complete(aliases, items)


def test_upper_case_and_unusual_ip_text_is_found():
    rng = random.Random(8)
    items = realistic(3000, seed=108)
    odd = ["2001:DB8::ABCD", "::ffff:10.1.2.3", "::", "::1", "fe80::1:2:3:4", "0.0.0.0",
           "255.255.255.255", "2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "010.001.002.003"]
    items += [item(rng, ip) for ip in odd]
    aliases, _, _ = list_with(items)
    assert_complete(aliases, items)


# -- what cannot be proven --------------------------------------------------------------------


def test_more_aliases_on_one_ip_than_two_windows_hold():
    rng = random.Random(9)
    items = [item(rng, "10.0.0.1", port=p) for p in range(2500)] + realistic(500, seed=109)
    with pytest.raises(IncompleteListError) as err:
        list_with(items)
    assert str(err.value) == ("more than 1000 aliases share ip '10.0.0.1' and the server's capped"
                              " answers cannot be split further: the alias list cannot be proven"
                              " complete")


def test_one_ip_with_more_than_the_cap_is_settled_by_the_two_windows():
    rng = random.Random(10)
    items = [item(rng, "10.0.0.1", port=p) for p in range(1500)] + realistic(3000, seed=110)
    aliases, _, _ = list_with(items)
    assert_complete(aliases, items)


def test_budget_exhausted():
    items = realistic(5000, seed=12)
    with pytest.raises(IncompleteListError) as err:
        list_with(items, max_requests=10)
    assert str(err.value) == ("could not prove the alias list complete within 10 requests (the"
                              " server returns at most 1000 aliases per request); refusing to plan"
                              " on a possibly truncated list")


def test_an_ip_that_is_not_ip_text_breaks_the_proof():
    rng = random.Random(13)
    items = realistic(3000, seed=113) + [item(rng, "fe80::1%eth0", guid="zone-alias")]
    with pytest.raises(IncompleteListError) as err:
        list_with(items)
    assert str(err.value) == ("cannot prove the alias list complete: alias zone-alias has ip"
                              " 'fe80::1%eth0', which is not an IP address, and the listing"
                              " relies on ip text to split the server's capped answers")


def test_not_ip_text_is_fine_when_no_split_was_needed():
    rng = random.Random(14)
    items = realistic(100, seed=114) + [item(rng, "fe80::1%eth0")]
    aliases, _, _ = list_with(items)
    assert_complete(aliases, items)


# -- the facts the proof relies on ------------------------------------------------------------


def _random_ip_texts(rng, count):
    for _ in range(count):
        v4 = ipaddress.IPv4Address(rng.getrandbits(32))
        v6 = ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 64, 96, 112]))
        yield str(v4)
        yield v6.compressed
        yield v6.exploded
        yield v6.compressed.upper().lower()
        yield f"::ffff:{v4}"
        yield ".".join(o.zfill(rng.choice([1, 2, 3])) for o in str(v4).split("."))


def test_every_substring_of_ip_text_is_possible():
    rng = random.Random(1)
    for text in _random_ip_texts(rng, 300):
        assert could_be_ip(text), text
        for start in range(len(text)):
            assert could_start(text[: start + 1]), text
            assert could_end(text[start:]), text
            for end in range(start + 1, len(text) + 1):
                assert could_contain(text[start:end]), (text, text[start:end])


@pytest.mark.parametrize("text", ["10..", ".:", ":.", "1.2.3.4.", ":::", "1::2::", "10.a",
                                  "256.", ".256", "1.2:", "g", "12345", "1.2.3.4.5"])
def test_impossible_substrings(text):
    assert not could_contain(text)


@pytest.mark.parametrize("text, ip", [("1", False), ("1.2.3", False), ("1:2:3", False),
                                      ("::", True), ("1.2.3.4", True), ("010.1.2.3", True)])
def test_whole_ip(text, ip):
    assert could_be_ip(text) is ip


def test_children_cover_every_ip_containing_the_parent():
    """Rule 4: an ip containing s (and not equal to s) contains one of s's children."""
    rng = random.Random(2)
    texts = list(_random_ip_texts(rng, 200))
    for text in texts:
        assert any(child in text for child in _children("")), text
        for _ in range(10):
            start = rng.randrange(len(text))
            end = rng.randrange(start + 1, len(text) + 1)
            parent = text[start:end]
            if parent != text:
                assert any(child in text for child in _children(parent)), (text, parent)
    assert all(set(child) <= set(ALPHABET) for child in _children("10."))


def test_listing_on_a_plain_fetch_function():
    """The strategy is independent of HTTP: a fetch(ip_substring, sort) -> (items, cap)."""
    rng = random.Random(4)
    items = realistic(2200, seed=4)
    fake = FakeV4List(items)

    def fetch(text, sort):
        class Request:
            url = f"{BASE}/api/v4/aliases?page%5Blimit%5D=1000&sort={sort}" + \
                (f"&filter%5Bip%5D={text}" if text else "")
        _, _, body = fake(Request)
        return json.loads(body)["data"]["items"], 1000

    listing = CompleteListing(fetch)
    found = listing.run()
    assert {i["guid"] for i in found} == {i["guid"] for i in items}
    assert listing.report.requests == len(fake.queries)
    assert rng  # deterministic data


def test_listing_merges_identical_copies_and_refuses_a_guid_with_two_different_rows():
    row = {"guid": "g1", "ip": "10.0.0.1", "alias": "a"}
    listing = CompleteListing(lambda text, sort: ([row, dict(row)], 1000))
    assert listing.run() == [row]
    changed = CompleteListing(lambda text, sort: ([row, dict(row, alias="b")], 1000))
    with pytest.raises(IncompleteListError, match="listed guid g1 twice with different fields"):
        changed.run()
