"""HomerEmulator behaviour beyond the recorded transcript: API v4, v3 details, faults, stats, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from homer_sync.emulator import HomerEmulator, jwt

from waiting import wait_until

ADMIN = {"username": "admin", "password": "sipcapture"}


def v3_login(homer, session=None, **credentials) -> dict:
    response = (session or requests).post(f"{homer.url}/api/v3/auth", json=credentials or ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def v4_login(homer, **credentials) -> dict:
    response = requests.post(f"{homer.url}/api/v4/auth/sessions", json=credentials or ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["data"]["token"]}


def v3_alias(**overrides) -> dict:
    return {"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "captureID": "0",
            "status": True} | overrides


def v4_alias(**overrides) -> dict:
    return {"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "capture_id": "0",
            "status": True} | overrides


# --- API v4 -------------------------------------------------------------------------------

def test_v4_login_answers_token_scope_and_admin_flag(emulator_v4):
    emulator_v4.add_user("viewer", "pw", admin=False)
    response = requests.post(f"{emulator_v4.url}/api/v4/auth/sessions", json={"username": "viewer", "password": "pw"})
    assert response.status_code == 201
    body = response.json()
    assert body["data"]["scope"] == "user" and body["data"]["user"] == {"admin": False}
    assert body["meta"] == {} and body["data"]["token"].count(".") == 2
    wrong = requests.post(f"{emulator_v4.url}/api/v4/auth/sessions", json={"username": "admin", "password": "x"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "unauthorized", "message": "invalid credentials"}


def test_v4_password_login_disabled_is_403_but_tokens_work():
    with HomerEmulator(api="v4", password_login=False) as homer:
        response = requests.post(f"{homer.url}/api/v4/auth/sessions", json=ADMIN)
        assert response.status_code == 403
        assert response.json() == {"error": "forbidden", "message": "password login is disabled; use an API token"}
        token = homer.add_token(admin=True)
        listed = requests.get(f"{homer.url}/api/v4/aliases", headers={"Auth-Token": token})
        assert listed.status_code == 200


def test_v4_list_default_limit_cap_and_meta(emulator_v4):
    emulator_v4.seed([{"alias": f"a{i}", "ip": f"10.0.{i // 256}.{i % 256}"} for i in range(1200)])
    headers = v4_login(emulator_v4)
    url = f"{emulator_v4.url}/api/v4/aliases"
    default = requests.get(url, headers=headers).json()
    assert len(default["data"]["items"]) == 100 and default["meta"] == {"limit": 100, "count": 100}
    full = requests.get(url, params={"page[limit]": 1000}, headers=headers).json()
    assert full["meta"] == {"limit": 1000, "count": 1000}  # 1200 stored: no total, no cursor
    guids = [item["guid"] for item in full["data"]["items"]]
    assert guids == sorted(guids)
    for bad in ("1001", "0", "-1", "abc", ""):
        response = requests.get(url, params={"page[limit]": bad}, headers=headers)
        assert response.status_code == 400, bad
        assert response.json() == {"error": "bad_request", "message": "page[limit] must be between 1 and 1000"}


def test_v4_list_cap_is_configurable():
    with HomerEmulator(api="v4", list_cap=50) as homer:
        headers = v4_login(homer)
        response = requests.get(f"{homer.url}/api/v4/aliases", params={"page[limit]": 51}, headers=headers)
        assert response.status_code == 400
        assert response.json()["message"] == "page[limit] must be between 1 and 50"


def test_v4_filters_are_case_insensitive_substrings_anded(emulator_v4):
    emulator_v4.seed([
        {"alias": "PCSCF-East", "ip": "10.0.1.10", "captureID": "CAP101"},
        {"alias": "pcscf-west", "ip": "10.0.2.10", "captureID": "cap101"},
        {"alias": "sbc", "ip": "10.0.1.20", "captureID": "CAP101"},
    ])
    headers = v4_login(emulator_v4)

    def names(**params):
        response = requests.get(f"{emulator_v4.url}/api/v4/aliases", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return sorted(item["alias"] for item in response.json()["data"]["items"])

    assert names(**{"filter[alias]": "pcSCF"}) == ["PCSCF-East", "pcscf-west"]
    assert names(**{"filter[ip]": "10.0.1."}) == ["PCSCF-East", "sbc"]
    assert names(**{"filter[alias]": "pcscf", "filter[ip]": "10.0.1.", "filter[capture_id]": "cap1"}) == ["PCSCF-East"]
    assert names(**{"filter[alias]": "nothing"}) == []
    unknown = requests.get(f"{emulator_v4.url}/api/v4/aliases", params={"filter[port]": "5"}, headers=headers)
    assert unknown.status_code == 400


def test_v4_sort_ascending_descending_ties_by_guid(emulator_v4):
    guids = emulator_v4.seed([
        {"alias": "b", "ip": "10.0.0.2", "port": 5060, "guid": "00000000-0000-4000-8000-000000000003"},
        {"alias": "a", "ip": "10.0.0.1", "port": 5060, "guid": "00000000-0000-4000-8000-000000000002"},
        {"alias": "c", "ip": "10.0.0.3", "port": 5080, "guid": "00000000-0000-4000-8000-000000000001"},
    ])
    headers = v4_login(emulator_v4)

    def order(sort):
        response = requests.get(f"{emulator_v4.url}/api/v4/aliases", params={"sort": sort}, headers=headers)
        assert response.status_code == 200, response.text
        return [item["alias"] for item in response.json()["data"]["items"]]

    assert order("alias") == ["a", "b", "c"]
    assert order("-ip") == ["c", "b", "a"]
    assert order("port") == ["a", "b", "c"]  # a and b tie on 5060: guid ...02 before ...03
    assert order("-port") == ["c", "a", "b"]  # descending, ties still by guid ascending
    assert order("guid") == ["c", "a", "b"] and guids[2].endswith("1")
    assert requests.get(f"{emulator_v4.url}/api/v4/aliases", params={"sort": "nope"},
                        headers=headers).status_code == 400


def test_v4_items_omit_zero_values(emulator_v4):
    emulator_v4.seed([{"alias": "any", "ip": "10.0.0.1", "port": 0, "mask": 32, "status": False, "tag2": "x"}])
    item = requests.get(f"{emulator_v4.url}/api/v4/aliases", headers=v4_login(emulator_v4)).json()["data"]["items"][0]
    assert set(item) == {"guid", "alias", "ip", "mask", "capture_id", "tag2"}


def test_v4_create_update_delete_round_trip(emulator_v4):
    headers = v4_login(emulator_v4)
    url = f"{emulator_v4.url}/api/v4/aliases"
    created = requests.post(url, json=v4_alias(tag1="team-a", tag4="ci", custom_image="x.png"), headers=headers)
    assert created.status_code == 201
    guid = created.json()["data"]
    assert list(created.json()) == ["data"]
    # PUT replaces every field: tags not sent are cleared
    updated = requests.put(f"{url}/{guid}", json=v4_alias(alias="renamed", tag4="ci"), headers=headers)
    assert updated.status_code == 200
    assert updated.json()["data"] == {"guid": guid, "alias": "renamed", "ip": "10.0.1.10", "port": 5060,
                                      "mask": 32, "capture_id": "0", "status": True, "tag4": "ci"}
    snapshot = emulator_v4.aliases()[0]
    assert snapshot["tag1"] == "" and snapshot["custom_image"] == "" and snapshot["tag4"] == "ci"
    deleted = requests.delete(f"{url}/{guid}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    again = requests.delete(f"{url}/{guid}", headers=headers)
    assert again.status_code == 404 and again.json() == {"error": "not_found", "message": "alias not found"}
    assert requests.put(f"{url}/{guid}", json=v4_alias(), headers=headers).status_code == 404


@pytest.mark.parametrize("body", [
    v4_alias(ip="10.0.0.0/24"), v4_alias(ip="example.com"), v4_alias(alias=""), v4_alias(capture_id=""),
    v4_alias(port="5060"), v4_alias(status="true"), {"ip": "10.0.0.1", "capture_id": "0"},
])
def test_v4_create_rejects_invalid_items(emulator_v4, body):
    response = requests.post(f"{emulator_v4.url}/api/v4/aliases", json=body, headers=v4_login(emulator_v4))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert emulator_v4.aliases() == []


def test_v4_non_admin_and_token_rights(emulator_v4):
    emulator_v4.add_user("viewer", "pw")
    url = f"{emulator_v4.url}/api/v4/aliases"
    viewer = v4_login(emulator_v4, username="viewer", password="pw")
    assert requests.get(url, headers=viewer).status_code == 200
    refused = requests.post(url, json=v4_alias(), headers=viewer)
    assert refused.status_code == 403
    assert refused.json() == {"error": "forbidden", "message": "admin rights required"}
    user_token = {"Auth-Token": emulator_v4.add_token(admin=False)}
    admin_token = {"Auth-Token": emulator_v4.add_token(admin=True)}
    assert requests.get(url, headers=user_token).status_code == 200
    assert requests.post(url, json=v4_alias(), headers=user_token).status_code == 403
    assert requests.post(url, json=v4_alias(), headers=admin_token).status_code == 201
    missing = requests.get(url)
    assert missing.status_code == 401 and missing.json()["message"] == "missing credentials"
    invalid = requests.get(url, headers={"Auth-Token": "nope"})
    assert invalid.status_code == 401 and invalid.json()["message"] == "invalid or expired token"


def test_auto_detection_routes_404_on_the_other_api(emulator, emulator_v4):
    on_v4 = requests.post(f"{emulator_v4.url}/api/v3/auth", json=ADMIN)
    assert on_v4.status_code == 404 and on_v4.text == '{"message":"Not Found"}\n'
    on_v3 = requests.post(f"{emulator.url}/api/v4/auth/sessions", json=ADMIN)
    assert on_v3.status_code == 404 and on_v3.text == '{"message":"Not Found"}\n'


# --- API v3 details not in the transcript ---------------------------------------------------

def test_v3_token_header_matches_any_case_on_the_wire(emulator):
    token = emulator.add_token()
    response = requests.get(f"{emulator.url}/api/v3/alias", headers={"auth-token": token})
    assert response.status_code == 201


def test_v3_token_header_name_is_configurable_and_case_sensitive():
    with HomerEmulator(token_header="X-Homer-Token") as homer:
        token = homer.add_token()
        url = f"{homer.url}/api/v3/alias"
        assert requests.get(url, headers={"X-HOMER-TOKEN": token}).status_code == 201
        assert requests.get(url, headers={"Auth-Token": token}).status_code == 400
    # Like HOMER (Go canonicalises incoming names), a non-canonical configured name never matches.
    with HomerEmulator(token_header="X-HOMER-TOKEN") as homer:
        token = homer.add_token()
        assert requests.get(f"{homer.url}/api/v3/alias", headers={"X-HOMER-TOKEN": token}).status_code == 400


def test_v3_admin_token_may_write(emulator):
    token = emulator.add_token(admin=True)
    response = requests.post(f"{emulator.url}/api/v3/alias", json=v3_alias(), headers={"Auth-Token": token})
    assert response.status_code == 201


def test_v3_put_that_the_database_refuses_reports_success_and_changes_nothing(emulator):
    [guid] = emulator.seed([v3_alias()])
    before = emulator.aliases()
    response = requests.put(f"{emulator.url}/api/v3/alias/{guid}", json=v3_alias(alias="A" * 251),
                            headers=v3_login(emulator))
    assert response.status_code == 201
    assert response.json() == {"data": guid, "message": "successfully updated alias"}
    assert emulator.aliases() == before


def test_v3_binds_json_keys_case_insensitively_like_go(emulator):
    body = {"ALIAS": "upper", "Ip": "10.0.0.1", "PORT": 0, "mask": 32, "captureid": "0", "Status": False}
    response = requests.post(f"{emulator.url}/api/v3/alias", json=body, headers=v3_login(emulator))
    assert response.status_code == 201
    stored = emulator.aliases()[0]
    assert (stored["alias"], stored["port"], stored["captureID"], stored["status"]) == ("upper", 0, "0", False)


def test_v3_rejects_a_body_without_json_content_type(emulator):
    response = requests.post(f"{emulator.url}/api/v3/alias", data=json.dumps(v3_alias()),
                             headers=v3_login(emulator) | {"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json() == {"data": {}, "message": "request format is not correct"}


def test_v3_seed_snapshot_and_ids(emulator):
    guids = emulator.seed([v3_alias(alias="one"), {"alias": "six", "ip": "2001:db8::1",
                                                   "guid": "0" * 8 + "-0000-4000-8000-" + "0" * 12}])
    snapshot = emulator.aliases()
    assert [row["guid"] for row in snapshot] == sorted(guids)
    six = next(row for row in snapshot if row["alias"] == "six")
    assert six == {"id": 2, "guid": guids[1], "alias": "six", "ip": "2001:db8::1", "port": 0, "mask": 128,
                   "captureID": "0", "status": True}
    created = requests.post(f"{emulator.url}/api/v3/alias", json=v3_alias(), headers=v3_login(emulator))
    new = next(row for row in emulator.aliases() if row["guid"] == created.json()["data"])
    assert new["id"] == 3


def test_v3_list_of_ten_thousand_aliases(emulator):
    emulator.seed([{"alias": f"host{i}", "ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"} for i in range(10_000)])
    data = requests.get(f"{emulator.url}/api/v3/alias", headers=v3_login(emulator)).json()["data"]
    assert len(data) == 10_000
    assert [row["guid"] for row in data] == sorted(row["guid"] for row in data)


def test_v3_concurrent_creates_get_unique_ids(emulator):
    headers = v3_login(emulator)

    def create(n):
        with requests.Session() as session:
            for i in range(10):
                assert session.post(f"{emulator.url}/api/v3/alias", json=v3_alias(alias=f"t{n}-{i}"),
                                    headers=headers).status_code == 201

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [row["id"] for row in emulator.aliases()]
    assert sorted(ids) == list(range(1, 81))


# --- fault injection and statistics -----------------------------------------------------------

def test_fail_next_with_retry_after_then_recovers(emulator):
    headers = v3_login(emulator)
    emulator.fail_next(2, 503, retry_after=3, method="GET")
    url = f"{emulator.url}/api/v3/alias"
    # a POST does not match the GET-only rule
    assert requests.post(url, json=v3_alias(), headers=headers).status_code == 201
    for _ in range(2):
        failed = requests.get(url, headers=headers)
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "3"
        assert failed.json() == {"message": "Service Unavailable"}
    assert requests.get(url, headers=headers).status_code == 201
    assert [status for _, _, status in emulator.request_log] == [201, 201, 503, 503, 201]


def test_fail_next_with_an_html_page(emulator):
    page = ("<html><head><title>502 Bad Gateway</title></head>"
            "<body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
    emulator.fail_next(1, 502, body=page, content_type="text/html", path_prefix="/api/v3/alias")
    response = requests.get(f"{emulator.url}/api/v3/alias", headers=v3_login(emulator))
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html" and response.text == page


def test_drop_after_processing_applies_the_write(emulator):
    headers = v3_login(emulator)
    emulator.drop_next(1, method="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{emulator.url}/api/v3/alias", json=v3_alias(), headers=headers)
    assert [row["alias"] for row in emulator.aliases()] == ["pcscf01"]
    assert emulator.request_log[-1] == ("POST", "/api/v3/alias", None)


def test_drop_before_processing_changes_nothing(emulator):
    headers = v3_login(emulator)
    emulator.drop_next(1, after_processing=False)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{emulator.url}/api/v3/alias", json=v3_alias(), headers=headers)
    assert emulator.aliases() == []
    assert requests.get(f"{emulator.url}/api/v3/alias", headers=headers).status_code == 201


def test_expire_tokens_makes_issued_jwts_fail(emulator):
    headers = v3_login(emulator)
    url = f"{emulator.url}/api/v3/alias"
    token = emulator.add_token()
    emulator.expire_tokens()
    expired = requests.get(url, headers=headers)
    assert expired.status_code == 401 and expired.text == '{"message":"invalid or expired jwt"}\n'
    assert requests.get(url, headers=v3_login(emulator)).status_code == 201  # a new login works
    assert requests.get(url, headers={"Auth-Token": token}).status_code == 201  # static tokens live on


class SettableClock:
    """A clock a test moves by hand."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def test_jwt_expiry_follows_the_injected_clock_not_the_wall_clock():
    clock = SettableClock(datetime(2041, 3, 1, 12, 0, tzinfo=timezone.utc))
    with HomerEmulator(api="v3", clock=clock, jwt_lifetime=3600) as homer:
        headers = v3_login(homer)
        claims = jwt.unverified_claims(headers["Authorization"][7:])
        assert claims["exp"] == int(clock.moment.timestamp()) + 3600
        url = f"{homer.url}/api/v3/alias"
        listed = requests.get(url, headers=headers)
        assert listed.status_code == 201
        assert listed.headers["Date"] == "Fri, 01 Mar 2041 12:00:00 GMT"
        clock.moment += timedelta(seconds=3601)
        assert requests.get(url, headers=headers).status_code == 401


