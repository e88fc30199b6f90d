"""apply --plan trusts nothing safety-relevant in the file: each change is checked against the
live alias list, the counts are derived again, and the limits come from the run (a file may only lower them).

Every test edits a reviewed plan file as someone with write access to it could, keeping the
state checksum valid, and expects exit 1 (or 3 for the limits), "nothing was written", and
not one write request to HOMER. Both API modes.
"""

from __future__ import annotations

import json

import pytest

ALIAS_PATH = {"v3": "/api/v3/alias", "v4": "/api/v4/aliases"}

INVENTORY = """\
version: 1
prune:
  enabled: true
aliases:
""" + "".join(f"  - {{alias: a{i}, ip: 10.0.1.{i}, port: 5060}}\n" for i in range(1, 11)) + """\
  - {alias: dupA, ip: 10.0.2.1, port: 5060}
  - {alias: new-name, ip: 10.0.3.1, port: 5060}
  - {alias: created, ip: 10.0.4.1, port: 5060}
"""


def seed(emulator) -> dict[str, str]:
    """14 aliases: a1..a10 unchanged, dupA kept and dupB its duplicate, one renamed, one stale."""
    rows = [{"alias": f"a{i}", "ip": f"10.0.1.{i}", "port": 5060} for i in range(1, 11)]
    rows += [
        {"alias": "dupA", "ip": "10.0.2.1", "port": 5060, "guid": "00000000-0000-4000-8000-00000000000a"},
        {"alias": "dupB", "ip": "10.0.2.1", "port": 5060, "guid": "00000000-0000-4000-8000-00000000000b"},
        {"alias": "old-name", "ip": "10.0.3.1", "port": 5060, "tag1": "team-a"},
        {"alias": "stale", "ip": "10.0.9.9", "port": 5060},
    ]
    guids = emulator.seed(rows)
    return {row["alias"]: guid for row, guid in zip(rows, guids, strict=True)}


@pytest.fixture
def reviewed(cli_run, any_emulator, tmp_path):
    """(plan file path, its JSON, guids by name): a plan made and saved as an operator would."""
    guids = seed(any_emulator)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    plan_file = tmp_path / "reviewed.plan"
    made = cli_run("plan", inventory, "--save", plan_file, emulator=any_emulator)
    assert made.exit_code == 0, made.output
    data = json.loads(plan_file.read_text())
    assert data["summary"] == {"create": 1, "update": 1, "delete": 2, "unchanged": 11, "existing": 14,
                               "desired": 13}
    return plan_file, data, guids


def change(data, action, name):
    return next(c for c in data["changes"] if c["action"] == action and (c["after"] or c["before"])["alias"] == name)


def writes(emulator) -> list:
    path = ALIAS_PATH[emulator.api]
    return [(method, p) for method, p, _ in emulator.request_log
            if method in ("PUT", "DELETE") or (method == "POST" and p.startswith(path))]


def apply_tampered(cli_run, emulator, plan_file, data, *extra):
    plan_file.write_text(json.dumps(data))
    before = emulator.aliases()
    emulator.reset_stats()
    result = cli_run("apply", "--yes", "--plan", plan_file, *extra, emulator=emulator)
    assert emulator.aliases() == before
    assert writes(emulator) == []
    return result


def test_an_untampered_plan_applies(cli_run, any_emulator, reviewed):
    plan_file, _, _ = reviewed
    result = cli_run("apply", "--yes", "--plan", plan_file, emulator=any_emulator)
    assert result.exit_code == 0, result.output
    names = sorted(a["alias"] for a in any_emulator.aliases())
    assert names == sorted([f"a{i}" for i in range(1, 11)] + ["dupA", "new-name", "created"])


def _guid_of_another_alias(data, guids):
    change(data, "delete", "stale")["before"]["guid"] = guids["a1"]


def _before_name(data, guids):
    change(data, "update", "new-name")["before"]["alias"] = "reviewed-name"


