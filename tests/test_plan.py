from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import subprocess
import sys
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homer_sync import errors, model
from homer_sync.model import Alias
from homer_sync.plan import (
    EMPTY_PRUNE_MESSAGE,
    Change,
    Create,
    Delete,
    DeleteKind,
    Plan,
    SafetyLimits,
    Update,
    address,
    build_plan,
    state_checksum,
)


def A(ip, name="h", *, mask=None, port=5060, capture="0", status=True, guid=None, extra=()):
    if mask is None:
        mask = 128 if ":" in ip else 32
    return Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, status=status,
                 guid=guid, extra=tuple(sorted(dict(extra).items())))


@dataclass(frozen=True)
class CaptureScope:
    """Stand-in for inventory.PruneConfig: only its in_scope() is used."""

    capture_ids: tuple = ("0",)

    def in_scope(self, alias):
        return alias.capture_id in self.capture_ids


class NetworkScope:
    def __init__(self, network):
        self.network = ipaddress.ip_network(network)

    def in_scope(self, alias):
        return ipaddress.ip_address(alias.ip) in self.network  # ValueError on junk


def guids(i):
    return f"{i:08d}-0000-4000-8000-000000000000"


# -- create / update / unchanged --------------------------------------------------------------------


def test_create_update_unchanged():
    desired = [A("10.0.0.1", "same"), A("10.0.0.2", "new-name"), A("10.0.0.3", "fresh")]
    existing = [A("10.0.0.1", "same", guid=guids(1)), A("10.0.0.2", "old-name", guid=guids(2))]
    plan = build_plan(desired, existing)
    assert plan.creates == (Create(after=A("10.0.0.3", "fresh")),)
    assert plan.creates[0].reason == "not on the server"
    assert plan.updates == (
        Update(before=existing[1], after=replace(existing[1], name="new-name")),
    )
    assert plan.deletes == ()
    assert plan.summary() == {"create": 1, "update": 1, "delete": 0, "unchanged": 1, "existing": 2, "desired": 3}
    assert plan.has_changes
    assert repr(plan) == "Plan(create=1, update=1, delete=0, unchanged=1, existing=2)"


def test_no_changes():
    existing = [A("10.0.0.1", "a", guid=guids(1))]
    plan = build_plan([A("10.0.0.1", "a")], existing)
    assert not plan.has_changes
    assert plan.changes == ()
    assert plan.summary()["unchanged"] == 1


@pytest.mark.parametrize(
    "before, after, reason",
    [
        (dict(name="a"), dict(name="b"), "name 'a' -> 'b'"),
        (dict(status=False), dict(status=True), "status inactive -> active"),
        (dict(status=True), dict(status=False), "status active -> inactive"),
        (dict(name="a", status=True), dict(name="b", status=False), "name 'a' -> 'b', status active -> inactive"),
    ],
)
def test_update_reasons(before, after, reason):
    old = A("10.0.0.1", **{"name": "x", **before}, guid=guids(1))
    plan = build_plan([A("10.0.0.1", **{"name": "x", **after})], [old])
    (update,) = plan.updates
    assert update.reason == reason
    assert update.to_dict()["reason"] == reason


def test_update_keeps_guid_and_extra_and_identity():
    old = A("10.0.0.1", "old", guid=guids(7), extra={"tag1": "x", "custom_image": "img"})
    plan = build_plan([A("10.0.0.1", "new", status=False)], [old], owner="ci", owner_tag="tag4")
    (update,) = plan.updates
    assert update.before is old
    assert update.after == replace(old, name="new", status=False)
    assert update.after.extra == old.extra  # owner never added by an update
    assert update.after.guid == guids(7)


def test_identity_includes_mask_port_and_capture():
    desired = [A("10.0.0.0", "net", mask=24, port=0)]
    existing = [
        A("10.0.0.0", "net", mask=25, port=0, guid=guids(1)),
        A("10.0.0.0", "net", mask=24, port=5060, guid=guids(2)),
        A("10.0.0.0", "net", mask=24, port=0, capture="CAP1", guid=guids(3)),
    ]
    plan = build_plan(desired, existing)
    assert [c.action for c in plan.changes] == ["create"]
    plan = build_plan(desired, existing, prune=True)
    assert [c.action for c in plan.changes] == ["create", "delete", "delete", "delete"]


