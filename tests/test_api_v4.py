"""HOMER 10+ / API v4 client: login, tokens, snake_case items with omitted zeros, tags, writes."""

from __future__ import annotations

import json
import re

import pytest
import responses
from factories import connection_settings
from responses import matchers

from homer_sync.api import connect
from homer_sync.api.v4 import V4Client
from homer_sync.errors import (
    AliasNotFoundError,
    AmbiguousWriteError,
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
)
from homer_sync.model import Alias

BASE = "https://coordinator.example"
PASSWORD = "v4-pa55word"
TOKEN = "v4tok-abcdefabcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.one"
JWT2 = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.two"
GUID = "6f1c2a52-94d3-4b1e-9c55-0d6a3c1f2e11"
FIRST_PAGE = {"page[limit]": "1000", "sort": "guid"}
FULL_ITEM = {"guid": GUID, "alias": "sbc", "ip": "2001:db8::1", "port": 5061, "mask": 128,
             "capture_id": "CAP1", "status": True, "custom_image": "sbc.png", "tag1": "core",
             "tag4": "ci-pipeline"}


def settings(**kw):
    return connection_settings(BASE, login_password=PASSWORD, **kw)


def add_login(rsps, token=JWT, admin=True, scope="admin"):
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=201,
             json={"data": {"token": token, "scope": scope, "user": {"admin": admin}},
                   "meta": {}},
             match=[matchers.json_params_matcher({"username": "admin", "password": PASSWORD},
                                                 strict_match=True)])


def add_page(rsps, items, query=None, headers=None, limit=1000):
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=200,
             json={"data": {"items": items}, "meta": {"limit": limit, "count": len(items)}},
             match=[matchers.query_param_matcher(query or FIRST_PAGE),
                    matchers.header_matcher(headers or {"Authorization": f"Bearer {JWT}"})])


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client(rsps):
    add_login(rsps)
    c = connect(settings(api="v4", pool_size=1))
    yield c
    c.close()


# -- login ------------------------------------------------------------------------------------


def test_auto_detects_v4_with_a_password(rsps):
    rsps.add("POST", f"{BASE}/api/v3/auth", status=404, json={"message": "Not Found"})
    add_login(rsps)
    add_page(rsps, [FULL_ITEM])
    client = connect(settings())
    assert isinstance(client, V4Client)
    assert (client.api_version, client.is_admin, client.supports_tags, client.auth_kind) == \
        ("v4", True, True, "password")
    assert len(client.list_aliases()) == 1
    assert [c.request.url for c in rsps.calls] == [
        f"{BASE}/api/v3/auth", f"{BASE}/api/v4/auth/sessions",
        f"{BASE}/api/v4/aliases?page%5Blimit%5D=1000&sort=guid"]


def test_forced_v4_goes_straight_to_v4(rsps):
    add_login(rsps, admin=False, scope="user")
    client = connect(settings(api="v4"))
    assert client.is_admin is False and len(rsps.calls) == 1


def test_admin_flag_from_scope_when_user_is_missing(rsps):
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=201,
             json={"data": {"token": JWT, "scope": "user"}})
    assert connect(settings(api="v4")).is_admin is False


def test_bad_credentials(rsps):
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=401,
             json={"error": "unauthorized", "message": "invalid credentials"})
    with pytest.raises(AuthenticationError) as err:
        connect(settings(api="v4"))
    assert str(err.value) == "login refused for user 'admin': HOMER says \"invalid credentials\""


def test_password_login_disabled(rsps):
    rsps.add("POST", f"{BASE}/api/v3/auth", status=404, json={"message": "Not Found"})
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=403,
             json={"error": "forbidden",
                   "message": "password login is disabled; use an API token"})
    with pytest.raises(AuthenticationError) as err:
        connect(settings())
    assert str(err.value) == "password login is disabled on this HOMER; use --token"
    assert err.value.status == 403


def test_forced_v4_on_homer7(rsps):
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=404, json={"message": "Not Found"})
    with pytest.raises(ApiError) as err:
        connect(settings(api="v4"))
    assert str(err.value) == ("HOMER at https://coordinator.example has no API v4: POST"
                              " /api/v4/auth/sessions answered 404 (is the URL right, including"
                              " any path prefix? HOMER 7 speaks API v3: try --api v3)")


# -- tokens -----------------------------------------------------------------------------------


def test_token_auto_detection_reuses_the_probe(rsps):
    rsps.add("GET", f"{BASE}/api/v3/alias", status=404, json={"message": "Not Found"},
             match=[matchers.header_matcher({"Auth-Token": TOKEN})])
    add_page(rsps, [FULL_ITEM], headers={"Auth-Token": TOKEN})
    client = connect(settings(token=TOKEN))
    assert (client.api_version, client.is_admin, client.auth_kind) == ("v4", None, "token")
    assert [a.guid for a in client.list_aliases()] == [GUID]
    assert client.request_count == 2  # v3 probe (404) + one v4 page, reused by the listing
    assert all("Authorization" not in c.request.headers for c in rsps.calls)


