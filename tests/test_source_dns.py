"""The dns source against a real dnsmasq on 127.0.0.1 (SRV, NAPTR, A/AAAA, CNAME chains, failures)."""

from __future__ import annotations

from collections import Counter

import pytest
from realservers import Dnsmasq, ServfailUdp, SilentUdp

from homer_sync.sources import SourceContext, SourceError
from homer_sync.sources import dns as dns_source
from homer_sync.sources.resolver import DnsResolver, Failure, LookupFailed

ZONE = (
    "--local=/example.net/",  # names under example.net that are not below are NXDOMAIN, not forwarded
    "--host-record=sip1.example.net,192.0.2.11,2001:db8::11",
    "--host-record=sip2.example.net,192.0.2.12",
    "--host-record=tls.example.net,192.0.2.13",
    "--srv-host=_sip._udp.example.net,sip1.example.net,5060,10,60",
    "--srv-host=_sip._udp.example.net,sip2.example.net,5080,20,40",
    "--srv-host=_sip._tcp.example.net,sip1.example.net,5060,10,50",
    "--srv-host=_sips._tcp.example.net,tls.example.net,5061,10,50",
    "--naptr-record=example.net,10,50,S,SIP+D2U,,_sip._udp.example.net",
    "--naptr-record=example.net,20,50,S,SIP+D2T,,_sip._tcp.example.net",
    "--naptr-record=example.net,30,50,S,SIPS+D2T,,_sips._tcp.example.net",
    "--naptr-record=example.net,40,50,U,E2U+sip,!^.*$!sip:info@example.net!",
    "--naptr-record=direct.example.net,10,50,A,SIP+D2U,,sip2.example.net",
    "--naptr-record=enum.example.net,10,50,U,E2U+sip,!^.*$!sip:info@example.net!",
    # CNAME chain: chain -> alias -> sip2
    "--cname=chain.example.net,alias.example.net",
    "--cname=alias.example.net,sip2.example.net",
    "--srv-host=_sip._udp.cname.example.net,chain.example.net,5070,10,50",
    # a target without addresses, one whose lookup fails, a service "not offered here"
    "--txt-record=bare.example.net,no addresses here",
    "--srv-host=_sip._udp.bare.example.net,bare.example.net,5060,10,50",
    "--srv-host=_sip._udp.far.example.net,sip.servfail.test,5060,10,50",
    "--srv-host=_sip._udp.none.example.net",
)


@pytest.fixture(scope="module")
def dnsmasq():
    with ServfailUdp() as upstream, Dnsmasq(*ZONE, f"--server=/servfail.test/127.0.0.1#{upstream.port}") as server:
        yield server


def collect(server, **spec):
    spec = {"nameserver": "127.0.0.1", "port": server.port, **spec}
    assert dns_source.check(spec) == []
    return dns_source.collect(spec, SourceContext())


def table(entries):
    """Entries as a multiset of (origin, alias, ip, port): the order of lookups is not a contract."""
    return Counter((e.origin, e.fields["alias"], ips(e), e.fields.get("port")) for e in entries)


def ips(entry):
    """One address, or a target's every address (A first, then AAAA) as a tuple."""
    ip = entry.fields["ip"]
    return tuple(ip) if isinstance(ip, list) else ip


def failure(server, **spec) -> str:
    with pytest.raises(SourceError) as err:
        collect(server, **spec)
    return str(err.value)


def test_srv_gives_one_entry_per_target_and_port_with_every_address(dnsmasq):
    entries = collect(dnsmasq, srv="_sip._udp.example.net")
    origin = "dns SRV _sip._udp.example.net target"
    assert table(entries) == Counter({
        (f"{origin} sip1.example.net", "sip1.example.net", ("192.0.2.11", "2001:db8::11"), 5060): 1,
        (f"{origin} sip2.example.net", "sip2.example.net", "192.0.2.12", 5080): 1,
    })


def test_name_template_and_source_wide_capture_id(dnsmasq):
    entries = collect(dnsmasq, srv=["_sip._udp.example.net"], alias_template="{label}-{port}", capture_id="CAP7")
    assert sorted((e.fields["alias"], str(ips(e)), e.fields["capture_id"]) for e in entries) == [
        ("sip1-5060", "('192.0.2.11', '2001:db8::11')", "CAP7"), ("sip2-5080", "192.0.2.12", "CAP7"),
    ]


