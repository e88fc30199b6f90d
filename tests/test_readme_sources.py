"""The README's DNS and Kamailio sections are what the tool does: their inventories, run against a
real dnsmasq (the zone of the source tests) and the emulator, print exactly the plans shown."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from realservers import Dnsmasq
from test_sources_dns_kamailio_e2e import DATA, ZONE

from homer_sync.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n### {title}\n")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="module")
def dnsmasq():
    with Dnsmasq(*ZONE) as server:
        yield server


def plan_output(emulator, inventory: Path) -> list[str]:
    result = CliRunner().invoke(cli, ["plan", "--url", emulator.url, "--username", "admin", "--password",
                                      "sipcapture", "--output", "plain", str(inventory)])
    assert result.exit_code == 0, result.output
    return [line.replace(emulator.url, "https://homer.example.net") for line in result.stdout.splitlines()]


def shown_plan(text: str) -> list[str]:
    plans = [block for block in blocks(text, "text") if block.startswith("server: ")]
    assert len(plans) == 1
    return plans[0].splitlines()


def test_dns_section_plan_is_what_the_tool_prints(tmp_path, dnsmasq, emulator):
    text = section("DNS")
    (inventory_text,) = blocks(text, "yaml")
    assert "nameserver: 10.0.0.53" in inventory_text
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(inventory_text.replace(
        "nameserver: 10.0.0.53", f"nameserver: 127.0.0.1\n    port: {dnsmasq.port}"), encoding="utf-8")
    emulator.seed([{"alias": "sip-old", "ip": "192.0.2.11", "mask": 32, "port": 5060, "captureID": "0",
                    "status": True}])
    assert plan_output(emulator, inventory) == shown_plan(text)


def test_kamailio_section_plan_is_what_the_tool_prints(tmp_path, dnsmasq, emulator):
    text = section("Kamailio")
    inventory_text = blocks(text, "yaml")[0]
    for name in ("dispatcher.list", "address.list"):
        shutil.copy(DATA / name, tmp_path / name)
        assert f"/etc/kamailio/{name}" in inventory_text
    inventory = tmp_path / "inventory.yaml"
    # The lists name sbc.example.net: the test's dnsmasq answers for it.
    inventory.write_text(inventory_text.replace("/etc/kamailio/", "")
                         + f"    nameserver: 127.0.0.1\n    port: {dnsmasq.port}\n", encoding="utf-8")
    assert plan_output(emulator, inventory) == shown_plan(text)


def test_kamailio_section_configuration_is_the_one_the_tests_start():
    from realservers import KAMAILIO_CFG

    (config,) = [block for block in blocks(section("Kamailio"), "text") if "loadmodule" in block]
    tested = KAMAILIO_CFG.replace("{{", "{").replace("}}", "}")
    for line in config.splitlines():
        if line.startswith(("loadmodule", "modparam(\"jsonrpcs\"", "tcp_accept_no_cl")):
            assert line in tested, line
