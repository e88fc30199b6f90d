"""The value rules of *exact* inventories: what ``export`` and apply's backups write.

A hand-written inventory is held to what an operator means (no host bits, ports
0-65535, capture ids trimmed and at most 20 characters, printable names). HOMER
itself stores more than that: ``10.0.0.1/24``, mask 99, port -1, capture ids
with spaces around them, v4 aliases without a capture id, names with control
characters, v4 tags. A document that starts with ``exact: true`` declares that
its values are HOMER's own, to be restored as they are: these parsers keep each
value verbatim and only check its type (and that an ip is an IP). Such an entry
may also carry ``tags`` (API v4 ``custom_image`` and ``tag1``..``tag4``), which
it then declares in full: a tag it does not list is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..model import TAG_FIELDS
from .problems import Invalid, describe, wrong_type
from .values import (
    DIGITS,
    parse_address,
    parse_capture_id,
    parse_ip,
    parse_mask,
    parse_name,
    parse_port,
)

EXACT_KEY = "exact"


class ValueRules(NamedTuple):
    """The parsers an entry's fields go through; ``exact`` also allows host bits, any mask and tags."""

    name: Callable[[Any], str]
    capture_id: Callable[[Any], str]
    port: Callable[[Any], int]
    mask: Callable[[Any], int]
    address: Callable[[Any], tuple]
    exact: bool


def _integer(what: str):
    def parse(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong_type(value, f"{what} must be an integer")
        return value

    return parse


def exact_name(value) -> str:
    if not isinstance(value, str):
        raise wrong_type(value, "alias name must be a string")
    return value


def exact_capture_id(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise wrong_type(value, "capture_id must be a string")
    return str(value)


def exact_address(value):
    """An IP or a CIDR whose host bits may be set -> (IP, mask or None)."""
    if not isinstance(value, str):
        raise wrong_type(value, "expected an IP address or CIDR")
    addr_text, slash, prefix_text = value.partition("/")
    try:
        addr = parse_ip(addr_text)
    except ValueError:
        raise Invalid(f"{value!r} is not an IP address; HOMER stores only IP addresses") from None
    if not slash:
        return addr, None
    if not DIGITS.fullmatch(prefix_text) or int(prefix_text) > addr.max_prefixlen:
        raise Invalid(f"{value!r}: the prefix length must be a number 0-{addr.max_prefixlen}"
                      " (write other masks with the mask key)")
    return addr, int(prefix_text)


def parse_tags(value) -> tuple:
    """``tags`` of an exact entry -> every tag field as sorted (key, value) pairs, "" when not listed."""
    if not isinstance(value, dict):
        raise wrong_type(value, f"tags must be a mapping of {', '.join(TAG_FIELDS)}")
    unknown = [key for key in value if key not in TAG_FIELDS]
    if unknown:
        raise Invalid(f"unknown tag {unknown[0]!r}; tags are {', '.join(TAG_FIELDS)}")
    for key, text in value.items():
        if not isinstance(text, str):
            raise Invalid(f"tag {key} must be a string, got {describe(text)}")
    return no_tags(value)


def no_tags(values: dict | None = None) -> tuple:
    """Every tag field declared, empty unless ``values`` gives it."""
    values = values or {}
    return tuple(sorted((key, values.get(key, "")) for key in TAG_FIELDS))


STRICT = ValueRules(parse_name, parse_capture_id, parse_port, parse_mask, parse_address, exact=False)
EXACT = ValueRules(exact_name, exact_capture_id, _integer("port"), _integer("mask"), exact_address, exact=True)
