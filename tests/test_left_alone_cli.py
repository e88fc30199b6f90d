"""What a plan leaves alone, through the CLI against the HOMER 7 emulator: the README's story
(the example inventory applied, then bgcf01 moved from port 5070 to 5060, an mrf no longer
declared, a lab phone outside prune.only), in every output format, exactly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from homer_sync.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_SERVER = "server: https://homer.example.net, api: v3"

EXTRA = [
    {"alias": "bgcf01", "ip": "10.0.3.10", "port": 5070, "mask": 32, "captureID": "0", "status": True},
    {"alias": "mrf-01", "ip": "10.0.4.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "lab-phone", "ip": "198.51.100.50", "port": 0, "mask": 32, "captureID": "0", "status": True},
]


def readme_block(summary: str) -> str:
    """The README's ```text block of a plan that ends with ``summary``."""
    for block in re.findall(r"```text\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        if block.startswith(README_SERVER + "\n") and block.endswith("\n" + summary + "\n"):
            return block
    raise AssertionError(f"README has no plan ending with {summary!r}")


@pytest.fixture
def story(emulator, tmp_path):
    """The emulator holds the example inventory as applied a while ago, and the three extras."""
    inventory = tmp_path / "inventory.yaml"
    shutil.copy(ROOT / "inventory.example.yaml", inventory)
    declared = load_inventory([str(inventory)]).aliases
    emulator.seed([{"alias": a.name, "ip": a.ip, "port": a.port, "mask": a.mask, "captureID": a.capture_id,
                    "status": a.status} for a in declared if a.name != "bgcf01"] + EXTRA)
    return str(inventory)


def as_readme(text: str, emulator) -> str:
    return text.replace(f"server: {emulator.url}, api: v3", README_SERVER)


def test_plan_without_prune_lists_what_stays_as_in_the_readme(cli_run, emulator, story):
    result = cli_run("plan", story, emulator=emulator)
    assert result.exit_code == 0, result.output
    assert as_readme(result.stdout, emulator) == readme_block(
        "Plan: 1 to create, 0 to update, 0 to delete, 14 unchanged, 3 undeclared kept.")
    assert result.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete, 14 unchanged, " \
                                             "3 undeclared kept."


def test_plan_with_prune_shows_the_replacement_as_in_the_readme(cli_run, emulator, story):
    result = cli_run("plan", "--prune", story, emulator=emulator)
    assert result.exit_code == 0, result.output
    assert as_readme(result.stdout, emulator) == readme_block(
        "Plan: 1 to create, 0 to update, 2 to delete, 14 unchanged, 1 outside prune scope.")


def test_apply_with_prune_makes_the_replacement_and_keeps_what_is_out_of_scope(cli_run, emulator, story):
    result = cli_run("apply", "--yes", "--prune", story, emulator=emulator)
    assert result.exit_code == 0, result.output
    on_server = {(a["alias"], a["ip"], a["port"]) for a in emulator.aliases()}
    assert ("bgcf01", "10.0.3.10", 5060) in on_server and ("bgcf01", "10.0.3.10", 5070) not in on_server
    assert ("lab-phone", "198.51.100.50", 0) in on_server and ("mrf-01", "10.0.4.10", 5060) not in on_server
    again = cli_run("plan", "--prune", story, emulator=emulator)
    assert again.stdout.splitlines()[-1] == "No changes: 15 unchanged, 1 outside prune scope."


def test_short_form_by_default_every_alias_with_v(cli_run, emulator, story, tmp_path):
    emulator.seed([{"alias": f"stray{i}", "ip": f"10.0.7.{i}", "port": 0, "mask": 32, "captureID": "0",
                    "status": True} for i in range(1, 5)])
    short = cli_run("plan", story, emulator=emulator)
    assert "      ... and 4 more (-v or --output json lists them all)" not in short.stdout
    assert "    ... and 4 more (-v or --output json lists them all)" in short.stdout
    assert "stray4" not in short.stdout
    full = cli_run("-v", "plan", story, emulator=emulator)
    assert full.exit_code == 0
    assert all(f"stray{i}" in full.stdout for i in range(1, 5))
    assert "more (-v" not in full.stdout
    assert full.stdout.splitlines()[-1].endswith(", 7 undeclared kept.")


def test_json_and_markdown_carry_the_left_alone_part(cli_run, emulator, story):
    doc = json.loads(cli_run("plan", story, "--output", "json", emulator=emulator).stdout)
    assert doc["left_alone"]["counts"] == {"undeclared": 3}
    assert [item["alias"]["alias"] for item in doc["left_alone"]["aliases"]] == ["bgcf01", "mrf-01", "lab-phone"]
    assert doc["changes"][0]["replaces"]["port"] == 5070
    markdown = cli_run("plan", story, "--output", "markdown", emulator=emulator).stdout
    assert "**Plan: 1 to create, 0 to update, 0 to delete, 14 unchanged, 3 undeclared kept.**" in markdown
    assert markdown.endswith(
        "| not declared: kept (use --prune) (3) | 10.0.3.10/32 | 5070 | 0 | bgcf01 "
        "| old alias, replaced by port 5060 |\n"
        "|  | 10.0.4.10/32 | 5060 | 0 | mrf-01 |  |\n"
        "|  | 198.51.100.50/32 | 0 | 0 | lab-phone |  |\n")


def test_a_saved_plan_shows_what_it_leaves_alone_when_applied(cli_run, emulator, story, tmp_path):
    saved = tmp_path / "reviewed.plan"
    assert cli_run("plan", story, "--save", saved, emulator=emulator).exit_code == 0
    assert json.loads(saved.read_text())["left_alone"]["counts"] == {"undeclared": 3}
    applied = cli_run("apply", "--yes", "--plan", saved, emulator=emulator)
    assert applied.exit_code == 0, applied.output
    assert "Plan: 1 to create, 0 to update, 0 to delete, 14 unchanged, 3 undeclared kept." in applied.stdout
    assert "    10.0.4.10/32      port 5060  capture 0  mrf-01" in applied.stdout