def _before_tags(data, guids):
    change(data, "update", "new-name")["before"]["extra"] = {"tag1": "team-b"}


def _duplicate_of_a_missing_alias(data, guids):
    stale = change(data, "delete", "stale")
    stale["kind"] = "duplicate"
    stale["kept"] = {**stale["before"], "guid": "00000000-0000-4000-8000-0000000000ff", "alias": "ghost"}


def _duplicate_of_another_address(data, guids):
    stale = change(data, "delete", "stale")
    stale["kind"] = "duplicate"
    stale["kept"] = {"alias": "a1", "ip": "10.0.1.1", "mask": 32, "port": 5060, "capture_id": "0", "status": True,
                     "guid": guids["a1"]}


def _duplicate_of_itself(data, guids):
    stale = change(data, "delete", "stale")
    stale["kind"] = "duplicate"
    stale["kept"] = dict(stale["before"])


def _kept_deleted_too(data, guids):
    dup_b = change(data, "delete", "dupB")
    dup_a = {**dup_b, "before": dup_b["kept"], "kept": dup_b["before"]}
    data["changes"].append(dup_a)
    data["summary"]["delete"] += 1
    data["summary"]["unchanged"] -= 1
    data["summary"]["desired"] -= 1


def _one_more_unchanged(data, guids):
    data["summary"]["unchanged"] += 1
    data["summary"]["desired"] += 1


def _desired_does_not_add_up(data, guids):
    data["summary"]["desired"] = 0


def _create_already_there(data, guids):
    data["changes"].append({"action": "create", "reason": "", "before": None,
                            "after": {"alias": "other", "ip": "10.0.1.1", "mask": 32, "port": 5060,
                                      "capture_id": "0", "status": True}})
    data["summary"]["create"] += 1
    data["summary"]["desired"] += 1


def _undeclared_delete_without_prune(data, guids):
    data["prune"] = False


def _prunable_over_the_server(data, guids):
    data["prunable"] = 1000


def _two_changes_of_one_guid(data, guids):
    update = change(data, "update", "new-name")
    data["changes"].append({"action": "delete", "reason": "", "before": update["before"], "after": None,
                            "kind": "undeclared"})
    data["summary"]["delete"] += 1


def _no_server(data, guids):
    del data["server"]


def _server_not_text(data, guids):
    data["server"] = 5


@pytest.mark.parametrize("tamper, message", [
    (_no_server, "does not name the server it was made for"),
    (_server_not_text, "does not name the server it was made for"),
    (_guid_of_another_alias, "is 10.0.1.1/32 port 5060 capture 0 'a1'"),
    (_before_name, "'old-name'"),
    (_before_tags, "not what the file says (before)"),
    (_duplicate_of_a_missing_alias, "(kept) is not on the server"),
    (_duplicate_of_another_address, "which has another address"),
    (_duplicate_of_itself, "cannot be both kept and deleted"),
    (_kept_deleted_too, "is deleted by the same plan"),
    (_one_more_unchanged, "12 aliases are unchanged, but only 11"),
    (_desired_does_not_add_up, "the inventory declares 0 aliases"),
    (_create_already_there, "already on the server"),
    (_undeclared_delete_without_prune, "the plan does not prune"),
    (_prunable_over_the_server, "prune may touch 1000 aliases"),
    (_two_changes_of_one_guid, "is also changed by"),
])
def test_a_tampered_plan_is_refused_and_nothing_is_written(cli_run, any_emulator, reviewed, tamper, message):
    plan_file, data, guids = reviewed
    tamper(data, guids)
    result = apply_tampered(cli_run, any_emulator, plan_file, data)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "nothing was written" in result.output
    assert "Traceback" not in result.output


def test_a_summary_that_disagrees_with_the_changes_is_refused(cli_run, any_emulator, reviewed):
    plan_file, data, _ = reviewed
    data["summary"]["delete"] = 1
    result = apply_tampered(cli_run, any_emulator, plan_file, data)
    assert result.exit_code == 1, result.output
    assert "summary says 1 to delete but the plan lists 2" in result.output
    assert "nothing was written" in result.output