def test_desired_duplicates_merge_or_conflict():
    plan = build_plan([A("10.0.0.1", "a"), A("10.0.0.1", "a")], [])
    assert plan.summary()["create"] == 1 and plan.desired_count == 1
    with pytest.raises(errors.HomerSyncError) as info:
        build_plan([A("10.0.0.1", "a"), A("10.0.0.1", "b")], [])
    assert str(info.value) == (
        "the inventory declares 10.0.0.1/32 port 5060 capture 0 twice, as 'a' (active) and 'b' (active)"
    )


# -- duplicates on the server -----------------------------------------------------------------------


def test_duplicates_keep_exact_match_over_lower_guid():
    exact = A("10.0.0.1", "want", guid="ffff0000-1")
    other = A("10.0.0.1", "other", guid="00000000-2")
    plan = build_plan([A("10.0.0.1", "want")], [other, exact])
    assert plan.updates == ()
    assert plan.deletes == (Delete(before=other, kind=DeleteKind.DUPLICATE, kept=exact),)
    assert plan.deletes[0].reason == "duplicate of 10.0.0.1/32 port 5060 capture 0 (kept ffff0000)"
    assert plan.unchanged_count == 1


def test_duplicates_keep_lowest_guid_and_update_it():
    a = A("10.0.0.1", "x", guid="bbbbbbbb-1")
    b = A("10.0.0.1", "y", guid="aaaaaaaa-2")
    c = A("10.0.0.1", "z", guid="cccccccc-3")
    plan = build_plan([A("10.0.0.1", "want")], [a, b, c])
    assert [u.before for u in plan.updates] == [b]
    assert [d.before for d in plan.deletes] == [a, c]  # sorted by guid after the address
    assert {d.reason for d in plan.deletes} == {"duplicate of 10.0.0.1/32 port 5060 capture 0 (kept aaaaaaaa)"}


def test_duplicates_are_removed_without_prune_and_outside_scope_and_owner():
    a = A("10.0.0.1", "x", capture="9", guid=guids(1))
    b = A("10.0.0.1", "x", capture="9", guid=guids(2))
    plan = build_plan([A("10.0.0.1", "x", capture="9")], [b, a], prune=False, scope=CaptureScope(), owner="ci")
    assert [d.before for d in plan.deletes] == [b]


def test_duplicate_without_guid_does_not_crash():
    plan = build_plan([A("10.0.0.1", "x")], [A("10.0.0.1", "x"), A("10.0.0.1", "y")])
    assert [d.reason for d in plan.deletes] == ["duplicate of 10.0.0.1/32 port 5060 capture 0 (kept the first)"]


# -- prune, scope, owner ----------------------------------------------------------------------------


def test_prune_off_leaves_undeclared_aliases():
    plan = build_plan([], [A("10.0.0.1", guid=guids(1))])
    assert not plan.has_changes
    assert plan.summary() == {"create": 0, "update": 0, "delete": 0, "unchanged": 0, "existing": 1, "desired": 0}


def test_prune_deletes_undeclared_in_scope_only():
    inside = A("10.0.0.1", "in", guid=guids(1))
    outside = A("10.0.0.2", "out", capture="CAP9", guid=guids(2))
    plan = build_plan([A("10.0.0.3", "keep")], [outside, inside], prune=True, scope=CaptureScope())
    assert plan.deletes == (Delete(before=inside, kind=DeleteKind.UNDECLARED),)
    assert plan.deletes[0].reason == "not in the inventory (prune)"
    assert build_plan([], [outside, inside], prune=True).summary()["delete"] == 2


def test_scope_that_cannot_judge_junk_leaves_it_alone():
    junk = Alias.from_server(ip="not-an-ip", mask=99, port=-1, capture_id="0", name="j", status=True, guid=guids(1))
    fine = A("10.1.2.3", "ok", guid=guids(2))
    plan = build_plan([], [junk, fine], prune=True, scope=NetworkScope("10.0.0.0/8"))
    assert [d.before for d in plan.deletes] == [fine]


