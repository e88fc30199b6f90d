"""Host resolution for ``host:`` entries: the system resolver and concurrent lookups."""

from __future__ import annotations

import socket
from collections.abc import Callable

Resolver = Callable[[str], "list[str]"]


def system_resolver(host: str) -> list[str]:
    """A and AAAA addresses of ``host`` (the default resolver)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(str(sockaddr[0]).split("%")[0])
    return list(dict.fromkeys(addresses))


def resolve_all(hosts: list[str], resolver: Resolver) -> dict:
    """host -> list of addresses or an error string; hosts resolved concurrently."""

    def one(host):
        try:
            return list(resolver(host) or ())
        except (OSError, ValueError) as exc:
            return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__

    if len(hosts) <= 1:
        return {host: one(host) for host in hosts}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        return dict(zip(hosts, pool.map(one, hosts), strict=True))
