"""Load, validate and expand inventory files (YAML, JSON, CSV); dump aliases back to one.

Every problem is collected with file:line and the field path, and raised at
once in one :class:`errors.InventoryError`. Nothing here touches HOMER; the
only network access is the optional resolution of ``host:`` entries.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import socket
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

import yaml

from .errors import InventoryError
from .model import Alias, max_mask, normalize_capture_id, sort_key

VERSION = 1
MAX_NAME_LENGTH = 250
MAX_CAPTURE_ID_LENGTH = 20
OWNER_TAGS = ("tag1", "tag2", "tag3", "tag4")
CSV_COLUMNS = ("alias", "ip", "port", "mask", "capture_id", "status")

TOP_KEYS = ("version", "defaults", "aliases", "prune")
DEFAULT_KEYS = ("capture_id", "port", "status")
ENTRY_KEYS = ("alias", "ip", "host", "port", "mask", "capture_id", "status")
PRUNE_KEYS = ("enabled", "only", "owner", "owner_tag", "max_delete_percent", "max_update_percent")
ONLY_KEYS = ("capture_ids", "networks", "alias_regex")

# Names people reach for; checked before difflib, which cannot guess these.
_SYNONYMS = {
    "name": "alias", "aliasname": "alias", "label": "alias",
    "captureid": "capture_id", "capture": "capture_id", "cid": "capture_id",
    "address": "ip", "addr": "ip", "ips": "ip", "cidr": "ip", "network": "ip", "subnet": "ip",
    "hostname": "host", "fqdn": "host", "ports": "port",
    "netmask": "mask", "prefix": "mask", "prefixlen": "mask",
    "active": "status", "enabled": "status", "enable": "status",
    "alias": "aliases", "entries": "aliases",
}
_UI_NAME = re.compile(r"[A-Za-z0-9_&@-]{3,24}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_DIGITS = re.compile(r"[0-9]+")
_INVALID = object()

Resolver = Callable[[str], "list[str]"]


# --------------------------------------------------------------------- values


@dataclass(frozen=True)
class Problem:
    """One error or warning, located as precisely as the input allows."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.field, self.message) if p]
        return ": ".join(parts)


@dataclass(frozen=True)
class PruneConfig:
    """The inventory's ``prune`` block: whether to prune, and what may be pruned."""

    enabled: bool = False
    capture_ids: tuple[str, ...] | None = None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None
    alias_regex: str | None = None
    owner: str | None = None
    owner_tag: str = "tag4"
    max_delete_percent: float = 30.0
    max_update_percent: float = 30.0

    def __post_init__(self):
        # Accept plain strings from callers (CLI options); store canonical values.
        if self.capture_ids is not None:
            object.__setattr__(self, "capture_ids", tuple(normalize_capture_id(c) for c in self.capture_ids))
        if self.networks is not None:
            object.__setattr__(self, "networks", tuple(ipaddress.ip_network(n) for n in self.networks))

    def in_scope(self, alias: Alias) -> bool:
        """True when every filter given matches ``alias`` (None = no restriction)."""
        if self.capture_ids is not None and alias.capture_id not in self.capture_ids:
            return False
        if self.networks is not None:
            try:
                addr = ipaddress.ip_address(alias.ip)
            except ValueError:
                return False
            if not 0 <= alias.mask <= addr.max_prefixlen:
                return False
            # ip inside the network and a mask at least as long: the alias's prefix is inside.
            if not any(
                net.version == addr.version and alias.mask >= net.prefixlen and addr in net
                for net in self.networks
            ):
                return False
        if self.alias_regex is not None and not re.search(self.alias_regex, alias.name):
            return False
        return True


@dataclass(frozen=True)
class Inventory:
    aliases: tuple[Alias, ...]
    prune: PruneConfig
    warnings: tuple[Problem, ...]
    sources: tuple[str, ...]
    unresolved_hosts: tuple[str, ...] = ()


# ------------------------------------------------------------ YAML with lines


class _Map(dict):
    """A mapping that remembers its own line and the line of each key."""

    __slots__ = ("line", "key_lines", "duplicates")


class _Seq(list):
    """A sequence that remembers its own line and the line of each item."""

    __slots__ = ("line", "item_lines")


try:  # libyaml parses about ten times faster than the pure-Python parser.
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "str", "binary", "timestamp")
)
_TEXT_TAGS = (_MERGE_TAG, "tag:yaml.org,2002:value")
_NO_KEY = object()
_MERGE = object()


def _yaml_error(problem: str, mark):
    return yaml.constructor.ConstructorError(None, None, problem, mark)


def _load_yaml_with_lines(text: str):
    """Safe-load one YAML document into _Map/_Seq/scalars carrying line numbers.

    Built straight from the parser's events: libyaml's composer plus the
    generic constructor cost several times more than this for big files.
    Semantics follow SafeLoader (implicit tags, anchors, ``<<`` merge keys);
    duplicate keys are recorded on the mapping for the validator to report.
    """
    loader = _BaseLoader(text)
    try:
        return _build_from_events(loader)
    finally:
        loader.dispose()


