"""End-to-end: the CLI against the emulator over real loopback HTTP, in both API modes.

Every test runs twice: against HOMER 7 (API v3) and against HOMER 10+ (API v4),
with the same inventories and the same commands, as an operator upgrading would.
v4-only behaviour (tags, owner marks, capped listing) is in test_v4_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli

ADMIN_PASSWORD = "sipcapture"
EXAMPLE = str(Path(__file__).resolve().parents[1] / "inventory.example.yaml")


ALIAS_PATH = {"v3": "/api/v3/alias", "v4": "/api/v4/aliases"}


def v3(alias, ip, port=5060, mask=32, capture="0", status=True):
    return {"alias": alias, "ip": ip, "port": port, "mask": mask, "captureID": capture, "status": status}


@pytest.fixture
def emulator(any_emulator):
    """Every test of this file runs against both API modes of the emulator."""
    return any_emulator


@pytest.fixture
def run(emulator, tmp_path, monkeypatch):
    """Invoke the CLI as an operator would, connected to the emulator by environment variables."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": ADMIN_PASSWORD}

    def invoke(*args, input=None, extra_env=None):
        runner = CliRunner()
        result = runner.invoke(cli, list(args), env={**env, **(extra_env or {})}, input=input, catch_exceptions=False)
        assert ADMIN_PASSWORD not in result.output
        return result

    return invoke


