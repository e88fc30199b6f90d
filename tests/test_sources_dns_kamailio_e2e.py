"""End to end: inventories whose sources are a real dnsmasq and Kamailio lists, planned and applied
against the HOMER emulator; failures stop the run before any write; thresholds still guard prunes."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from realservers import Dnsmasq, Kamailio, kamailio_binary

from homer_sync.cli import cli

DATA = Path(__file__).parent / "data" / "kamailio"
ZONE = (
    "--local=/example.net/",
    "--host-record=sip1.example.net,192.0.2.11,2001:db8::11",
    "--host-record=sip2.example.net,192.0.2.12",
    "--host-record=pcscf.example.net,192.0.2.20",
    "--host-record=sbc.example.net,192.0.2.30",
    "--srv-host=_sip._udp.example.net,sip1.example.net,5060,10,60",
    "--srv-host=_sip._udp.example.net,sip2.example.net,5080,20,40",
    "--srv-host=_sips._tcp.example.net,sip2.example.net,5061,10,50",
    "--naptr-record=example.net,10,50,S,SIP+D2U,,_sip._udp.example.net",
    "--naptr-record=example.net,30,50,S,SIPS+D2T,,_sips._tcp.example.net",
)


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path, monkeypatch):
    """The lock file and backups in this test's directory, not the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="module")
def dnsmasq():
    with Dnsmasq(*ZONE) as server:
        yield server


def write(tmp_path, text, name="inventory.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run(emulator, *args):
    return CliRunner().invoke(cli, [*args[:1], "--url", emulator.url, "--username", "admin",
                                    "--password", "sipcapture", *args[1:]])


def on_server(emulator):
    return sorted((a["alias"], a["ip"], a["mask"], a["port"], a["captureID"]) for a in emulator.aliases())


def writes(emulator):
    return [(m, p) for m, p, _ in emulator.request_log if m in ("POST", "PUT", "DELETE") and "/auth" not in p]


def dns_inventory(tmp_path, server, **extra):
    block = {"type": "dns", "srv": ["_sip._udp.example.net"], "naptr": ["example.net"], "naptr_services": ["SIPS+D2T"],
             "hosts": ["pcscf.example.net"], "host_port": 5060, "nameserver": "127.0.0.1", "port": server.port, **extra}
    return write(tmp_path, f"""\
        version: 1
        defaults: {{capture_id: "0"}}
        sources:
          - {json.dumps(block)}
        aliases:
          - {{alias: hand-made, ip: 10.9.0.0/16}}
        """)


def test_dns_source_plans_applies_and_then_plans_nothing(tmp_path, dnsmasq, emulator):
    inventory = dns_inventory(tmp_path, dnsmasq)
    plan = run(emulator, "plan", "--output", "json", inventory)
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["summary"]["create"] == 6
    applied = run(emulator, "apply", "--yes", inventory)
    assert applied.exit_code == 0, applied.output
    assert on_server(emulator) == [
        ("hand-made", "10.9.0.0", 16, 0, "0"),
        ("pcscf.example.net", "192.0.2.20", 32, 5060, "0"),
        ("sip1.example.net", "192.0.2.11", 32, 5060, "0"),
        ("sip1.example.net", "2001:db8::11", 128, 5060, "0"),
        ("sip2.example.net", "192.0.2.12", 32, 5061, "0"),  # NAPTR SIPS+D2T -> SRV _sips._tcp
        ("sip2.example.net", "192.0.2.12", 32, 5080, "0"),
    ]
    again = run(emulator, "plan", "--detailed-exitcode", inventory)
    assert again.exit_code == 0, again.output


def test_dns_failure_stops_the_run_before_any_write(tmp_path, dnsmasq, emulator):
    inventory = dns_inventory(tmp_path, dnsmasq, srv=["_sip._udp.example.net", "_sip._tcp.missing.example.net"])
    result = run(emulator, "apply", "--yes", inventory)
    assert result.exit_code == 1
    assert "an inventory source failed; nothing was planned or written" in result.stderr
    assert "dns SRV _sip._tcp.missing.example.net: does not exist (NXDOMAIN)" in result.stderr
    assert writes(emulator) == [] and emulator.aliases() == []


def test_validate_show_sources_lists_the_dns_entries(tmp_path, dnsmasq):
    inventory = dns_inventory(tmp_path, dnsmasq, naptr_services=["SIP+D2U"], alias_template="{label}")
    result = CliRunner().invoke(cli, ["validate", "--show-sources", inventory])
    assert result.exit_code == 0, result.output
    shown = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("- {")]
    assert ('- {alias: "sip1", ip: ["192.0.2.11", "2001:db8::11"], port: 5060}  '
            '# dns SRV _sip._udp.example.net target sip1.example.net') in shown
    assert ('- {alias: "sip2", ip: "192.0.2.12", port: 5080}  '
            '# dns NAPTR example.net SIP+D2U -> SRV _sip._udp.example.net target sip2.example.net') in shown
    assert '- {alias: "pcscf", ip: "192.0.2.20", port: 5060}  # dns host pcscf.example.net' in shown


