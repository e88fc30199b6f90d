"""One inventory entry (an ``aliases`` item) and the ``defaults`` it falls back on.

An :class:`Entry` is validated but not yet expanded: it holds its prefixes or
host names and its ports; merge.py turns it into aliases (ip x port).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import CANONICAL_IPV4
from .exact import STRICT, ValueRules, no_tags, parse_tags
from .keys import check_keys, field, key_line
from .problems import INVALID, FileProblems, describe, each, join_path, places, quote
from .values import (
    MAX_CAPTURE_ID_LENGTH,
    MAX_NAME_LENGTH,
    family,
    host_bits_message,
    host_mask,
    parse_host,
    parse_status,
)
from .yamlnodes import Map

DEFAULT_KEYS = ("capture_id", "port", "status")
ENTRY_KEYS = ("alias", "ip", "host", "port", "mask", "capture_id", "status")
EXACT_ENTRY_KEYS = ENTRY_KEYS + ("tags",)
_EXACT_ONLY = {"tags": "tags are read only from exact inventories (exact: true), as export and backups write them"}
DEFAULTS = {"capture_id": "0", "ports": (0,), "status": True}


@dataclass(slots=True)  # an inventory may hold 100,000 of them: no per-entry __dict__
class Entry:
    """One validated inventory entry, before expansion to ip x port."""

    source: str
    line: int | None
    path: str
    name: str | None
    name_line: int | None
    prefixes: Sequence[tuple[str, int]]  # (ip, mask) pairs
    hosts: Sequence[tuple[str, int | None, str]]  # (host, line, field) triples
    ports: tuple
    capture_id: str
    status: bool
    extra: tuple = ()  # the tag fields an exact entry declares (see exact.py); () declares none
    exact: bool = False
    # (file, line, label) of the sources: block that produced the entry; None when written by hand
    from_source: tuple[str, int | None, str] | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def parse_defaults(f: FileProblems, node, line, rules: ValueRules = STRICT) -> dict:
    """The ``defaults`` block -> {capture_id, ports, status}; a wrong value keeps the built-in default."""
    if node is None:
        return dict(DEFAULTS)
    if not isinstance(node, dict):
        f.error(line, "defaults", f"defaults must be a mapping, got {describe(node)}")
        return dict(DEFAULTS)
    forbidden = {
        key: f"{key} cannot have a default; set it on each alias"
        for key in ("alias", "ip", "host", "mask")
    }
    forbidden["mask"] = "mask cannot have a default; write CIDRs (10.0.0.0/24) or set mask on the alias"
    check_keys(f, node, DEFAULT_KEYS, "defaults", forbidden)
    values = {
        "capture_id": field(f, node, "capture_id", "defaults", rules.capture_id, INVALID),
        "ports": field(f, node, "port", "defaults", rules.port, INVALID, many="port"),
        "status": field(f, node, "status", "defaults", parse_status, INVALID),
    }
    return {key: DEFAULTS[key] if value is INVALID else value for key, value in values.items()}


_FAST_KEYS = frozenset(("alias", "ip", "port", "capture_id", "status"))
_PLAIN_NAME = re.compile(r"[!-~][ -~]*")  # printable ASCII, not starting with a space
_PLAIN_CAPTURE_ID = re.compile(r"[!-~]+")


def fast_entry(source: str, entry, index: int, defaults: dict) -> Entry | None:
    """The usual hand-written entry, read without the field-by-field checks; None when unusual.

    Usual: a mapping from the YAML reader without duplicate keys, of ``alias`` (printable ASCII,
    at most MAX_NAME_LENGTH), ``ip`` (one canonical IPv4 address), and optionally ``port`` (one
    integer 0-65535), ``capture_id`` (printable ASCII without spaces, at most
    MAX_CAPTURE_ID_LENGTH) and ``status`` (true or false). parse_entry gives the same Entry for
    it (tests compare both); anything else (a list, a CIDR, IPv6, a host, a mask, a problem) is
    left to parse_entry, which also says what is wrong.
    """
    if type(entry) is not Map or entry.duplicates or not _FAST_KEYS.issuperset(entry):
        return None
    name, ip = entry.get("alias"), entry.get("ip")
    if (type(name) is not str or len(name) > MAX_NAME_LENGTH or not _PLAIN_NAME.fullmatch(name)
            or type(ip) is not str or not CANONICAL_IPV4.fullmatch(ip)):
        return None
    ports = defaults["ports"]
    if "port" in entry:
        port = entry["port"]
        if type(port) is not int or not 0 <= port <= 65535:
            return None
        ports = (port,)
    capture_id = defaults["capture_id"]
    if "capture_id" in entry:
        capture_id = entry["capture_id"]
        if (type(capture_id) is not str or len(capture_id) > MAX_CAPTURE_ID_LENGTH
                or not _PLAIN_CAPTURE_ID.fullmatch(capture_id)):
            return None
    status = entry.get("status", defaults["status"])
    if type(status) is not bool:
        return None
    return Entry(source, entry.line, f"aliases[{index}]", name, entry.key_lines["alias"], ((ip, 32),), (), ports,
                 capture_id, status)


def parse_entry(f: FileProblems, entry, line, index: int | None, defaults: dict,
                rules: ValueRules = STRICT) -> Entry | None:
    """One ``aliases`` item -> Entry, or None after reporting what is wrong.

    ``index`` None: an entry produced by a source, whose fields have no list path
    (``f`` then names the source object, e.g. ``netbox dcim/devices id=3``).
    """
    path = "" if index is None else f"aliases[{index}]"
    if not isinstance(entry, dict):
        f.error(line, path or None, f"each alias must be a mapping (alias, ip, port, ...), got {describe(entry)}")
        return None
    line = getattr(entry, "line", line)
    hints: set = set()
    ok = check_keys(f, entry, EXACT_ENTRY_KEYS if rules.exact else ENTRY_KEYS, path, hints=hints,
                    forbidden=None if rules.exact else _EXACT_ONLY)
    name = field(f, entry, "alias", path, rules.name)
    capture_id = field(f, entry, "capture_id", path, rules.capture_id, defaults["capture_id"])
    status = field(f, entry, "status", path, parse_status, defaults["status"])
    ports = field(f, entry, "port", path, rules.port, defaults["ports"], many="port")
    mask = field(f, entry, "mask", path, rules.mask)
    tags = field(f, entry, "tags", path, parse_tags, no_tags()) if rules.exact else ()
    ok &= INVALID not in (name, capture_id, status, ports, mask, tags)

    prefixes: list[tuple[str, int]] = []
    hosts: list[tuple[str, int | None, str]] = []
    has_ip, has_host = "ip" in entry, "host" in entry
    if has_ip and has_host:
        f.error(line, path or None, "give either ip or host, not both")
        ok = False
    elif not has_ip and not has_host:
        if not hints & {"ip", "host"}:
            f.error(line, path or None, "missing ip (or host)")
        ok = False
    elif has_ip:
        if "alias" not in entry:
            if "alias" not in hints:
                f.error(line, path or None, "missing alias (the name HOMER shows)")
            ok = False
        ok &= entry_prefixes(f, entry, path, mask, prefixes, rules)
    else:
        if "mask" in entry:
            f.error(key_line(entry, "mask"), join_path(path, "mask"),
                    "mask is only allowed with plain IPs, not with host")
            ok = False
        value, host_line, host_path = entry["host"], key_line(entry, "host"), join_path(path, "host")
        parsed = each(f, value, host_line, host_path, parse_host, "host")
        if parsed is None:
            ok = False
        else:
            hosts = [(host, *place) for host, place in zip(parsed, places(value, host_line, host_path), strict=True)]
    if not ok:
        return None
    name_line = key_line(entry, "alias") if "alias" in entry else line
    return Entry(f.source, line, path, name, name_line, prefixes, hosts, ports, capture_id, status, tags, rules.exact)


def entry_prefixes(f: FileProblems, entry, path, mask, out: list, rules: ValueRules = STRICT) -> bool:
    """Append the entry's (ip, mask) pairs to ``out``; False after reporting a wrong ip or mask."""
    value = entry["ip"]
    ip_line, ip_path = key_line(entry, "ip"), join_path(path, "ip")
    parsed = each(f, value, ip_line, ip_path, rules.address, "ip")
    if parsed is None:
        return False
    if mask is None or mask is INVALID:
        for addr, cidr_mask in parsed:
            out.append((addr.compressed, addr.max_prefixlen if cidr_mask is None else cidr_mask))
        return mask is None
    mask_line, mask_path = key_line(entry, "mask"), join_path(path, "mask")
    if any(cidr_mask is not None for _, cidr_mask in parsed):
        f.error(mask_line, mask_path, "mask is only allowed with plain IPs; a CIDR carries its own mask")
        return False
    ok = True
    for (addr, _), (where_line, where_path) in zip(parsed, places(value, ip_line, ip_path), strict=True):
        if rules.exact:  # HOMER stores any mask, host bits and all
            out.append((addr.compressed, mask))
        elif mask > addr.max_prefixlen:
            f.error(mask_line, mask_path, f"mask {mask} is out of range for {family(addr.version)} "
                    f"{addr.compressed} (0-{addr.max_prefixlen})")
            ok = False
        elif int(addr) & host_mask(addr, mask):
            f.error(where_line, where_path, host_bits_message(f"{quote(addr.compressed)} with mask {mask}", addr, mask))
            ok = False
        else:
            out.append((addr.compressed, mask))
    return ok