def write(tmp_path, text, name="inv.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def state(emulator):
    return sorted((a["ip"], a["mask"], a["port"], a["captureID"], a["alias"], a["status"]) for a in emulator.aliases())


INVENTORY = """\
version: 1
aliases:
  - alias: pcscf01
    ip: 10.0.1.10
    port: 5060
  - alias: scscf01
    ip: 10.0.1.20
    port: [5060, 5061]
  - alias: ims-core
    ip: 10.0.0.0/24
    capture_id: CAP101
"""


def test_plan_apply_then_second_run_costs_two_requests(run, emulator, tmp_path):
    inv = write(tmp_path, INVENTORY)
    planned = run("plan", inv, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert sum(line.startswith("create") for line in planned.output.splitlines()) == 4
    assert emulator.aliases() == []

    applied = run("apply", "--yes", inv)
    assert applied.exit_code == 0, applied.output
    assert state(emulator) == [
        ("10.0.0.0", 24, 0, "CAP101", "ims-core", True),
        ("10.0.1.10", 32, 5060, "0", "pcscf01", True),
        ("10.0.1.20", 32, 5060, "0", "scscf01", True),
        ("10.0.1.20", 32, 5061, "0", "scscf01", True),
    ]

    emulator.reset_stats()
    again = run("plan", inv, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    if emulator.api == "v3":
        assert [(m, p) for m, p, _ in emulator.request_log] == [("POST", "/api/v3/auth"), ("GET", "/api/v3/alias")]
        return
    # v4 with --api auto (the default): the v3 login is tried first and answers 404, so
    # auto-detection costs exactly one request; 4 aliases fit in one capped list answer.
    assert emulator.request_log == [
        ("POST", "/api/v3/auth", 404),
        ("POST", "/api/v4/auth/sessions", 201),
        ("GET", "/api/v4/aliases", 200),
    ]
    emulator.reset_stats()
    pinned = run("plan", inv, "--detailed-exitcode", extra_env={"HOMER_API": "v4"})
    assert pinned.exit_code == 0, pinned.output
    assert emulator.request_log == [("POST", "/api/v4/auth/sessions", 201), ("GET", "/api/v4/aliases", 200)]


def test_apply_renames_keeping_guid_and_removes_duplicates(run, emulator, tmp_path):
    guids = emulator.seed([v3("old-name", "10.0.1.10"), v3("pcscf01", "10.0.1.20"), v3("pcscf01", "10.0.1.20")])
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n  - {alias: pcscf01, "
                          "ip: 10.0.1.20, port: 5060}\n")
    result = run("apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    after = emulator.aliases()
    assert sorted(a["alias"] for a in after) == ["pcscf01", "pcscf01"]
    assert guids[0] in {a["guid"] for a in after}
    assert len({a["guid"] for a in after} & set(guids[1:])) == 1
    backups = list((tmp_path / "state" / "homer-sync" / "backups").glob("*.yaml"))
    assert len(backups) == 1


def test_prune_deletes_only_inside_scope(run, emulator, tmp_path):
    emulator.seed([v3("stale-in-scope", "10.9.9.9"), v3("outside", "192.0.2.1"),
                   v3("other-capture", "10.9.9.8", capture="CAP9")])
    inv = write(tmp_path, """\
version: 1
aliases:
  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}
prune:
  only:
    networks: [10.0.0.0/8]
    capture_ids: ["0"]
""")
    result = run("apply", "--yes", "--prune", inv)
    assert result.exit_code == 0, result.output
    names = sorted(a["alias"] for a in emulator.aliases())
    assert names == ["other-capture", "outside", "pcscf01"]


def test_unsafe_prune_is_refused_with_exit_3_and_nothing_written(run, emulator, tmp_path):
    emulator.seed([v3(f"host{i}", f"10.0.2.{i}") for i in range(10)])
    keep = "\n".join(f"  - {{alias: host{i}, ip: 10.0.2.{i}, port: 5060}}" for i in range(6))
    inv = write(tmp_path, f"version: 1\naliases:\n{keep}\n")
    before = state(emulator)
    result = run("apply", "--yes", "--prune", inv)
    assert result.exit_code == 3, result.output
    assert "40.00%" in result.output and "30.00%" in result.output and "(4/10)" in result.output
    assert state(emulator) == before

    forced = run("apply", "--yes", "--prune", "--force", inv)
    assert forced.exit_code == 0, forced.output
    assert len(emulator.aliases()) == 6


def test_delete_limit_is_not_diluted_by_aliases_outside_prune_only(run, emulator, tmp_path):
    emulator.seed([v3(f"other{i}", f"10.0.3.{i}") for i in range(80)]
                  + [v3(f"ims-{i}", f"10.0.4.{i}") for i in range(20)])
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: ims-0, ip: 10.0.4.0, port: 5060}\n"
                          "prune: {enabled: true, only: {alias_regex: '^ims-'}}\n")
    before = state(emulator)
    result = run("apply", "--yes", inv)
    assert result.exit_code == 3, result.output
    assert ("95.00% of the aliases prune may touch (inside prune.only, owned) would be deleted,"
            " over the 30.00% limit (19/20)") in result.output
    assert state(emulator) == before


def test_prune_from_empty_inventory_is_refused(run, emulator, tmp_path):
    emulator.seed([v3("a-host", "10.0.2.1")])
    inv = write(tmp_path, "version: 1\naliases: []\nprune: {enabled: true}\n")
    result = run("apply", "--yes", inv)
    # an empty aliases list is an inventory error, before any request
    assert result.exit_code == 1
    assert len(emulator.aliases()) == 1


def test_invalid_inventory_sends_no_request(run, emulator, tmp_path):
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: x1, ip: 10.0.0.1/24, captureId: 7}\n  - {alias: '', ip: "
                          "300.1.1.1}\n")
    result = run("apply", "--yes", inv)
    assert result.exit_code == 1
    assert "inv.yaml:3" in result.output and "inv.yaml:4" in result.output
    assert emulator.request_log == []


def test_non_admin_apply_fails_before_any_write(run, emulator, tmp_path):
    emulator.add_user("viewer", "viewer-pass", admin=False)
    inv = write(tmp_path, INVENTORY)
    result = run("apply", "--yes", inv, extra_env={"HOMER_USERNAME": "viewer", "HOMER_PASSWORD": "viewer-pass"})
    assert result.exit_code == 1
    assert "not an administrator" in result.output
    assert emulator.aliases() == []
    assert emulator.request_log
    assert all(method in ("GET", "POST") and path != ALIAS_PATH[emulator.api] or method == "GET" for method, path,
               _ in emulator.request_log)


def test_token_can_plan_but_apply_is_refused_clearly(run, emulator, tmp_path):
    # A user-rights token: HOMER 7 creates only those; on v4 tokens carry their own admin
    # flag (an admin token applies there, see test_v4_e2e.py).
    token = emulator.add_token()
    inv = write(tmp_path, INVENTORY)
    env = {"HOMER_USERNAME": "", "HOMER_PASSWORD": "", "HOMER_TOKEN": token}
    planned = run("plan", inv, extra_env=env)
    assert planned.exit_code == 0, planned.output
    assert token not in planned.output
    applied = run("apply", "--yes", inv, extra_env=env)
    assert applied.exit_code == 1
    assert "token" in applied.output.lower() and "admin" in applied.output.lower()
    assert token not in applied.output
    assert emulator.aliases() == []


def test_backup_restores_previous_state(run, emulator, tmp_path):
    emulator.seed([v3("alpha", "10.0.3.1"), v3("beta", "10.0.3.2", port=0), v3("gamma", "2001:db8::5", mask=128,
                                                                               capture="CAP7", status=False)])
    original = state(emulator)
    inv = write(tmp_path, "version: 1\naliases:\n  - {alias: renamed, ip: 10.0.3.1, port: 5060}\n")
    result = run("apply", "--yes", "--prune", "--force", inv)
    assert result.exit_code == 0, result.output
    assert state(emulator) != original
    backup = next((tmp_path / "state" / "homer-sync" / "backups").glob("*.yaml"))
    restored = run("apply", "--yes", "--prune", "--force", str(backup))
    assert restored.exit_code == 0, restored.output
    assert state(emulator) == original


def test_export_then_apply_prune_is_a_no_op(run, emulator, tmp_path):
    emulator.seed([v3("alpha", "10.0.3.1"), v3("net", "10.0.4.0", mask=24, port=0),
                   v3("v6", "2001:db8::1", mask=128, capture="CAP101", status=False)])
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    inv = write(tmp_path, exported.output, "exported.yaml")
    planned = run("plan", "--prune", "--detailed-exitcode", inv)
    assert planned.exit_code == 0, planned.output


def test_saved_plan_applies_and_stale_plan_is_refused(run, emulator, tmp_path):
    inv = write(tmp_path, INVENTORY)
    plan_file = str(tmp_path / "reviewed.plan")
    assert run("plan", inv, "--save", plan_file).exit_code == 0
    emulator.seed([v3("sneaked-in", "10.0.9.9")])
    stale = run("apply", "--yes", "--plan", plan_file)
    assert stale.exit_code == 1
    assert "changed since" in stale.output
    assert [a["alias"] for a in emulator.aliases()] == ["sneaked-in"]

    assert run("plan", inv, "--save", plan_file).exit_code == 0
    applied = run("apply", "--yes", "--plan", plan_file)
    assert applied.exit_code == 0, applied.output
    assert len(emulator.aliases()) == 5


def test_usage_errors_exit_64(run, tmp_path):
    assert run("plan").exit_code == 64
    assert run("apply", "--bogus").exit_code == 64
    assert run("nosuchcommand").exit_code == 64


def test_apply_without_yes_and_no_terminal_is_refused(run, emulator, tmp_path):
    inv = write(tmp_path, INVENTORY)
    result = run("apply", inv)
    assert result.exit_code == 64
    assert "--yes" in result.output
    assert emulator.aliases() == []


def test_check_reports_version_count_and_admin(run, emulator):
    emulator.seed([v3("alpha", "10.0.3.1")])
    result = run("check", "--output", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info == {"server": emulator.url, "api": emulator.api, "auth": "password", "admin": True, "aliases": 1}
    plain = run("check")
    assert plain.exit_code == 0, plain.output
    assert f"api:     {emulator.api}" in plain.output


def test_wrong_password_is_a_clear_error(run, emulator, tmp_path):
    result = run("check", extra_env={"HOMER_PASSWORD": "definitely-wrong"})
    assert result.exit_code == 1
    assert "definitely-wrong" not in result.output
    assert "admin" in result.output


def test_json_plan_output_schema(run, emulator, tmp_path):
    emulator.seed([v3("old", "10.0.1.10")])
    inv = write(tmp_path, INVENTORY)
    result = run("plan", inv, "--output", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["schema_version"] == 1
    assert doc["summary"]["create"] == 3 and doc["summary"]["update"] == 1
    update = next(c for c in doc["changes"] if c["action"] == "update")
    assert update["before"]["alias"] == "old" and update["after"]["alias"] == "pcscf01"


def test_owner_on_v3_is_a_clear_error(run, emulator, tmp_path):
    inv = write(tmp_path,
                "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10}\nprune:\n  enabled: true\n  owner: ci\n")
    result = run("plan", inv)
    if emulator.api == "v4":
        # v4 aliases have tags, so the same inventory is accepted there (see test_v4_e2e.py).
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert "owner" in result.output and "v3" in result.output
    assert "tags" in result.output
    assert [(m, p) for m, p, _ in emulator.request_log] == [("POST", "/api/v3/auth")]  # refused before listing