def test_owner_tags_creates_and_prunes_only_owned():
    mine = A("10.0.0.1", "mine", guid=guids(1), extra={"tag4": "ci"})
    theirs = A("10.0.0.2", "theirs", guid=guids(2), extra={"tag4": "someone"})
    untagged = A("10.0.0.3", "untagged", guid=guids(3))
    plan = build_plan([A("10.0.0.9", "new")], [mine, theirs, untagged], prune=True, owner="ci")
    assert plan.creates[0].after.extra == (("tag4", "ci"),)
    assert [d.before for d in plan.deletes] == [mine]


def test_owner_tag_is_configurable():
    mine = A("10.0.0.1", "mine", guid=guids(1), extra={"tag2": "ci"})
    plan = build_plan([A("10.0.0.9", "new")], [mine], prune=True, owner="ci", owner_tag="tag2")
    assert plan.creates[0].after.extra_dict() == {"tag2": "ci"}
    assert [d.before for d in plan.deletes] == [mine]


def test_a_guid_listed_twice_is_never_kept_and_deleted():
    alias = A("10.0.0.1", guid="g1")
    with pytest.raises(errors.HomerSyncError, match="names guid g1 more than once; refusing to plan"):
        build_plan([A("10.0.0.1")], [alias, alias], prune=True)


def test_junk_on_the_server_never_crashes():
    junk = [
        Alias.from_server(ip="not-an-ip", mask=99, port=-1, capture_id="0", name="a", status=True, guid=guids(1)),
        Alias.from_server(ip="10.0.0.1", mask=99, port=70000, capture_id="", name="", status=False, guid=guids(2)),
        Alias.from_server(ip="fe80::1%eth0", mask=64, port=0, capture_id="x" * 30, name="b\n|", status=1,
                          guid=guids(4)),
        Alias.from_server(ip="", mask=0, port=0, capture_id="0", name="c", status=0, guid=guids(3)),
    ]
    plan = build_plan([A("10.0.0.1", "x")], junk, prune=True)
    assert plan.summary()["delete"] == 4
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


# -- ordering and checksum --------------------------------------------------------------------------


def test_order_is_deterministic_and_grouped():
    desired = [A(ip, f"n{ip}") for ip in ("10.0.0.10", "2001:db8::1", "10.0.0.9", "9.9.9.9")]
    desired += [A("10.0.0.20", "changed"), A("10.0.0.3", "changed")]
    existing = [A("10.0.0.20", "was", guid=guids(1)), A("10.0.0.3", "was", guid=guids(2))]
    existing += [A("10.0.0.50", "gone", guid=guids(3)), A("10.0.0.5", "gone", guid=guids(4))]
    plan = build_plan(desired, existing, prune=True)
    rnd = random.Random(4)
    for _ in range(5):
        rnd.shuffle(desired)
        rnd.shuffle(existing)
        assert build_plan(desired, existing, prune=True) == plan
    assert [(c.action, c.alias.ip) for c in plan.changes] == [
        ("create", "9.9.9.9"), ("create", "10.0.0.9"), ("create", "10.0.0.10"), ("create", "2001:db8::1"),
        ("update", "10.0.0.3"), ("update", "10.0.0.20"),
        ("delete", "10.0.0.5"), ("delete", "10.0.0.50"),
    ]
    assert list(plan.changes) == sorted(plan.changes, key=Change.sort_key)
    assert Plan(changes=tuple(reversed(plan.changes))).changes == plan.changes


@pytest.mark.parametrize(
    "ip", ["10.0.0.1", "255.255.255.255", "0.0.0.0", "2001:db8::1", "::1", "::ffff:1.2.3.4",
           "fe80::1%eth0", "not-an-ip", "", "010.0.0.1", "1.2.3"],
)
def test_sort_key_orders_by_family_then_address_value(ip):
    alias = Alias(ip=ip, mask=32, port=5, capture_id="0", name="n", guid="g")
    try:
        parsed = ipaddress.ip_address(ip)
        expected = (parsed.version, int(parsed))
    except ValueError:
        expected = (99, 0)
    assert model.sort_key(alias) == (*expected, ip, 32, 5, "0", "n", "g")


