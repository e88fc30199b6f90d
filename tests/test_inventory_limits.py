"""An inventory that expands (ip x port) past --max-aliases is refused before any alias is made."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.errors import InventoryError
from homer_sync.inventory import DEFAULT_MAX_ALIASES, load_inventory, merge


def load(text: str, **kwargs):
    return load_inventory(["-"], stdin=io.StringIO(text), resolve_hosts=False, **kwargs)


def anchored_ports(entries: int, ports: int) -> str:
    """``entries`` aliases sharing one anchored list of ``ports`` ports (a 0.5 MB file for 65,536)."""
    listed = ", ".join(str(p) for p in range(ports))
    lines = ["version: 1", f"x-ports: &ports [{listed}]", "aliases:"]
    lines += [f"  - {{alias: a{i:02d}, ip: 10.0.{i}.1, port: *ports}}" for i in range(entries)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def no_alias_may_be_made(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an alias was made for an inventory over the limit")

    monkeypatch.setattr(merge, "Alias", refuse)


def test_forty_entries_sharing_an_anchored_list_of_65536_ports_are_refused_at_the_crossing_entry(
        no_alias_may_be_made):
    with pytest.raises(InventoryError) as info:
        load(anchored_ports(40, 65536))
    (problem,) = info.value.problems
    # 65,536 x 4 = 262,144 is the first total over 200,000: the fourth entry, on line 7.
    assert (problem.line, problem.field) == (7, "aliases[3]")
    assert problem.message == (
        "expands to 65,536 aliases (1 address x 65,536 ports), bringing the inventory to 262,144, over the "
        "limit of 200,000 aliases (the whole inventory expands to 2,621,440); nothing was expanded. "
        "Use --max-aliases to raise the limit if that many is meant")


def test_one_entry_of_3000_ips_by_3000_ports_is_refused(no_alias_may_be_made):
    ips = ", ".join(f"10.{i // 250}.{i % 250}.1" for i in range(3000))
    ports = ", ".join(str(5000 + p) for p in range(3000))
    text = f"version: 1\naliases:\n  - alias: big\n    ip: [{ips}]\n    port: [{ports}]\n"
    with pytest.raises(InventoryError) as info:
        load(text)
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (3, "aliases[0]")
    assert problem.message.startswith("expands to 9,000,000 aliases (3,000 addresses x 3,000 ports), bringing "
                                      "the inventory to 9,000,000, over the limit of 200,000 aliases")


def test_the_limit_itself_is_allowed_and_can_be_raised():
    assert DEFAULT_MAX_ALIASES == 200_000
    text = anchored_ports(3, 10)
    assert len(load(text, max_aliases=30).aliases) == 30
    with pytest.raises(InventoryError) as info:
        load(text, max_aliases=29)
    assert [(p.line, p.field) for p in info.value.problems] == [(6, "aliases[2]")]


def test_cli_flag_raises_the_limit(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text(anchored_ports(2, 10), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["--max-aliases", "15", "validate", str(path)])
    assert refused.exit_code == 1
    assert f"{path}:5: aliases[1]: expands to 10 aliases (1 address x 10 ports), bringing the inventory to 20, " \
           "over the limit of 15 aliases" in refused.output
    allowed = CliRunner().invoke(cli, ["--max-aliases", "20", "validate", str(path)])
    assert (allowed.exit_code, allowed.output) == (0, f"{path}: valid, 20 aliases\n")
    assert CliRunner().invoke(cli, ["--max-aliases", "0", "validate", str(path)]).exit_code == 64