def _build_from_events(loader):
    get_event = loader.get_event
    tags: dict = {}  # plain scalar text -> implicit tag
    scalars: dict = {}  # (tag, text) -> constructed non-string value
    anchors: dict = {}
    stack: list = []  # frames: [container, key, key_line, merges]
    root = None
    documents = 0

    def attach(value, line):
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        container = frame[0]
        if frame[1] is None:  # sequence frame
            container.append(value)
            container.item_lines.append(line)
        elif frame[1] is _NO_KEY:
            frame[1], frame[2] = value, line
        else:
            key, frame[1] = frame[1], _NO_KEY
            if key is _MERGE:
                frame[3].append(value)
                return
            if key in container:
                container.duplicates.append((key, frame[2], container.key_lines[key]))
            container[key] = value
            container.key_lines[key] = frame[2]

    def check_key(event, value):
        if stack and stack[-1][1] is _NO_KEY:
            try:
                hash(value)
            except TypeError:
                raise _yaml_error("found unhashable key", event.start_mark) from None

    while True:
        event = get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag, text = event.tag, event.value
            if tag is None or tag == "!":
                if event.implicit[0]:
                    tag = tags.get(text)
                    if tag is None:
                        tag = tags[text] = loader.resolve(yaml.ScalarNode, text, (True, False))
                else:
                    tag = _STR_TAG
            if tag == _STR_TAG:
                value = text
            elif tag == _MERGE_TAG and stack and stack[-1][1] is _NO_KEY:
                value = _MERGE
            elif tag in _TEXT_TAGS:  # a lone "<<" or "=" used as a value
                value = text
            else:
                value = scalars.get((tag, text), _NO_KEY)
                if value is _NO_KEY:
                    if tag not in _SCALAR_TAGS:
                        raise _yaml_error(f"unsupported tag {tag!r}", event.start_mark)
                    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark)
                    value = scalars[(tag, text)] = loader.yaml_constructors[tag](loader, node)
            if event.anchor is not None:
                anchors[event.anchor] = value
            attach(value, event.start_mark.line + 1)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            is_map = kind is yaml.MappingStartEvent
            expected = "tag:yaml.org,2002:map" if is_map else "tag:yaml.org,2002:seq"
            if event.tag not in (None, "!", expected):
                raise _yaml_error(f"unsupported tag {event.tag!r}", event.start_mark)
            check_key(event, [])
            if is_map:
                value = _Map()
                value.key_lines, value.duplicates = {}, []
            else:
                value = _Seq()
                value.item_lines = []
            value.line = event.start_mark.line + 1
            if event.anchor is not None:
                anchors[event.anchor] = value
            attach(value, value.line)
            stack.append([value, _NO_KEY, None, []] if is_map else [value, None, None, None])
        elif kind is yaml.MappingEndEvent:
            mapping, _, _, merges = stack.pop()
            if merges:
                _apply_merges(mapping, merges, event)
        elif kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise _yaml_error(f"found undefined alias {event.anchor!r}", event.start_mark)
            value = anchors[event.anchor]
            check_key(event, value)
            attach(value, event.start_mark.line + 1)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _yaml_error("expected a single document in the stream, but found another document",
                                  event.start_mark)
        elif kind is yaml.StreamEndEvent:
            return root


def _apply_merges(mapping, merges, event):
    """YAML merge keys: explicit keys win, then earlier merge sources win."""
    sources = []
    for value in merges:
        items = value if isinstance(value, list) and not isinstance(value, dict) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise _yaml_error("expected a mapping or list of mappings for merging", event.start_mark)
            sources.append(item)
    for source in sources:
        for key, value in source.items():
            if key not in mapping:
                mapping[key] = value
                mapping.key_lines[key] = getattr(source, "key_lines", {}).get(key, mapping.line)


def _key_line(mapping, key):
    return getattr(mapping, "key_lines", {}).get(key, getattr(mapping, "line", None))


# ---------------------------------------------------------------- validation


class _Invalid(Exception):
    """A value is wrong; the caller knows where."""


class _File:
    """Problem collector for one input file."""

    def __init__(self, source: str, problems: list):
        self.source = source
        self.problems = problems

    def error(self, line, field_path, message):
        self.problems.append(Problem(self.source, line, field_path, message))