def test_checksum_ignores_order_and_sees_every_change():
    base = [A("10.0.0.1", "a", guid=guids(1)), A("10.0.0.2", "b", guid=guids(2), extra={"tag1": "x"})]
    value = state_checksum(base)
    assert len(value) == 64 and value == build_plan([], base).state_checksum
    assert state_checksum(list(reversed(base))) == value
    variants = [
        [replace(base[0], name="c"), base[1]],
        [replace(base[0], status=False), base[1]],
        [replace(base[0], guid=guids(9)), base[1]],
        [replace(base[0], port=5061), base[1]],
        [base[0], base[1].with_extra(tag1="y")],
        [base[0], replace(base[1], extra=())],
        base[:1],
        base + [A("10.0.0.3", "c", guid=guids(3))],
    ]
    assert len({state_checksum(v) for v in variants} | {value}) == len(variants) + 1
    assert state_checksum([]) == hashlib.sha256(b"[]").hexdigest()


def test_plan_checksum_is_of_the_state_listed_when_the_plan_was_built():
    # Computed on first use (a printed plan never needs it), but of the list build_plan was given.
    listed = [A("10.0.0.1", "a", guid=guids(1)), A("10.0.0.2", "b", guid=guids(2))]
    expected = state_checksum(listed)
    plan = build_plan([], listed)
    listed.append(A("10.0.0.3", "c", guid=guids(3)))
    listed[0] = replace(listed[0], name="renamed")
    assert plan.state_checksum == expected
    assert plan.to_dict()["state_checksum"] == expected
    assert Plan.from_dict(plan.to_dict()) == plan
    assert Plan.from_dict({**plan.to_dict(), "state_checksum": state_checksum(listed)}) != plan


def test_checksum_tolerates_missing_guids():
    aliases = [A("10.0.0.1", "a"), A("10.0.0.1", "a", guid=guids(1))]
    assert state_checksum(aliases) == state_checksum(aliases[::-1])


# -- safety -----------------------------------------------------------------------------------------


def _plan_with(existing_count, deletes=0, updates=0):
    existing = [A(f"10.0.{i // 250}.{i % 250}", f"h{i}", guid=guids(i)) for i in range(existing_count)]
    desired = [replace(a, guid=None) for a in existing[deletes:]]
    desired = [replace(a, name="renamed") if i < updates else a for i, a in enumerate(desired)]
    return build_plan(desired, existing, prune=True)


def test_at_the_limit_is_allowed():
    plan = _plan_with(10, deletes=3, updates=3)
    assert plan.unsafe_reasons(SafetyLimits()) == []
    plan.raise_if_unsafe(SafetyLimits(), force=False)


def test_over_the_limit_is_refused_with_numbers():
    plan = _plan_with(10, deletes=4, updates=4)
    reasons = plan.unsafe_reasons(SafetyLimits())
    assert reasons == [
        "40.00% of existing aliases would be deleted, over the 30.00% limit (4/10)",
        "40.00% of existing aliases would be updated, over the 30.00% limit (4/10)",
    ]
    with pytest.raises(errors.UnsafePlanError) as info:
        plan.raise_if_unsafe(SafetyLimits(), force=False)
    assert info.value.reasons == reasons
    assert info.value.exit_code == errors.EXIT_UNSAFE
    plan.raise_if_unsafe(SafetyLimits(), force=True)


def test_custom_limits_and_fractional_percentages():
    plan = _plan_with(12, deletes=4)
    assert plan.unsafe_reasons(SafetyLimits(max_delete_percent=33.3)) == [
        "33.33% of existing aliases would be deleted, over the 33.30% limit (4/12)"
    ]
    assert plan.unsafe_reasons(SafetyLimits(max_delete_percent=34)) == []
    assert _plan_with(10, deletes=1).unsafe_reasons(SafetyLimits(max_delete_percent=0)) == [
        "10.00% of existing aliases would be deleted, over the 0.00% limit (1/10)"
    ]


def test_thresholds_apply_only_from_min_existing():
    small = _plan_with(9, deletes=8, updates=1)
    assert small.unsafe_reasons(SafetyLimits()) == []
    assert small.unsafe_reasons(SafetyLimits(min_existing=9)) == [
        "88.89% of existing aliases would be deleted, over the 30.00% limit (8/9)"
    ]
    assert _plan_with(10, deletes=9, updates=1).unsafe_reasons(SafetyLimits(min_existing=11)) == []
    assert _plan_with(0).unsafe_reasons(SafetyLimits(min_existing=0)) == []