def test_naptr_follows_srv_for_the_three_sip_services_and_ignores_others(dnsmasq):
    entries = collect(dnsmasq, naptr="example.net")
    assert Counter((e.fields["alias"], ips(e), e.fields["port"]) for e in entries) == Counter({
        ("sip1.example.net", ("192.0.2.11", "2001:db8::11"), 5060): 2,  # udp and tcp: merged by the loader
        ("sip2.example.net", "192.0.2.12", 5080): 1,
        ("tls.example.net", "192.0.2.13", 5061): 1,
    })
    assert {e.origin for e in entries if e.fields["alias"] == "tls.example.net"} == {
        "dns NAPTR example.net SIPS+D2T -> SRV _sips._tcp.example.net target tls.example.net"}


def test_naptr_services_choose_the_transports(dnsmasq):
    entries = collect(dnsmasq, naptr="example.net", naptr_services=["sips+d2t"])
    assert {(e.fields["alias"], e.fields["port"]) for e in entries} == {("tls.example.net", 5061)}


def test_naptr_flag_a_goes_straight_to_addresses_on_the_default_sip_port(dnsmasq):
    entries = collect(dnsmasq, naptr="direct.example.net")
    assert table(entries) == Counter({
        ("dns NAPTR direct.example.net SIP+D2U -> sip2.example.net", "sip2.example.net", "192.0.2.12", 5060): 1})


def test_naptr_without_sip_records_is_an_error_listing_what_it_found(dnsmasq):
    assert failure(dnsmasq, naptr="enum.example.net") == (
        "dns NAPTR enum.example.net: no NAPTR record for SIP+D2U, SIP+D2T, SIPS+D2T with flag s or a "
        "(found: E2U+sip (flags 'U'))")


def test_hosts_resolve_to_every_address_with_optional_ports(dnsmasq):
    entries = collect(dnsmasq, hosts=["sip1.example.net"], host_port=[5060, 5062])
    assert table(entries) == Counter({
        ("dns host sip1.example.net", "sip1.example.net", ("192.0.2.11", "2001:db8::11"), port): 1
        for port in (5060, 5062)})
    without_port = collect(dnsmasq, hosts="sip2.example.net")
    assert [dict(e.fields) for e in without_port] == [{"alias": "sip2.example.net", "ip": "192.0.2.12"}]


def test_cname_chains_are_followed_and_named_after_the_name_asked_for(dnsmasq):
    srv = collect(dnsmasq, srv="_sip._udp.cname.example.net")
    assert table(srv) == Counter({("dns SRV _sip._udp.cname.example.net target chain.example.net",
                                   "chain.example.net", "192.0.2.12", 5070): 1})
    host = collect(dnsmasq, hosts="chain.example.net")
    assert [e.fields["ip"] for e in host] == ["192.0.2.12"]


def test_srv_target_dot_means_no_service_and_declares_nothing(dnsmasq):
    assert collect(dnsmasq, srv="_sip._udp.none.example.net") == []


def test_nxdomain_names_the_source_and_the_record(dnsmasq):
    assert failure(dnsmasq, srv="_sip._udp.missing.example.net") == (
        "dns SRV _sip._udp.missing.example.net: does not exist (NXDOMAIN)")
    assert failure(dnsmasq, hosts="nowhere.example.net") == "dns host nowhere.example.net: does not exist (NXDOMAIN)"


def test_a_name_without_srv_records_is_an_error(dnsmasq):
    assert failure(dnsmasq, srv="sip1.example.net") == "dns SRV sip1.example.net: no SRV records"


def test_srv_target_without_addresses_fails_the_source(dnsmasq):
    assert failure(dnsmasq, srv="_sip._udp.bare.example.net") == (
        "dns SRV _sip._udp.bare.example.net target bare.example.net: bare.example.net has no A or AAAA records")


def test_srv_target_whose_lookup_fails_fails_the_source(dnsmasq):
    assert failure(dnsmasq, srv="_sip._udp.far.example.net") == (
        "dns SRV _sip._udp.far.example.net target sip.servfail.test: "
        f"the nameserver failed to answer (SERVFAIL) (127.0.0.1 port {dnsmasq.port})")


def test_one_bad_name_fails_the_whole_source(dnsmasq):
    message = failure(dnsmasq, srv=["_sip._udp.example.net", "_sip._udp.missing.example.net"])
    assert "NXDOMAIN" in message


