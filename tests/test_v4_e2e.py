"""End-to-end: what only HOMER 10+ (API v4) has, through the CLI against the v4 emulator.

Detection, the v4 login (and its "password login disabled" answer), tokens that
carry their own admin flag, tags kept by updates, zero values the server omits,
owner marks for prune, and the capped list endpoint: a complete listing of
5,000 aliases and a refusal to plan when completeness cannot be proven.
The scenarios shared with HOMER 7 run in both modes in test_cli_e2e.py.

Run with ``-s`` to see the request counts of the 5,000-alias runs.
"""

from __future__ import annotations

import csv
import json
import random
import uuid

import pytest
import requests
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator

ADMIN_PASSWORD = "sipcapture"
TAG_KEYS = ("custom_image", "tag1", "tag2", "tag3", "tag4")


def alias(name, ip, port=5060, mask=None, capture="0", status=True, **tags):
    data = {"alias": name, "ip": ip, "port": port, "captureID": capture, "status": status, **tags}
    if mask is not None:
        data["mask"] = mask
    return data


def invoke(homer, tmp_path, *args, env=None):
    """Run the CLI as an operator would, connected to ``homer`` by environment variables."""
    base = {
        "HOMER_URL": homer.url,
        "HOMER_USERNAME": "admin",
        "HOMER_PASSWORD": ADMIN_PASSWORD,
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    result = CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, catch_exceptions=False)
    assert ADMIN_PASSWORD not in result.output
    return result


def token_env(token):
    return {"HOMER_USERNAME": "", "HOMER_PASSWORD": "", "HOMER_TOKEN": token}


def write(tmp_path, text, name="inv.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def by_name(homer):
    return {a["alias"]: a for a in homer.aliases()}


def writes(homer):
    """The alias writes the emulator received: (method, path) without logins and lists."""
    return [(m, p) for m, p, _ in homer.request_log if m in ("PUT", "DELETE") or (m == "POST" and "/auth" not in p)]


@pytest.fixture
def v4():
    with HomerEmulator(api="v4") as homer:
        yield homer


# -- detection and check -----------------------------------------------------------------------


def test_auto_detects_v4_and_check_reports_it(v4, tmp_path):
    v4.seed([alias("alpha", "10.0.3.1")])
    auto = invoke(v4, tmp_path, "check", "--output", "json")
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.output) == {"server": v4.url, "api": "v4", "auth": "password", "admin": True, "aliases": 1}
    # The cost of auto-detection on v4: one refused v3 login.
    assert v4.request_log == [
        ("POST", "/api/v3/auth", 404), ("POST", "/api/v4/auth/sessions", 201), ("GET", "/api/v4/aliases", 200)]

    v4.reset_stats()
    pinned = invoke(v4, tmp_path, "--api", "v4", "check")
    assert pinned.exit_code == 0, pinned.output
    assert "api:     v4" in pinned.output and "aliases: 1" in pinned.output
    assert [p for _, p, _ in v4.request_log] == ["/api/v4/auth/sessions", "/api/v4/aliases"]

    wrong = invoke(v4, tmp_path, "check", env={"HOMER_API": "v3"})
    assert wrong.exit_code == 1
    assert "404" in wrong.output and "--api v4" in wrong.output


def test_api_v4_against_homer_7_points_to_v3(emulator, tmp_path):
    result = invoke(emulator, tmp_path, "--api", "v4", "check")
    assert result.exit_code == 1
    assert "--api v3" in result.output


# -- authentication ----------------------------------------------------------------------------


def test_password_login_disabled_points_to_token(tmp_path):
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n")
    with HomerEmulator(api="v4", password_login=False) as homer:
        for args in (("check",), ("apply", "--yes", inv)):
            result = invoke(homer, tmp_path, *args)
            assert result.exit_code == 1, result.output
            assert "password login is disabled" in result.output and "--token" in result.output
            assert "Traceback" not in result.output
        assert homer.aliases() == []
        assert writes(homer) == []

        token = homer.add_token(admin=True)
        with_token = invoke(homer, tmp_path, "apply", "--yes", inv, env=token_env(token))
        assert with_token.exit_code == 0, with_token.output
        assert [a["alias"] for a in homer.aliases()] == ["pcscf01"]
        assert token not in with_token.output


