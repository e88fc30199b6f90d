"""The ``dns`` source: SIP servers as published in DNS.

``srv:`` names (``_sip._udp.example.net``) give one alias per target address x
SRV port; ``naptr:`` domains follow NAPTR -> SRV (flag ``s``) or NAPTR -> A/AAAA
(flag ``a``, port 5060, 5061 for SIPS) for the chosen SIP services; ``hosts:``
give one alias per A/AAAA address. Aliases are named after the target host, or
by the ``alias_template:``.

Every record asked for must be there: a missing name (NXDOMAIN), a failing or
silent nameserver, an SRV name without records or a target without addresses
fails the whole source, because a partial list must never drive a prune.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import SourceContext, SourceEntry, SourceError
from .options import Problems, check_resolver_options, integer_list, template, text_list, unknown_keys
from .resolver import DnsResolver, LookupFailed, Srv, system_addresses

SIP_SERVICES = ("SIP+D2U", "SIP+D2T", "SIPS+D2T")
KEYS = ("srv", "naptr", "naptr_services", "hosts", "host_port", "alias_template", "nameserver", "port", "timeout",
        "capture_id", "status")
NAME_FIELDS = ("target", "label", "query", "port")
DEFAULT_NAME = "{target}"
DEFAULT_TIMEOUT = 5.0


def check(spec: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    unknown_keys(spec, KEYS, problems)
    lists = {key: text_list(spec, key, problems) for key in ("srv", "naptr", "hosts")}
    if not any(key in spec for key in lists):
        problems.append(("srv", "give at least one of srv, naptr or hosts"))
    services = text_list(spec, "naptr_services", problems)
    if services is not None and "naptr" not in spec:
        problems.append(("naptr_services", "naptr_services is only used with naptr"))
    integer_list(spec, "host_port", 0, 65535, problems, what="a port")
    if "host_port" in spec and "hosts" not in spec:
        problems.append(("host_port", "host_port is only used with hosts (SRV records carry their own ports)"))
    name = template(spec, "alias_template", NAME_FIELDS, problems)
    if name is not None and "{port}" in name and "hosts" in spec and "host_port" not in spec:
        problems.append(("alias_template", "alias_template uses {port}, which hosts have only with host_port"))
    check_resolver_options(spec, problems)
    return problems


def collect(spec: Mapping[str, Any], context: SourceContext) -> list[SourceEntry]:
    dns = dns_resolver(spec, context)
    addresses = address_resolver(spec, context, dns)
    walk = _Walk(spec, dns, addresses)
    for name in _names(spec, "srv"):
        walk.srv(name, f"dns SRV {name}")
    for domain in _names(spec, "naptr"):
        walk.naptr(domain)
    host_ports = _ports(spec.get("host_port"))
    for host in _names(spec, "hosts"):
        walk.host(host, host_ports)
    return walk.entries


def dns_resolver(spec: Mapping[str, Any], context: SourceContext) -> DnsResolver:
    """The block's nameserver(s), else the inventory's ``resolver:``, else the system's (/etc/resolv.conf)."""
    if "nameserver" not in spec and isinstance(context.resolver, DnsResolver):
        return context.resolver
    nameservers = _names(spec, "nameserver")
    timeout = float(spec.get("timeout", min(DEFAULT_TIMEOUT, context.timeout)))
    return DnsResolver(nameservers, int(spec.get("port", 53)), timeout)


def address_resolver(spec: Mapping[str, Any], context: SourceContext, dns: DnsResolver) -> Callable[[str], list[str]]:
    """Who answers A/AAAA: a configured nameserver, else the inventory's resolver, else the system's.

    Without a nameserver, names resolve as for any program on the machine
    (as ``host:`` entries do), which is what an operator checks with ping.
    """
    if "nameserver" in spec:
        return dns
    return context.resolver or system_addresses