@dataclass
class _Entry:
    """One validated inventory entry, before expansion to ip x port."""

    source: str
    line: int | None
    path: str
    name: str | None
    name_line: int | None
    prefixes: list  # [(ip, mask)]
    hosts: list  # [(host, line, field)]
    ports: tuple
    capture_id: str
    status: bool

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def _quote(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


def _describe(value) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _suggest(key, allowed) -> str | None:
    import difflib

    text = str(key).strip().lower().replace("-", "_")
    if text in allowed:
        return text
    squashed = text.replace("_", "")
    if _SYNONYMS.get(squashed) in allowed:
        return _SYNONYMS[squashed]
    # Typos of the allowed keys and of their synonyms ("adress" -> address -> ip).
    candidates = {key: key for key in allowed}
    candidates.update((word, key) for word, key in _SYNONYMS.items() if key in allowed)
    close = difflib.get_close_matches(text, list(candidates), n=1, cutoff=0.6)
    return candidates[close[0]] if close else None


def _check_keys(f: _File, mapping: dict, allowed, path: str, forbidden: dict | None = None, hints=None,
                extensions: bool = False) -> bool:
    """Report unknown and duplicate keys; True when there were none.

    Suggested key names are added to ``hints`` so that the caller does not
    also report them as missing.
    """
    ok = True
    prefix = f"{path}." if path else ""
    for key, line, first in getattr(mapping, "duplicates", ()):
        f.error(line, f"{prefix}{key}", f"duplicate key {key!r} (first at line {first}); YAML keeps only the last one")
        ok = False
    for key in mapping:
        if key in allowed or (extensions and isinstance(key, str) and key.startswith("x-")):
            continue
        ok = False
        line = _key_line(mapping, key)
        if forbidden and key in forbidden:
            f.error(line, f"{prefix}{key}", forbidden[key])
            continue
        hint = _suggest(key, allowed)
        if hint:
            f.error(line, f"{prefix}{key}", f"unknown key {key!r}; did you mean {hint!r}?")
            if hints is not None:
                hints.add(hint)
        else:
            f.error(line, f"{prefix}{key}", f"unknown key {key!r}; allowed keys: {', '.join(allowed)}")
    return ok


def _one(f: _File, value, line, path, parse):
    try:
        return parse(value)
    except _Invalid as exc:
        f.error(line, path, str(exc))
        return _INVALID


def _each(f: _File, value, line, path, parse, what: str):
    """Parse a value that may be one item or a list of items; None when invalid."""
    if not isinstance(value, list):
        result = _one(f, value, line, path, parse)
        return None if result is _INVALID else [result]
    if not value:
        f.error(line, path, f"{what} list is empty")
        return None
    lines = getattr(value, "item_lines", None) or [line] * len(value)
    out = [_one(f, item, lines[i], f"{path}[{i}]", parse) for i, item in enumerate(value)]
    return None if any(item is _INVALID for item in out) else out


_IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_IPV4_OCTET}(?:\.{_IPV4_OCTET}){{3}}")


class _IP(NamedTuple):
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


def _ip(text: str) -> _IP:
    """Parse an IP address (ValueError otherwise); canonical IPv4 text takes a fast path."""
    if _IPV4.fullmatch(text):
        return _IP(text, 4, int.from_bytes(socket.inet_aton(text), "big"))
    addr = ipaddress.ip_address(text)
    return _IP(addr.compressed, addr.version, int(addr))


def _family(version: int) -> str:
    return f"IPv{version}"


def _host_bits_set(addr, mask: int) -> bool:
    return bool(int(addr) & ((1 << (addr.max_prefixlen - mask)) - 1))


def _network_of(addr, mask: int) -> str:
    return str(ipaddress.ip_network(f"{addr}/{mask}", strict=False))


def _parse_address(value):
    """An IP or a CIDR -> (ip address object, mask or None when plain)."""
    if not isinstance(value, str):
        hint = "; quote IPv6 addresses" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise _Invalid(f"expected an IP address or CIDR, got {_describe(value)}{hint}")
    text = value.strip()
    if "%" in text:
        raise _Invalid(f"{_quote(value)}: zone indexes (%...) are not allowed")
    addr_text, slash, prefix_text = text.partition("/")
    try:
        addr = _ip(addr_text)
    except ValueError:
        raise _Invalid(f"{_quote(value)} is not a valid IP address or CIDR") from None
    if not slash:
        return addr, None
    if not _DIGITS.fullmatch(prefix_text):
        raise _Invalid(f"{_quote(value)}: the prefix length must be a number 0-{addr.max_prefixlen}")
    mask = int(prefix_text)
    if mask > addr.max_prefixlen:
        raise _Invalid(f"{_quote(value)}: mask {mask} is out of range for {_family(addr.version)} (0-{addr.max_prefixlen})")
    if _host_bits_set(addr, mask):
        raise _Invalid(
            f"{_quote(value)} has host bits set; use {_network_of(addr, mask)} or {addr.compressed}/{addr.max_prefixlen}"
        )
    return addr, mask


def _parse_network(value):
    addr, mask = _parse_address(value)
    return ipaddress.ip_network(f"{addr.compressed}/{addr.max_prefixlen if mask is None else mask}")