def test_v4_tokens_carry_their_own_admin_flag(v4, tmp_path):
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n")
    user_token, admin_token = v4.add_token(admin=False), v4.add_token(admin=True)

    checked = invoke(v4, tmp_path, "check", "--output", "json", env=token_env(user_token))
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["api"] == "v4" and json.loads(checked.output)["auth"] == "token"

    planned = invoke(v4, tmp_path, "plan", inv, "--detailed-exitcode", env=token_env(user_token))
    assert planned.exit_code == 2, planned.output

    refused = invoke(v4, tmp_path, "apply", "--yes", inv, env=token_env(user_token))
    assert refused.exit_code == 1
    assert "token does not have admin rights" in refused.output
    assert user_token not in refused.output
    assert v4.aliases() == []

    applied = invoke(v4, tmp_path, "apply", "--yes", inv, env=token_env(admin_token))
    assert applied.exit_code == 0, applied.output
    assert admin_token not in applied.output
    assert [a["alias"] for a in v4.aliases()] == ["pcscf01"]

    # With a token, auto-detection probes with the list request itself: v3's list answers
    # 404 on a v4 server, and v4's first list answer is kept for the listing.
    v4.reset_stats()
    noop = invoke(v4, tmp_path, "plan", inv, "--detailed-exitcode", env=token_env(admin_token))
    assert noop.exit_code == 0, noop.output
    assert v4.request_log == [("GET", "/api/v3/alias", 404), ("GET", "/api/v4/aliases", 200)]

    bogus = invoke(v4, tmp_path, "plan", inv, env=token_env("not-a-token"))
    assert bogus.exit_code == 1
    assert "token was rejected" in bogus.output


# -- fields the tool does not manage, and zero values ------------------------------------------


