"""The kamailio source: list files always, live JSON-RPC against a real Kamailio where it is installed.

Host names in dispatcher URIs resolve through a real dnsmasq (the dns source's resolver).
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
from collections import Counter
from pathlib import Path

import pytest
from realservers import Dnsmasq, Kamailio, free_port, kamailio_binary

from homer_sync.sources import SourceContext, SourceError
from homer_sync.sources import kamailio as kamailio_source

DATA = Path(__file__).parent / "data" / "kamailio"
CONTEXT = SourceContext(base_dir=str(DATA))


@pytest.fixture(scope="module")
def dnsmasq():
    with Dnsmasq("--local=/example.net/", "--host-record=sbc.example.net,192.0.2.30,2001:db8::30",
                 "--txt-record=bare.example.net,no addresses") as server:
        yield server


def collect(spec, context=CONTEXT):
    assert kamailio_source.check(spec) == []
    return kamailio_source.collect(spec, context)


def failure(spec, context=CONTEXT) -> str:
    assert kamailio_source.check(spec) == []
    with pytest.raises(SourceError) as err:
        kamailio_source.collect(spec, context)
    return str(err.value)


def fields(entries):
    return Counter(tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in e.fields.items()))
                   for e in entries)


def row(alias, ip, port):
    return tuple(sorted({"alias": alias, "ip": ip, "port": port}.items()))


DISPATCHER_ROWS = Counter({
    row("gw1", "192.0.2.21", 5060): 1,  # duid wins over desc
    row("carrier-b", "192.0.2.22", 5060): 1,
    row("sbc", ("192.0.2.30", "2001:db8::30"), 5061): 1,  # sips: -> 5061; every address of the host
    row("sbc.example.net", ("192.0.2.30", "2001:db8::30"), 5080): 1,  # no attribute: the URI's host
})
ADDRESS_ROWS = Counter({
    row("pbx-a", "10.0.0.10", 5060): 1,
    row("core", "10.1.0.0/16", 0): 1,
    row("v6host", "2001:db8::20", 0): 1,
    row("kamailio-grp2", "192.0.2.50", 0): 1,
    row("sloppy", "10.2.0.0/24", 5060): 1,  # Kamailio matches ip & mask: the host bits are cleared
})


# -- files --------------------------------------------------------------------------------------


def test_dispatcher_list_sets_with_names_ports_and_resolved_hosts(dnsmasq):
    spec = {"dispatcher_list": "dispatcher.list", "sets": [1, 2], "nameserver": "127.0.0.1", "port": dnsmasq.port}
    entries = collect(spec)
    assert fields(entries) == DISPATCHER_ROWS
    assert {e.origin for e in entries if e.fields["alias"] == "gw1"} == {"kamailio dispatcher.list:2"}


def test_all_sets_by_default_and_ipv6_uris(dnsmasq):
    spec = {"dispatcher_list": "dispatcher.list", "nameserver": "127.0.0.1", "port": dnsmasq.port}
    assert fields(collect(spec)) == DISPATCHER_ROWS + Counter({row("2001:db8::40", "2001:db8::40", 5070): 1})


def test_host_names_use_the_inventory_resolver_without_a_nameserver():
    calls = []

    def fake(host):
        calls.append(host)
        return ["198.51.100.30"]

    entries = collect({"dispatcher_list": "dispatcher.list", "sets": 2, "name_attrs": ["desc"]},
                      SourceContext(base_dir=str(DATA), resolver=fake))
    assert {(e.fields["alias"], e.fields["ip"], e.fields["port"]) for e in entries} == {
        ("sbc.example.net", "198.51.100.30", 5061), ("sbc.example.net", "198.51.100.30", 5080)}
    assert calls == ["sbc.example.net"]  # once per host


def test_address_list_groups_hosts_and_subnets():
    assert fields(collect({"address_list": "address.list"})) == ADDRESS_ROWS
    entries = collect({"address_list": "address.list", "groups": [2], "capture_id": "CAP9"})
    assert sorted((e.origin, e.fields["alias"], e.fields["capture_id"]) for e in entries) == [
        ("kamailio address.list:4", "v6host", "CAP9"), ("kamailio address.list:5", "kamailio-grp2", "CAP9")]


def test_both_files_in_one_source(dnsmasq):
    spec = {"dispatcher_list": "dispatcher.list", "address_list": "address.list", "sets": [1]}
    assert len(collect(spec)) == 2 + 5


def test_a_set_or_group_that_is_not_there_is_an_error():
    assert failure({"dispatcher_list": "dispatcher.list", "sets": [1, 7]}) == (
        "kamailio dispatcher.list: set 7 not found (sets present: 1, 2, 3)")
    assert failure({"address_list": "address.list", "groups": 4}) == (
        "kamailio address.list: group 4 not found (groups present: 1, 2, 3)")


def test_unreadable_files_name_the_source(tmp_path):
    context = SourceContext(base_dir=str(tmp_path))
    assert failure({"dispatcher_list": "missing.list"}, context) == (
        "kamailio missing.list: cannot read file: No such file or directory")
    (tmp_path / "adir").mkdir()
    assert failure({"address_list": "adir"}, context) == "kamailio adir: cannot read file: Is a directory"
    (tmp_path / "latin1.list").write_bytes(b"1 10.0.0.1 32 0 caf\xe9\n")
    assert failure({"address_list": "latin1.list"}, context) == (
        "kamailio latin1.list: file is not valid UTF-8 (byte 19)")


def test_bad_dispatcher_lines_are_all_reported_with_their_numbers(tmp_path):
    (tmp_path / "d.list").write_text(
        "1 sip:10.0.0.1\n"
        "x sip:10.0.0.2\n"
        "1 http://10.0.0.3/\n"
        "# fine\n"
        "1 sip:10.0.0.4 zero\n"
        "2\n"
        "1 sip:10.0.0.5:99999\n"
    )
    assert failure({"dispatcher_list": "d.list"}, SourceContext(base_dir=str(tmp_path))) == (
        "kamailio d.list: 5 bad lines:\n"
        "  line 2: set id 'x' is not a non-negative number\n"
        "  line 3: 'http://10.0.0.3/' is not a sip: or sips: URI\n"
        "  line 5: flags 'zero' is not a non-negative number\n"
        "  line 6: expected 'setid destination [flags [priority [attrs]]]'\n"
        "  line 7: 'sip:10.0.0.5:99999': port 99999 is out of range"
    )


def test_bad_address_lines_are_all_reported_with_their_numbers(tmp_path):
    (tmp_path / "a.list").write_text(
        "1 10.0.0.1 32 0 ok\n"
        "1 pbx.example.net 32 0 byname\n"
        "1 10.0.0.2 33\n"
        "one 10.0.0.3\n"
        "1 10.0.0.4 32 70000\n"
    )
    assert failure({"address_list": "a.list"}, SourceContext(base_dir=str(tmp_path))) == (
        "kamailio a.list: 4 bad lines:\n"
        "  line 2: 'pbx.example.net' is not an IP address (Kamailio's address file takes addresses only)\n"
        "  line 3: mask 33 is out of range for 10.0.0.2 (0-32)\n"
        "  line 4: group 'one' is not a non-negative number\n"
        "  line 5: port 70000 is out of range (0-65535)"
    )


def test_one_bad_line_is_reported_alone(tmp_path):
    (tmp_path / "a.list").write_text("1 10.0.0.1 32 x\n")
    assert failure({"address_list": "a.list"}, SourceContext(base_dir=str(tmp_path))) == (
        "kamailio a.list: line 1: port 'x' is not a non-negative number")


def test_unresolvable_uri_hosts_fail_the_source(dnsmasq, tmp_path):
    (tmp_path / "d.list").write_text("1 sip:10.0.0.1\n1 sip:gone.example.net\n2 sip:bare.example.net\n")
    context = SourceContext(base_dir=str(tmp_path))
    base = {"dispatcher_list": "d.list", "nameserver": "127.0.0.1", "port": dnsmasq.port}
    assert failure({**base, "sets": 1}, context) == (
        "kamailio d.list:2: A gone.example.net: does not exist (NXDOMAIN)")
    assert failure({**base, "sets": 2}, context) == "kamailio d.list:3: bare.example.net has no A or AAAA records"


@pytest.mark.parametrize(("spec", "problems"), [
    ({}, [("dispatcher_list", "give dispatcher_list and/or address_list, or rpc_url")]),
    ({"dispatcher_list": "d", "rpc_url": "http://127.0.0.1:5071/RPC", "set": 1}, [
        ("set", "unknown key 'set'; did you mean 'sets'?"),
        ("rpc_url", "give either rpc_url or dispatcher_list, not both")]),
    ({"rpc_url": "127.0.0.1:5071", "read": ["dispatcher", "usrloc"]}, [
        ("rpc_url", "rpc_url must be an http:// or https:// URL (jsonrpcs over xhttp)"),
        ("read", "read takes dispatcher and/or address, got 'usrloc'")]),
    ({"address_list": "a", "read": "address", "sets": [1]}, [
        ("read", "read is only used with rpc_url (with files, name the files you want)"),
        ("sets", "sets chooses dispatcher sets; this source reads no dispatcher list")]),
    ({"rpc_url": "http://k/RPC", "read": "dispatcher", "groups": ["a"]}, [
        ("groups", "groups must be a group id (0-2147483647) or a list of them, got a list"),
        ("groups", "groups chooses permissions groups; this source reads no address list")]),
    ({"dispatcher_list": 5, "nameserver": "dns.internal"}, [
        ("dispatcher_list", "dispatcher_list must be a file path, got 5"),
        ("nameserver", "'dns.internal' is not an IP address (a nameserver is given by its address)")]),
])
def test_check_reports_every_problem_of_the_block(spec, problems):
    assert kamailio_source.check(spec) == problems


# -- JSON-RPC errors (a real socket on loopback) --------------------------------------------------


def test_nothing_listening_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/RPC"
    assert failure({"rpc_url": url}) == f"kamailio rpc dispatcher.list: cannot reach {url}: connection refused"


def test_a_server_that_never_answers_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections complete in the kernel; nothing ever reads or answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/RPC"
        assert failure({"rpc_url": url, "read": "address", "timeout": 0.3}) == (
            f"kamailio rpc permissions.addressDump: no answer from {url} within 0.3 s")


class _Answer(http.server.BaseHTTPRequestHandler):
    # Kamailio 5.6's answer to a method no loaded module provides (recorded from the real server).
    body = {"jsonrpc": "2.0", "error": {"code": 500, "message": "Method Not Found"}, "id": 1}

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps(self.body).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_rpc_error_answers_are_reported_with_a_hint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://user:s3cret@127.0.0.1:{server.server_address[1]}/RPC"
        message = failure({"rpc_url": url, "read": ["address"]})
    finally:
        server.shutdown()
        server.server_close()
    assert message == ("kamailio rpc permissions.addressDump: Kamailio answered error 500: Method Not Found "
                       "(is the module loaded? choose the lists with read:)")
    assert "s3cret" not in message


# -- live, against a real Kamailio ----------------------------------------------------------------

LIVE_SKIP = "kamailio is not installed (apt-get install kamailio): live JSON-RPC tests skipped"


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    if kamailio_binary() is None:
        pytest.skip(LIVE_SKIP)
    files = tmp_path_factory.mktemp("kamailio")
    for name in ("dispatcher.list", "address.list"):
        shutil.copy(DATA / name, files / name)
    with Kamailio(str(files / "dispatcher.list"), str(files / "address.list")) as server:
        yield server


def test_live_dispatcher_matches_the_file(kamailio, dnsmasq):
    resolver = {"nameserver": "127.0.0.1", "port": dnsmasq.port}
    live = collect({"rpc_url": kamailio.rpc_url, "read": "dispatcher", "sets": [1, 2], **resolver})
    assert fields(live) == DISPATCHER_ROWS
    assert {e.origin for e in live} == {"kamailio rpc dispatcher.list set 1", "kamailio rpc dispatcher.list set 2"}


def test_live_addresses_and_subnets_match_the_file(kamailio):
    requests_seen = []
    context = SourceContext(on_request=lambda *call: requests_seen.append(call[:3]))
    live = collect({"rpc_url": kamailio.rpc_url, "read": ["address"]}, context)
    assert fields(live) == ADDRESS_ROWS
    assert requests_seen == [("POST", "/RPC permissions.addressDump", 200),
                             ("POST", "/RPC permissions.subnetDump", 200)]
    groups = collect({"rpc_url": kamailio.rpc_url, "read": ["address"], "groups": [1]})
    assert fields(groups) == Counter({row("pbx-a", "10.0.0.10", 5060): 1, row("core", "10.1.0.0/16", 0): 1})


def test_live_wrong_path_is_reported(kamailio):
    url = kamailio.rpc_url.replace("/RPC", "/nothing")
    assert failure({"rpc_url": url}) == (
        f"kamailio rpc dispatcher.list: {url} answered HTTP 404 without a JSON-RPC body "
        "(is jsonrpcs served at this path?)")


def test_live_missing_set_is_reported(kamailio):
    assert failure({"rpc_url": kamailio.rpc_url, "read": "dispatcher", "sets": 9}) == (
        "kamailio rpc dispatcher.list: set 9 not found (sets present: 1, 2)")
