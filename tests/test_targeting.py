"""--only-network / --only-name / --only-capture-id: a partial plan. The engine (pure), the
wording, and the CLI against the emulator: exact output, --detailed-exitcode, apply, usage errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from homer_sync.inventory import ProtectConfig, load_inventory
from homer_sync.model import Alias
from homer_sync.plan import Create, LeftAlone, LeftAloneReason, Plan, SafetyLimits, Target, Update, build_plan
from homer_sync.render import summary_line

R = LeftAloneReason
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def A(ip, name="h", *, mask=32, port=5060, capture="0", guid=None):
    return Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, guid=guid)


# -- the engine -------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, alias, matches", [
    (Target(networks=("10.0.2.0/24",)), A("10.0.2.7"), True),
    (Target(networks=("10.0.2.0/24",)), A("10.0.2.0", mask=16), False),  # a wider prefix is not inside
    (Target(networks=("10.0.2.0/24", "10.0.3.0/24")), A("10.0.3.1"), True),  # one option: alternatives
    (Target(names=("^sbc",)), A("10.9.9.9", "sbc-a"), True),
    (Target(names=("^sbc",)), A("10.9.9.9", "my-sbc"), False),
    (Target(capture_ids=(101,)), A("10.0.0.1", capture="101"), True),  # normalised like the inventory's
    (Target(networks=("10.0.2.0/24",), names=("^sbc",)), A("10.0.2.1", "pcscf"), False),  # options: all
    (Target(networks=("10.0.2.0/24",), names=("^sbc",)), A("10.0.2.1", "sbc"), True),
    (Target(networks=("10.0.2.0/24",)), A("junk"), False),
])
def test_what_a_target_matches(target, alias, matches):
    assert target.matches(alias) is matches


def test_changes_outside_the_target_are_left_alone_with_the_change_withheld():
    desired = [A("10.0.2.1", "sbc-a"), A("10.0.1.1", "pcscf"), A("10.0.2.9", "sbc-new")]
    existing = [A("10.0.2.1", "sbc", guid="g1"), A("10.0.1.1", "old-pcscf", guid="g2"), A("10.0.7.7", "x", guid="g3")]
    plan = build_plan(desired, existing, prune=True, target=Target(names=("^sbc",)))
    # the update renames sbc -> sbc-a (matched before and after), the create is sbc-new
    assert [c.action for c in plan.changes] == ["create", "update"]
    assert plan.left_alone == (
        LeftAlone(existing[1], R.NOT_TARGETED, Update(before=existing[1], after=A("10.0.1.1", "pcscf", guid="g2"))),
        LeftAlone(existing[2], R.NOT_TARGETED, plan.not_targeted[1]),
    )
    assert [c.action for c in plan.not_targeted] == ["update", "delete"]
    assert plan.partial
    assert summary_line(plan) == "Partial plan (--only-*): 1 to create, 1 to update, 0 to delete, 0 unchanged, " \
                                 "2 not targeted."


def test_a_rename_is_targeted_by_its_old_or_its_new_name():
    existing = [A("10.0.2.1", "old", guid="g1")]
    for pattern in ("^old$", "^new$"):
        plan = build_plan([A("10.0.2.1", "new")], existing, target=Target(names=(pattern,)))
        assert [c.action for c in plan.changes] == ["update"]


def test_a_not_targeted_create_is_listed_under_its_new_alias():
    plan = build_plan([A("10.0.5.5", "new")], [], target=Target(names=("^sbc",)))
    assert plan.left_alone == (LeftAlone(A("10.0.5.5", "new"), R.NOT_TARGETED, Create(after=A("10.0.5.5", "new"))),)
    assert summary_line(plan) == "No changes in the target (partial plan): 0 unchanged, 1 not targeted."


def test_protection_wins_over_targeting():
    server = A("10.0.2.1", "noc-sbc", guid="g1")
    plan = build_plan([A("10.0.2.1", "sbc")], [server], protect=ProtectConfig(alias_regexes=("^noc-",)),
                      target=Target(names=("^xyz",)))
    assert [(item.reason, item.withheld.action) for item in plan.left_alone] == [(R.PROTECTED, "update")]


def test_the_safety_limits_count_against_the_whole_scope_not_the_target():
    # 20 aliases; the 3 inside 10.0.9.0/24 are to be deleted: 100 % of the target, 15 % of all -> allowed
    existing = [A(f"10.0.1.{i}", f"keep{i}", guid=f"k{i}") for i in range(17)]
    existing += [A(f"10.0.9.{i}", f"gone{i}", guid=f"g{i}") for i in range(3)]
    desired = [A(a.ip, a.name) for a in existing[:17]]
    plan = build_plan(desired, existing, prune=True, target=Target(networks=("10.0.9.0/24",)))
    assert len(plan.deletes) == 3 and plan.unsafe_reasons(SafetyLimits()) == []
    # and 7 deletes of 20 are refused, targeted or not: 35 % of every existing alias
    plan = build_plan(desired[:13], existing, prune=True, target=Target(networks=("10.0.0.0/8",)))
    assert plan.unsafe_reasons(SafetyLimits()) == [
        "35.00% of existing aliases would be deleted, over the 30.00% limit (7/20)"]


def test_a_saved_partial_plan_keeps_its_target():
    plan = build_plan([A("10.0.2.1", "sbc")], [A("10.0.7.7", "x", guid="g1")], prune=True,
                      target=Target(networks=("10.0.2.0/24",), names=("^sbc",), capture_ids=("0",)))
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["target"] == {"networks": ["10.0.2.0/24"], "names": ["^sbc"], "capture_ids": ["0"]}
    again = Plan.from_dict(data)
    assert again == plan and again.partial


@pytest.mark.parametrize("target, message", [
    ([], "invalid plan file: 'target' has the wrong type"),
    ({"networks": ["10.0.0.1/8"], "names": [], "capture_ids": []},
     "invalid plan file: target: 10.0.0.1/8 has host bits set"),
    ({"networks": [], "names": ["("], "capture_ids": []},
     "invalid plan file: target: missing ), unterminated subpattern at position 0"),
    ({"networks": [], "capture_ids": []}, "invalid plan file: target: 'names' is missing"),
])
def test_a_broken_target_in_a_saved_plan_is_one_clear_error(target, message):
    from homer_sync.errors import HomerSyncError

    data = build_plan([], []).to_dict()
    data["target"] = target
    with pytest.raises(HomerSyncError) as caught:
        Plan.from_dict(data)
    assert str(caught.value) == message


# -- the CLI ----------------------------------------------------------------------------------------


EXTRA = [
    {"alias": "bgcf01", "ip": "10.0.3.10", "port": 5070, "mask": 32, "captureID": "0", "status": True},
    {"alias": "mrf-01", "ip": "10.0.4.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "lab-phone", "ip": "198.51.100.50", "port": 0, "mask": 32, "captureID": "0", "status": True},
]


@pytest.fixture
def story(emulator, tmp_path):
    inventory = tmp_path / "inventory.yaml"
    shutil.copy(ROOT / "inventory.example.yaml", inventory)
    emulator.seed([{"alias": a.name, "ip": a.ip, "port": a.port, "mask": a.mask, "captureID": a.capture_id,
                    "status": a.status} for a in load_inventory([str(inventory)]).aliases if a.name != "bgcf01"]
                  + EXTRA)
    return str(inventory)


def readme_text_block(containing: str) -> str:
    return next(b for b in re.findall(r"```text\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
                if containing in b)


def test_the_readme_shows_the_real_partial_plan_and_drift_line(cli_run, emulator, story):
    result = cli_run("plan", "--prune", story, "--only-name", "^bgcf", "--detailed-exitcode", emulator=emulator)
    assert result.exit_code == 2, result.output
    assert result.stdout.replace(emulator.url, "https://homer.example.net") == readme_text_block("Partial plan")
    assert result.stderr == readme_text_block("Drift outside the target")


def test_detailed_exitcode_is_0_when_the_target_is_done_and_still_reports_the_drift(cli_run, emulator, story):
    result = cli_run("plan", story, "--only-network", "10.0.1.0/24", "--detailed-exitcode", emulator=emulator)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "No changes in the target (partial plan): 14 unchanged, 3 undeclared kept, 1 not targeted.")
    assert result.stderr == ("Drift outside the target: 1 change not targeted (1 to create); the exit code counts "
                             "only the changes matching --only-network 10.0.1.0/24\n")
    full = cli_run("plan", story, "--detailed-exitcode", emulator=emulator)
    assert full.exit_code == 2 and full.stderr == ""


def test_no_drift_line_without_changes_outside_the_target(cli_run, emulator, story):
    result = cli_run("plan", story, "--only-capture-id", "0", "--only-network", "10.0.3.0/24", "--detailed-exitcode",
                     emulator=emulator)
    assert result.exit_code == 2 and result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("Partial plan (--only-*): 1 to create,")


def test_apply_makes_only_the_targeted_changes_and_verifies(cli_run, emulator, story):
    result = cli_run("apply", "--yes", "--prune", story, "--only-name", "^mrf", emulator=emulator)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 created, 0 updated, 1 deleted; verified." in result.stdout
    names = {(a["alias"], a["port"]) for a in emulator.aliases()}
    assert ("mrf-01", 5060) not in names
    assert ("bgcf01", 5070) in names and ("bgcf01", 5060) not in names  # not targeted: nothing done


def test_a_saved_partial_plan_is_applied_as_it_was_made(cli_run, emulator, story, tmp_path):
    saved = tmp_path / "partial.plan"
    planned = cli_run("plan", "--prune", story, "--only-name", "^bgcf", "--save", saved, emulator=emulator)
    assert planned.exit_code == 0, planned.output
    applied = cli_run("apply", "--yes", "--plan", saved, emulator=emulator)
    assert applied.exit_code == 0, applied.output
    assert "Partial plan (--only-*): 1 to create, 0 to update, 1 to delete" in applied.stdout
    names = {(a["alias"], a["port"]) for a in emulator.aliases()}
    assert ("bgcf01", 5060) in names and ("bgcf01", 5070) not in names and ("mrf-01", 5060) in names


@pytest.mark.parametrize("args, message", [
    (["plan", "INV", "--only-network", "10.0.3.1/24"],
     "Error: Invalid value for '--only-network': '10.0.3.1/24' has host bits set; use 10.0.3.0/24 or 10.0.3.1/32"),
    (["plan", "INV", "--only-network", "sbc"],
     "Error: Invalid value for '--only-network': 'sbc' is not a valid IP address or CIDR"),
    (["apply", "--yes", "INV", "--only-name", "("],
     "Error: Invalid value for '--only-name': '(' does not compile: missing ), unterminated subpattern at position 0"),
    (["apply", "--yes", "--plan", "PLAN", "--only-name", "^sbc"],
     "Error: --only-network, --only-name and --only-capture-id have no effect with --plan: the saved plan already "
     "says what to change (give them to plan)"),
])
def test_usage_errors_exit_64_before_any_request(cli_run, emulator, story, tmp_path, args, message):
    saved = tmp_path / "x.plan"
    saved.write_text("{}")
    result = cli_run(*[story if a == "INV" else saved if a == "PLAN" else a for a in args], emulator=emulator)
    assert result.exit_code == 64
    assert result.stderr.splitlines()[-1] == message
    assert emulator.request_log == []


def test_help_shows_an_example(cli_run):
    assert "--only-network 10.0.2.0/24 --only-name '^sbc' --detailed-exitcode" in cli_run("plan", "--help").stdout
    assert "--only-name '^sbc-standby$'" in cli_run("apply", "--help").stdout