def test_delete_percentage_counts_only_what_prune_may_touch():
    # 100 aliases, 20 of them in scope (capture "0"); the inventory lost 19 of those 20
    outside = [A(f"10.1.0.{i}", f"o{i}", capture="OTHER", guid=guids(100 + i)) for i in range(80)]
    inside = [A(f"10.2.0.{i}", f"i{i}", guid=guids(i)) for i in range(20)]
    desired = [replace(a, guid=None) for a in outside + inside[:1]]
    plan = build_plan(desired, outside + inside, prune=True, scope=CaptureScope())
    assert (len(plan.deletes), plan.prunable_count) == (19, 20)
    assert plan.unsafe_reasons(SafetyLimits()) == [
        "95.00% of the aliases prune may touch (inside prune.only, owned) would be deleted, over the"
        " 30.00% limit (19/20)"]
    # an owner narrows it the same way: only marked aliases can be pruned
    marked = [a.with_extra(tag4="ci") for a in inside]
    owned = build_plan(desired, outside + marked, prune=True, owner="ci")
    assert owned.prunable_count == 20 and len(owned.unsafe_reasons(SafetyLimits())) == 1
    # without a scope every alias is one prune may touch: same wording as before
    assert build_plan(desired, outside + inside, prune=True).prunable_count is None


def test_empty_inventory_prune_is_refused_unless_forced():
    plan = build_plan([], [A("10.0.0.1", guid=guids(1))], prune=True)
    assert plan.unsafe_reasons(SafetyLimits(min_existing=10)) == [EMPTY_PRUNE_MESSAGE]
    assert EMPTY_PRUNE_MESSAGE == (
        "the inventory declares no aliases, so pruning would delete every alias in scope"
    )
    with pytest.raises(errors.UnsafePlanError):
        plan.raise_if_unsafe(SafetyLimits(), force=False)
    plan.raise_if_unsafe(SafetyLimits(), force=True)
    # nothing to delete: nothing to refuse
    assert build_plan([], [], prune=True).unsafe_reasons(SafetyLimits()) == []
    # the flags in SafetyLimits apply to a plan that does not know it came from a prune
    bare = Plan(changes=(Delete(before=A("10.0.0.1", guid=guids(1))),), existing_count=1, desired_count=3)
    assert bare.unsafe_reasons(SafetyLimits()) == []
    assert bare.unsafe_reasons(SafetyLimits(prune_requested=True, desired_empty=True)) == [EMPTY_PRUNE_MESSAGE]


# -- saved plans ------------------------------------------------------------------------------------


def _sample_plan():
    desired = [A("10.0.0.1", "new"), A("10.0.0.2", "renamed", status=False), A("10.0.0.4", "dup")]
    existing = [
        A("10.0.0.2", "old", guid=guids(2), extra={"tag4": "ci", "custom_image": "x"}),
        A("10.0.0.3", "gone", guid=guids(3), extra={"tag4": "ci"}),
        A("10.0.0.4", "dup", guid=guids(4)),
        A("10.0.0.4", "dup", guid=guids(5)),
    ]
    return build_plan(desired, existing, prune=True, owner="ci")


def test_to_dict_from_dict_round_trip():
    plan = _sample_plan()
    data = plan.to_dict()
    assert list(data) == ["schema_version", "state_checksum", "prune", "summary", "changes", "prunable",
                          "left_alone"]
    assert data["schema_version"] == 1 and data["prune"] is True
    assert [c["action"] for c in data["changes"]] == ["create", "update", "delete", "delete"]
    assert data["changes"][1]["before"]["guid"] == guids(2)
    again = Plan.from_dict(json.loads(json.dumps(data)))
    assert again == plan
    assert again.to_dict() == data
    assert again.creates[0].after.extra_dict() == {"tag4": "ci"}


def test_from_dict_ignores_extra_top_level_keys():
    data = {"server": "http://h", "api": "v3", **_sample_plan().to_dict()}
    assert Plan.from_dict(data) == _sample_plan()