def _parse_port(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = "; remove the quotes" if isinstance(value, str) and _DIGITS.fullmatch(value.strip()) else ""
        raise _Invalid(f"port must be an integer 0-65535, got {_describe(value)}{hint}")
    if not 0 <= value <= 65535:
        raise _Invalid(f"port {value} is out of range (0-65535)")
    return value


def _parse_mask(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"mask must be an integer, got {_describe(value)}")
    if not 0 <= value <= 128:
        raise _Invalid(f"mask {value} is out of range (0-32 for IPv4, 0-128 for IPv6)")
    return value


def _parse_capture_id(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Invalid(f"capture_id must be a string or an integer, got {_describe(value)}")
    text = normalize_capture_id(value)
    if not text:
        raise _Invalid("capture_id must not be empty")
    if len(text) > MAX_CAPTURE_ID_LENGTH:
        raise _Invalid(
            f"capture_id {_quote(text)} is {len(text)} characters; HOMER stores at most {MAX_CAPTURE_ID_LENGTH}"
        )
    return text


def _parse_name(value) -> str:
    if not isinstance(value, str):
        hint = "; quote it" if isinstance(value, (bool, int, float)) else ""
        raise _Invalid(f"alias name must be a string, got {_describe(value)}{hint}")
    if not value.strip():
        raise _Invalid("alias name must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise _Invalid(f"alias name is {len(value)} characters; HOMER stores at most {MAX_NAME_LENGTH}")
    return value


def _parse_status(value) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"status must be true or false, got {_describe(value)}")
    return value


def _parse_host(value) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"host must be a host name, got {_describe(value)}")
    text = value.strip()
    name = text[:-1] if text.endswith(".") else text
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise _Invalid(f"{_quote(value)} is an IP address; use ip: instead of host:")
    if not name or len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        raise _Invalid(f"{_quote(value)} is not a valid host name")
    return name


# ------------------------------------------------------------------ documents


def _parse_defaults(f: _File, node, line) -> dict:
    values = {"capture_id": "0", "ports": (0,), "status": True}
    if node is None:
        return values
    if not isinstance(node, dict):
        f.error(line, "defaults", f"defaults must be a mapping, got {_describe(node)}")
        return values
    forbidden = {
        key: f"{key} cannot have a default; set it on each alias"
        for key in ("alias", "ip", "host", "mask")
    }
    forbidden["mask"] = "mask cannot have a default; write CIDRs (10.0.0.0/24) or set mask on the alias"
    _check_keys(f, node, DEFAULT_KEYS, "defaults", forbidden)
    if "capture_id" in node:
        value = _one(f, node["capture_id"], _key_line(node, "capture_id"), "defaults.capture_id", _parse_capture_id)
        if value is not _INVALID:
            values["capture_id"] = value
    if "port" in node:
        ports = _each(f, node["port"], _key_line(node, "port"), "defaults.port", _parse_port, "port")
        if ports is not None:
            values["ports"] = tuple(dict.fromkeys(ports))
    if "status" in node:
        value = _one(f, node["status"], _key_line(node, "status"), "defaults.status", _parse_status)
        if value is not _INVALID:
            values["status"] = value
    return values


def _parse_entry(f: _File, entry, line, index: int, defaults: dict) -> _Entry | None:
    path = f"aliases[{index}]"
    if not isinstance(entry, dict):
        f.error(line, path, f"each alias must be a mapping (alias, ip, port, ...), got {_describe(entry)}")
        return None
    line = getattr(entry, "line", line)
    hints: set = set()
    ok = _check_keys(f, entry, ENTRY_KEYS, path, hints=hints)

    def at(key):
        return _key_line(entry, key), f"{path}.{key}"

    name = None
    if "alias" in entry:
        name = _one(f, entry["alias"], *at("alias"), _parse_name)
        ok &= name is not _INVALID
    capture_id = defaults["capture_id"]
    if "capture_id" in entry:
        capture_id = _one(f, entry["capture_id"], *at("capture_id"), _parse_capture_id)
        ok &= capture_id is not _INVALID
    status = defaults["status"]
    if "status" in entry:
        status = _one(f, entry["status"], *at("status"), _parse_status)
        ok &= status is not _INVALID
    ports = defaults["ports"]
    if "port" in entry:
        parsed = _each(f, entry["port"], *at("port"), _parse_port, "port")
        ok &= parsed is not None
        ports = tuple(dict.fromkeys(parsed or ()))
    mask = None
    if "mask" in entry:
        mask = _one(f, entry["mask"], *at("mask"), _parse_mask)
        ok &= mask is not _INVALID

    prefixes, hosts = [], []
    has_ip, has_host = "ip" in entry, "host" in entry
    if has_ip and has_host:
        f.error(line, path, "give either ip or host, not both")
        ok = False
    elif not has_ip and not has_host:
        if not hints & {"ip", "host"}:
            f.error(line, path, "missing ip (or host)")
        ok = False
    elif has_ip:
        if "alias" not in entry:
            if "alias" not in hints:
                f.error(line, path, "missing alias (the name HOMER shows)")
            ok = False
        ok &= _entry_prefixes(f, entry, path, mask, prefixes)
    else:
        if "mask" in entry:
            f.error(*at("mask"), "mask is only allowed with plain IPs, not with host")
            ok = False
        value = entry["host"]
        lines = getattr(value, "item_lines", None)
        parsed = _each(f, value, *at("host"), _parse_host, "host")
        if parsed is None:
            ok = False
        else:
            for i, host in enumerate(parsed):
                where = (lines[i], f"{path}.host[{i}]") if lines else at("host")
                hosts.append((host, *where))
    if not ok:
        return None
    name_line = _key_line(entry, "alias") if "alias" in entry else line
    return _Entry(f.source, line, path, name, name_line, prefixes, hosts, ports, capture_id, status)


def _entry_prefixes(f: _File, entry, path, mask, out: list) -> bool:
    value = entry["ip"]
    ip_line = _key_line(entry, "ip")
    parsed = _each(f, value, ip_line, f"{path}.ip", _parse_address, "ip")
    if parsed is None:
        return False
    if mask is None or mask is _INVALID:
        for addr, cidr_mask in parsed:
            out.append((addr.compressed, addr.max_prefixlen if cidr_mask is None else cidr_mask))
        return mask is None
    mask_line = _key_line(entry, "mask")
    cidrs = [addr for addr, cidr_mask in parsed if cidr_mask is not None]
    if cidrs:
        f.error(mask_line, f"{path}.mask", "mask is only allowed with plain IPs; a CIDR carries its own mask")
        return False
    lines = getattr(value, "item_lines", None)
    ok = True
    for i, (addr, _) in enumerate(parsed):
        where = (lines[i], f"{path}.ip[{i}]") if lines else (ip_line, f"{path}.ip")
        if mask > addr.max_prefixlen:
            f.error(mask_line, f"{path}.mask", f"mask {mask} is out of range for {_family(addr.version)} "
                    f"{addr.compressed} (0-{addr.max_prefixlen})")
            ok = False
        elif _host_bits_set(addr, mask):
            f.error(*where, f"{_quote(addr.compressed)} with mask {mask} has host bits set; "
                    f"use {_network_of(addr, mask)} or {addr.compressed}/{addr.max_prefixlen}")
            ok = False
        else:
            out.append((addr.compressed, mask))
    return ok


def _parse_prune(f: _File, node, line) -> PruneConfig | None:
    if not isinstance(node, dict):
        f.error(line, "prune", f"prune must be a mapping, got {_describe(node)}")
        return None
    ok = _check_keys(f, node, PRUNE_KEYS, "prune")
    values = {}

    def take(key, parse, target=None, mapping=node, path="prune"):
        nonlocal ok
        if key in mapping:
            value = _one(f, mapping[key], _key_line(mapping, key), f"{path}.{key}", parse)
            if value is _INVALID:
                ok = False
            else:
                values[target or key] = value

    take("enabled", lambda v: _typed(v, bool, "enabled must be true or false"))
    take("owner", _parse_owner)
    take("owner_tag", _parse_owner_tag)
    take("max_delete_percent", lambda v: _percent("max_delete_percent", v))
    take("max_update_percent", lambda v: _percent("max_update_percent", v))
    only = node.get("only")
    if only is not None:
        if not isinstance(only, dict):
            f.error(_key_line(node, "only"), "prune.only", f"only must be a mapping, got {_describe(only)}")
            ok = False
        else:
            ok &= _check_keys(f, only, ONLY_KEYS, "prune.only")
            for key, parse in (("capture_ids", _parse_capture_id), ("networks", _parse_network)):
                if key in only:
                    parsed = _each(f, only[key], _key_line(only, key), f"prune.only.{key}", parse, key)
                    if parsed is None:
                        ok = False
                    else:
                        values[key] = tuple(dict.fromkeys(parsed))
            take("alias_regex", _parse_regex, mapping=only, path="prune.only")
    return PruneConfig(**values) if ok else None


def _typed(value, kind, message):
    if not isinstance(value, kind):
        raise _Invalid(f"{message}, got {_describe(value)}")
    return value


def _parse_owner(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"owner must be a non-empty string, got {_describe(value)}")
    return value


def _parse_owner_tag(value) -> str:
    if value not in OWNER_TAGS:
        raise _Invalid(f"owner_tag must be one of {', '.join(OWNER_TAGS)}, got {_describe(value)}")
    return value


def _percent(key, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"{key} must be a number 0-100, got {_describe(value)}")
    if not 0 <= value <= 100:
        raise _Invalid(f"{key} {value} is out of range (0-100)")
    return float(value)


def _parse_regex(value) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"alias_regex must be a string, got {_describe(value)}")
    try:
        re.compile(value)
    except re.error as exc:
        raise _Invalid(f"alias_regex {_quote(value)} does not compile: {exc}") from None
    return value


