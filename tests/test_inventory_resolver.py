"""The inventory's resolver: block sends host: entries and the sources' lookups to one DNS server
(a real dnsmasq here); without it, names resolve through the operating system."""

from __future__ import annotations

import socket
import textwrap

import pytest
from realservers import Dnsmasq, SilentUdp

from homer_sync.errors import InventoryError
from homer_sync.inventory import SourceFailure, load_inventory
from homer_sync.sources.resolver import Failure, LookupFailed, system_addresses


@pytest.fixture(scope="module")
def dnsmasq():
    with Dnsmasq("--local=/ims.test/", "--host-record=pcscf.ims.test,10.20.0.5,2001:db8::5",
                 "--cname=p-cscf.ims.test,pcscf.ims.test",
                 "--srv-host=_sip._udp.ims.test,pcscf.ims.test,5060,10,50") as server:
        yield server


def write(tmp_path, text, name="inventory.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems(error) -> list[str]:
    return [str(p) for p in error.value.problems]


def test_host_entries_resolve_through_the_configured_nameserver(tmp_path, dnsmasq):
    path = write(tmp_path, f"""\
        version: 1
        resolver: {{nameserver: 127.0.0.1, port: {dnsmasq.port}, timeout: 5}}
        aliases:
          - {{host: p-cscf.ims.test, port: 5060}}
        """)
    aliases = load_inventory([path]).aliases
    assert sorted((a.name, a.cidr, a.port) for a in aliases) == [
        ("p-cscf.ims.test", "10.20.0.5/32", 5060), ("p-cscf.ims.test", "2001:db8::5/128", 5060)]


def test_sources_without_their_own_nameserver_use_the_inventory_resolver(tmp_path, dnsmasq):
    path = write(tmp_path, f"""\
        version: 1
        resolver: {{nameserver: 127.0.0.1, port: {dnsmasq.port}}}
        sources:
          - {{type: dns, srv: _sip._udp.ims.test, alias_template: "{{label}}"}}
        """)
    aliases = load_inventory([path]).aliases
    assert sorted((a.name, a.cidr, a.port) for a in aliases) == [
        ("pcscf", "10.20.0.5/32", 5060), ("pcscf", "2001:db8::5/128", 5060)]


def test_failed_host_lookups_are_problems_at_file_and_line(tmp_path, dnsmasq):
    path = write(tmp_path, f"""\
        version: 1
        resolver: {{nameserver: 127.0.0.1, port: {dnsmasq.port}}}
        aliases:
          - {{host: gone.ims.test}}
          - {{host: elsewhere.test}}
        """)
    with pytest.raises(InventoryError) as err:
        load_inventory([path])
    assert problems(err) == [
        f"{path}:4: aliases[0].host: cannot resolve host 'gone.ims.test': does not exist (NXDOMAIN)",
        f"{path}:5: aliases[1].host: cannot resolve host 'elsewhere.test': the nameserver refused the query "
        f"(REFUSED) (127.0.0.1 port {dnsmasq.port})",
    ]


def test_a_silent_nameserver_is_a_timeout_problem(tmp_path):
    with SilentUdp() as silent:
        path = write(tmp_path, f"""\
            version: 1
            resolver: {{nameserver: 127.0.0.1, port: {silent.port}, timeout: 0.3}}
            aliases: [{{host: pcscf.ims.test}}]
            """)
        with pytest.raises(InventoryError) as err:
            load_inventory([path])
    assert problems(err) == [f"{path}:3: aliases[0].host: cannot resolve host 'pcscf.ims.test': "
                             f"no answer from the nameserver (timeout) (127.0.0.1 port {silent.port}, 0.3 s)"]


def test_a_source_lookup_failure_through_the_inventory_resolver_fails_the_run(tmp_path, dnsmasq):
    path = write(tmp_path, f"""\
        version: 1
        resolver: {{nameserver: 127.0.0.1, port: {dnsmasq.port}}}
        sources: [{{type: dns, hosts: gone.ims.test}}]
        """)
    with pytest.raises(SourceFailure) as err:
        load_inventory([path])
    assert "dns host gone.ims.test: does not exist (NXDOMAIN)" in str(err.value)


def test_bad_resolver_blocks_are_reported_at_file_and_line(tmp_path):
    path = write(tmp_path, """\
        version: 1
        resolver:
          nameservers: 10.0.0.53
          port: 0
        aliases: [{alias: a01, ip: 10.0.0.1}]
        """)
    with pytest.raises(InventoryError) as err:
        load_inventory([path], resolve_hosts=False)
    assert problems(err) == [
        f"{path}:2: resolver.nameserver: missing nameserver (the DNS server's IP address)",
        f"{path}:3: resolver.nameservers: unknown key 'nameservers'; did you mean 'nameserver'?",
        f"{path}:4: resolver.port: port must be a port from 1 to 65535, got 0",
        f"{path}:4: resolver.port: port is the nameserver's port; give nameserver too",
    ]
    other = write(tmp_path, "version: 1\nresolver: {nameserver: dns.internal}\naliases: [{alias: a, ip: 10.0.0.1}]\n",
                  "other.yaml")
    with pytest.raises(InventoryError) as err:
        load_inventory([other])
    assert problems(err) == [f"{other}:2: resolver.nameserver: 'dns.internal' is not an IP address "
                             "(a nameserver is given by its address)"]


def test_two_files_with_different_resolver_blocks_are_an_error(tmp_path):
    first = write(tmp_path, "version: 1\nresolver: {nameserver: 10.0.0.53}\naliases: [{alias: a, ip: 10.0.0.1}]\n",
                  "a.yaml")
    second = write(tmp_path, "version: 1\nresolver: {nameserver: 10.0.0.54}\naliases: [{alias: b, ip: 10.0.0.2}]\n",
                   "b.yaml")
    with pytest.raises(InventoryError) as err:
        load_inventory([first, second], resolve_hosts=False)
    assert problems(err) == [f"{second}:2: resolver: differs from the resolver block at {first}:2; "
                             "declare it in one file (or make the blocks identical)"]
    same = write(tmp_path, "version: 1\nresolver: {nameserver: 10.0.0.53}\naliases: [{alias: c, ip: 10.0.0.3}]\n",
                 "c.yaml")
    assert len(load_inventory([first, same], resolve_hosts=False).aliases) == 2


def test_without_a_resolver_block_names_resolve_through_the_operating_system(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        if host == "pbx.lan":  # as /etc/hosts or a search domain would answer
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.5", 0)),
                    (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::5%eth0", 0, 0, 2))]
        raise socket.gaierror(socket.EAI_NONAME if host == "gone.lan" else socket.EAI_AGAIN, "from the OS")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert system_addresses("pbx.lan") == ["192.168.1.5", "fe80::5"]
    for host, failure in (("gone.lan", Failure.NOT_FOUND), ("slow.lan", Failure.TEMPORARY)):
        with pytest.raises(LookupFailed) as err:
            system_addresses(host)
        assert err.value.failure is failure and err.value.detail == "from the OS"
