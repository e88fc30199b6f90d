"""Host resolution for ``host:`` entries: the resolver the sources use too, and concurrent lookups.

Without a ``resolver:`` block, names resolve through the operating system
(``getaddrinfo``: /etc/hosts, nsswitch, search domains), as for ping or ssh on
the same machine: that is what an operator checks a name with. A ``resolver:``
block (``nameserver``, ``port``, ``timeout``) sends every lookup of the
inventory, its ``host:`` entries and its sources alike, to that DNS server.
"""

from __future__ import annotations

from collections.abc import Callable

from ..sources.options import check_resolver_options, unknown_keys
from ..sources.resolver import DnsResolver, LookupFailed, system_addresses
from .keys import key_line
from .problems import FileProblems, describe

Resolver = Callable[[str], "list[str]"]
RESOLVER_KEYS = ("nameserver", "port", "timeout")
DEFAULT_TIMEOUT = 5.0


def system_resolver(host: str) -> list[str]:
    """A and AAAA addresses of ``host`` from the operating system (the default resolver)."""
    return system_addresses(host)


def parse_resolver(f: FileProblems, node, line) -> DnsResolver | None:
    """The top-level ``resolver:`` block -> a DNS resolver; None after reporting what is wrong."""
    if not isinstance(node, dict):
        f.error(line, "resolver", f"resolver must be a mapping (nameserver, port, timeout), got {describe(node)}")
        return None
    problems: list[tuple[str, str]] = []
    unknown_keys(node, RESOLVER_KEYS, problems)
    check_resolver_options(node, problems)
    if "nameserver" not in node:
        problems.append(("nameserver", "missing nameserver (the DNS server's IP address)"))
    for field, message in problems:
        top = field.split("[")[0]
        f.error(key_line(node, top) if top in node else line, f"resolver.{field}", message)
    if problems:
        return None
    nameservers = [node["nameserver"]] if isinstance(node["nameserver"], str) else list(node["nameserver"])
    return DnsResolver(nameservers, node.get("port", 53), float(node.get("timeout", DEFAULT_TIMEOUT)))


def resolve_all(hosts: list[str], resolver: Resolver) -> dict:
    """host -> list of addresses or an error string; hosts resolved concurrently."""

    def one(host):
        try:
            return list(resolver(host) or ())
        except LookupFailed as exc:
            return exc.reason
        except (OSError, ValueError) as exc:
            return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__

    if len(hosts) <= 1:
        return {host: one(host) for host in hosts}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        return dict(zip(hosts, pool.map(one, hosts), strict=True))