def _parse_document(f: _File, doc):
    """Top level of a YAML/JSON file -> (entries, prune config or None, prune line)."""
    if doc is None:
        f.error(None, None, "file is empty; expected 'version: 1' and a list of aliases")
        return [], None, None
    if not isinstance(doc, dict):
        f.error(getattr(doc, "line", 1), None,
                f"the top level must be a mapping with version and aliases, got {_describe(doc)}")
        return [], None, None
    # Top-level "x-..." keys are ignored: a place for YAML anchors (as in docker compose).
    _check_keys(f, doc, TOP_KEYS, "", extensions=True)
    if "version" not in doc:
        f.error(doc.line, "version", f"missing version (add 'version: {VERSION}' at the top)")
    else:
        version = doc["version"]
        if isinstance(version, bool) or version != VERSION:
            shown = version if type(version) is int else _describe(version)
            f.error(_key_line(doc, "version"), "version",
                    f"unsupported version {shown}; this homer-sync reads version {VERSION}")
            return [], None, None
    defaults = _parse_defaults(f, doc.get("defaults"), _key_line(doc, "defaults"))
    prune = prune_line = None
    if doc.get("prune") is not None:
        prune_line = _key_line(doc, "prune")
        prune = _parse_prune(f, doc["prune"], prune_line)
    aliases = doc.get("aliases")
    line = _key_line(doc, "aliases")
    entries = []
    if "aliases" not in doc:
        f.error(line, "aliases", "missing aliases (the list of aliases to declare)")
    elif aliases is None or aliases == []:
        f.error(line, "aliases", "aliases is empty; declare at least one alias")
    elif not isinstance(aliases, list):
        f.error(line, "aliases", f"aliases must be a list, got {_describe(aliases)}")
    else:
        item_lines = getattr(aliases, "item_lines", [line] * len(aliases))
        for index, item in enumerate(aliases):
            entry = _parse_entry(f, item, item_lines[index], index, defaults)
            if entry is not None:
                entries.append(entry)
    return entries, prune, prune_line


