"""Replay every request recorded against a real HOMER 7 (homer-app 1.5.20) against the v3 emulator.

The fixture holds 92 exchanges in order, with secrets replaced by placeholders.
Each request is sent over one keep-alive HTTP connection to a fresh emulator,
after substituting:
- <ADMIN_JWT>, <USER_JWT>, <API_AUTH_TOKEN>: learned from the emulator's own
  answers to the recorded logins and token creation;
- <USER_PASSWORD>: a password picked here;
- <JWT_SIGNED_WITH_WRONG_KEY>: admin claims signed here with another key;
- <EXPIRED_JWT_VALID_SIGNATURE>: minted by the emulator with its real secret
  and exp one minute in the past (as the recording's note describes);

The emulator runs at the recording's date (its clock starts when the recorded
admin JWT was issued and advances from there), so the recorded absolute dates
(the API token's expire_date) mean the same thing whatever today's date is.
- recorded guids: mapped to the guids the emulator generated, learned in order
  from the POST answers (logins' scope, created aliases, created user).

Then status, Content-Type, Vary, Content-Length and the body must match the
recording exactly (bodies compared parsed and byte for byte, trailing newline
included), with these documented exceptions:
- list answers ({"data": [...]}) are sorted by guid; the emulator's guids differ
  from the recorded ones, so the order differs: we check that the answer is
  sorted by guid, then compare both lists ordered by (mapped) guid;
- "token_auth_create" is a transient database error of the real server (its
  retry, the next entry, succeeded): reproduced with fail_next(1, 400, body=...);
- "token_auth_list" carries creation timestamps and creator guids of the real
  server: only its structure is compared (count, token names in order, keys).
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from homer_sync.emulator import HomerEmulator, jwt
from homer_sync.emulator.clock import running_from, unix_seconds

FIXTURE = Path(__file__).parent / "fixtures" / "homer7-api-transcript.json"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LEARNED_PLACEHOLDERS = ("<ADMIN_JWT>", "<USER_JWT>", "<API_AUTH_TOKEN>")
TRANSIENT_FAILURE = "token_auth_create"
STRUCTURE_ONLY = "token_auth_list"
RECORDED_JWT_LIFETIME = 72000  # homer-app's default (20 h), the emulator's default too


def load_transcript() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def note_claims(entry: dict) -> dict:
    """The decoded JWT claims quoted in an entry's note."""
    return json.loads(re.search(r"claims: (\{.*\})", entry["note"]).group(1))


def recording_moment(transcript: list[dict]) -> datetime:
    """When the recording was made: the first login's JWT expiry minus the JWT lifetime."""
    first_login = next(e for e in transcript if e["name"] == "auth_admin_ok")
    expiry = datetime.fromtimestamp(note_claims(first_login)["exp"], timezone.utc)
    return expiry - timedelta(seconds=RECORDED_JWT_LIFETIME)


