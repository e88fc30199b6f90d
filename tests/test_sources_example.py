"""inventory.sources.example.yaml: all four source types; its netbox and command blocks are valid
as they stand (the dns and kamailio blocks are checked with their sources' tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

from homer_sync.inventory import open_inventory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inventory.sources.example.yaml"


def test_example_shows_every_source_type():
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert [block["type"] for block in doc["sources"]] == ["netbox", "dns", "kamailio", "command"]


def test_example_netbox_and_command_blocks_are_valid(tmp_path):
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["sources"] = [block for block in doc["sources"] if block["type"] in ("netbox", "command")]
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    draft = open_inventory([str(path)])
    assert [spec.type for spec in draft.source_specs] == ["netbox", "command"]
    assert draft.prune.owned is not None  # the netbox block owns its networks


def test_the_demo_inventory_stays_source_free():
    doc = yaml.safe_load((ROOT / "inventory.example.yaml").read_text(encoding="utf-8"))
    assert "sources" not in doc
