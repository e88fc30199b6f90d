"""Name lookups for sources and ``host:`` entries: A/AAAA, SRV and NAPTR.

Two resolvers share one shape (call it with a host name, get its addresses):

* :func:`system_addresses` asks the operating system (``getaddrinfo``), so a
  name resolves exactly as for every other program on the machine: /etc/hosts,
  nsswitch, search domains, split DNS. It is the default wherever no
  ``nameserver`` is configured.
* :class:`DnsResolver` asks DNS servers directly over the wire: a configured
  ``nameserver`` (internal DNS), or the servers of /etc/resolv.conf. SRV and
  NAPTR records need it.

Every failure is a :class:`LookupFailed` carrying a typed :class:`Failure`;
callers turn it into their own message. This is the one module that imports
dnspython (the optional extra ``homer-sync[dns]``), and only when a DNS query
is made.
"""

from __future__ import annotations

import enum
import socket
from typing import Any, NamedTuple

DNS_EXTRA_HINT = "DNS lookups need dnspython: pip install 'homer-sync[dns]'"


class Failure(enum.Enum):
    NXDOMAIN = "does not exist (NXDOMAIN)"
    NOT_FOUND = "not found"  # the system resolver does not tell NXDOMAIN from a name without addresses
    TEMPORARY = "temporary failure (timeout or SERVFAIL)"
    SERVFAIL = "the nameserver failed to answer (SERVFAIL)"
    REFUSED = "the nameserver refused the query (REFUSED)"
    TIMEOUT = "no answer from the nameserver (timeout)"
    ERROR = "lookup failed"
    UNAVAILABLE = DNS_EXTRA_HINT


class LookupFailed(Exception):
    """A name could not be looked up; ``failure`` says why, ``detail`` adds the server's words."""

    def __init__(self, name: str, rdtype: str, failure: Failure, detail: str = ""):
        self.name, self.rdtype, self.failure, self.detail = name, rdtype, failure, detail
        super().__init__(f"{rdtype} {name}: {self.reason}")

    @property
    def reason(self) -> str:
        return f"{self.failure.value} ({self.detail})" if self.detail else self.failure.value


class Srv(NamedTuple):
    priority: int
    weight: int
    port: int
    target: str  # without the final dot; "" for ".", which means "no service here" (RFC 2782)


class Naptr(NamedTuple):
    order: int
    preference: int
    flags: str
    service: str
    regexp: str
    replacement: str  # without the final dot; "" for "."


def system_addresses(host: str) -> list[str]:
    """A and AAAA addresses of ``host`` from the operating system's resolver."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        failure = {socket.EAI_NONAME: Failure.NOT_FOUND, socket.EAI_AGAIN: Failure.TEMPORARY}.get(
            exc.errno or 0, Failure.ERROR)
        raise LookupFailed(host, "A/AAAA", failure, exc.strerror or str(exc)) from None
    except UnicodeError as exc:  # a label over 63 characters, which IDNA refuses
        raise LookupFailed(host, "A/AAAA", Failure.ERROR, str(exc)) from None
    addresses = [str(sockaddr[0]).split("%")[0] for family, _, _, _, sockaddr in infos
                 if family in (socket.AF_INET, socket.AF_INET6)]
    return list(dict.fromkeys(addresses))


class DnsResolver:
    """Queries DNS servers directly: ``nameservers`` (IP addresses) on ``port``, or /etc/resolv.conf's."""

    def __init__(self, nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0):
        self.nameservers = list(nameservers or [])
        self.port = port
        self.timeout = timeout
        self._resolver: Any = None

    @property
    def settings(self) -> tuple:
        return tuple(self.nameservers), self.port, self.timeout

    def __call__(self, host: str) -> list[str]:
        return self.addresses(host)

    def addresses(self, host: str) -> list[str]:
        """A then AAAA addresses of ``host`` (CNAMEs followed); [] when it has neither."""
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            found.extend(record.address for record in self._query(host, rdtype))
        return list(dict.fromkeys(found))

    def srv(self, name: str) -> list[Srv]:
        return [Srv(r.priority, r.weight, r.port, _text(r.target)) for r in self._query(name, "SRV")]

    def naptr(self, name: str) -> list[Naptr]:
        return [
            Naptr(r.order, r.preference, r.flags.decode(errors="replace"), r.service.decode(errors="replace"),
                  r.regexp.decode(errors="replace"), _text(r.replacement))
            for r in self._query(name, "NAPTR")
        ]

    def _query(self, name: str, rdtype: str) -> list:
        """The records of one type; [] when the name exists without them; LookupFailed otherwise."""
        try:
            import dns.exception
            import dns.resolver
        except ImportError:
            raise LookupFailed(name, rdtype, Failure.UNAVAILABLE) from None
        resolver = self._dns_resolver(dns.resolver)
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NoAnswer:
            return []
        except dns.resolver.NXDOMAIN:
            raise LookupFailed(name, rdtype, Failure.NXDOMAIN) from None
        except dns.resolver.NoNameservers as exc:
            raise LookupFailed(name, rdtype, _server_failure(exc), self._servers()) from None
        except dns.exception.Timeout:
            raise LookupFailed(name, rdtype, Failure.TIMEOUT, f"{self._servers()}, {self.timeout:g} s") from None
        except dns.exception.DNSException as exc:
            raise LookupFailed(name, rdtype, Failure.ERROR, str(exc)) from None
        return list(answer)

    def _dns_resolver(self, module):
        if self._resolver is None:
            resolver = module.Resolver(configure=not self.nameservers)
            if self.nameservers:
                resolver.nameservers = self.nameservers
            resolver.port = self.port
            resolver.lifetime = self.timeout
            resolver.timeout = self.timeout
            self._resolver = resolver
        return self._resolver

    def _servers(self) -> str:
        if not self.nameservers:
            return "system nameservers"
        return ", ".join(f"{server} port {self.port}" for server in self.nameservers)


def _server_failure(exc) -> Failure:
    """SERVFAIL or REFUSED, from the answers dnspython collected from each server."""
    import dns.rcode

    for *_, response in exc.kwargs.get("errors", ()):
        rcode = getattr(response, "rcode", None)
        if callable(rcode) and rcode() == dns.rcode.REFUSED:
            return Failure.REFUSED
    return Failure.SERVFAIL


def _text(name) -> str:
    text = name.to_text(omit_final_dot=True)
    return "" if text in (".", "") else text
