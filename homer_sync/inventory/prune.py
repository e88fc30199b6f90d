"""The inventory's ``prune`` block: :class:`PruneConfig` and its validation."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..model import Alias, inside_networks, normalize_capture_id
from .keys import check_keys, field, key_line
from .problems import INVALID, FileProblems, Invalid, boolean, describe, quote, wrong_type
from .values import parse_capture_id, parse_network

OWNER_TAGS = ("tag1", "tag2", "tag3", "tag4")
PRUNE_KEYS = ("enabled", "only", "owner", "owner_tag", "max_delete_percent", "max_update_percent")
ONLY_KEYS = ("capture_ids", "networks", "alias_regex")


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
    # The scopes the inventory's sources declare they own (``owns:``); None when no source
    # declares one. A prune then deletes only inside one of them (and inside prune.only).
    owned: tuple[PruneConfig, ...] | None = None

    def __post_init__(self):
        # Accept plain strings from callers (CLI options); store canonical values.
        if self.capture_ids is not None:
            object.__setattr__(self, "capture_ids", tuple(normalize_capture_id(c) for c in self.capture_ids))
        if self.networks is not None:
            object.__setattr__(self, "networks", tuple(ipaddress.ip_network(n) for n in self.networks))

    def in_scope(self, alias: Alias) -> bool:
        """True when every filter given matches ``alias`` (None = no restriction)."""
        return self.in_only(alias) and self.in_owned(alias)

    def in_only(self, alias: Alias) -> bool:
        """Inside ``prune.only`` (every filter given matches)."""
        if self.capture_ids is not None and alias.capture_id not in self.capture_ids:
            return False
        if self.networks is not None and not inside_networks(alias, self.networks):
            return False
        return self.alias_regex is None or re.search(self.alias_regex, alias.name) is not None

    def in_owned(self, alias: Alias) -> bool:
        """Inside one of the scopes the sources declare they own (True when none declares one)."""
        return self.owned is None or any(scope.in_scope(alias) for scope in self.owned)


def parse_prune(f: FileProblems, node, line) -> PruneConfig | None:
    """A ``prune`` mapping -> PruneConfig, or None after reporting what is wrong."""
    if not isinstance(node, dict):
        f.error(line, "prune", f"prune must be a mapping, got {describe(node)}")
        return None
    ok = check_keys(f, node, PRUNE_KEYS, "prune")
    values = {
        "enabled": field(f, node, "enabled", "prune", boolean("enabled")),
        "owner": field(f, node, "owner", "prune", _parse_owner),
        "owner_tag": field(f, node, "owner_tag", "prune", _parse_owner_tag),
        "max_delete_percent": field(f, node, "max_delete_percent", "prune", _percent("max_delete_percent")),
        "max_update_percent": field(f, node, "max_update_percent", "prune", _percent("max_update_percent")),
    }
    only = node.get("only")
    if only is not None:
        scope = parse_scope(f, only, key_line(node, "only"), "prune.only")
        if scope is None:
            ok = False
        else:
            values.update(scope)
    if not ok or any(value is INVALID for value in values.values()):
        return None
    return PruneConfig(**{key: value for key, value in values.items() if value is not None})


def parse_scope(f: FileProblems, node, line, path: str) -> dict | None:
    """A ``prune.only``-style mapping (capture_ids, networks, alias_regex) -> its values, or None when wrong."""
    name = path.rpartition(".")[2]
    if not isinstance(node, dict):
        f.error(line, path, f"{name} must be a mapping, got {describe(node)}")
        return None
    ok = check_keys(f, node, ONLY_KEYS, path)
    values = {key: field(f, node, key, path, parse, many=key)
              for key, parse in (("capture_ids", parse_capture_id), ("networks", parse_network))}
    values["alias_regex"] = field(f, node, "alias_regex", path, _parse_regex)
    if not ok or INVALID in values.values():
        return None
    return {key: value for key, value in values.items() if value is not None}


def _parse_owner(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise wrong_type(value, "owner must be a non-empty string")
    return value


def _parse_owner_tag(value) -> str:
    if value not in OWNER_TAGS:
        raise wrong_type(value, f"owner_tag must be one of {', '.join(OWNER_TAGS)}")
    return value


def _percent(key):
    def parse(value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong_type(value, f"{key} must be a number 0-100")
        if not 0 <= value <= 100:
            raise Invalid(f"{key} {value} is out of range (0-100)")
        return float(value)

    return parse


def _parse_regex(value) -> str:
    if not isinstance(value, str):
        raise wrong_type(value, "alias_regex must be a string")
    try:
        re.compile(value)
    except re.error as exc:
        raise Invalid(f"alias_regex {quote(value)} does not compile: {exc}") from None
    return value
