"""A list answer that names one alias twice, or names it in a way HOMER never does, is refused
in both API modes before anything is planned or written (never "the last one wins").

Siblings of a list that repeats a guid: two different rows under one guid on API v4 (refused
by the listing like v3's), one UUID written in two letter cases (the same alias to PostgreSQL,
two aliases to a string compare: a plan would keep one and delete the other, that is, delete
it), an empty guid, a guid that is not a string, a status string and a float port or mask.
"""

from __future__ import annotations

import json

import pytest
import responses

from homer_sync.api import ConnectionSettings
from homer_sync.api.http import Transport
from homer_sync.api.v3 import V3Client
from homer_sync.api.v4 import V4Client
from homer_sync.errors import ApiError, HomerSyncError
from homer_sync.plan import build_plan

BASE = "https://homer.example"
PATH = {"v3": "/api/v3/alias", "v4": "/api/v4/aliases"}
GUID = "0debaa24-6222-421b-baea-1069a1e66a1{}"
INVENTORY = "version: 1\nprune:\n  enabled: true\naliases:\n  - {alias: host-one, ip: 10.0.0.1, port: 5060}\n"


def row(api: str, i: int, **changes) -> dict:
    capture = "captureID" if api == "v3" else "capture_id"
    data = {"guid": GUID.format(i), "alias": f"host{i}", "ip": f"10.0.0.{i}", "port": 5060, "mask": 32,
            capture: "0", "status": True}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


def body(api: str, rows) -> str:
    return json.dumps({"data": rows} if api == "v3" else {"data": {"items": rows}, "meta": {"limit": 1000}})


def client_for(api: str):
    conn = ConnectionSettings(url=BASE, token="t", retries=0, pool_size=1)
    return (V3Client if api == "v3" else V4Client)(Transport(conn), conn)


def listed(api: str, rows):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", BASE + PATH[api], status=200 if api == "v4" else 201, body=body(api, rows),
                 content_type="application/json")
        return client_for(api).list_aliases()


@pytest.mark.parametrize("api", ["v3", "v4"])
@pytest.mark.parametrize("changes, problem", [
    ({"guid": ""}, "alias #1: guid is empty"),
    ({"guid": 7}, "alias #1: guid is the integer 7, not a string"),
    ({"guid": None}, "alias #1: guid is null, not a string"),
    ({"guid": ...}, "alias #1 has no 'guid'"),
    ({"status": "false"}, "status is the string 'false', not true or false"),
    ({"port": 5060.0}, "port is the number 5060.0, not an integer"),
    ({"mask": 32.0}, "mask is the number 32.0, not an integer"),
])
def test_a_malformed_guid_status_port_or_mask_is_refused(api, changes, problem):
    with pytest.raises(ApiError, match="unexpected shape") as err:
        listed(api, [row(api, 1), row(api, 2, **changes)])
    assert problem in str(err.value)


@pytest.mark.parametrize("api", ["v3", "v4"])
def test_a_row_repeated_identically_is_read_once(api):
    assert [a.guid for a in listed(api, [row(api, 1), row(api, 1), row(api, 2)])] == [GUID.format(1),
                                                                                      GUID.format(2)]


@pytest.mark.parametrize("api", ["v3", "v4"])
def test_two_different_rows_under_one_guid_are_refused(api):
    with pytest.raises(ApiError, match=f"guid {GUID.format(1)} twice") as err:
        listed(api, [row(api, 1), row(api, 1, alias="someone-else")])
    assert "refusing to plan on an inconsistent list" in str(err.value)


def test_one_uuid_in_two_letter_cases_is_refused_by_the_plan(make_alias):
    lower = make_alias("10.0.0.1", "host1", guid="0debaa24-6222-421b-baea-1069a1e66a1f")
    upper = make_alias("10.0.0.1", "host1", guid="0DEBAA24-6222-421B-BAEA-1069A1E66A1F")
    with pytest.raises(HomerSyncError, match="names guid 0debaa24-6222-421b-baea-1069a1e66a1f more than once"):
        build_plan([make_alias("10.0.0.1", "host1")], [lower, upper])


def _serve(emulator, rows):
    emulator.fail_next(1, 200 if emulator.api == "v4" else 201, body=body(emulator.api, rows), method="GET",
                       path_prefix=PATH[emulator.api])


def _writes(emulator) -> list:
    return [(m, p) for m, p, _ in emulator.request_log
            if m in ("PUT", "DELETE") or (m == "POST" and p.startswith(PATH[emulator.api]))]


@pytest.mark.parametrize("case", ["different rows, one guid", "one uuid, two cases"])
def test_apply_refuses_an_inconsistent_list_and_writes_nothing(cli_run, any_emulator, tmp_path, case):
    api = any_emulator.api
    guid = any_emulator.seed([{"alias": "host-one", "ip": "10.0.0.1", "port": 5060}])[0]
    first = row(api, 1, guid=guid, alias="host-one")
    if case == "different rows, one guid":
        second = dict(first, alias="someone-else")
        message = f"guid {guid} twice"
    else:
        second = dict(first, guid=guid.upper())
        message = f"names guid {guid} more than once"
    _serve(any_emulator, [first, second])
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    before = any_emulator.aliases()
    any_emulator.reset_stats()
    result = cli_run("apply", "--yes", inventory, emulator=any_emulator)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert any_emulator.aliases() == before
    assert _writes(any_emulator) == []
