"""protect: aliases homer-sync never updates or deletes, whatever prune says. The plan engine
(pure), the inventory block (validation at file:line, merge of several files), and end to end
against the emulator: the README's example, apply, and a backup restored beside a protect file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from homer_sync.errors import InventoryError
from homer_sync.inventory import ProtectConfig, PruneConfig, load_inventory
from homer_sync.model import Alias
from homer_sync.plan import Delete, DeleteKind, LeftAlone, LeftAloneReason, SafetyLimits, Update, build_plan

R = LeftAloneReason
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROTECT_BLOCK = """
protect:
  networks: [10.0.4.0/24]    # the media team's servers
  alias_regex: "^noc-"       # the NOC's own names
"""


def A(ip, name="h", *, mask=32, port=5060, capture="0", status=True, guid=None):
    return Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, status=status, guid=guid)


NOC = ProtectConfig(networks=("10.0.4.0/24",), alias_regexes=("^noc-",), guids=frozenset({"g-fav"}))


# -- the plan ---------------------------------------------------------------------------------------


def test_an_update_of_a_protected_alias_is_withheld_and_reported():
    server = A("10.0.3.20", "noc-mgcf", guid="g1")
    plan = build_plan([A("10.0.3.20", "mgcf01")], [server], protect=NOC)
    assert plan.changes == ()
    assert plan.left_alone == (LeftAlone(server, R.PROTECTED, Update(before=server, after=A("10.0.3.20", "mgcf01",
                                                                                              guid="g1"))),)
    assert plan.unchanged_count == 0


def test_a_protected_undeclared_alias_is_never_deleted_and_always_named_protected():
    fav = A("192.0.2.9", "favourite", guid="g-fav")
    media = A("10.0.4.10", "mrf-01", guid="g2")
    pruned = build_plan([], [fav, media], prune=True, protect=NOC)
    assert pruned.deletes == ()
    assert [(item.alias.name, item.reason, item.withheld) for item in pruned.left_alone] == [
        ("mrf-01", R.PROTECTED, Delete(before=media)), ("favourite", R.PROTECTED, Delete(before=fav))]
    kept = build_plan([], [fav, media], protect=NOC)  # no prune: kept anyway, but said to be protected
    assert [(item.reason, item.withheld) for item in kept.left_alone] == [(R.PROTECTED, None)] * 2


def test_protection_wins_over_the_prune_scope_reasons():
    outside = A("10.0.4.10", "mrf-01", capture="9", guid="g1")
    plan = build_plan([], [outside], prune=True, scope=PruneConfig(capture_ids=("0",)), protect=NOC)
    assert plan.left_alone == (LeftAlone(outside, R.PROTECTED),)


def test_a_duplicate_copy_of_a_protected_alias_is_not_deleted():
    copies = [A("10.0.4.1", "sbc", guid="g1"), A("10.0.4.1", "sbc", guid="g2")]
    plan = build_plan([A("10.0.4.1", "sbc")], copies, protect=NOC)
    assert plan.changes == ()
    assert plan.left_alone == (LeftAlone(copies[1], R.PROTECTED,
                                         Delete(before=copies[1], kind=DeleteKind.DUPLICATE, kept=copies[0])),)


def test_a_declared_alias_inside_a_protected_network_is_still_created():
    plan = build_plan([A("10.0.4.11", "mrf-02")], [], protect=NOC)
    assert [c.action for c in plan.changes] == ["create"] and plan.left_alone == ()


def test_protected_aliases_are_not_counted_among_those_prune_may_touch():
    # 30 aliases, 20 protected, 4 of the 10 others deleted: 40 % of what prune may touch, refused
    existing = [A(f"10.0.4.{i}", f"m{i}", guid=f"p{i}") for i in range(20)]
    existing += [A(f"10.0.9.{i}", f"x{i}", guid=f"x{i}") for i in range(10)]
    plan = build_plan([A(f"10.0.9.{i}", f"x{i}") for i in range(4, 10)], existing, prune=True, protect=NOC)
    assert plan.prunable_count == 10 and len(plan.deletes) == 4
    assert plan.unsafe_reasons(SafetyLimits()) == [
        "40.00% of the aliases prune may touch (inside prune.only, owned) would be deleted, over the 30.00% "
        "limit (4/10)"]


@pytest.mark.parametrize("alias, protected", [
    (A("10.0.4.200", "x"), True),  # inside the network
    (A("10.0.4.0", "x", mask=23), False),  # a wider prefix is not inside it
    (A("10.0.5.1", "noc-x"), True),  # the name, searched
    (A("10.0.5.1", "my-noc-x"), False),  # anchored by the pattern itself
    (A("10.0.5.1", "x", guid="g-fav"), True),
    (A("not-an-ip", "x"), False),
])
def test_any_filter_protects(alias, protected):
    assert NOC.protects(alias) is protected


# -- the inventory block ----------------------------------------------------------------------------


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_bad_values_are_errors_at_their_line(tmp_path):
    path = write(tmp_path, "inv.yaml", """\
version: 1
aliases:
  - {alias: a, ip: 10.0.0.1}
protect:
  networks: [10.0.0.1/8, 172.16.0.0/12, "not an ip"]
  alias_regex: "^noc-("
  guids: [12, ""]
  nets: []
