"""The alias record shared by every module, and the normalisation rules."""

from __future__ import annotations

import ipaddress
import re
import socket as _socket
from dataclasses import dataclass, field, replace
from typing import NamedTuple

# API v4 fields homer-sync carries in Alias.extra without managing them (unless an exact inventory declares them).
TAG_FIELDS = ("custom_image", "tag1", "tag2", "tag3", "tag4")


class Identity(NamedTuple):
    """What makes two aliases the same alias for HOMER; name and status are attributes."""

    ip: str
    mask: int
    port: int
    capture_id: str


def ip_text(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Canonical text of an address, the same on every Python: RFC 5952, so an IPv4-mapped
    IPv6 address is written ``::ffff:10.0.0.1`` (Python 3.13 does; older ones wrote
    ``::ffff:a00:1``, which would make the identity of an alias depend on the Python)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None and addr.scope_id is None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


# Canonical IPv4 text (no leading zeros, each octet 0-255): already what ip_text would write.
_IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CANONICAL_IPV4 = re.compile(rf"{_IPV4_OCTET}(?:\.{_IPV4_OCTET}){{3}}")


def normalize_ip(value: str) -> str:
    """Canonical text of an IP address; raises ValueError for anything else."""
    if type(value) is str and CANONICAL_IPV4.fullmatch(value):
        return value
    return ip_text(ipaddress.ip_address(str(value).strip()))


def max_mask(ip: str) -> int:
    return 128 if ":" in ip else 32


def normalize_capture_id(value) -> str:
    if isinstance(value, bool):
        raise ValueError("capture_id must be a string or an integer")
    return str(value).strip()


def lenient_ip(value: str) -> str:
    """Server data may hold anything HOMER accepted; normalise what parses, keep the rest."""
    try:
        return normalize_ip(value)
    except ValueError:
        return str(value)


@dataclass(frozen=True, slots=True, init=False)
class Alias:
    """One HOMER alias: identity (ip, mask, port, capture_id) plus attributes.

    ``guid`` is set only for aliases read from a server. ``extra`` carries
    server fields homer-sync does not manage (API v4 tags, custom image) as
    sorted (key, value) pairs, so that an update can send them back unchanged.
    """

    ip: str
    mask: int
    port: int
    capture_id: str
    name: str
    status: bool = True
    guid: str | None = None
    extra: tuple = field(default=())

    def __init__(self, ip: str, mask: int, port: int, capture_id: str, name: str, status: bool = True,
                 guid: str | None = None, extra: tuple = ()) -> None:
        # Frozen: fields are set through their slots, as dataclass's own __init__ does with
        # object.__setattr__, only faster (a plan builds hundreds of thousands of aliases).
        _SET_IP(self, ip)
        _SET_MASK(self, mask)
        _SET_PORT(self, port)
        _SET_CAPTURE_ID(self, capture_id)
        _SET_NAME(self, name)
        _SET_STATUS(self, status)
        _SET_GUID(self, guid)
        _SET_EXTRA(self, extra)

    @property
    def identity(self) -> Identity:
        return Identity(self.ip, self.mask, self.port, self.capture_id)

    @property
    def attributes(self) -> tuple:
        return (self.name, self.status)

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.mask}"

    def extra_dict(self) -> dict:
        return dict(self.extra)

    def with_extra(self, **values) -> Alias:
        merged = self.extra_dict()
        merged.update(values)
        return replace(self, extra=tuple(sorted(merged.items())))

    def to_dict(self) -> dict:
        """Plain record for JSON output and saved plans (never includes secrets)."""
        data = {
            "alias": self.name,
            "ip": self.ip,
            "mask": self.mask,
            "port": self.port,
            "capture_id": self.capture_id,
            "status": self.status,
        }
        if self.guid is not None:
            data["guid"] = self.guid
        if self.extra:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Alias:
        return cls(
            ip=data["ip"],
            mask=int(data["mask"]),
            port=int(data["port"]),
            capture_id=str(data["capture_id"]),
            name=data["alias"],
            status=bool(data["status"]),
            guid=data.get("guid"),
            extra=tuple(sorted((data.get("extra") or {}).items())),
        )

    @classmethod
    def from_server(cls, *, ip, mask, port, capture_id, name, status, guid, extra=()) -> Alias:
        """Build from server data, tolerating values HOMER stores without checking."""
        return cls(
            ip=lenient_ip(ip),
            mask=int(mask),
            port=int(port),
            capture_id=str(capture_id),
            name=str(name),
            status=bool(status),
            guid=guid,
            extra=tuple(sorted(dict(extra).items())),
        )