def _parse_csv(f: _File, text: str) -> list:
    reader = csv.reader(io.StringIO(text))
    header = None
    entries = []
    start = 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if header is None:
            if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            header = _csv_header(f, row, line)
            if header is None:
                return []
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            f.error(line, None, f"row has {len(row)} cells but the header has {len(header)} columns")
            continue
        cells = dict(zip(header, row))
        entry = _csv_entry(f, cells, line)
        if entry is not None:
            entries.append(entry)
    if header is None:
        f.error(None, None, f"file is empty; expected the header {','.join(CSV_COLUMNS)}")
    elif not entries and not f.problems:
        f.error(None, None, "file declares no aliases")
    return entries


def _csv_header(f: _File, row, line):
    header = [cell.strip().lower() for cell in row]
    ok = True
    for i, name in enumerate(header):
        if name in CSV_COLUMNS and name not in header[:i]:
            continue
        ok = False
        if name in header[:i]:
            f.error(line, name, f"duplicate column {name!r}")
            continue
        hint = _suggest(name, CSV_COLUMNS)
        tail = f"did you mean {hint!r}?" if hint else f"expected columns: {','.join(CSV_COLUMNS)}"
        f.error(line, name or None, f"unknown column {row[i].strip()!r}; {tail}")
    for required in ("alias", "ip"):
        if required not in header:
            f.error(line, None, f"missing column {required!r}; expected the header {','.join(CSV_COLUMNS)}")
            ok = False
    return header if ok else None


def _csv_entry(f: _File, cells: dict, line: int) -> _Entry | None:
    def cell(key):
        return cells.get(key, "")

    ok = True

    def parse(key, fn, empty_value):
        nonlocal ok
        raw = cell(key) if key == "alias" else cell(key).strip()
        if key != "alias" and raw == "":
            return empty_value
        value = _one(f, raw, line, key, fn)
        ok &= value is not _INVALID
        return value

    name = parse("alias", _parse_name, None)
    capture_id = parse("capture_id", _parse_capture_id, "0")
    status = parse("status", _csv_bool, True)
    port = parse("port", lambda v: _parse_port(_csv_int(v, "port")), 0)
    mask = parse("mask", lambda v: _parse_mask(_csv_int(v, "mask")), None)
    ip = cell("ip").strip()
    if not ip:
        f.error(line, "ip", "ip must not be empty")
        return None
    entry = {"ip": ip} if mask in (None, _INVALID) else {"ip": ip, "mask": mask}
    prefixes = []
    ok &= _entry_prefixes(_CsvFile(f, line), entry, "", mask, prefixes)
    if not ok:
        return None
    return _Entry(f.source, line, f"row {line}", name, line, prefixes, [], (port,), capture_id, status)


class _CsvFile(_File):
    """Reports entry-level problems at the CSV line with plain column names."""

    def __init__(self, f: _File, line: int):
        super().__init__(f.source, f.problems)
        self.line = line

    def error(self, line, field_path, message):
        column = field_path.split(".")[-1].split("[")[0] if field_path else None
        super().error(self.line, column, message)


def _csv_int(value: str, what: str) -> int:
    if not _DIGITS.fullmatch(value):
        raise _Invalid(f"{what} must be an integer, got {_quote(value)}")
    return int(value)


def _csv_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _Invalid(f"status must be true or false, got {_quote(value)}")


# ---------------------------------------------------------------- load_inventory


def _read(path: str, stdin, stdin_cache: list, f: _File) -> str | None:
    if path == "-":
        if not stdin_cache:
            stream = sys.stdin if stdin is None else stdin
            stdin_cache.append(stream.read())
        return stdin_cache[0]
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        f.error(None, None, f"file is not valid UTF-8 (byte {exc.start})")
    except OSError as exc:
        f.error(None, None, f"cannot read file: {exc.strerror or exc}")
    return None


def _load_yaml(f: _File, text: str):
    try:
        return _load_yaml_with_lines(text), True
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(exc.problem or exc.context or "syntax error").split())
        if mark is None:
            f.error(None, None, f"invalid YAML: {reason}")
        else:
            f.error(mark.line + 1, None, f"invalid YAML: {reason} (column {mark.column + 1})")
    except yaml.YAMLError as exc:
        f.error(None, None, f"invalid YAML: {' '.join(str(exc).split())}")
    return None, False