def test_api_token_expiry_and_dates_follow_the_injected_clock():
    clock = SettableClock(datetime(2019, 6, 1, tzinfo=timezone.utc))
    with HomerEmulator(api="v3", clock=clock) as homer:
        headers = v3_login(homer)
        created = requests.post(f"{homer.url}/api/v3/token/auth", headers=headers,
                                json={"name": "ci", "expire_date": "2019-06-02T00:00:00Z", "active": True})
        assert created.status_code == 201, created.text
        token = {"Auth-Token": created.json()["data"]["token"]}
        listed = requests.get(f"{homer.url}/api/v3/token/auth", headers=headers).json()["data"]
        assert [(t["name"], t["create_date"]) for t in listed if t["name"] == "ci"] == [("ci", "2019-06-01T00:00:00Z")]
        assert requests.get(f"{homer.url}/api/v3/alias", headers=token).status_code == 201
        clock.moment = datetime(2019, 6, 2, tzinfo=timezone.utc)
        assert requests.get(f"{homer.url}/api/v3/alias", headers=token).status_code == 400


def test_latency_does_not_serialise_concurrent_requests(emulator):
    url = f"{emulator.url}/api/v3/alias"
    headers = v3_login(emulator)
    emulator.latency = 600  # longer than any test: the requests answer only when released
    statuses = []

    def fetch():
        with requests.Session() as session:
            statuses.append(session.get(url, headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    # All eight are inside the server at the same time: none waits for another to finish.
    wait_until(lambda: len(emulator.in_flight) == 8, what="8 requests handled at once")
    assert emulator.request_log == [("POST", "/api/v3/auth", 201)]
    emulator.release_held()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8


def test_release_held_answers_delayed_requests_and_open_connections_drop_to_zero(emulator):
    url = f"{emulator.url}/api/v3/alias"
    emulator.delay_next(1, 600, method="GET", skip=1)
    statuses = []
    with requests.Session() as session:
        headers = v3_login(emulator, session)
        statuses.append(session.get(url, headers=headers).status_code)  # skipped: answered at once

        def slow_get():
            with session.get(url, headers=headers, timeout=60) as answer:
                statuses.append(answer.status_code)

        slow = threading.Thread(target=slow_get)
        slow.start()
        wait_until(lambda: emulator.in_flight == [("GET", "/api/v3/alias")], what="the held request")
        assert emulator.open_connections == 1 and statuses == [201]
        emulator.release_held()
        slow.join()
    assert statuses == [201, 201]
    # the answer reaches the client before the server's thread leaves the request
    wait_until(lambda: emulator.in_flight == [], what="no request in flight")
    wait_until(lambda: emulator.open_connections == 0, what="the client's connection closed")


def test_keep_alive_session_uses_one_connection(emulator):
    with requests.Session() as session:
        headers = v3_login(emulator, session)
        for _ in range(5):
            assert session.get(f"{emulator.url}/api/v3/alias", headers=headers).status_code == 201
    assert emulator.connections_opened == 1
    assert len(emulator.request_log) == 6
    emulator.reset_stats()
    assert emulator.connections_opened == 0 and emulator.request_log == []
    requests.get(f"{emulator.url}/api/v3/alias")  # no session: a new connection
    assert emulator.connections_opened == 1
    assert emulator.request_log == [("GET", "/api/v3/alias", 400)]


# --- command line ------------------------------------------------------------------------------

def test_cli_runs_in_the_foreground_until_terminated(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([v3_alias(alias="seeded")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "homer_sync.emulator", "--port", "0", "--seed-file", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("HOMER emulator (v3) listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        token = requests.post(f"{url}/api/v3/auth", json=ADMIN, timeout=5).json()["token"]
        listed = requests.get(f"{url}/api/v3/alias", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert [row["alias"] for row in listed.json()["data"]] == ["seeded"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