_SET_IP, _SET_MASK, _SET_PORT, _SET_CAPTURE_ID, _SET_NAME, _SET_STATUS, _SET_GUID, _SET_EXTRA = (
    vars(Alias)[name].__set__ for name in ("ip", "mask", "port", "capture_id", "name", "status", "guid", "extra"))


# -- the one way an alias is written in messages ----------------------------------------------------


def _escape_table() -> dict:
    table = {code: f"\\x{code:02x}" for code in list(range(0x20)) + list(range(0x7F, 0xA0))}
    table.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
    table.update({0x2028: "\\u2028", 0x2029: "\\u2029"})
    return table


_PRINTABLE = _escape_table()


def printable(text) -> str:
    """The text with control characters and line separators escaped: always one line."""
    return str(text).translate(_PRINTABLE)


def capture_text(capture_id: str) -> str:
    """"0", or "' CAP1 '" quoted when the bare text would hide something (empty, spaces)."""
    shown = printable(capture_id)
    if shown and shown == shown.strip() and " " not in shown and "'" not in shown:
        return shown
    return "'" + shown.replace("'", "\\'") + "'"


def address_fields(alias: Alias) -> tuple[str, str, str]:
    """("10.0.1.10/32", "port 5060", "capture 0"): the identity of an alias as text columns."""
    return (printable(alias.cidr), f"port {alias.port}", f"capture {capture_text(alias.capture_id)}")


def address(alias: Alias) -> str:
    """"10.0.1.10/32 port 5060 capture 0": the one way an alias identity is written."""
    return " ".join(address_fields(alias))


def describe(alias: Alias) -> str:
    """"10.0.1.10/32 port 5060 capture 0 'pcscf01'" (", inactive" appended when inactive):
    the one way an alias is named in plans, apply output, errors, lint and merge messages."""
    text = f"{address(alias)} '{printable(alias.name)}'"
    return text if alias.status else text + ", inactive"


def inside_networks(alias: Alias, networks) -> bool:
    """True when the alias's prefix lies inside one of ``networks`` (ip inside, mask at least as
    long); False for an ip that is not an IP or a mask its family cannot have."""
    try:
        addr = ipaddress.ip_address(alias.ip)
    except ValueError:
        return False
    if not 0 <= alias.mask <= addr.max_prefixlen:
        return False
    return any(net.version == addr.version and alias.mask >= net.prefixlen and addr in net for net in networks)


def _ip_key(ip) -> tuple[int, int]:
    """(version, integer value) of an address; (99, 0) for junk, which sorts last.

    inet_pton is a pure C parser (no I/O) that agrees with ipaddress on every address it
    accepts and is ten times faster; ipaddress decides the rest (scoped IPv6, junk).
    """
    if isinstance(ip, str):
        for family, version in ((_socket.AF_INET, 4), (_socket.AF_INET6, 6)):
            try:
                return (version, int.from_bytes(_socket.inet_pton(family, ip), "big"))
            except (OSError, ValueError):
                continue
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return (99, 0)
    return (parsed.version, int(parsed))


def sort_key(alias: Alias) -> tuple:
    """The one order of aliases (and, after the action, of plan changes): address family,
    address, then mask, port, capture id, name, guid. Stable and human-friendly."""
    ip = alias.ip
    try:  # IPv4 first, without _ip_key's loop: an inventory sorts 100,000 of them
        return (4, int.from_bytes(_INET_PTON(_AF_INET, ip), "big"), ip, alias.mask, alias.port, alias.capture_id,
                alias.name, alias.guid or "")
    except (OSError, TypeError, ValueError):
        pass
    return (*_ip_key(ip), ip, alias.mask, alias.port, alias.capture_id, alias.name, alias.guid or "")


_INET_PTON, _AF_INET = _socket.inet_pton, _socket.AF_INET
