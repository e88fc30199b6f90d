"""Whatever HOMER holds, a backup or an export restores it exactly: end to end, in both API modes.

HOMER is seeded with what a hand-written inventory may not say (host bits, mask 99, port -1
and 70000, padded capture ids, control characters in names; on v4 also tags, an owner mark and
an alias without a capture id). An export must plan no change; an apply that wipes most of it
writes a backup; someone then edits what is left; ``apply --prune BACKUP`` must bring back
every field of every alias, byte for byte.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli

ODD_V3 = [
    {"alias": "host bits", "ip": "10.0.0.1", "mask": 24, "port": 5060, "captureID": "0"},
    {"alias": "padded capture", "ip": "10.0.1.1", "mask": 32, "port": 0, "captureID": " CAP1 "},
    {"alias": "mask 99", "ip": "10.0.2.1", "mask": 99, "port": 70000, "captureID": "0"},
    {"alias": "negative port", "ip": "10.0.3.1", "mask": 32, "port": -1, "captureID": "7"},
    {"alias": "tab\there  ", "ip": "10.0.4.1", "mask": 32, "port": 5061, "captureID": "0", "status": False},
    {"alias": "v6 host bits", "ip": "2001:db8::1", "mask": 64, "port": 5060, "captureID": "C" * 20},
    {"alias": "kept", "ip": "10.0.5.1", "mask": 32, "port": 5060, "captureID": "0"},
]
ODD_V4 = [
    {"alias": "tagged", "ip": "10.0.6.1", "mask": 32, "port": 5060, "captureID": "0",
     "custom_image": "sbc.png", "tag1": "rack 4", "tag4": "ci-pipeline"},
    # Outside the wipe's prune scope: HOMER 10's API refuses an empty capture id in writes,
    # so this one is never recreated; it must survive export and restore untouched.
    {"alias": "no capture id", "ip": "192.168.0.1", "mask": 32, "port": 0, "captureID": ""},
]
# Declares one alias of the seed with another name and one new alias; prunes everything else.
WIPE = """\
version: 1
aliases:
  - {alias: renamed, ip: 10.0.5.1, port: 5060}
  - {alias: newcomer, ip: 10.9.9.9, port: 5060}
prune:
  only:
    networks: [10.0.0.0/8, "2001:db8::/32"]
"""


@pytest.fixture
def homer(any_emulator):
    seed = ODD_V3 + (ODD_V4 if any_emulator.api == "v4" else [])
    any_emulator.seed(seed)
    return any_emulator


@pytest.fixture
def run(homer, tmp_path):
    env = {"HOMER_URL": homer.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture",
           "XDG_STATE_HOME": str(tmp_path / "state"), "NO_COLOR": "1"}

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def every_field(homer) -> Counter:
    """Each alias as every field HOMER stores except its row id and guid."""
    return Counter(tuple(sorted((k, v) for k, v in row.items() if k not in ("id", "guid")))
                   for row in homer.aliases())


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_export_plans_no_change(homer, run, tmp_path, fmt):
    exported = run("export", "--output", fmt)
    assert exported.exit_code == 0, exported.output
    path = tmp_path / f"homer.{fmt}"
    path.write_text(exported.stdout, encoding="utf-8")
    planned = run("plan", "--prune", "--detailed-exitcode", str(path))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.splitlines()[-1].startswith("No changes.")


def test_backup_restores_every_field(homer, run, tmp_path):
    before = every_field(homer)
    guid_of_kept = next(row["guid"] for row in homer.aliases() if row["alias"] == "kept")
    inventory = tmp_path / "wipe.yaml"
    inventory.write_text(WIPE)

    wiped = run("apply", "--yes", "--force", "--prune", "--backup-dir", str(tmp_path / "backups"), str(inventory))
    assert wiped.exit_code == 0, wiped.output
    (backup,) = (tmp_path / "backups").iterdir()
    assert f"Backup of the previous aliases: {backup}" in wiped.stderr
    left = {row["alias"] for row in homer.aliases()}
    # mask 99 places the alias in no network, so prune.only.networks never matches it: it stays.
    assert left == {"renamed", "newcomer", "mask 99"} | ({"no capture id"} if homer.api == "v4" else set())
    if homer.api == "v4":
        # Someone else edits the renamed alias's tags after the apply.
        homer.store.replace(guid_of_kept, {"tag2": "added later", "custom_image": "other.png"})

    restored = run("apply", "--yes", "--force", "--prune", str(backup))
    assert restored.exit_code == 0, restored.output
    assert every_field(homer) == before
    # What was only renamed is updated in place: same guid, not deleted and recreated.
    assert any(row["guid"] == guid_of_kept and row["alias"] == "kept" for row in homer.aliases())
    again = run("plan", "--prune", "--detailed-exitcode", str(backup))
    assert again.exit_code == 0, again.output


def test_v4_backup_with_tags_is_refused_by_a_v3_server(tmp_path, emulator, emulator_v4):
    emulator_v4.seed(ODD_V4[:1])
    env = {"HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture", "XDG_STATE_HOME": str(tmp_path)}
    exported = CliRunner().invoke(cli, ["export"], env={**env, "HOMER_URL": emulator_v4.url})
    path = Path(tmp_path / "v4.yaml")
    path.write_text(exported.stdout)
    emulator.reset_stats()
    refused = CliRunner().invoke(cli, ["apply", "--yes", str(path)], env={**env, "HOMER_URL": emulator.url})
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: the inventory gives 10.0.6.1/32 port 5060 ('tagged') the API v4 field(s) custom_image, tag1,"
        " tag4, but this server speaks API v3, whose aliases have no tags; restore it to a HOMER with API v4,"
        " or remove its tags")
    assert [method for method, _, _ in emulator.request_log] == ["POST", "GET"]  # log in, list; no write
