"""Kamailio's list files as records: dispatcher.list destinations and permissions address entries.

Formats (as Kamailio 5.6 reads them; ``#`` starts a comment line):

* dispatcher ``list_file``: ``setid destination [flags [priority [attrs]]]``,
  e.g. ``1 sip:10.0.0.5:5060;transport=tcp 0 10 duid=gw1;desc=carrier-a``.
* permissions ``address_file``: ``grp ip_addr [mask [port [tag]]]``,
  e.g. ``1 10.1.0.0 16 0 core-net``. Kamailio ignores a line whose address
  is a host name; here it is an error, so that nothing is silently lost.

Every bad line is reported with its number, all at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from ..base import SourceError


class Destination(NamedTuple):
    """One dispatcher destination."""

    set_id: int
    uri: str
    attrs: dict[str, str]
    origin: str


class Address(NamedTuple):
    """One permissions address (a host, or a subnet when ``mask`` is shorter than the family's)."""

    group: int
    ip: str
    mask: int
    port: int
    tag: str | None
    origin: str


class Uri(NamedTuple):
    host: str  # an IP address or a host name, without brackets
    port: int


_URI = re.compile(
    r"(?P<scheme>sips?):(?:[^@;?]*@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:;?\[\]]+)(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<params>;[^?]*)?(?:\?.*)?",
    re.IGNORECASE,
)


def parse_uri(uri: str) -> Uri:
    """``sip:host[:port][;transport=...]`` -> (host, port); the port defaults to 5060, 5061 for TLS.

    Raises ValueError with the reason.
    """
    match = _URI.fullmatch(uri.strip())
    if not match:
        raise ValueError(f"{uri!r} is not a sip: or sips: URI")
    host = match["host"].strip("[]")
    params = {key.lower(): value.lower() for key, _, value in
              (p.partition("=") for p in (match["params"] or "").split(";") if p)}
    if match["port"] is not None:
        port = int(match["port"])
        if not 0 < port <= 65535:
            raise ValueError(f"{uri!r}: port {port} is out of range")
    else:
        secure = match["scheme"].lower() == "sips" or params.get("transport") == "tls"
        port = 5061 if secure else 5060
    return Uri(host, port)


def parse_attrs(text: str) -> dict[str, str]:
    """``duid=gw1;desc=carrier-a`` -> {"duid": "gw1", "desc": "carrier-a"} (quotes around values removed)."""
    attrs = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            attrs[key.strip().lower()] = value.strip().strip('"')
    return attrs


def read_dispatcher_list(text: str, name: str) -> list[Destination]:
    destinations, bad = [], []
    for number, fields in _lines(text):
        origin = f"kamailio {name}:{number}"
        if len(fields) < 2:
            bad.append(f"line {number}: expected 'setid destination [flags [priority [attrs]]]'")
            continue
        set_id = _number(fields[0], "set id", number, bad)
        try:
            parse_uri(fields[1])
        except ValueError as exc:
            bad.append(f"line {number}: {exc}")
            continue
        for value, what in zip(fields[2:4], ("flags", "priority"), strict=False):
            _number(value, what, number, bad, signed=what == "priority")
        if set_id is not None:
            attrs = parse_attrs(" ".join(fields[4:])) if len(fields) > 4 else {}
            destinations.append(Destination(set_id, fields[1], attrs, origin))
    _raise_bad(bad, name)
    return destinations


def read_address_list(text: str, name: str) -> list[Address]:
    addresses, bad = [], []
    for number, fields in _lines(text):
        if len(fields) < 2:
            bad.append(f"line {number}: expected 'grp ip_addr [mask [port [tag]]]'")
            continue
        group = _number(fields[0], "group", number, bad)
        mask = _number(fields[2], "mask", number, bad) if len(fields) > 2 else None
        port = _number(fields[3], "port", number, bad) if len(fields) > 3 else 0
        tag = " ".join(fields[4:]) or None
        address = _address(fields[1], mask, number, bad)
        if port is not None and port > 65535:
            bad.append(f"line {number}: port {port} is out of range (0-65535)")
        elif group is not None and address is not None and port is not None:
            addresses.append(Address(group, *address, port, tag, f"kamailio {name}:{number}"))
    _raise_bad(bad, name)
    return addresses


def _address(text: str, mask: int | None, number: int, bad: list) -> tuple[str, int] | None:
    """(network address, prefix length): Kamailio matches ip & mask, so host bits are cleared here too."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        bad.append(f"line {number}: {text!r} is not an IP address (Kamailio's address file takes addresses only)")
        return None
    prefix = ip.max_prefixlen if mask is None else mask
    if not 0 <= prefix <= ip.max_prefixlen:
        bad.append(f"line {number}: mask {prefix} is out of range for {text} (0-{ip.max_prefixlen})")
        return None
    return network_address(ip, prefix), prefix


def network_address(ip, prefix: int) -> str:
    """The address with its host bits cleared: Kamailio matches ``ip & mask``, so that is what it means."""
    return ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address.compressed


def _lines(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped.split()


def _number(text: str, what: str, number: int, bad: list, signed: bool = False) -> int | None:
    if re.fullmatch(r"-?[0-9]+" if signed else r"[0-9]+", text):
        return int(text)
    bad.append(f"line {number}: {what} {text!r} is not a{' whole' if signed else ' non-negative'} number")
    return None


def _raise_bad(bad: list[str], name: str) -> None:
    if bad:
        raise SourceError(f"kamailio {name}", bad[0] if len(bad) == 1 else
                          f"{len(bad)} bad lines:\n  " + "\n  ".join(bad))
