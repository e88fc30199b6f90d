"""What a plan leaves alone on the server, and why (plan.left_alone), and replacements: pure
plan tests, then the exact text of each output format (render.py)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest

from homer_sync.errors import HomerSyncError
from homer_sync.inventory import PruneConfig
from homer_sync.model import Alias
from homer_sync.plan import (
    Create,
    Delete,
    DeleteKind,
    LeftAlone,
    LeftAloneReason,
    Plan,
    Replacement,
    Update,
    build_plan,
)
from homer_sync.render import left_alone_text, render_plan, summary_line

R = LeftAloneReason


def A(ip, name="h", *, mask=32, port=5060, capture="0", status=True, guid=None, extra=()):
    return Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, status=status, guid=guid,
                 extra=tuple(sorted(dict(extra).items())))


def render(plan, fmt, **kwargs):
    stream = io.StringIO()
    render_plan(plan, stream, fmt=fmt, **kwargs)
    return stream.getvalue()


# The story: mrf-01 removed from the inventory, hss-02 moved from port 3868 to 3869.
DESIRED = [A("10.0.1.10", "pcscf01"), A("10.0.5.2", "hss-02", port=3869), A("10.0.1.20", "scscf01")]
EXISTING = [A("10.0.1.10", "pcscf01", guid="g1"), A("10.0.5.2", "hss-02", port=3868, guid="g2"),
            A("10.0.9.1", "mrf-01", port=0, guid="g3"), A("10.0.1.20", "old", guid="g4")]


# -- the plan: who is left alone, and why ------------------------------------------------------------


def test_without_prune_every_undeclared_alias_is_left_alone_and_counted():
    plan = build_plan(DESIRED, EXISTING)
    assert plan.left_alone == (LeftAlone(EXISTING[1], R.UNDECLARED), LeftAlone(EXISTING[2], R.UNDECLARED))
    assert plan.left_alone_counts == {R.UNDECLARED: 2}
    assert plan.deletes == ()
    # the port change is a create beside the old alias, which stays: a replacement without a delete
    assert plan.replacements == (Replacement(Create(after=DESIRED[1]), EXISTING[1], None),)
    assert plan.replacements[0].reason == "port 3868 -> 3869"


def test_with_prune_the_old_alias_of_a_replacement_is_deleted_and_paired():
    plan = build_plan(DESIRED, EXISTING, prune=True)
    assert plan.left_alone == ()
    old_delete = Delete(before=EXISTING[1], kind=DeleteKind.UNDECLARED)
    assert old_delete in plan.deletes
    assert plan.replacements == (Replacement(Create(after=DESIRED[1]), EXISTING[1], old_delete),)


def test_prune_only_owns_and_owner_each_name_their_reason():
    owns = PruneConfig(networks=("10.1.0.0/16",))
    scope = PruneConfig(networks=("10.0.0.0/8",), owned=(owns,))
    existing = [
        A("192.0.2.1", "outside-only", guid="g1"),
        A("10.2.0.1", "outside-owns", guid="g2"),
        A("10.1.0.1", "unmarked", guid="g3"),
        A("10.1.0.2", "ours", guid="g4", extra={"tag4": "ci"}),
    ]
    plan = build_plan([], existing, prune=True, scope=scope, owner="ci", owner_tag="tag4")
    assert [(item.alias.name, item.reason) for item in plan.left_alone] == [
        ("outside-only", R.OUTSIDE_PRUNE_SCOPE), ("outside-owns", R.OUTSIDE_SOURCE_SCOPE),
        ("unmarked", R.NOT_OWNED)]
    assert [d.before.name for d in plan.deletes] == ["ours"]


def test_a_scope_with_only_in_scope_is_named_prune_scope():
    @dataclass(frozen=True)
    class CaptureScope:
        def in_scope(self, alias):
            return alias.capture_id == "0"

    plan = build_plan([], [A("10.0.0.1", capture="9", guid="g1")], prune=True, scope=CaptureScope())
    assert plan.left_alone == (LeftAlone(A("10.0.0.1", capture="9", guid="g1"), R.OUTSIDE_PRUNE_SCOPE),)


def test_junk_a_scope_cannot_judge_is_left_alone_as_outside_the_scope():
    junk = A("not-an-ip", "junk", guid="g1")
    plan = build_plan([], [junk], prune=True, scope=PruneConfig(networks=("10.0.0.0/8",)))
    assert plan.left_alone == (LeftAlone(junk, R.OUTSIDE_PRUNE_SCOPE),)


def test_every_duplicate_of_an_undeclared_identity_is_listed():
    copies = [A("10.0.0.9", "x", guid="g1"), A("10.0.0.9", "x", guid="g2")]
    plan = build_plan([], copies)
    assert [item.alias.guid for item in plan.left_alone] == ["g1", "g2"]


def test_left_alone_is_sorted_by_reason_then_address():
    existing = [A("10.0.0.3", "c", guid="g3"), A("10.0.0.1", "a", capture="9", guid="g1"),
                A("10.0.0.2", "b", guid="g2")]
    plan = build_plan([], existing, prune=True, scope=PruneConfig(capture_ids=("9",)))
    assert [item.alias.name for item in plan.left_alone] == ["b", "c"]
    plan = build_plan([], existing)
    assert [item.alias.name for item in plan.left_alone] == ["a", "b", "c"]


# -- replacements: the pairing rule -------------------------------------------------------------------


def test_a_capture_id_change_of_a_multi_port_entry_pairs_by_port():
    desired = [A("10.0.0.1", "sbc", port=5060, capture="2"), A("10.0.0.1", "sbc", port=5061, capture="2")]
    existing = [A("10.0.0.1", "sbc", port=5060, capture="1", guid="g1"),
                A("10.0.0.1", "sbc", port=5061, capture="1", guid="g2")]
    plan = build_plan(desired, existing, prune=True)
    assert [(p.old.guid, p.new.after.port, p.reason) for p in plan.replacements] == [
        ("g1", 5060, "capture 1 -> 2"), ("g2", 5061, "capture 1 -> 2")]


def test_a_port_change_of_entries_with_several_capture_ids_pairs_by_capture_id():
    desired = [A("10.0.0.1", "sbc", port=5070, capture="1"), A("10.0.0.1", "sbc", port=5070, capture="2")]
    existing = [A("10.0.0.1", "sbc", port=5060, capture="1", guid="g1"),
                A("10.0.0.1", "sbc", port=5060, capture="2", guid="g2")]
    plan = build_plan(desired, existing)
    assert [(p.old.guid, p.new.after.capture_id) for p in plan.replacements] == [("g1", "1"), ("g2", "2")]


def test_port_and_capture_id_both_changed_pair_when_they_are_the_only_candidates():
    plan = build_plan([A("10.0.0.1", "sbc", port=5070, capture="2")], [A("10.0.0.1", "sbc", guid="g1")])
    assert plan.replacements[0].reason == "port 5060 -> 5070, capture 0 -> 2"


def test_ambiguous_candidates_are_not_paired():
    # two new ports for one old one: which is its successor cannot be told
    desired = [A("10.0.0.1", "sbc", port=5070), A("10.0.0.1", "sbc", port=5071)]
    plan = build_plan(desired, [A("10.0.0.1", "sbc", guid="g1")], prune=True)
    assert plan.replacements == ()


@pytest.mark.parametrize("old", [A("10.0.0.1", "other-name", guid="g1"), A("10.0.0.2", "sbc", guid="g1"),
                                 A("10.0.0.0", "sbc", mask=24, guid="g1")])
def test_another_name_ip_or_mask_is_no_replacement(old):
    assert build_plan([A("10.0.0.1", "sbc", port=5070)], [old], prune=True).replacements == ()


# -- saved plans keep what is left alone --------------------------------------------------------------


def test_saved_plan_round_trips_left_alone_and_marks_replacements():
    plan = build_plan(DESIRED, EXISTING)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["left_alone"]["counts"] == {"undeclared": 2}
    assert [item["alias"]["alias"] for item in data["left_alone"]["aliases"]] == ["hss-02", "mrf-01"]
    create = next(c for c in data["changes"] if c["action"] == "create")
    assert create["replaces"]["guid"] == "g2"
    again = Plan.from_dict(data)
    assert again == plan and again.to_dict() == data


def test_a_plan_saved_without_left_alone_still_loads():
    data = build_plan(DESIRED, EXISTING).to_dict()
    del data["left_alone"]
    assert Plan.from_dict(data).left_alone == ()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(left_alone=[]), "invalid plan file: 'left_alone' has the wrong type"),
    (lambda d: d["left_alone"].pop("aliases"), "invalid plan file: left_alone: 'aliases' is missing"),
    (lambda d: d["left_alone"]["aliases"][0].update(reason="bored"),
     "invalid plan file: left_alone.aliases[0]: unknown reason 'bored'"),
    (lambda d: d["left_alone"]["aliases"][0]["alias"].pop("ip"),
     "invalid plan file: left_alone.aliases[0].alias: 'ip' is missing"),
])
def test_a_broken_left_alone_section_is_one_clear_error(mutate, message):
    data = json.loads(json.dumps(build_plan(DESIRED, EXISTING).to_dict()))
    mutate(data)
    with pytest.raises(HomerSyncError) as caught:
        Plan.from_dict(data)
    assert str(caught.value) == message


# -- output -----------------------------------------------------------------------------------------


def test_plain_lists_what_is_left_alone_and_says_it_in_the_summary():
    assert render(build_plan(DESIRED, EXISTING), "plain") == (
        "create  10.0.5.2/32   port 3869  capture 0  hss-02  # port 3868 -> 3869, old alias kept\n"
        "update  10.0.1.20/32  port 5060  capture 0  old -> scscf01\n"
        "Left alone on the server: 2 aliases\n"
        "  not declared: kept (use --prune): 2\n"
        "    10.0.5.2/32  port 3868  capture 0  hss-02  # old alias, replaced by port 3869\n"
        "    10.0.9.1/32  port 0     capture 0  mrf-01\n"
        "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged, 2 undeclared kept.\n"
    )


def test_plain_shows_a_pruned_replacement_as_one_replace_line():
    assert render(build_plan(DESIRED, EXISTING, prune=True), "plain") == (
        "replace  10.0.5.2/32   port 3869  capture 0  hss-02  # port 3868 -> 3869\n"
        "update   10.0.1.20/32  port 5060  capture 0  old -> scscf01\n"
        "delete   10.0.9.1/32   port 0     capture 0  mrf-01  # not in the inventory (prune)\n"
        "Plan: 1 to create, 1 to update, 2 to delete, 1 unchanged.\n"
    )


def test_no_changes_with_aliases_left_alone_does_not_claim_homer_matches():
    plan = build_plan([A("10.0.0.1", "a")], [A("10.0.0.1", "a", guid="g1"), A("10.0.0.2", "b", guid="g2")])
    assert render(plan, "plain") == (
        "Left alone on the server: 1 alias\n"
        "  not declared: kept (use --prune): 1\n"
        "    10.0.0.2/32  port 5060  capture 0  b\n"
        "No changes: 1 unchanged, 1 undeclared kept.\n"
    )


def test_each_group_lists_three_aliases_unless_verbose():
    existing = [A(f"10.0.0.{i}", f"h{i}", guid=f"g{i}") for i in range(1, 6)]
    existing += [A("192.0.2.1", "lab", capture="9", guid="g9")]
    plan = build_plan([A("10.0.0.1", "h1")], existing, prune=True, scope=PruneConfig(networks=("192.0.2.0/24",)))
    assert left_alone_text(plan) == [
        "Left alone on the server: 4 aliases",
        "  not declared, outside prune scope (prune.only): 4",
        "    10.0.0.2/32  port 5060  capture 0  h2",
        "    10.0.0.3/32  port 5060  capture 0  h3",
        "    10.0.0.4/32  port 5060  capture 0  h4",
        "    ... and 1 more (-v or --output json lists them all)",
    ]
    assert len(left_alone_text(plan, verbose=True)) == 6
    assert left_alone_text(plan, verbose=True)[-1] == "    10.0.0.5/32  port 5060  capture 0  h5"
    assert summary_line(plan) == "Plan: 0 to create, 0 to update, 1 to delete, 1 unchanged, 4 outside prune scope."


def test_markdown_has_a_left_alone_table():
    out = render(build_plan(DESIRED, EXISTING), "markdown")
    assert out.split("**Left alone", 1)[1] == (
        " on the server: 2 aliases**\n"
        "\n"
        "| why | address | port | capture | name | note |\n"
        "|---|---|---|---|---|---|\n"
        "| not declared: kept (use --prune) (2) | 10.0.5.2/32 | 3868 | 0 | hss-02 "
        "| old alias, replaced by port 3869 |\n"
        "|  | 10.0.9.1/32 | 0 | 0 | mrf-01 |  |\n"
    )
    assert "**Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged, 2 undeclared kept.**" in out
    assert "| create | 10.0.5.2/32 | 3869 | 0 | hss-02 | port 3868 -> 3869, old alias kept |" in out


def test_markdown_short_form_says_how_many_more():
    plan = build_plan([], [A(f"10.0.0.{i}", f"h{i}", guid=f"g{i}") for i in range(1, 6)])
    assert render(plan, "markdown").splitlines()[-1] == (
        "|  | | | | | ... and 2 more (-v or --output json lists them all) |")
    assert render(plan, "markdown", verbose=True).splitlines()[-1] == "|  | 10.0.0.5/32 | 5060 | 0 | h5 |  |"


def test_table_lists_left_alone_under_the_changes():
    out = render(build_plan(DESIRED, EXISTING), "table", width=100)
    assert [line.rstrip() for line in out.splitlines()] == [
        "+ create  ~ update",
        "   address       port  capture  name            reason",
        "─" * 81,
        "+  10.0.5.2/32   3869  0        hss-02          port 3868 -> 3869, old alias kept",
        "~  10.0.1.20/32  5060  0        old -> scscf01",
        "Left alone on the server: 2 aliases",
        "  not declared: kept (use --prune): 2",
        "    10.0.5.2/32  port 3868  capture 0  hss-02  # old alias, replaced by port 3869",
        "    10.0.9.1/32  port 0     capture 0  mrf-01",
        "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged, 2 undeclared kept.",
    ]


def test_table_shows_a_replace_row_and_narrow_lines_too():
    plan = build_plan(DESIRED, EXISTING, prune=True)
    wide = [line.rstrip() for line in render(plan, "table", width=100).splitlines()]
    assert wide[0] == "-/+ replace  ~ update  - delete"
    assert wide[3] == "-/+  10.0.5.2/32   3869  0        hss-02          port 3868 -> 3869"
    assert not any("3868" in line for line in wide[4:])  # the old alias's delete is that row
    assert render(plan, "table", width=60).splitlines() == [
        "-/+ 10.0.5.2/32 port 3869 capture 0 hss-02  # port 3868 -> …",
        "~ 10.0.1.20/32 port 5060 capture 0 old -> scscf01",
        "- 10.0.9.1/32 port 0 capture 0 mrf-01  # not in the invento…",
        "Plan: 1 to create, 1 to update, 2 to delete, 1 unchanged.",
    ]


def test_json_lists_every_alias_left_alone():
    plan = build_plan([], [A(f"10.0.0.{i}", f"h{i}", guid=f"g{i}") for i in range(1, 6)])
    doc = json.loads(render(plan, "json"))
    assert doc["left_alone"]["counts"] == {"undeclared": 5}
    assert [item["alias"]["alias"] for item in doc["left_alone"]["aliases"]] == ["h1", "h2", "h3", "h4", "h5"]
    assert doc["left_alone"]["aliases"][0] == {
        "reason": "undeclared",
        "alias": {"alias": "h1", "ip": "10.0.0.1", "mask": 32, "port": 5060, "capture_id": "0", "status": True,
                  "guid": "g1"},
        "withheld": None,
    }


def test_update_and_create_types_unchanged():
    # left alone never changes what the plan does: the same creates, updates and deletes
    plan = build_plan(DESIRED, EXISTING)
    assert plan.creates == (Create(after=DESIRED[1]),)
    assert plan.updates == (Update(before=EXISTING[3], after=A("10.0.1.20", "scscf01", guid="g4")),)