""")
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:5: protect.networks[0]: '10.0.0.1/8' has host bits set; use 10.0.0.0/8 or 10.0.0.1/32",
        f"{path}:5: protect.networks[2]: 'not an ip' is not a valid IP address or CIDR",
        f"{path}:6: protect.alias_regex: alias_regex '^noc-(' does not compile: missing ), unterminated "
        "subpattern at position 5",
        f"{path}:7: protect.guids[0]: a guid must be a string, got integer 12",
        f"{path}:7: protect.guids[1]: a guid must not be empty",
        f"{path}:8: protect.nets: unknown key 'nets'; did you mean 'networks'?",
    ]


def test_protect_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "inv.yaml", "version: 1\nprotect: [10.0.0.0/8]\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    assert [str(p) for p in caught.value.problems] == [f"{path}:2: protect: protect must be a mapping, got a list"]


def test_the_blocks_of_several_files_add_up(tmp_path):
    first = write(tmp_path, "a.yaml", "version: 1\naliases:\n  - {alias: a, ip: 10.0.0.1}\n"
                                      "protect: {networks: [10.0.4.0/24], alias_regex: '^noc-'}\n")
    second = write(tmp_path, "b.yaml", "version: 1\nprotect: {alias_regex: '^lab-', guids: [g1],"
                                       " networks: [10.0.4.0/24, 10.0.5.0/24]}\n")
    protect = load_inventory([first, second]).protect
    assert protect == ProtectConfig(networks=("10.0.4.0/24", "10.0.5.0/24"), alias_regexes=("^noc-", "^lab-"),
                                    guids=frozenset({"g1"}))
    assert all(protect.protects(A("192.0.2.1", name)) for name in ("noc-1", "lab-1"))


def test_a_file_with_only_protect_is_valid(cli_run, tmp_path):
    path = write(tmp_path, "protect.yaml", "version: 1\nprotect: {alias_regex: '^noc-'}\n")
    result = cli_run("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: valid, 0 aliases\n"


def test_an_invalid_protect_block_stops_plan_before_any_request(cli_run, emulator, tmp_path):
    path = write(tmp_path, "inv.yaml", "version: 1\naliases:\n  - {alias: a, ip: 10.0.0.1}\n"
                                       "protect: {alias_regex: '('}\n")
    result = cli_run("plan", path, emulator=emulator)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: inventory has 1 problem:\n  {path}:4: protect.alias_regex: alias_regex '(' "
                             "does not compile: missing ), unterminated subpattern at position 0\n")
    assert emulator.request_log == []


# -- end to end ---------------------------------------------------------------------------------------


EXTRA = [
    {"alias": "bgcf01", "ip": "10.0.3.10", "port": 5070, "mask": 32, "captureID": "0", "status": True},
    {"alias": "mrf-01", "ip": "10.0.4.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "lab-phone", "ip": "198.51.100.50", "port": 0, "mask": 32, "captureID": "0", "status": True},
]


@pytest.fixture
def story(emulator, tmp_path):
    """The README's story with the protect block: the server's mgcf01 is named noc-mgcf."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((ROOT / "inventory.example.yaml").read_text() + PROTECT_BLOCK)
    seed = [{"alias": "noc-mgcf" if a.name == "mgcf01" else a.name, "ip": a.ip, "port": a.port, "mask": a.mask,
             "captureID": a.capture_id, "status": a.status}
            for a in load_inventory([str(inventory)]).aliases if a.name != "bgcf01"]
    emulator.seed(seed + EXTRA)
    return str(inventory)


def test_the_readme_shows_the_real_plan(cli_run, emulator, story):
    block = next(b for b in re.findall(r"```text\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
                 if "2 protected." in b)
    assert PROTECT_BLOCK.strip().splitlines()[1] in README.read_text(encoding="utf-8")
    result = cli_run("plan", "--prune", story, emulator=emulator)
    assert result.exit_code == 0, result.output
    assert result.stdout.replace(emulator.url, "https://homer.example.net") == block


def test_apply_leaves_protected_aliases_as_they_are(cli_run, emulator, story):
    result = cli_run("apply", "--yes", "--prune", story, emulator=emulator)
    assert result.exit_code == 0, result.output
    names = {(a["alias"], a["ip"], a["port"]) for a in emulator.aliases()}
    assert {("noc-mgcf", "10.0.3.20", 5060), ("mrf-01", "10.0.4.10", 5060)} <= names
    assert ("mgcf01", "10.0.3.20", 5060) not in names and ("bgcf01", "10.0.3.10", 5070) not in names
    again = cli_run("plan", "--prune", story, emulator=emulator)
    assert again.stdout.splitlines()[-1] == "No changes: 14 unchanged, 1 outside prune scope, 2 protected."


def test_a_backup_restored_beside_a_protect_file_leaves_protected_aliases_alone(cli_run, emulator, story, tmp_path):
    backups = tmp_path / "backups"
    applied = cli_run("apply", "--yes", "--prune", "--backup-dir", backups, story, emulator=emulator)
    assert applied.exit_code == 0, applied.output
    (backup,) = backups.iterdir()
    # since: the NOC adds an alias of its own, someone else a stray one
    emulator.seed([{"alias": "noc-new", "ip": "10.0.1.99", "port": 0, "mask": 32, "captureID": "0"},
                   {"alias": "stray", "ip": "10.0.1.98", "port": 0, "mask": 32, "captureID": "0"}])
    protect = write(tmp_path, "protect.yaml", "version: 1" + PROTECT_BLOCK)
    restored = cli_run("apply", "--yes", "--prune", "--backup-dir", backups, backup, protect, emulator=emulator)
    assert restored.exit_code == 0, restored.output
    assert "  protected: never updated or deleted: 1\n" in restored.stdout  # noc-new; the rest is in the backup
    names = {(a["alias"], a["ip"], a["port"]) for a in emulator.aliases()}
    assert ("bgcf01", "10.0.3.10", 5070) in names and ("bgcf01", "10.0.3.10", 5060) not in names  # restored
    assert ("stray", "10.0.1.98", 0) not in names
    assert {("noc-new", "10.0.1.99", 0), ("noc-mgcf", "10.0.3.20", 5060), ("mrf-01", "10.0.4.10", 5060)} <= names