def test_token_rejected(rsps):
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=401,
             json={"error": "unauthorized", "message": "invalid or expired token"})
    with pytest.raises(AuthenticationError) as err:
        connect(settings(token=TOKEN, api="v4"))
    assert str(err.value) == ("the API token was rejected (401/400): it may have expired or been"
                              " revoked")


def test_user_token_cannot_write(rsps):
    add_page(rsps, [], headers={"Auth-Token": TOKEN})
    rsps.add("POST", f"{BASE}/api/v4/aliases", status=403,
             json={"error": "forbidden", "message": "admin rights required"})
    client = connect(settings(token=TOKEN, api="v4"))
    with pytest.raises(PermissionDeniedError) as err:
        client.create(Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="x"))
    assert str(err.value) == "the API token does not have admin rights: HOMER refuses writes (403)"


# -- listing ----------------------------------------------------------------------------------


def test_omitted_zero_values_and_tags(client, rsps):
    sparse = {"guid": "g-sparse", "alias": "any-port", "ip": "10.0.0.0", "mask": 24,
              "capture_id": "0"}
    add_page(rsps, [FULL_ITEM, sparse])
    by_guid = {a.guid: a for a in client.list_aliases()}
    assert by_guid["g-sparse"] == Alias(ip="10.0.0.0", mask=24, port=0, capture_id="0",
                                        name="any-port", status=False, guid="g-sparse")
    full = by_guid[GUID]
    assert full.identity == ("2001:db8::1", 128, 5061, "CAP1")
    assert full.extra_dict() == {"custom_image": "sbc.png", "tag1": "core",
                                 "tag4": "ci-pipeline"}


@pytest.mark.parametrize("body, problem", [
    ({"data": []}, 'expected {"data": {"items": [...]}}'),
    ({"data": {"items": None}}, 'expected {"data": {"items": [...]}}'),
    ({"data": {"items": [{"alias": "x"}]}}, "alias #0 has no 'guid'"),
])
def test_list_of_the_wrong_shape(client, rsps, body, problem):
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=200, json=body)
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == ("HOMER answered GET /api/v4/aliases?page[limit]=1000&sort=guid with"
                              f" JSON of an unexpected shape: {problem}")


def test_bad_request_on_listing(client, rsps):
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=400,
             json={"error": "bad_request",
                   "message": "page[limit] must be between 1 and 1000"})
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == ("HOMER refused to list aliases (400): page[limit] must be between 1"
                              " and 1000")


def test_a_server_capping_lower_than_asked_is_not_taken_as_complete(client, rsps):
    items = [dict(FULL_ITEM, guid=f"00000000-0000-4000-8000-{n:012d}", ip=f"10.0.0.{n}")
             for n in range(1, 4)]
    add_page(rsps, items[:2], limit=2)
    add_page(rsps, items[1:], query={"page[limit]": "1000", "sort": "-guid"}, limit=2)
    assert sorted(a.guid for a in client.list_aliases()) == sorted(i["guid"] for i in items)


def test_expired_session_during_listing(rsps):
    add_login(rsps, token=JWT)
    add_login(rsps, token=JWT2)
    add_page(rsps, [FULL_ITEM], headers={"Authorization": f"Bearer {JWT2}"})
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=401,
             json={"error": "unauthorized", "message": "invalid or expired token"},
             match=[matchers.header_matcher({"Authorization": f"Bearer {JWT}"})])
    client = connect(settings(api="v4"))
    assert [a.guid for a in client.list_aliases()] == [GUID]
    assert client.request_count == 4


# -- writes -----------------------------------------------------------------------------------


def test_create_sends_every_field_and_the_owner_tag(client, rsps):
    alias = Alias(ip="10.0.1.10", mask=32, port=0, capture_id="0", name="pcscf01",
                  status=False).with_extra(tag4="ci-pipeline")
    rsps.add("POST", f"{BASE}/api/v4/aliases", status=201, json={"data": "new-guid"},
             match=[matchers.json_params_matcher(
                 {"alias": "pcscf01", "ip": "10.0.1.10", "port": 0, "mask": 32,
                  "capture_id": "0", "status": False, "custom_image": "", "tag1": "",
                  "tag2": "", "tag3": "", "tag4": "ci-pipeline"}, strict_match=True),
                 matchers.header_matcher({"Authorization": f"Bearer {JWT}",
                                          "Content-Type": "application/json"})])
    assert client.create(alias) == "new-guid"


def test_create_refused(client, rsps):
    rsps.add("POST", f"{BASE}/api/v4/aliases", status=400,
             json={"error": "bad_request", "message": "ip must be a plain IP"})
    with pytest.raises(ApiError) as err:
        client.create(Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="x"))
    assert type(err.value) is ApiError
    assert str(err.value) == ("HOMER refused to create alias 10.0.0.1/32 port 0 capture 0 'x'"
                              " (400): ip must be a plain IP")


