"""type: netbox — end to end against the NetBox emulator (built from the real NetBox's recording),
then through plan and apply against the HOMER emulator."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner
from netbox_emulator import NetBoxEmulator

from homer_sync.cli import cli
from homer_sync.errors import InventoryError
from homer_sync.inventory import SourceFailure, load_inventory, open_inventory
from homer_sync.sources import netbox


@pytest.fixture
def nb():
    with NetBoxEmulator() as emulator:
        yield emulator


def inventory(tmp_path, nb_url, extra="", head="", name="inventory.yaml"):
    path = tmp_path / name
    path.write_text(
        f"version: 1\n{head}sources:\n  - type: netbox\n    url: {nb_url}\n    token_env: NETBOX_TOKEN\n"
        f"    capture_id_field: homer_capture_id\n{extra}", encoding="utf-8")
    return str(path)


def entries(inv):
    """(alias, ip, port, capture_id) of each entry, and the origins."""
    (collected,) = inv.collected
    return {(e.fields["alias"], e.fields["ip"], e.fields["port"], e.fields.get("capture_id"))
            for e in collected.entries}, [e.origin for e in collected.entries]


def test_tagged_objects_map_to_aliases_with_precedence(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    filters: {tag: homer}\n")
    inv = load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    got, origins = entries(inv)
    # a device's primary IP is named after the device, over the IP address object; its capture id
    # comes from the IP address's custom field (devices have none)
    assert ("sbc01.fra1", "10.10.1.11", 0, "2001") in got
    assert "netbox dcim/devices id=1 (preferred to ipam/ip-addresses id=1)" in origins
    # a service: one alias per attached ip x port; the TLS service borrows the address's capture id
    assert ("sbc01.fra1-sip", "10.10.1.11", 5060, "2001") in got
    assert ("sbc01.fra1-sip-tls", "10.10.1.11", 5061, "2001") in got
    assert ("sbc01.fra1-sip-tls", "2001:db8:10:1::11", 5061, "2001") in got
    # a service that lists no IP covers its parent's primary IPs (read from NetBox once)
    assert {("pcscf02.fra1-sip", "10.10.2.22", port, "2102") for port in (5060, 5061)} <= got
    assert ("GET", "/api/dcim/devices/4/", 200) in nb.request_log
    # an FHRP group's service is named after the group's description
    assert ("FRA1 SBC pair core-side VIP-sip", "10.10.1.10", 5060, "2000") in got
    # an IP address without a machine: its dns name, a host alias on port 0 (not the /28 it carries)
    assert ("sbc.carrier-a.example.com", "192.0.2.1", 0, "3001") in got
    # prefixes: subnet aliases named by their description
    assert ("FRA1 NNI with Carrier A (AS64500)", "192.0.2.0/28", 0, "3000") in got
    # no custom field anywhere: the inventory's defaults
    assert ("scscf02.fra1", "10.10.3.32", 0, None) in got
    assert len(got) == len(origins) == 46
    # one entry per address and port: no identity conflict despite the overlapping objects
    assert len({(ip, port) for _, ip, port, _ in got}) == 46
    assert len(inv.aliases) == 46
    # the filters were passed through to every list; nothing else was requested
    lists = sorted(p for _, p, _ in nb.request_log if p != "/api/dcim/devices/4/")
    assert lists == [f"/api/{path}/?tag=homer&limit=1000" for path in sorted(
        ["dcim/devices", "ipam/ip-addresses", "ipam/prefixes", "ipam/services", "virtualization/virtual-machines"])]


def test_pagination_follows_next_to_the_end(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    objects: [ip-addresses]\n    page_size: 5\n")
    inv = load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    got, _ = entries(inv)
    assert len(got) == 44  # every IP address of the recording, 9 pages of 5
    paths = [p for _, p, _ in nb.request_log]
    assert paths[0] == "/api/ipam/ip-addresses/?limit=5"
    assert paths[1:] == [f"/api/ipam/ip-addresses/?limit=5&offset={n}" for n in range(5, 45, 5)]


def test_ip_address_naming_is_configurable_and_per_object_filters_apply(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    objects:\n      ip-addresses: {vrf_id: 1, status: active}\n"
                                      "    ip_address_name: [assigned, description]\n")
    inv = load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    got, _ = entries(inv)
    assert ("sbc01.fra1-pkt0", "10.10.1.11", 0, "2001") in got  # device-interface
    assert ("ENUM/DNS anycast", "10.10.0.53", 0, None) in got  # no interface: the description
    assert all(not ip.startswith(("192.0.2.", "172.16.")) for _, ip, _, _ in got)  # vrf_id=1 only
    assert [p for _, p, _ in nb.request_log] == ["/api/ipam/ip-addresses/?vrf_id=1&status=active&limit=1000"]


def test_legacy_token_is_sent_as_token_and_v2_as_bearer(tmp_path, nb, monkeypatch):
    sent = []
    original = nb.handle

    def spy(method, target, headers, body):
        sent.append(headers.get("Authorization", "").split()[0])
        return original(method, target, headers, body)

    monkeypatch.setattr(nb, "handle", spy)
    path = inventory(tmp_path, nb.url, "    objects: [prefixes]\n")
    assert len(load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token_v1}).aliases) == 7
    assert len(load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token}).aliases) == 7
    assert sent == ["Token", "Bearer"]


def test_token_file_relative_to_the_inventory(tmp_path, nb):
    (tmp_path / "netbox.token").write_text(nb.read_token + "\n", encoding="utf-8")
    path = tmp_path / "inventory.yaml"
    path.write_text(f"version: 1\nsources:\n  - {{type: netbox, url: '{nb.url}', token_file: netbox.token, "
                    "objects: [prefixes]}\n", encoding="utf-8")
    assert len(load_inventory([str(path)], environ={}).aliases) == 7


@pytest.mark.parametrize(("token", "said"), [
    ("nbt_AAAAAAAAAAAA.0000000000000000000000000000000000000000", "403 Invalid v2 token"),
    ("0123456789abcdef0123456789abcdef01234567", "403 Invalid v1 token"),
    ("nbt_garbage-without-dot", "403 Invalid authorization header: Could not parse key from v2 token."),
])
def test_refused_token_fails_the_source_without_showing_it(tmp_path, nb, token, said):
    path = inventory(tmp_path, nb.url, "    objects: [devices]\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={"NETBOX_TOKEN": token})
    message = str(caught.value)
    assert f"netbox {nb.url}: NetBox refused the token ({said}" in message
    assert "check the token and that it may read this NetBox" in message
    assert token not in message


def test_unknown_filter_value_gives_netbox_s_per_field_message(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    objects: [ip-addresses, devices]\n    filters: {tag: does-not-exist}\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    # both lists are refused; the first in the source's fixed order is reported
    assert str(caught.value).endswith(
        f"netbox {nb.url}: NetBox refused the query for the devices (400): tag: Select a valid choice. "
        "does-not-exist is not one of the available choices.")


def test_vrf_name_instead_of_route_distinguisher(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    objects:\n      ip-addresses: {vrf: voice}\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    assert ("NetBox refused the query for the ip-addresses (400): vrf: Select a valid choice. voice is not one "
            "of the available choices.") in str(caught.value)


def test_unreachable_netbox(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = inventory(tmp_path, f"http://127.0.0.1:{port}", "    objects: [devices]\n    timeout: 2\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={"NETBOX_TOKEN": "x"})
    assert f"cannot reach NetBox at http://127.0.0.1:{port}: connection refused" in str(caught.value)


def test_missing_token_variable(tmp_path, nb):
    path = inventory(tmp_path, nb.url)
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={})
    assert "the environment variable NETBOX_TOKEN (token_env) is not set or empty" in str(caught.value)
    assert nb.request_log == []


def test_list_changing_while_read_is_refused(tmp_path, nb, monkeypatch):
    original = nb.handle

    def remove_after_first_page(method, target, headers, body):
        answer = original(method, target, headers, body)
        if "offset" not in target and 1 in nb.objects["ipam/ip-addresses"]:
            nb.remove("ipam/ip-addresses", [1])  # between page 1 and page 2
        return answer

    monkeypatch.setattr(nb, "handle", remove_after_first_page)
    path = inventory(tmp_path, nb.url, "    objects: [ip-addresses]\n    page_size: 10\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ={"NETBOX_TOKEN": nb.read_token})
    assert "the ip-addresses list changed while it was read (44 then 43 objects); run again" in str(caught.value)


@pytest.mark.parametrize(("block", "message"), [
    ("    token_env: T\n", "sources[0]: missing url (the NetBox address, e.g. https://netbox.example.net)"),
    ("    url: netbox.example.net\n    token_env: T\n", "sources[0].url: url must be http(s)://host[:port][/prefix]"),
    ("    url: https://nb\n", "sources[0]: give the API token as exactly one of token_env (an environment "
                             "variable) or token_file (a file holding it)"),
    ("    url: https://nb\n    token_env: T\n    objects: [vlans]\n",
     "sources[0].objects: unknown NetBox object 'vlans'; use virtual-machines, devices, ip-addresses, services, "
     "prefixes"),
    ("    url: https://nb\n    token_env: T\n    filters: {tag: {a: 1}}\n",
     "sources[0].filters.tag: a filter value must be a text, a number, true/false, or a list of them "
     "(repeated parameters)"),
    ("    url: https://nb\n    token_env: T\n    service_name: '{device}'\n",
     "sources[0].service_name: service_name must be a text with {parent}, {name} and {protocol} placeholders, "
     "e.g. '{parent}-{name}'"),
    ("    url: https://nb\n    token_env: T\n    page_size: 5000\n",
     "sources[0].page_size: page_size must be an integer 1-1000"),
    ("    url: https://nb\n    token_env: T\n    tokn: x\n",
     "sources[0].tokn: unknown key 'tokn'; a netbox source takes: url, token_env, token_file, objects, filters, "
     "capture_id_field, ip_address_name, service_name, timeout, ca_bundle, insecure, page_size"),
])
def test_configuration_checked_offline(tmp_path, block, message):
    path = tmp_path / "inventory.yaml"
    path.write_text("version: 1\nsources:\n  - type: netbox\n" + block, encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        open_inventory([str(path)])
    assert message in [str(p).split(": ", 1)[1] for p in caught.value.problems]


def test_precedence_between_equals_is_the_lowest_id_and_capture_ids_are_borrowed():
    lists = {
        "ip-addresses": [
            {"id": 7, "address": "10.0.0.1/24", "dns_name": "b.example.net", "custom_fields": {"cid": "9"}},
            {"id": 3, "address": "10.0.0.1/24", "dns_name": "a.example.net", "custom_fields": {}},
        ],
        "services": [{"id": 1, "name": "sip", "ports": [5060], "parent": {"name": "vm1"},
                      "ipaddresses": [{"address": "10.0.0.1/24"}], "custom_fields": {}}],
    }
    produced = netbox.entries_from(netbox.candidates_from(lists, {"capture_id_field": "cid"}))
    assert [(e.origin, dict(e.fields)) for e in produced] == [
        ("netbox ipam/services id=1", {"alias": "vm1-sip", "ip": "10.0.0.1", "port": 5060, "capture_id": "9"}),
        ("netbox ipam/ip-addresses id=3 (preferred to ipam/ip-addresses id=7)",
         {"alias": "a.example.net", "ip": "10.0.0.1", "port": 0, "capture_id": "9"}),
    ]


def run(args, env):
    return CliRunner().invoke(cli, args, env=env)


def homer_args(homer):
    return ["--url", homer.url, "--username", "admin", "--password", "sipcapture"]


def test_plan_apply_and_a_second_run_that_changes_nothing(tmp_path, nb, emulator):
    path = inventory(tmp_path, nb.url, "    filters: {tag: homer}\n")
    env = {"NETBOX_TOKEN": nb.read_token}
    first = run(["plan", *homer_args(emulator), "--output", "json", path], env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["summary"]["create"] == 46
    applied = run(["apply", "--yes", *homer_args(emulator), path], env)
    assert applied.exit_code == 0, applied.output
    names = {(a["alias"], a["ip"], a["port"], a["captureID"]) for a in emulator.aliases()}
    assert ("sbc01.fra1", "10.10.1.11", 0, "2001") in names and len(names) == 46
    again = run(["plan", *homer_args(emulator), "--detailed-exitcode", path], env)
    assert again.exit_code == 0, again.output


def test_netbox_losing_half_its_objects_trips_the_delete_threshold(tmp_path, nb, emulator):
    path = inventory(tmp_path, nb.url, "    objects: [ip-addresses]\n", head="prune: {enabled: true}\n")
    env = {"NETBOX_TOKEN": nb.read_token}
    assert run(["apply", "--yes", *homer_args(emulator), path], env).exit_code == 0
    assert len(emulator.aliases()) == 44
    nb.remove("ipam/ip-addresses", sorted(nb.objects["ipam/ip-addresses"])[:22])
    refused = run(["apply", "--yes", *homer_args(emulator), path], env)
    assert refused.exit_code == 3, refused.output
    assert refused.stderr.endswith("Error: refusing an unsafe plan; nothing was written:\n"
                                   "  - 50.00% of existing aliases would be deleted, over the 30.00% limit (22/44)\n"
                                   "Review the plan; use --force to proceed anyway.\n")
    assert len(emulator.aliases()) == 44  # nothing was deleted


def test_owned_scope_keeps_hand_made_aliases_out_of_a_netbox_driven_prune(tmp_path, nb, emulator):
    emulator.seed([
        {"alias": "noc-jumphost", "ip": "192.168.50.5", "port": 0, "mask": 32, "captureID": "0", "status": True},
        {"alias": "old-lab", "ip": "10.99.0.77", "port": 0, "mask": 32, "captureID": "0", "status": True},
    ])
    path = inventory(tmp_path, nb.url, "    objects: [prefixes]\n    owns: {networks: [10.0.0.0/8]}\n",
                     head="prune: {enabled: true}\naliases:\n  - {alias: hand-made, ip: 172.31.0.1}\n")
    result = run(["apply", "--yes", *homer_args(emulator), "--output", "json", path], {"NETBOX_TOKEN": nb.read_token})
    assert result.exit_code == 0, result.output
    deleted = [c["before"]["alias"] for c in json.loads(result.stdout)["changes"] if c["action"] == "delete"]
    assert deleted == ["old-lab"]  # inside 10.0.0.0/8, owned by the NetBox source, no longer declared
    assert "noc-jumphost" in {a["alias"] for a in emulator.aliases()}
    left_alone = json.loads(result.stdout)["left_alone"]
    assert left_alone["counts"] == {"outside_source_scope": 1}  # the plan says why it stays
    assert [item["alias"]["alias"] for item in left_alone["aliases"]] == ["noc-jumphost"]
    again = run(["plan", *homer_args(emulator), path], {"NETBOX_TOKEN": nb.read_token})
    assert "  not declared, outside source scope (no source owns it): 1\n" in again.stdout
    assert again.stdout.splitlines()[-1].endswith(", 1 outside source scope.")


def test_verbose_lines_show_netbox_requests_but_never_the_token(tmp_path, nb):
    path = inventory(tmp_path, nb.url, "    objects: [prefixes, devices]\n    page_size: 5\n")
    result = run(["-v", "validate", path], {"NETBOX_TOKEN": nb.read_token})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("HTTP ")]
    assert sorted(line.rsplit(" ", 1)[0] for line in lines) == sorted([
        "HTTP GET /api/dcim/devices/?limit=5 200", "HTTP GET /api/dcim/devices/?limit=5&offset=5 200",
        "HTTP GET /api/dcim/devices/?limit=5&offset=10 200", "HTTP GET /api/ipam/prefixes/?limit=5 200",
        "HTTP GET /api/ipam/prefixes/?limit=5&offset=5 200"])
    for secret in nb.secrets():
        assert secret not in result.output and secret not in result.stderr
    key = nb.read_token.split(".")[0]
    assert key not in result.stderr


def test_the_suite_wide_secret_guard_knows_the_netbox_tokens(tmp_path, nb, output_guard):
    """Guard for the guard: a token printed by a CLI run would fail the test."""
    output_guard.record(f"oops {nb.read_token_v1}")
    assert output_guard.leaks() == ["a 40-character secret in output #0: ...oops "]
    output_guard.outputs.clear()


def test_export_from_sources_writes_a_static_inventory_of_what_netbox_declares(tmp_path, nb, emulator):
    path = inventory(tmp_path, nb.url, "    filters: {tag: homer}\n",
                     head="aliases:\n  - {alias: hand-made, ip: 172.31.0.1}\n")
    env = {"NETBOX_TOKEN": nb.read_token}
    exported = run(["export", "--from-sources", path], env)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("# Exported by homer-sync ")
    assert "(sources[0] netbox): 46 aliases" in exported.stdout
    assert "hand-made" not in exported.stdout
    static = tmp_path / "from-netbox.yaml"
    static.write_text(exported.stdout, encoding="utf-8")

    def declared(aliases):
        return {(a.identity, a.name, a.status) for a in aliases if a.name != "hand-made"}

    assert declared(load_inventory([str(static)]).aliases) == declared(load_inventory([path], environ=env).aliases)
    assert len(declared(load_inventory([str(static)]).aliases)) == 46
    assert emulator.request_log == []  # HOMER was not contacted


def test_export_from_sources_needs_sources(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("version: 1\naliases: [{alias: a01, ip: 10.0.0.1}]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", "--from-sources", str(path)])
    assert result.exit_code == 64
    assert "declare(s) no sources: to export" in result.stderr
