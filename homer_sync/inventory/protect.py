"""The inventory's ``protect`` block: aliases homer-sync never updates or deletes, whatever prune says.

An alias is protected when ANY of the given filters matches: its prefix lies inside one of
``networks`` (as for prune.only), its name matches ``alias_regex`` (re.search), or its guid is
one of ``guids``. Several files' blocks are merged as a union: what any file protects stays
protected (``alias_regex`` of each file is one more alternative).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..model import Alias, inside_networks
from .keys import check_keys, field
from .problems import INVALID, FileProblems, Invalid, describe, wrong_type
from .prune import _parse_regex
from .values import parse_network

PROTECT_KEYS = ("networks", "alias_regex", "guids")


@dataclass(frozen=True)
class ProtectConfig:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    alias_regexes: tuple[str, ...] = ()
    guids: frozenset[str] = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "networks", tuple(ipaddress.ip_network(n) for n in self.networks))
        object.__setattr__(self, "alias_regexes", tuple(self.alias_regexes))
        object.__setattr__(self, "guids", frozenset(self.guids))

    def __bool__(self) -> bool:
        return bool(self.networks or self.alias_regexes or self.guids)

    def protects(self, alias: Alias) -> bool:
        if alias.guid is not None and alias.guid in self.guids:
            return True
        if self.networks and inside_networks(alias, self.networks):
            return True
        return any(re.search(pattern, alias.name) for pattern in self.alias_regexes)

    def union(self, other: ProtectConfig) -> ProtectConfig:
        return ProtectConfig(
            networks=tuple(dict.fromkeys(self.networks + other.networks)),
            alias_regexes=tuple(dict.fromkeys(self.alias_regexes + other.alias_regexes)),
            guids=self.guids | other.guids,
        )


def parse_protect(f: FileProblems, node, line) -> ProtectConfig | None:
    """A ``protect`` mapping -> ProtectConfig, or None after reporting what is wrong."""
    if not isinstance(node, dict):
        f.error(line, "protect", f"protect must be a mapping, got {describe(node)}")
        return None
    ok = check_keys(f, node, PROTECT_KEYS, "protect")
    networks = field(f, node, "networks", "protect", parse_network, many="networks")
    regex = field(f, node, "alias_regex", "protect", _parse_regex)
    guids = field(f, node, "guids", "protect", _parse_guid, many="guids")
    if not ok or INVALID in (networks, regex, guids):
        return None
    return ProtectConfig(networks=networks or (), alias_regexes=(regex,) if regex is not None else (),
                         guids=frozenset(guids or ()))


def _parse_guid(value) -> str:
    if not isinstance(value, str):
        raise wrong_type(value, "a guid must be a string")
    if not value.strip():
        raise Invalid("a guid must not be empty")
    return value.strip()
