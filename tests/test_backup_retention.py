"""Backups that manage themselves: named after their server, pruned per server (--keep-backups),
and refused by another server unless --allow-other-server."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from homer_sync.apply import write_backup
from homer_sync.backups import parse_name, prune_backups, same_server, server_key, server_url
from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator
from homer_sync.inventory import dump_inventory, load_inventory

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
URL = "https://homer-lab.example.net:8443/homer/"


def clock_at(*moments):
    """A clock that answers each moment in turn."""
    answers = iter(moments)
    return lambda: next(answers)


def test_name_carries_server_name_host_and_time(tmp_path, make_alias):
    path = write_backup([make_alias()], tmp_path, server_label=URL, dump=dump_inventory, server_name="lab",
                        clock=clock_at(START))
    assert path.name == "homer-aliases-lab@homer-lab.example.net_8443-20260301T120000.000000Z.yaml"
    found = parse_name(path)
    assert (found.key, found.taken) == ("lab@homer-lab.example.net_8443", START)
    plain = write_backup([make_alias()], tmp_path, server_label="http://10.0.0.5", dump=dump_inventory,
                         clock=clock_at(START))
    assert plain.name == "homer-aliases-10.0.0.5-20260301T120000.000000Z.yaml"


def test_the_backup_block_records_the_server_and_loads_back(tmp_path, make_alias):
    path = write_backup([make_alias(name="pcscf")], tmp_path, server_label="https://user:pw@homer.example.net/",
                        dump=dump_inventory, server_name="prod", clock=clock_at(START))
    text = path.read_text()
    assert "backup:\n  server: https://homer.example.net\n  name: prod\n  taken: 20260301T120000.000000Z\n" in text
    assert "pw" not in text  # never a credential from the URL
    inventory = load_inventory([str(path)])
    assert [(o.server, o.name, o.taken) for o in inventory.backup_of] == [
        ("https://homer.example.net", "prod", "20260301T120000.000000Z")]
    assert [a.name for a in inventory.aliases] == ["pcscf"]


def test_an_invalid_backup_block_is_an_inventory_error(tmp_path):
    from homer_sync.errors import InventoryError

    path = tmp_path / "inv.yaml"
    path.write_text("version: 1\nbackup: {server: '', when: x}\naliases:\n  - {alias: a, ip: 10.0.0.1}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory([str(path)])
    text = str(caught.value)
    assert "inv.yaml:2: backup.when: unknown key 'when' in backup" in text
    assert "inv.yaml:2: backup.server: backup.server must be a non-empty string" in text


def test_retention_keeps_the_newest_of_that_server_by_the_time_in_the_name(tmp_path, make_alias):
    times = [START + timedelta(hours=h) for h in range(5)]
    mine = [write_backup([make_alias()], tmp_path, server_label=URL, dump=dump_inventory, server_name="lab",
                         clock=clock_at(t)) for t in times]
    other = write_backup([make_alias()], tmp_path, server_label="https://homer.example.net", dump=dump_inventory,
                         clock=clock_at(START - timedelta(days=9)))
    old_style = tmp_path / "homer-aliases-20250101T000000.000000Z.yaml"
    old_style.write_text("version: 1\n")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me")
    # modification times in the opposite order: retention must not read them
    for age, path in enumerate(mine):
        os.utime(path, (1_000_000 + (10 - age) * 1000,) * 2)
    removed = prune_backups(tmp_path, server_key(URL, "lab"), keep=2)
    assert removed == mine[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine[3].name, mine[4].name, other.name, old_style.name, unrelated.name])


def test_keep_zero_keeps_every_backup(tmp_path, make_alias):
    for hour in range(3):
        write_backup([make_alias()], tmp_path, server_label=URL, dump=dump_inventory,
                     clock=clock_at(START + timedelta(hours=hour)))
    assert prune_backups(tmp_path, server_key(URL), keep=0) == []
    assert len(list(tmp_path.iterdir())) == 3


def test_the_same_server_whatever_the_spelling_of_its_url():
    assert same_server("HTTPS://Homer.example.net/", "https://homer.example.net")
    assert same_server("https://u:p@homer.example.net/x/", "https://homer.example.net/x")
    assert not same_server("https://homer.example.net", "https://homer-lab.example.net")
    assert not same_server("https://homer.example.net", "https://homer.example.net:8443")
    assert server_url("http://[2001:db8::1]:80/") == "http://[2001:db8::1]:80"


# -- end to end ---------------------------------------------------------------------------------------


SEED = [{"alias": "old-name", "ip": "10.0.0.1", "port": 5060, "mask": 32, "captureID": "0", "status": True},
        {"alias": "stray", "ip": "10.0.0.9", "port": 0, "mask": 32, "captureID": "0", "status": True}]


def run(tmp_path, emulator, *args):
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "HOMER_URL": emulator.url, "HOMER_USERNAME": "admin",
           "HOMER_PASSWORD": "sipcapture", "HOMER_API": None, "HOMER_TOKEN": None, "HOMER_SERVER": None}
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def writes(emulator) -> list:
    return [entry for entry in emulator.request_log if entry[0] in ("POST", "PUT", "DELETE") and "auth" not in entry[1]]


def test_keep_backups_prunes_that_servers_old_backups_only(tmp_path):
    backups = tmp_path / "backups"
    with HomerEmulator(api="v3") as homer:
        neighbour = write_backup([], backups, server_label="http://192.0.2.7", dump=dump_inventory,
                                 clock=clock_at(START))
        for name in ("first", "second", "third", "fourth"):  # the first only creates: no backup
            inventory = tmp_path / f"{name}.yaml"
            inventory.write_text(f"version: 1\naliases:\n  - {{alias: {name}, ip: 10.0.0.1, port: 5060}}\n")
            result = run(tmp_path, homer, "apply", "--yes", "--backup-dir", backups, "--keep-backups", 2, inventory)
            assert result.exit_code == 0, result.output
        mine = sorted(p for p in backups.iterdir() if p != neighbour)
        assert len(mine) == 2 and neighbour.exists()
        assert all(parse_name(p).key == server_key(homer.url) for p in mine)
        assert "Removed the 1 oldest backup(s) of this server (--keep-backups)" in result.stderr
        # the newest backup holds the state before the last apply
        assert "alias: third" in mine[-1].read_text() and "alias: second" in mine[0].read_text()


def test_a_backup_of_one_server_is_refused_by_another(tmp_path):
    backups = tmp_path / "backups"
    with HomerEmulator(api="v3") as lab, HomerEmulator(api="v3") as prod:
        lab.seed(SEED)
        inventory = tmp_path / "inv.yaml"
        inventory.write_text("version: 1\naliases:\n  - {alias: new-name, ip: 10.0.0.1, port: 5060}\n")
        assert run(tmp_path, lab, "apply", "--yes", "--prune", "--backup-dir", backups, inventory).exit_code == 0
        backup = next(backups.iterdir())
        prod.seed([{"alias": "prod-only", "ip": "10.9.9.9", "port": 0, "mask": 32, "captureID": "0",
                    "status": True}])
        before = prod.aliases()

        planned = run(tmp_path, prod, "plan", "--prune", backup)
        assert planned.exit_code == 0
        assert f"Warning: {backup} is a backup of {lab.url}, not of this server" in planned.stderr

        refused = run(tmp_path, prod, "apply", "--yes", "--prune", "--backup-dir", backups, backup)
        assert refused.exit_code == 1
        assert refused.stderr.strip().splitlines()[-1] == (
            f"Error: {backup} is a backup of {lab.url}, not of {prod.url}: applying it here would make this HOMER "
            "a copy of the other one; nothing was written. Give --allow-other-server to apply it to this server "
            "anyway")
        assert prod.aliases() == before and writes(prod) == []

        allowed = run(tmp_path, prod, "apply", "--yes", "--prune", "--allow-other-server", "--backup-dir", backups,
                      backup)
        assert allowed.exit_code == 0, allowed.output
        assert sorted(a["alias"] for a in prod.aliases()) == ["old-name", "stray"]

        # restoring a backup into the server it came from needs no flag
        restored = run(tmp_path, lab, "apply", "--yes", "--prune", "--backup-dir", backups, backup)
        assert restored.exit_code == 0, restored.output
        assert sorted(a["alias"] for a in lab.aliases()) == ["old-name", "stray"]