@pytest.mark.parametrize("status, body", [(201, {}), (504, {"message": "gateway"}),
                                          (201, None)])
def test_create_with_unknown_outcome(client, rsps, status, body):
    if body is None:
        rsps.add("POST", f"{BASE}/api/v4/aliases", status=status, body="")
    else:
        rsps.add("POST", f"{BASE}/api/v4/aliases", status=status, json=body)
    with pytest.raises(AmbiguousWriteError):
        client.create(Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="x"))
    assert [c.request.method for c in rsps.calls].count("POST") == 2  # login + one create


def test_update_replaces_every_field_keeping_the_servers_tags(client, rsps):
    before = Alias.from_server(ip="2001:db8::1", mask=128, port=5061, capture_id="CAP1",
                               name="sbc", status=True, guid=GUID,
                               extra={"custom_image": "sbc.png", "tag1": "core"})
    after = Alias(ip=before.ip, mask=before.mask, port=before.port, capture_id=before.capture_id,
                  name="sbc-renamed", status=False, guid=GUID, extra=before.extra)
    rsps.add("PUT", f"{BASE}/api/v4/aliases/{GUID}", status=200,
             json={"data": {"guid": GUID, "alias": "sbc-renamed"}},
             match=[matchers.json_params_matcher(
                 {"alias": "sbc-renamed", "ip": "2001:db8::1", "port": 5061, "mask": 128,
                  "capture_id": "CAP1", "status": False, "custom_image": "sbc.png",
                  "tag1": "core", "tag2": "", "tag3": "", "tag4": ""}, strict_match=True)])
    client.update(before, after)


def test_delete_204(client, rsps):
    rsps.add("DELETE", f"{BASE}/api/v4/aliases/{GUID}", status=204, body="",
             match=[matchers.header_matcher({"Authorization": f"Bearer {JWT}"})])
    client.delete(Alias(ip="1.2.3.4", mask=32, port=0, capture_id="0", name="x", guid=GUID))


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_unknown_guid(client, rsps, method):
    rsps.add(method, f"{BASE}/api/v4/aliases/{GUID}", status=404,
             json={"error": "not_found", "message": "alias not found"})
    alias = Alias(ip="1.2.3.4", mask=32, port=0, capture_id="0", name="x", guid=GUID)
    with pytest.raises(AliasNotFoundError) as err:
        client.update(alias, alias) if method == "PUT" else client.delete(alias)
    assert str(err.value) == f"alias {GUID} no longer exists on the server"


def test_unknown_route_is_not_an_unknown_alias(client, rsps):
    rsps.add("DELETE", f"{BASE}/api/v4/aliases/{GUID}", status=404, json={"message": "Not Found"})
    alias = Alias(ip="1.2.3.4", mask=32, port=0, capture_id="0", name="x", guid=GUID)
    with pytest.raises(ApiError) as err:
        client.delete(alias)
    assert not isinstance(err.value, AliasNotFoundError)


def test_non_admin_user(rsps):
    add_login(rsps, admin=False, scope="user")
    rsps.add("PUT", f"{BASE}/api/v4/aliases/{GUID}", status=403,
             json={"error": "forbidden", "message": "admin rights required"})
    client = connect(settings(api="v4"))
    alias = Alias(ip="1.2.3.4", mask=32, port=0, capture_id="0", name="x", guid=GUID)
    with pytest.raises(PermissionDeniedError,
                       match=re.escape("user 'admin' is not an administrator; HOMER refuses"
                                       " writes (403)")):
        client.update(alias, alias)


def test_put_is_retried_but_post_is_not(client, rsps):
    rsps.add("PUT", f"{BASE}/api/v4/aliases/{GUID}", status=502, body="")
    rsps.add("PUT", f"{BASE}/api/v4/aliases/{GUID}", status=200, json={"data": {}})
    alias = Alias(ip="1.2.3.4", mask=32, port=0, capture_id="0", name="x", guid=GUID)
    client.update(alias, alias)
    assert [c.request.method for c in rsps.calls] == ["POST", "PUT", "PUT"]


def test_secrets_never_leak(rsps):
    echo = f"{PASSWORD} {JWT}"
    texts, hooks = [], []
    rsps.add("POST", f"{BASE}/api/v4/auth/sessions", status=401, json={"message": echo})
    try:
        connect(settings(api="v4", on_request=lambda *a: hooks.append(repr(a))))
    except ApiError as exc:
        texts += [str(exc), repr(exc)]
    # a token client never knew the password; it must hide its token and any JWT
    rsps.add("GET", f"{BASE}/api/v4/aliases", status=400,
             json={"error": "bad_request", "message": f"{TOKEN} {JWT}"})
    try:
        connect(settings(token=TOKEN, api="v4", on_request=lambda *a: hooks.append(repr(a))))
    except ApiError as exc:
        texts += [str(exc), repr(exc)]
    assert len(texts) == 4 and len(hooks) == 2
    blob = json.dumps(texts + hooks)
    for secret in (PASSWORD, JWT, TOKEN):
        assert secret not in blob
