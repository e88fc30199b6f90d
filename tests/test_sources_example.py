"""inventory.sources.example.yaml: all four source types, valid as it stands (checked offline)."""

from __future__ import annotations

from pathlib import Path

import yaml

from homer_sync.inventory import open_inventory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inventory.sources.example.yaml"


def test_example_shows_every_source_type():
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert [block["type"] for block in doc["sources"]] == ["netbox", "dns", "kamailio", "command"]


def test_example_is_valid_offline():
    from click.testing import CliRunner

    from homer_sync.cli import cli

    draft = open_inventory([str(EXAMPLE)])
    assert [spec.type for spec in draft.source_specs] == ["netbox", "dns", "kamailio", "command"]
    assert draft.prune.owned is not None  # the netbox block owns its networks
    result = CliRunner().invoke(cli, ["validate", "--no-sources", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: valid, 1 alias (sources not read)\n"


def test_the_demo_inventory_stays_source_free():
    doc = yaml.safe_load((ROOT / "inventory.example.yaml").read_text(encoding="utf-8"))
    assert "sources" not in doc
