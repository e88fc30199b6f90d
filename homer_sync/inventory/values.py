"""Parsers of single values (IP or CIDR, port, mask, capture id, name, status, host).

Each returns the canonical value or raises :class:`Invalid` with the sentence
to show; where the value stands is the caller's business.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import NamedTuple

from ..model import CANONICAL_IPV4, ip_text, normalize_capture_id
from .problems import Invalid, boolean, quote, wrong_type

MAX_NAME_LENGTH = 250
MAX_CAPTURE_ID_LENGTH = 20

DIGITS = re.compile(r"[0-9]+")
# C0 and C1 control characters and DEL, and lone surrogates (not text at all: they cannot be
# encoded as UTF-8, and a Go server replaces them with U+FFFD, storing another name).
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


class IP(NamedTuple):
    """A parsed address: canonical text, family and integer value."""

    compressed: str
    version: int
    value: int

    @property
    def max_prefixlen(self) -> int:
        return 32 if self.version == 4 else 128

    def __int__(self) -> int:
        return self.value

    def __str__(self) -> str:
        return self.compressed


def parse_ip(text: str) -> IP:
    """Parse an IP address (ValueError otherwise); canonical IPv4 text takes a fast path."""
    if CANONICAL_IPV4.fullmatch(text):
        return IP(text, 4, int.from_bytes(socket.inet_aton(text), "big"))
    addr = ipaddress.ip_address(text)
    return IP(ip_text(addr), addr.version, int(addr))


def family(version: int) -> str:
    return f"IPv{version}"


def host_mask(addr, mask: int) -> int:
    """The host bits of a /``mask`` prefix of ``addr``'s family, as an integer."""
    return (1 << (addr.max_prefixlen - mask)) - 1


def host_bits_message(shown: str, addr, mask: int) -> str:
    network = ipaddress.ip_network(f"{addr}/{mask}", strict=False)
    return f"{shown} has host bits set; use {network} or {addr.compressed}/{addr.max_prefixlen}"


def parse_address(value):
    """An IP or a CIDR -> (IP, mask or None when plain)."""
    if not isinstance(value, str):
        hint = "; quote IPv6 addresses" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise wrong_type(value, "expected an IP address or CIDR", hint)
    text = value.strip()
    if "%" in text:
        raise Invalid(f"{quote(value)}: zone indexes (%...) are not allowed")
    addr_text, slash, prefix_text = text.partition("/")
    try:
        addr = parse_ip(addr_text)
    except ValueError:
        raise Invalid(f"{quote(value)} is not a valid IP address or CIDR") from None
    if not slash:
        return addr, None
    if not DIGITS.fullmatch(prefix_text):
        raise Invalid(f"{quote(value)}: the prefix length must be a number 0-{addr.max_prefixlen}")
    mask = int(prefix_text)
    if mask > addr.max_prefixlen:
        raise Invalid(f"{quote(value)}: mask {mask} is out of range for {family(addr.version)} "
                      f"(0-{addr.max_prefixlen})")
    if int(addr) & host_mask(addr, mask):
        raise Invalid(host_bits_message(quote(value), addr, mask))
    return addr, mask


def parse_network(value):
    addr, mask = parse_address(value)
    return ipaddress.ip_network(f"{addr.compressed}/{addr.max_prefixlen if mask is None else mask}")


def parse_port(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = "; remove the quotes" if type(value) is str and DIGITS.fullmatch(value.strip()) else ""
        raise wrong_type(value, "port must be an integer 0-65535", hint)
    if not 0 <= value <= 65535:
        raise Invalid(f"port {value} is out of range (0-65535)")
    return value


def parse_mask(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(value, "mask must be an integer")
    if not 0 <= value <= 128:
        raise Invalid(f"mask {value} is out of range (0-32 for IPv4, 0-128 for IPv6)")
    return value


def parse_capture_id(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise wrong_type(value, "capture_id must be a string or an integer")
    text = normalize_capture_id(value)
    if not text:
        raise Invalid("capture_id must not be empty")
    check_storable_text(text, "capture_id")
    if len(text) > MAX_CAPTURE_ID_LENGTH:
        raise Invalid(
            f"capture_id {quote(text)} is {len(text)} characters; HOMER stores at most {MAX_CAPTURE_ID_LENGTH}"
        )
    return text


def parse_name(value) -> str:
    if not isinstance(value, str):
        hint = "; quote it" if isinstance(value, (bool, int, float)) else ""
        raise wrong_type(value, "alias name must be a string", hint)
    if not value.strip():
        raise Invalid("alias name must not be empty")
    check_storable_text(value, "alias name")
    if len(value) > MAX_NAME_LENGTH:
        raise Invalid(f"alias name is {len(value)} characters; HOMER stores at most {MAX_NAME_LENGTH}")
    return str(value)  # an Unquoted name is kept as written, as plain text


def check_storable_text(text: str, what: str) -> None:
    """Refuse characters HOMER cannot store as they are (lengths are checked by the caller).

    HOMER 7 keeps names in PostgreSQL, which refuses U+0000 in text: the INSERT fails and
    the API answers 201 with an empty body. Other control characters are stored but never
    meant (a tab or newline pasted with the name) and break HOMER's one-line display.
    """
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    char = found.group()
    where = f"at character {found.start() + 1}"
    if char == "\x00":
        raise Invalid(f"{what} contains a NUL character (U+0000) {where}; HOMER 7's database cannot store it")
    if "\ud800" <= char <= "\udfff":
        raise Invalid(f"{what} contains a lone surrogate (U+{ord(char):04X}) {where}, which is not valid"
                      " Unicode text; HOMER would store U+FFFD instead")
    raise Invalid(f"{what} contains the control character U+{ord(char):04X} {where}; use printable"
                  " text (HOMER shows it on one line)")


parse_status = boolean("status")


def parse_host(value) -> str:
    if not isinstance(value, str):
        raise wrong_type(value, "host must be a host name")
    text = value.strip()
    name = text[:-1] if text.endswith(".") else text
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise Invalid(f"{quote(value)} is an IP address; use ip: instead of host:")
    if not name or len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        raise Invalid(f"{quote(value)} is not a valid host name")
    return name