def test_refused_query_is_an_error(dnsmasq):
    # outside its local zone and with no upstream, dnsmasq refuses to answer
    assert failure(dnsmasq, hosts="sip.elsewhere.test") == (
        f"dns host sip.elsewhere.test: the nameserver refused the query (REFUSED) "
        f"(127.0.0.1 port {dnsmasq.port})")


def test_servfail_from_upstream_is_an_error(dnsmasq):
    assert failure(dnsmasq, srv="_sip._udp.servfail.test") == (
        f"dns SRV _sip._udp.servfail.test: the nameserver failed to answer (SERVFAIL) "
        f"(127.0.0.1 port {dnsmasq.port})")


def test_a_nameserver_that_never_answers_times_out():
    with SilentUdp() as silent:
        spec = {"srv": "_sip._udp.example.net", "nameserver": "127.0.0.1", "port": silent.port, "timeout": 0.3}
        with pytest.raises(SourceError) as err:
            dns_source.collect(spec, SourceContext())
    assert str(err.value) == (
        "dns SRV _sip._udp.example.net: no answer from the nameserver (timeout) "
        f"(127.0.0.1 port {silent.port}, 0.3 s)")


def test_resolver_used_directly_classifies_failures(dnsmasq):
    resolver = DnsResolver(["127.0.0.1"], dnsmasq.port, timeout=5)
    assert resolver("sip1.example.net") == ["192.0.2.11", "2001:db8::11"]
    assert resolver("bare.example.net") == []
    with pytest.raises(LookupFailed) as err:
        resolver("gone.example.net")
    assert err.value.failure is Failure.NXDOMAIN


def test_without_nameserver_addresses_come_from_the_inventory_resolver():
    calls = []

    def fake(host):
        calls.append(host)
        return ["198.51.100.7"]

    entries = dns_source.collect({"hosts": ["pbx.internal"]}, SourceContext(resolver=fake))
    assert [(e.fields["alias"], e.fields["ip"]) for e in entries] == [("pbx.internal", "198.51.100.7")]
    assert calls == ["pbx.internal"]


def test_inventory_resolver_errors_become_source_errors():
    def broken(host):
        raise OSError(-2, "Name or service not known")

    with pytest.raises(SourceError) as err:
        dns_source.collect({"hosts": "pbx.internal"}, SourceContext(resolver=broken))
    assert str(err.value) == "dns host pbx.internal: Name or service not known"


@pytest.mark.parametrize(("spec", "problems"), [
    ({}, [("srv", "give at least one of srv, naptr or hosts")]),
    ({"srv": [], "nameservr": "10.0.0.53"}, [
        ("nameservr", "unknown key 'nameservr'; did you mean 'nameserver'?"),
        ("srv", "srv must be a name or a non-empty list of names, got a list")]),
    ({"hosts": ["a.example.net", 7]}, [("hosts[1]", "must be a non-empty string, got 7")]),
    ({"srv": "_sip._udp.x", "nameserver": "ns1.example.net", "port": 70000}, [
        ("nameserver", "'ns1.example.net' is not an IP address (a nameserver is given by its address)"),
        ("port", "port must be a port from 1 to 65535, got 70000")]),
    ({"srv": "_sip._udp.x", "port": 5353}, [("port", "port is the nameserver's port; give nameserver too")]),
    ({"srv": "_sip._udp.x", "alias_template": "{target}-{site}"}, [
        ("alias_template", "alias_template uses {site}; available: {target}, {label}, {query}, {port}")]),
    ({"hosts": "a.example.net", "alias_template": "{label}:{port}"}, [
        ("alias_template", "alias_template uses {port}, which hosts have only with host_port")]),
    ({"srv": "_sip._udp.x", "host_port": 5060, "naptr_services": ["SIP+D2U"]}, [
        ("naptr_services", "naptr_services is only used with naptr"),
        ("host_port", "host_port is only used with hosts (SRV records carry their own ports)")]),
    ({"hosts": "a.example.net", "host_port": [5060, -1], "timeout": 0}, [
        ("host_port", "host_port must be a port (0-65535) or a list of them, got a list"),
        ("timeout", "timeout must be a number of seconds (0-3600), got 0")]),
])
def test_check_reports_every_problem_of_the_block(spec, problems):
    assert dns_source.check(spec) == problems