def test_rename_keeps_tags_and_image(v4, tmp_path):
    tags = {"custom_image": "sbc.png", "tag1": "site-paris", "tag3": "team-voice", "tag4": "someone-else"}
    [guid] = v4.seed([alias("old-name", "10.0.1.10", **tags)])
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060, status: false}\n")
    result = invoke(v4, tmp_path, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert writes(v4) == [("PUT", f"/api/v4/aliases/{guid}")]
    [after] = v4.aliases()
    assert (after["guid"], after["alias"], after["status"]) == (guid, "pcscf01", False)
    assert {key: after[key] for key in TAG_KEYS} == {"tag2": "", **tags}

    again = invoke(v4, tmp_path, "plan", inv, "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_omitted_zero_values_round_trip_without_spurious_updates(v4, tmp_path):
    v4.seed([alias("any-port", "10.0.2.1", port=0), alias("disabled", "10.0.2.2", status=False),
             alias("everything", "0.0.0.0", port=0, mask=0, status=False)])
    headers = {"Authorization": "Bearer " + v4.issue_jwt("admin")}
    items = requests.get(f"{v4.url}/api/v4/aliases", headers=headers, timeout=5).json()["data"]["items"]
    everything = next(item for item in items if item["alias"] == "everything")
    assert not {"port", "mask", "status"} & set(everything)  # the server really omits them

    inv = write(tmp_path, """\
version: 1
aliases:
  - {alias: any-port, ip: 10.0.2.1, port: 0}
  - {alias: disabled, ip: 10.0.2.2, port: 5060, status: false}
  - {alias: everything, ip: 0.0.0.0/0, port: 0, status: false}
  - {alias: new-off, ip: 10.0.2.3, port: 0, status: false}
""")
    planned = invoke(v4, tmp_path, "plan", inv, "--output", "json")
    assert planned.exit_code == 0, planned.output
    doc = json.loads(planned.stdout)
    assert doc["summary"]["create"] == 1 and doc["summary"]["update"] == 0 and doc["summary"]["unchanged"] == 3

    applied = invoke(v4, tmp_path, "apply", "--yes", inv)
    assert applied.exit_code == 0, applied.output
    created = by_name(v4)["new-off"]
    assert (created["port"], created["status"], created["mask"]) == (0, False, 32)
    assert invoke(v4, tmp_path, "plan", "--prune", inv, "--detailed-exitcode").exit_code == 0

    exported = invoke(v4, tmp_path, "export")
    assert exported.exit_code == 0, exported.output
    exported_file = write(tmp_path, exported.output, "exported.yaml")
    round_trip = invoke(v4, tmp_path, "plan", "--prune", "--detailed-exitcode", exported_file)
    assert round_trip.exit_code == 0, round_trip.output


# -- ownership ---------------------------------------------------------------------------------


OWNED = """\
version: 1
aliases:
  - {alias: kept-mine, ip: 10.0.5.1, port: 5060}
  - {alias: brand-new, ip: 10.0.5.2, port: 5060}
prune:
  enabled: true
  owner: ci-pipeline
  only:
    networks: [10.0.0.0/8]
"""


def test_owner_marks_creates_and_prune_deletes_only_marked_aliases(v4, tmp_path):
    v4.seed([
        alias("kept-mine", "10.0.5.1", tag4="ci-pipeline", tag1="keep-me"),
        alias("stale-mine", "10.0.5.9", tag4="ci-pipeline"),
        alias("stale-unmarked", "10.0.5.8"),
        alias("stale-other-owner", "10.0.5.7", tag4="someone-else"),
        alias("stale-mine-wrong-tag", "10.0.5.6", tag2="ci-pipeline"),
        alias("mine-out-of-scope", "192.0.2.1", tag4="ci-pipeline"),
    ])
    result = invoke(v4, tmp_path, "apply", "--yes", write(tmp_path, OWNED))
    assert result.exit_code == 0, result.output
    after = by_name(v4)
    assert sorted(after) == ["brand-new", "kept-mine", "mine-out-of-scope", "stale-mine-wrong-tag",
                             "stale-other-owner", "stale-unmarked"]
    assert after["brand-new"]["tag4"] == "ci-pipeline"
    other_tags = {key: after["brand-new"][key] for key in TAG_KEYS if key != "tag4"}
    assert other_tags == dict.fromkeys(("custom_image", "tag1", "tag2", "tag3"), "")
    assert (after["kept-mine"]["tag4"], after["kept-mine"]["tag1"]) == ("ci-pipeline", "keep-me")
    assert [m for m, _ in writes(v4)] == ["POST", "DELETE"]

    again = invoke(v4, tmp_path, "plan", write(tmp_path, OWNED), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_owner_tag_is_configurable(v4, tmp_path):
    v4.seed([alias("marked-in-tag4", "10.0.5.6", tag4="ci-pipeline"), alias("marked-in-tag2", "10.0.5.7",
                                                                            tag2="ci-pipeline")])
    inv = write(tmp_path, OWNED.replace("  owner: ci-pipeline\n", "  owner: ci-pipeline\n  owner_tag: tag2\n"))
    result = invoke(v4, tmp_path, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    after = by_name(v4)
    assert sorted(after) == ["brand-new", "kept-mine", "marked-in-tag4"]
    assert (after["brand-new"]["tag2"], after["brand-new"]["tag4"]) == ("ci-pipeline", "")


def test_prune_owner_on_v3_is_refused_before_listing(emulator, tmp_path):
    result = invoke(emulator, tmp_path, "apply", "--yes", write(tmp_path, OWNED))
    assert result.exit_code == 1
    assert "prune.owner" in result.output and "v3" in result.output and "no tags" in result.output
    assert emulator.request_log == [("POST", "/api/v3/auth", 201)]


# -- the capped list endpoint ------------------------------------------------------------------


def realistic(count, seed):
    """Aliases as a site holds them: 10.x.y.z hosts on 1-3 SIP ports, some /24s, ~8 % IPv6,
    two capture ids, a few disabled; random (version 4) guids drawn from ``seed``."""
    rng = random.Random(seed)
    items, seen = [], set()
    while len(items) < count:
        roll = rng.random()
        if roll < 0.08:
            ip, mask = f"2001:db8:{rng.randrange(16):x}::{rng.randrange(1, 65536):x}", 128
        elif roll < 0.12:
            ip, mask = f"10.{rng.randrange(256)}.{rng.randrange(256)}.0", 24
        else:
            ip, mask = f"10.{rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", 32
        port = rng.choice((0, 5060, 5060, 5061, 5062))
        capture = rng.choice(("0", "0", "0", "CAP101"))
        if (ip, mask, port, capture) in seen:
            continue
        seen.add((ip, mask, port, capture))
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        items.append({**alias(f"host-{len(items):05d}", ip, port, mask, capture, rng.random() > 0.1), "guid": guid})
    return items


def write_csv(tmp_path, items, name):
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["alias", "ip", "port", "mask", "capture_id", "status"])
        for item in items:
            out.writerow([item["alias"], item["ip"], item["port"], item["mask"], item["captureID"],
                          str(item["status"]).lower()])
    return str(path)


# Requests of a no-op plan of 5,000 aliases with --api auto: 1 refused v3 login + the v4
# login + 36 list requests that prove the list complete (deterministic: seeded guids).
NOOP_5000_REQUESTS = 38


def test_5000_aliases_no_op_plan_sees_every_alias(tmp_path):
    items = realistic(5000, seed=5000)
    inv = write_csv(tmp_path, items, "all.csv")
    with HomerEmulator(api="v4", list_cap=1000) as homer:
        homer.seed(items)
        result = invoke(homer, tmp_path, "plan", inv, "--output", "json", "--detailed-exitcode")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["summary"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 5000,
                                                        "existing": 5000, "desired": 5000}
        log = homer.request_log
        print(f"\nno-op plan of 5,000 aliases on v4 (auto-detected): {len(log)} requests")
        assert len(log) == NOOP_5000_REQUESTS
        assert log[:2] == [("POST", "/api/v3/auth", 404), ("POST", "/api/v4/auth/sessions", 201)]
        assert {(m, p, s) for m, p, s in log[2:]} == {("GET", "/api/v4/aliases", 200)}

        homer.reset_stats()
        pinned = invoke(homer, tmp_path, "plan", inv, "--detailed-exitcode", env={"HOMER_API": "v4"})
        assert pinned.exit_code == 0, pinned.output
        assert len(homer.request_log) == NOOP_5000_REQUESTS - 1

        exported = invoke(homer, tmp_path, "export", "--output", "csv")
        assert exported.exit_code == 0, exported.output
        assert len(exported.output.splitlines()) == 5002  # the exact mark, the header, 5,000 rows


def test_5000_aliases_prune_deletes_exactly_the_undeclared(tmp_path):
    items = realistic(5000, seed=5000)
    undeclared = set(random.Random(7).sample(range(5000), 200))
    inv = write_csv(tmp_path, [item for i, item in enumerate(items) if i not in undeclared], "most.csv")
    with HomerEmulator(api="v4", list_cap=1000) as homer:
        homer.seed(items)
        # 200 of 5,000 is 4 %, under the 30 % delete threshold: no --force needed.
        result = invoke(homer, tmp_path, "apply", "--yes", "--prune", "--concurrency", "8", inv)
        assert result.exit_code == 0, result.output
        expected = {f"/api/v4/aliases/{items[i]['guid']}" for i in undeclared}
        assert sorted(writes(homer)) == sorted(("DELETE", path) for path in expected)
        assert {a["guid"] for a in homer.aliases()} == {item["guid"] for i,
                                                        item in enumerate(items) if i not in undeclared}


def test_a_list_that_cannot_be_proven_complete_is_refused(tmp_path):
    # 2,100 aliases on one ip: the cap is 1,000, the ip filter cannot split them, and two
    # opposite guid windows of 1,000 cannot cover 2,100. Nothing may be planned from that.
    crowded = [alias(f"port-{port}", "10.0.0.1", port=port) for port in range(1, 2101)]
    others = [alias("pcscf01", "10.0.1.10"), alias("stale", "10.0.1.11")]
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n  - {alias: added, "
                          "ip: 10.0.1.12, port: 5060}\n")
    with HomerEmulator(api="v4", list_cap=1000) as homer:
        homer.seed(crowded + others)
        before = homer.aliases()
        for args in (("plan", inv), ("apply", "--yes", "--prune", "--force", inv), ("export",)):
            result = invoke(homer, tmp_path, *args)
            assert result.exit_code == 1, (args, result.output)
            assert "Error: more than 1000 aliases share ip '10.0.0.1'" in result.output
            assert "cannot be proven complete" in result.output
        assert writes(homer) == []
        assert homer.aliases() == before
        assert not (tmp_path / "state" / "homer-sync" / "backups").exists()