def system_resolver(host: str) -> list[str]:
    """A and AAAA addresses of ``host`` (the default resolver)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(sockaddr[0].split("%")[0])
    return list(dict.fromkeys(addresses))


def _resolve_all(hosts: list[str], resolver: Resolver) -> dict:
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
        return dict(zip(hosts, pool.map(one, hosts)))


def _expand(entries, resolved, problems) -> dict:
    """Entries -> {identity: (Alias, entry)}; conflicts become problems."""
    seen: dict = {}
    conflicts: dict = {}
    for entry in entries:
        pairs = []  # (ip, mask, name)
        for ip, mask in entry.prefixes:
            pairs.append((ip, mask, entry.name))
        for host, line, field_path in entry.hosts:
            result = resolved.get(host)
            if result is None:
                continue
            if isinstance(result, str):
                problems.append(Problem(entry.source, line, field_path, f"cannot resolve host {host!r}: {result}"))
                continue
            if not result:
                problems.append(Problem(entry.source, line, field_path, f"host {host!r} has no A or AAAA records"))
                continue
            for address in result:
                try:
                    addr = ipaddress.ip_address(str(address).split("%")[0])
                except ValueError:
                    problems.append(Problem(entry.source, line, field_path,
                                            f"host {host!r} resolved to {address!r}, which is not an IP address"))
                    continue
                pairs.append((addr.compressed, addr.max_prefixlen, entry.name or host))
        for ip, mask, name in pairs:
            for port in entry.ports:
                alias = Alias(ip=ip, mask=mask, port=port, capture_id=entry.capture_id, name=name, status=entry.status)
                previous = seen.get(alias.identity)
                if previous is None:
                    seen[alias.identity] = (alias, entry)
                elif previous[0].attributes != alias.attributes:
                    conflicts.setdefault((id(previous[1]), id(entry)), (previous, (alias, entry), []))[2].append(alias)
    for (first, first_entry), (second, second_entry), clashes in conflicts.values():
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        problems.append(Problem(
            second_entry.source, second_entry.line, second_entry.path,
            f"{_describe_identity(second)}{more} is declared twice with different name/status: "
            f"{_describe_attributes(first)} at {first_entry.where} ({first_entry.path}) "
            f"and {_describe_attributes(second)} here",
        ))
    return seen


def _describe_identity(alias: Alias) -> str:
    return f"{alias.cidr} port {alias.port} capture {alias.capture_id!r}"


def _describe_attributes(alias: Alias) -> str:
    return f"{alias.name!r} ({'active' if alias.status else 'inactive'})"


def load_inventory(
    paths: Iterable[str] | str,
    *,
    stdin=None,
    resolve_hosts: bool = True,
    resolver: Resolver | None = None,
) -> Inventory:
    """Load, validate, merge and expand inventory files.

    ``"-"`` reads ``stdin`` (default ``sys.stdin``); ``*.csv`` files are CSV,
    everything else YAML (JSON included). Raises :class:`InventoryError`
    listing every problem found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    problems: list[Problem] = []
    if not paths:
        raise InventoryError([Problem("", None, None, "no inventory file given")])
    sources, entries, stdin_cache = [], [], []
    prune = prune_origin = None
    for path in paths:
        source = "<stdin>" if path == "-" else path
        sources.append(source)
        f = _File(source, problems)
        text = _read(path, stdin, stdin_cache, f)
        if text is None:
            continue
        if path.lower().endswith(".csv"):
            entries.extend(_parse_csv(_File(source, file_problems := []), text))
            problems.extend(file_problems)
            continue
        if path.lower().endswith(".json"):
            text = text.replace("\t", " ")  # JSON allows tabs between tokens; pure-Python YAML does not
        doc, ok = _load_yaml(f, text)
        if not ok:
            continue
        file_entries, file_prune, prune_line = _parse_document(f, doc)
        entries.extend(file_entries)
        if file_prune is not None:
            if prune is None:
                prune, prune_origin = file_prune, f"{source}:{prune_line}"
            elif file_prune != prune:
                f.error(prune_line, "prune", f"differs from the prune block at {prune_origin}; "
                        "declare prune in one file (or make the blocks identical)")

    hosts = list(dict.fromkeys(host for entry in entries for host, _, _ in entry.hosts))
    # Each distinct host is resolved once per call: that is the cache.
    resolved = _resolve_all(hosts, resolver or system_resolver) if resolve_hosts else {}
    seen = _expand(entries, resolved, problems)
    order = {source: i for i, source in enumerate(dict.fromkeys(sources))}

    def by_place(problem):
        return (order.get(problem.source, -1), problem.line or 0)

    if problems:
        raise InventoryError(sorted(problems, key=by_place))
    aliases = tuple(sorted((alias for alias, _ in seen.values()), key=sort_key))
    warnings = sorted(_name_warnings(entries, resolved) + _overlap_warnings(seen), key=by_place)
    return Inventory(
        aliases=aliases,
        prune=prune or PruneConfig(),
        warnings=tuple(warnings),
        sources=tuple(sources),
        unresolved_hosts=() if resolve_hosts else tuple(sorted(hosts)),
    )


# ------------------------------------------------------------------- warnings


def _name_warnings(entries, resolved) -> list[Problem]:
    warnings = []
    for entry in entries:
        if entry.name is not None:
            names = [(entry.name, entry.name_line, f"{entry.path}.alias")]
        else:
            names = [(host, line, field_path) for host, line, field_path in entry.hosts if resolved.get(host)]
        for name, line, field_path in names:
            if not _UI_NAME.fullmatch(name):
                if entry.path.startswith("row "):
                    field_path = "alias"
                warnings.append(Problem(
                    entry.source, line, field_path,
                    f"alias name {_quote(name)} would be refused by the HOMER 7 web UI "
                    "(3-24 characters of letters, digits, _ & @ -); the API accepts it",
                ))
    return warnings