def _delete_many(data, guids, count=6):
    """Deletes of ``count`` live aliases (their exact before): with 6, 7/14 = 50 % undeclared deletes."""
    for i in range(1, count + 1):
        data["changes"].append({"action": "delete", "reason": "", "after": None, "kind": "undeclared", "before": {
            "alias": f"a{i}", "ip": f"10.0.1.{i}", "mask": 32, "port": 5060, "capture_id": "0", "status": True,
            "guid": guids[f"a{i}"]}})
    data["summary"]["delete"] += count
    data["summary"]["unchanged"] -= count
    data["summary"]["desired"] -= count


def test_limits_written_into_the_file_are_ignored(cli_run, any_emulator, reviewed):
    plan_file, data, guids = reviewed
    _delete_many(data, guids)
    data["limits"] = {"max_delete_percent": 100.0, "max_update_percent": 100.0, "min_existing": 1000}
    result = apply_tampered(cli_run, any_emulator, plan_file, data)
    assert result.exit_code == 3, result.output
    assert "50.00% of existing aliases would be deleted, over the 30.00% limit (7/14)" in result.output


def test_the_limits_of_apply_plan_are_its_own_flags(cli_run, any_emulator, reviewed):
    plan_file, data, guids = reviewed
    _delete_many(data, guids)
    plan_file.write_text(json.dumps(data))
    result = cli_run("apply", "--yes", "--plan", plan_file, "--max-delete-percent", "50", emulator=any_emulator)
    assert result.exit_code == 0, result.output
    assert sorted(a["alias"] for a in any_emulator.aliases()) == sorted(
        [f"a{i}" for i in range(7, 11)] + ["dupA", "new-name", "created"])


def test_limit_flags_need_a_saved_plan(cli_run, tmp_path):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    result = cli_run("apply", "--yes", inventory, "--max-delete-percent", "50",
                     env={"HOMER_URL": "http://127.0.0.1:9", "HOMER_TOKEN": "t"})
    assert result.exit_code == 64
    assert "go with --plan" in result.output


def test_a_file_can_lower_the_limits_it_was_made_with_but_never_raise_them():
    from homer_sync.sync import saved_plan_limits

    no_flags = {"max_delete_percent": None, "max_update_percent": None}
    assert saved_plan_limits({"max_delete_percent": 5.0, "max_update_percent": 80.0}, no_flags) == {
        "max_delete_percent": 5.0, "max_update_percent": 30.0}
    for broken in (None, [], {"max_delete_percent": "100"}, {"max_delete_percent": True},
                   {"max_delete_percent": 1e9}, {"max_delete_percent": -1}):
        assert saved_plan_limits(broken, no_flags) == {"max_delete_percent": 30.0, "max_update_percent": 30.0}
    flags = {"max_delete_percent": 50.0, "max_update_percent": None}
    assert saved_plan_limits({"max_delete_percent": 5.0}, flags)["max_delete_percent"] == 50.0


def test_a_plan_made_with_a_lower_limit_keeps_it_when_applied(cli_run, any_emulator, tmp_path):
    """An inventory that asked for 20 % of deletes: a file edited to delete 4 of 14 (29 %, under the
    30 % default) is still refused, because the plan was made with 20 %."""
    guids = seed(any_emulator)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY.replace("  enabled: true\n", "  enabled: true\n  max_delete_percent: 20\n"))
    plan_file = tmp_path / "reviewed.plan"
    made = cli_run("plan", inventory, "--out", plan_file, emulator=any_emulator)
    assert made.exit_code == 0, made.output
    data = json.loads(plan_file.read_text())
    assert data["limits"]["max_delete_percent"] == 20
    _delete_many(data, guids, count=3)
    result = apply_tampered(cli_run, any_emulator, plan_file, data)
    assert result.exit_code == 3, result.output
    assert "28.57% of existing aliases would be deleted, over the 20.00% limit (4/14)" in result.output