def kamailio_inventory(tmp_path, server, **extra):
    for name in ("dispatcher.list", "address.list"):
        if not (tmp_path / name).exists():
            shutil.copy(DATA / name, tmp_path / name)
    block = {"type": "kamailio", "dispatcher_list": "dispatcher.list", "sets": [1, 2], "address_list": "address.list",
             "groups": [1, 2], "nameserver": "127.0.0.1", "port": server.port, **extra}
    return write(tmp_path, f"version: 1\nsources:\n  - {json.dumps(block)}\n")


def test_kamailio_files_plan_and_apply(tmp_path, dnsmasq, emulator):
    inventory = kamailio_inventory(tmp_path, dnsmasq)
    applied = run(emulator, "apply", "--yes", inventory)
    assert applied.exit_code == 0, applied.output
    assert on_server(emulator) == [
        ("carrier-b", "192.0.2.22", 32, 5060, "0"),
        ("core", "10.1.0.0", 16, 0, "0"),
        ("gw1", "192.0.2.21", 32, 5060, "0"),
        ("kamailio-grp2", "192.0.2.50", 32, 0, "0"),
        ("pbx-a", "10.0.0.10", 32, 5060, "0"),
        ("sbc", "192.0.2.30", 32, 5061, "0"),
        ("sbc.example.net", "192.0.2.30", 32, 5080, "0"),
        ("v6host", "2001:db8::20", 128, 0, "0"),
    ]
    assert run(emulator, "plan", "--detailed-exitcode", inventory).exit_code == 0


def test_a_bad_list_line_stops_the_run_with_its_number(tmp_path, dnsmasq, emulator):
    (tmp_path / "address.list").write_text("1 10.0.0.10 32 5060 pbx-a\n2 10.0.0.300 32 0 typo\n")
    result = run(emulator, "apply", "--yes", kamailio_inventory(tmp_path, dnsmasq))
    assert result.exit_code == 1
    assert "kamailio address.list: line 2: '10.0.0.300' is not an IP address" in result.stderr
    assert writes(emulator) == []


def test_a_source_returning_half_its_entries_trips_the_prune_threshold(tmp_path, emulator):
    (tmp_path / "address.list").write_text("".join(f"1 10.0.7.{i} 32 5060 peer{i}\n" for i in range(1, 13)))
    inventory = write(tmp_path, """\
        version: 1
        sources: [{type: kamailio, address_list: address.list}]
        prune: {enabled: true}
        """)
    assert run(emulator, "apply", "--yes", inventory).exit_code == 0
    assert len(emulator.aliases()) == 12
    # the list is truncated (a failed deployment, half a file): 6 of 12 would be deleted
    (tmp_path / "address.list").write_text("".join(f"1 10.0.7.{i} 32 5060 peer{i}\n" for i in range(1, 7)))
    emulator.reset_stats()
    result = run(emulator, "apply", "--yes", inventory)
    assert result.exit_code == 3, result.output
    assert writes(emulator) == [] and len(emulator.aliases()) == 12


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    if kamailio_binary() is None:
        pytest.skip("kamailio is not installed (apt-get install kamailio): live JSON-RPC tests skipped")
    files = tmp_path_factory.mktemp("kamailio-e2e")
    for name in ("dispatcher.list", "address.list"):
        shutil.copy(DATA / name, files / name)
    with Kamailio(str(files / "dispatcher.list"), str(files / "address.list")) as server:
        yield server


def test_kamailio_live_plans_the_same_as_its_files(tmp_path, dnsmasq, kamailio, emulator):
    files = run(emulator, "plan", "--output", "json", kamailio_inventory(tmp_path, dnsmasq))
    live_block = {"type": "kamailio", "rpc_url": kamailio.rpc_url, "sets": [1, 2], "groups": [1, 2],
                  "nameserver": "127.0.0.1", "port": dnsmasq.port}
    live_inventory = write(tmp_path, f"version: 1\nsources:\n  - {json.dumps(live_block)}\n", "live.yaml")
    live = run(emulator, "plan", "--output", "json", live_inventory)
    assert files.exit_code == live.exit_code == 0, live.output

    def creates(result):
        return sorted(json.dumps(c["after"], sort_keys=True) for c in json.loads(result.stdout)["changes"])

    assert creates(live) == creates(files) and len(creates(live)) == 8