class _Walk:
    """Follows NAPTR -> SRV -> A/AAAA and collects entries; each lookup is made once."""

    def __init__(self, spec: Mapping[str, Any], dns: DnsResolver, addresses: Callable[[str], list[str]]):
        self.template = spec.get("alias_template", DEFAULT_NAME)
        self.services = [s.upper() for s in _names(spec, "naptr_services")] or list(SIP_SERVICES)
        self.extra = {key: spec[key] for key in ("capture_id", "status") if key in spec}
        self.dns = dns
        self._addresses = addresses
        self._cache: dict[str, list[str]] = {}
        self.entries: list[SourceEntry] = []

    def srv(self, name: str, origin: str) -> None:
        records = lookup(origin, lambda: self.dns.srv(name))
        if not records:
            raise SourceError(origin, "no SRV records")
        for record in sorted(records, key=_srv_order):
            if record.target:  # "." says the service is not offered here: nothing to declare
                self._add(f"{origin} target {record.target}", record.target, name, record.port)

    def naptr(self, domain: str) -> None:
        origin = f"dns NAPTR {domain}"
        records = lookup(origin, lambda: self.dns.naptr(domain))
        usable = [r for r in records if r.service.upper() in self.services and r.flags.lower() in ("s", "a")]
        if not usable:
            found = ", ".join(sorted({f"{r.service} (flags {r.flags!r})" for r in records})) or "none"
            raise SourceError(origin, f"no NAPTR record for {', '.join(self.services)} "
                                      f"with flag s or a (found: {found})")
        for record in sorted(usable, key=lambda r: (r.order, r.preference, r.replacement)):
            step = f"{origin} {record.service}"
            if not record.replacement:
                raise SourceError(step, "NAPTR record without a replacement (regexp rewriting is not supported)")
            if record.flags.lower() == "s":
                self.srv(record.replacement, f"{step} -> SRV {record.replacement}")
            else:
                port = 5061 if record.service.upper().startswith("SIPS") else 5060
                self._add(f"{step} -> {record.replacement}", record.replacement, domain, port)

    def host(self, host: str, ports: list[int] | None) -> None:
        for port in ports or (None,):
            self._add(f"dns host {host}", host, host, port)

    def _add(self, origin: str, target: str, query: str, port: int | None) -> None:
        addresses = self._cache.get(target)
        if addresses is None:
            addresses = self._cache[target] = lookup(origin, lambda: self._addresses(target))
        if not addresses:
            raise SourceError(origin, f"{target} has no A or AAAA records")
        values = {"target": target, "label": target.split(".")[0], "query": query, "port": port}
        # One entry per name and port, listing every address: one line in --show-sources, one lint warning.
        fields: dict[str, Any] = {"alias": self.template.format(**values),
                                  "ip": addresses[0] if len(addresses) == 1 else list(addresses), **self.extra}
        if port is not None:
            fields["port"] = port
        self.entries.append(SourceEntry(origin, fields))



def lookup(origin: str, query: Callable[[], list]) -> list:
    """``query()``'s records; any lookup failure becomes a SourceError naming ``origin``."""
    try:
        return list(query())
    except LookupFailed as exc:
        # "dns host x: does not exist", not "dns host x: A x: does not exist": the origin names it already
        raise SourceError(origin, exc.reason if origin.endswith(f" {exc.name}") else str(exc)) from None
    except OSError as exc:  # a resolver given by the inventory speaks OSError
        raise SourceError(origin, exc.strerror or str(exc)) from None


def _srv_order(record: Srv) -> tuple:
    return (record.priority, -record.weight, record.target, record.port)


def _names(spec: Mapping[str, Any], key: str) -> list[str]:
    value = spec.get(key) or []
    return [value.strip()] if isinstance(value, str) else [str(item).strip() for item in value]


def _ports(value) -> list[int] | None:
    if value is None:
        return None
    return list(dict.fromkeys(value if isinstance(value, list) else [value]))