def _overlap_warnings(seen: dict) -> list[Problem]:
    """Active prefixes hidden by a longer one for the same port and capture id.

    Per (port, capture_id, family), prefixes sorted by start address (longest
    first on ties) are either nested or disjoint, so one sweep with a stack of
    enclosing prefixes finds every direct parent in O(n log n).
    """
    groups: dict = {}
    for alias, entry in seen.values():
        if not alias.status:
            continue
        addr = _ip(alias.ip)
        start = addr.value
        end = start | ((1 << (addr.max_prefixlen - alias.mask)) - 1)
        groups.setdefault((alias.port, alias.capture_id, addr.version), []).append((start, alias.mask, end, alias))
    children: dict = {}
    for items in groups.values():
        if len(items) < 2:
            continue
        items.sort(key=lambda item: (item[0], item[1]))
        stack: list = []
        for start, _, end, alias in items:
            while stack and stack[-1][0] < start:
                stack.pop()
            if stack and stack[-1][1].name != alias.name:
                children.setdefault(stack[-1][1].identity, []).append(alias)
            stack.append((end, alias))
    warnings = []
    for identity, kids in children.items():
        parent, entry = seen[identity]
        where = f"{parent.cidr} {parent.name!r}"
        scope = f"for port {parent.port}, capture {parent.capture_id!r}"
        tail = f"; HOMER uses the longest prefix, so {parent.name!r} applies only to the rest of {parent.cidr}"
        if len(kids) == 1:
            kid, kid_entry = seen[kids[0].identity]
            message = (f"{where} overlaps {kid.cidr} {kid.name!r} ({kid_entry.where}) {scope}: "
                       f"addresses in {kid.cidr} get {kid.name!r}{tail}")
        else:
            shown = ", ".join(f"{kid.cidr} {kid.name!r}" for kid in kids[:3])
            more = f" and {len(kids) - 3} more" if len(kids) > 3 else ""
            message = (f"{where} overlaps {len(kids)} longer prefixes {scope}: {shown}{more}; "
                       f"addresses in those get their own names{tail}")
        warnings.append(Problem(entry.source, entry.line, entry.path, message))
    return warnings


# ---------------------------------------------------------------------- dump

_RESOLVER = yaml.resolver.Resolver()
_PLAIN = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.@&/+:-]*[A-Za-z0-9_./+-])?")
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _escape_unsafe(text: str) -> str:
    """Escape characters JSON leaves raw but YAML readers refuse or fold."""
    return _YAML_UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def _yaml_scalar(value, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if not flow and _PLAIN.fullmatch(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str":
        return text
    return _escape_unsafe(json.dumps(text, ensure_ascii=False))


def _yaml_lines(data: dict, indent: str, out: list) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{indent}{key}:")
            _yaml_lines(value, indent + "  ", out)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.append(f"{indent}{key}:")
            for item in value:
                item_lines: list = []
                _yaml_lines(item, indent + "    ", item_lines)
                item_lines[0] = f"{indent}  - {item_lines[0].lstrip()}"
                out.extend(item_lines)
        elif isinstance(value, list):
            out.append(f"{indent}{key}: [{', '.join(_yaml_scalar(v, flow=True) for v in value)}]")
        else:
            out.append(f"{indent}{key}: {_yaml_scalar(value)}")


def _ip_text(alias: Alias) -> str:
    return alias.ip if alias.mask == max_mask(alias.ip) else alias.cidr


def _prune_dict(prune: PruneConfig) -> dict:
    data: dict = {"enabled": prune.enabled}
    only: dict = {}
    if prune.capture_ids is not None:
        only["capture_ids"] = list(prune.capture_ids)
    if prune.networks is not None:
        only["networks"] = [str(net) for net in prune.networks]
    if prune.alias_regex is not None:
        only["alias_regex"] = prune.alias_regex
    if only:
        data["only"] = only
    if prune.owner is not None:
        data["owner"] = prune.owner
    if prune.owner is not None or prune.owner_tag != "tag4":
        data["owner_tag"] = prune.owner_tag
    for key in ("max_delete_percent", "max_update_percent"):
        value = getattr(prune, key)
        data[key] = int(value) if float(value).is_integer() else value
    return data


def dump_inventory(aliases, fmt: str = "yaml", *, prune: PruneConfig | None = None, header: str | None = None) -> str:
    """Write aliases as an inventory file (yaml, json or csv) that loads back identically.

    Aliases sharing an identity appear once (the first in model.sort_key
    order). ``header`` becomes ``#`` comment lines (yaml and csv; JSON has no
    comments). CSV has no prune block, so ``prune`` is ignored there.
    """
    if fmt not in ("yaml", "json", "csv"):
        raise ValueError(f"unknown inventory format {fmt!r}; use yaml, json or csv")
    unique: dict = {}
    for alias in sorted(aliases, key=sort_key):
        unique.setdefault(alias.identity, alias)
    items = list(unique.values())
    comments = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.writelines(line + "\n" for line in comments)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for a in items:
            writer.writerow([a.name, a.ip, a.port, a.mask, a.capture_id, "true" if a.status else "false"])
        return buffer.getvalue()
    records = [
        {"alias": a.name, "ip": _ip_text(a), "port": a.port, "capture_id": a.capture_id, "status": a.status}
        for a in items
    ]
    doc: dict = {"version": VERSION, "aliases": records}
    if prune is not None:
        doc["prune"] = _prune_dict(prune)
    if fmt == "json":
        return _escape_unsafe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"
    out = list(comments)
    if not records:
        out.append(f"version: {VERSION}")
        out.append("aliases: []")
        if prune is not None:
            _yaml_lines({"prune": doc["prune"]}, "", out)
    else:
        _yaml_lines(doc, "", out)
    return "\n".join(out) + "\n"