class Replayer:
    def __init__(self, emulator: HomerEmulator):
        self.emulator = emulator
        self.connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        admin_claims = jwt.unverified_claims(emulator.issue_jwt("admin"))
        self.values = {
            "<USER_PASSWORD>": "replay-" + secrets.token_hex(8),
            "<JWT_SIGNED_WITH_WRONG_KEY>": jwt.encode(admin_claims, secrets.token_bytes(32)),
            "<EXPIRED_JWT_VALID_SIGNATURE>": emulator.issue_jwt(
                "admin", exp=unix_seconds(emulator.clock()) - 60),
        }
        self.guids: dict[str, str] = {}  # recorded guid -> emulator guid

    def substitute(self, text: str) -> str:
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        for recorded, actual in self.guids.items():
            text = text.replace(recorded, actual)
        return text

    def send(self, entry: dict) -> tuple[int, dict, str]:
        headers = {name: self.substitute(value) for name, value in entry["request_headers"].items()}
        body = entry["request_body"]
        body = None if body is None else self.substitute(body).encode("utf-8")
        self.connection.request(entry["method"], self.substitute(entry["path"]), body=body, headers=headers)
        response = self.connection.getresponse()
        raw = response.read().decode("utf-8")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, raw

    def learn(self, expected, actual) -> None:
        """Walk the recorded and the actual answer together; remember placeholder values and
        the guids this answer introduced."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in expected.keys() & actual.keys():
                self.learn(expected[key], actual[key])
        elif isinstance(expected, str) and isinstance(actual, str):
            if expected in LEARNED_PLACEHOLDERS and expected not in self.values:
                self.values[expected] = actual
            elif GUID.match(expected) and GUID.match(actual) and expected not in self.guids:
                self.guids[expected] = actual


def sorted_by_guid(items: list) -> list:
    return sorted(items, key=lambda item: item["guid"])


def check_body(label: str, entry: dict, expected_raw: str, actual_raw: str) -> None:
    if not expected_raw or not expected_raw.strip().startswith("{"):
        assert actual_raw == expected_raw, f"{label}: body"
        return
    expected, actual = json.loads(expected_raw), json.loads(actual_raw)
    is_list = entry["method"] == "GET" and isinstance(expected.get("data"), list) and "count" not in expected
    if is_list and isinstance(actual.get("data"), list):
        guids = [item["guid"] for item in actual["data"]]
        assert guids == sorted(guids), f"{label}: list not sorted by guid"
        assert sorted_by_guid(actual["data"]) == sorted_by_guid(expected["data"]), f"{label}: list items"
        assert actual == expected | {"data": actual["data"]}, f"{label}: list envelope"
        assert actual_raw.endswith("\n") == expected_raw.endswith("\n"), f"{label}: trailing newline"
        return
    assert actual == expected, f"{label}: body"
    assert actual_raw == expected_raw, f"{label}: exact bytes (key order, escaping, trailing newline)"


def check_token_list(label: str, expected_raw: str, actual_raw: str) -> None:
    expected, actual = json.loads(expected_raw), json.loads(actual_raw)
    assert list(actual) == list(expected), f"{label}: envelope keys"
    assert actual["count"] == expected["count"] == len(actual["data"]), f"{label}: count"
    assert [t["name"] for t in actual["data"]] == [t["name"] for t in expected["data"]], f"{label}: names"
    for got, want in zip(actual["data"], expected["data"], strict=True):
        assert list(got) == list(want), f"{label}: token keys"
        assert list(got["user_object"]) == list(want["user_object"]), f"{label}: user_object keys"
        assert got["user_object"] == want["user_object"], f"{label}: user_object"
        for key in ("ip_address", "usage_calls", "limit_calls", "active"):
            assert got[key] == want[key], f"{label}: {key}"
    # The token created in the replay keeps the expiry it was created with.
    assert actual["data"][0]["expire_date"] == expected["data"][0]["expire_date"], f"{label}: expire_date"


def check_claims(label: str, entry: dict, token: str, lifetime: int, now: datetime) -> None:
    """The JWT carries the recorded claims; exp is the emulator's now + the configured lifetime."""
    claims, want = jwt.unverified_claims(token), note_claims(entry)
    assert list(claims) == list(want), f"{label}: claim names and order"
    assert {k: v for k, v in claims.items() if k != "exp"} == {k: v for k, v in want.items() if k != "exp"}, label
    assert abs(claims["exp"] - (now.timestamp() + lifetime)) < 60, f"{label}: exp"


def test_replay_recorded_homer7_transcript():
    transcript = load_transcript()
    assert len(transcript) == 92
    with HomerEmulator(api="v3", jwt_lifetime=RECORDED_JWT_LIFETIME,
                       clock=running_from(recording_moment(transcript))) as emulator:
        replay = Replayer(emulator)
        for index, entry in enumerate(transcript):
            label = f"entry {index} ({entry['name']}: {entry['method']} {entry['path']})"
            if entry["name"] == TRANSIENT_FAILURE:
                # The real server failed this first attempt with a database error and the
                # identical retry (next entry) succeeded: reproduce it as an injected fault.
                emulator.fail_next(1, 400, body=entry["response_body"], method="POST",
                                   path_prefix="/api/v3/token/auth")
            status, headers, actual_raw = replay.send(entry)
            assert status == entry["status"], f"{label}: status {status}, body {actual_raw!r}"
            if entry["method"] == "POST" and actual_raw.strip().startswith("{"):
                replay.learn(json.loads(entry["response_body"]), json.loads(actual_raw))
            expected_raw = replay.substitute(entry["response_body"])
            recorded_headers = entry["response_headers"]
            assert headers.get("content-type") == recorded_headers["Content-Type"], label
            assert headers.get("vary") == recorded_headers["Vary"], label
            if entry["name"] == STRUCTURE_ONLY:
                check_token_list(label, expected_raw, actual_raw)
                continue
            # Same length as recorded: the JWTs carry the same claims, the API token is 80 chars.
            assert headers.get("content-length") == recorded_headers["Content-Length"], f"{label}: length"
            check_body(label, entry, expected_raw, actual_raw)
            if entry.get("note", "").find("claims:") >= 0:
                check_claims(label, entry, json.loads(actual_raw)["token"], emulator.jwt_lifetime, emulator.clock())
        replay.connection.close()
        assert len(emulator.request_log) == len(transcript)
        assert emulator.connections_opened == 1, "the replay reuses one keep-alive connection"
    # every placeholder got a value and every alias guid created in the recording was mapped
    assert set(LEARNED_PLACEHOLDERS) <= set(replay.values)
    assert len(replay.guids) >= 11


@pytest.mark.parametrize("name", ["auth_admin_ok", "auth_nonadmin_ok"])
def test_recorded_notes_describe_the_claims(name):
    """Guard for the checks above: the notes the replay relies on are where we expect them."""
    entry = next(e for e in load_transcript() if e["name"] == name)
    assert note_claims(entry)["exp"] > 0