def _broken(mutate):
    data = json.loads(json.dumps(_sample_plan().to_dict()))
    mutate(data)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "invalid plan file: expected a JSON object"),
        ({}, "invalid plan file: 'schema_version' is missing"),
        (_broken(lambda d: d.update(schema_version=2)),
         "unsupported plan file: schema_version 2 (this homer-sync reads version 1)"),
        (_broken(lambda d: d.update(schema_version="1")),
         "unsupported plan file: schema_version '1' (this homer-sync reads version 1)"),
        (_broken(lambda d: d.update(schema_version=True)),
         "unsupported plan file: schema_version True (this homer-sync reads version 1)"),
        (_broken(lambda d: d.update(state_checksum="abc")),
         "invalid plan file: 'state_checksum' is not a sha256 hex digest"),
        (_broken(lambda d: d.pop("changes")), "invalid plan file: plan: 'changes' is missing"),
        (_broken(lambda d: d.update(changes={})), "invalid plan file: plan: 'changes' has the wrong type (dict)"),
        (_broken(lambda d: d["summary"].pop("existing")), "invalid plan file: summary: 'existing' is missing"),
        (_broken(lambda d: d["summary"].update(delete=5)),
         "invalid plan file: summary says 5 to delete but the plan lists 2"),
        (_broken(lambda d: d["changes"][0].update(action="rename")),
         "invalid plan file: changes[0]: unknown action 'rename' (expected create, update or delete)"),
        (_broken(lambda d: d["changes"][0].update(before={})),
         "invalid plan file: changes[0]: a create has no 'before'"),
        (_broken(lambda d: d["changes"][3].update(after={})), "invalid plan file: changes[3]: a delete has no 'after'"),
        (_broken(lambda d: d["changes"][3]["before"].pop("guid")),
         "invalid plan file: changes[3].before: 'guid' is missing, so the change cannot be applied"),
        (_broken(lambda d: d["changes"][1]["after"].update(guid="other")),
         "invalid plan file: changes[1]: an update must keep the guid and the identity"),
        (_broken(lambda d: d["changes"][1]["after"].update(port=1)),
         "invalid plan file: changes[1]: an update must keep the guid and the identity"),
        (_broken(lambda d: d["changes"][0]["after"].update(mask="32")),
         "invalid plan file: changes[0].after: 'mask' has the wrong type (str)"),
        (_broken(lambda d: d["changes"][0]["after"].update(status="yes")),
         "invalid plan file: changes[0].after: 'status' has the wrong type (str)"),
        (_broken(lambda d: d["changes"][0]["after"].update(extra=[1])),
         "invalid plan file: changes[0].after: 'extra' has the wrong type (list)"),
        (_broken(lambda d: d["changes"][2].update(before=None)),
         "invalid plan file: changes[2].before: expected an alias object"),
        (_broken(lambda d: d["changes"][3].update(kind="forgotten")),
         "invalid plan file: changes[3]: unknown delete kind 'forgotten' (expected undeclared or duplicate)"),
        (_broken(lambda d: d["changes"][3].update(kind="duplicate", kept=None)),
         "invalid plan file: changes[3].kept: expected an alias object"),
        (_broken(lambda d: d["changes"][3].update(kind="duplicate", kept=d["changes"][3]["before"])),
         f"invalid plan file: changes[3]: guid {guids(5)} cannot be both kept and deleted"),
        (_broken(lambda d: d["changes"].append("x")), "invalid plan file: changes[4]: expected an object"),
        (_broken(lambda d: d.update(prune="yes")), "invalid plan file: 'prune' has the wrong type"),
    ],
)
def test_from_dict_errors(data, message):
    with pytest.raises(errors.HomerSyncError) as info:
        Plan.from_dict(data)
    assert str(info.value) == message
    assert info.value.exit_code == errors.EXIT_ERROR


def test_plan_module_is_pure():
    code = (
        "import sys, homer_sync.plan; "
        "print(sorted(m for m in ('requests', 'rich', 'yaml', 'click', 'urllib3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_address():
    assert address(A("2001:db8::1", port=0, capture="CAP1")) == "2001:db8::1/128 port 0 capture CAP1"


# -- property: applying a plan then planning again changes nothing ----------------------------------

IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.0", "2001:db8::1"]
NAMES = ["a", "b", "c"]


def _apply(plan, existing):
    """What a perfect apply would leave on the server: creates add, updates and deletes by guid."""
    by_guid = {alias.guid: alias for alias in existing}
    assert len(by_guid) == len(existing)
    for change in plan.changes:
        if change.action == "create":
            guid = f"new-{len(by_guid):06d}"
            by_guid[guid] = replace(change.after, guid=guid)
        elif change.action == "update":
            assert change.before.guid in by_guid
            by_guid[change.after.guid] = change.after
        else:
            del by_guid[change.before.guid]
    return list(by_guid.values())


alias_parts = st.tuples(
    st.sampled_from(IPS), st.sampled_from([24, 32, 128]), st.sampled_from([0, 5060]),
    st.sampled_from(["0", "CAP1"]), st.sampled_from(NAMES), st.booleans(),
)
junk_parts = st.tuples(st.sampled_from(["not-an-ip", "10.0.0.1"]), st.sampled_from([99, 32]),
                       st.sampled_from([-1, 70000, 5060]), st.just("0"), st.sampled_from(NAMES), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    desired_parts=st.lists(alias_parts, max_size=12),
    existing_parts=st.lists(st.one_of(alias_parts, junk_parts), max_size=16),
    tags=st.lists(st.sampled_from([None, "ci", "other"]), min_size=16, max_size=16),
    prune=st.booleans(),
    owner=st.sampled_from([None, "ci"]),
    scoped=st.booleans(),
    shuffle_seed=st.integers(0, 1000),
)
def test_plan_apply_plan_again_is_empty(desired_parts, existing_parts, tags, prune, owner, scoped, shuffle_seed):
    desired = {}
    for ip, mask, port, capture, name, status in desired_parts:
        alias = Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, status=status)
        desired.setdefault(alias.identity, alias)  # the inventory guarantees unique identities
    desired = list(desired.values())
    existing = []
    for i, (ip, mask, port, capture, name, status) in enumerate(existing_parts):
        extra = {"tag4": tags[i]} if tags[i] else {}
        existing.append(Alias.from_server(ip=ip, mask=mask, port=port, capture_id=capture, name=name,
                                          status=status, guid=f"g{(i * 7919) % 1000:04d}-{i}", extra=extra))
    random.Random(shuffle_seed).shuffle(existing)
    scope = CaptureScope(("0",)) if scoped else None

    plan = build_plan(desired, existing, prune=prune, scope=scope, owner=owner)
    assert plan.existing_count == len(existing)
    after = _apply(plan, existing)

    second = build_plan(desired, after, prune=prune, scope=scope, owner=owner)
    assert second.changes == (), second.changes
    assert second.unchanged_count == len(desired)
    # every declared identity exists exactly once with the declared attributes
    on_server = {}
    for alias in after:
        on_server.setdefault(alias.identity, []).append(alias)
    for alias in desired:
        assert [a.attributes for a in on_server[alias.identity]] == [alias.attributes]
    # nothing undeclared that prune was not allowed to touch has gone
    wanted = {a.identity for a in desired}
    remaining = {a.guid for a in after}
    for alias in existing:
        if alias.identity in wanted:
            continue
        deletable = prune and (scope is None or scope.in_scope(alias)) and (
            owner is None or alias.extra_dict().get("tag4") == owner)
        assert (alias.guid in remaining) != deletable
    # and the saved form of the plan executes the same way
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_safety_limits_from_config():
    @dataclass(frozen=True)
    class FakePruneConfig:
        max_delete_percent: float = 10.0
        max_update_percent: float = 20.0

    limits = SafetyLimits.from_config(FakePruneConfig(), prune_requested=True)
    assert limits == SafetyLimits(max_delete_percent=10.0, max_update_percent=20.0, prune_requested=True)


def test_ipv4_mapped_ipv6_has_one_text_on_every_python():
    """Python 3.13 writes ::ffff:10.0.0.1 where older versions wrote ::ffff:a00:1; an alias's
    identity must not depend on the Python that runs homer-sync."""
    from homer_sync.model import normalize_ip

    assert normalize_ip("::ffff:a00:1") == normalize_ip("::FFFF:10.0.0.1") == "::ffff:10.0.0.1"
    assert normalize_ip("::ffff:0:a00:1") == "::ffff:0:a00:1"  # IPv4-translated, not mapped: hex groups
    assert normalize_ip("::a00:1") == "::a00:1"
    server = Alias.from_server(ip="::ffff:a00:1", mask=128, port=5060, capture_id="0", name="mapped",
                               status=True, guid="g-1")
    desired = Alias(ip=normalize_ip("::ffff:10.0.0.1"), mask=128, port=5060, capture_id="0", name="mapped")
    plan = build_plan([desired], [server])
    assert plan.changes == () and plan.unchanged_count == 1
