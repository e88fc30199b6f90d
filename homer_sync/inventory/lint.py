"""Warnings about a valid inventory: names the HOMER 7 web UI refuses, names a longer prefix hides on some ports."""

from __future__ import annotations

import re

from .problems import Problem, join_path, quote
from .values import host_mask, parse_ip

_UI_NAME = re.compile(r"[A-Za-z0-9_&@-]{3,24}")


_UI_RULE = "(3-24 characters of letters, digits, _ & @ -)"
SHOWN_PER_SOURCE = 3


def name_warnings(entries, resolved) -> list[Problem]:
    """One warning per refused name written by hand; one per source for the names a source declares
    (a NetBox of dotted host names would otherwise bury everything else)."""
    warnings = []
    by_source: dict = {}
    for entry in entries:
        if entry.exact:  # HOMER's own names, restored as they are: not the operator's to fix
            continue
        if entry.name is not None:
            if _UI_NAME.fullmatch(entry.name):
                continue  # the usual case, decided before a path is made for a warning
            names = [(entry.name, entry.name_line, join_path(entry.path, "alias"))]
        else:
            names = [(host, line, field_path) for host, line, field_path in entry.hosts if resolved.get(host)]
        for name, line, field_path in names:
            if _UI_NAME.fullmatch(name):
                continue
            if entry.from_source is not None:
                by_source.setdefault(entry.from_source, {}).setdefault(name, entry.source)
                continue
            if entry.path.startswith("row "):
                field_path = "alias"
            warnings.append(Problem(
                entry.source, line, field_path,
                f"alias name {quote(name)} would be refused by the HOMER 7 web UI {_UI_RULE}; the API accepts it",
            ))
    for (file, line, label), refused in by_source.items():
        shown = ", ".join(f"{quote(name)} ({origin})" for name, origin in list(refused.items())[:SHOWN_PER_SOURCE])
        more = f" and {len(refused) - SHOWN_PER_SOURCE} more" if len(refused) > SHOWN_PER_SOURCE else ""
        count = f"{len(refused)} alias names" if len(refused) > 1 else "alias name"
        warnings.append(Problem(
            file, line, label,
            f"{count} would be refused by the HOMER 7 web UI {_UI_RULE}; the API accepts "
            f"{'them' if len(refused) > 1 else 'it'}: {shown}{more}",
        ))
    return warnings


SHOWN_HIDERS = 3


def overlap_warnings(seen: dict) -> list[Problem]:
    """Entries that make HOMER stop showing another entry's name for some ports of their addresses.

    HOMER takes the active aliases of the longest prefix containing an address, then the alias for
    the exact port, then port 0 on that prefix only; it never falls back to a shorter prefix. So a
    prefix nested in another changes nothing it does not mean as long as it names every port the
    enclosing prefix names there (or has a port-0 alias): a host override of a subnet on the same
    port is what it looks like. A port-5060 /32 inside a port-0 /16 is not: the /16's name is gone
    for that host's other ports, which show the bare address. The capture id does not matter: HOMER
    ignores it by default, and falls back to any capture id when it does not.

    Prefixes are compared with the nearest enclosing prefix (what HOMER showed before the inner one):
    per family, prefixes sorted by start address (shorter first on ties) are either nested or
    disjoint, so one sweep with a stack finds each one's parent in O(n log n). Inner prefixes that
    hide the same names for the same ports are reported together, at the first of them. Overlaps
    among entries of exact inventories (exports, backups: HOMER's own state) are not warned about.
    """
    # Host routes of one family never nest: a family without a shorter prefix (most inventories)
    # is skipped without parsing its addresses.
    nesting = {":" in alias.ip for alias, _ in seen.values()
               if alias.status and alias.mask < (128 if ":" in alias.ip else 32)}
    prefixes: dict = {}  # (version, start, mask) -> {port: [(alias, entry), ...]}
    for alias, entry in seen.values():
        if not alias.status or (":" in alias.ip) not in nesting:
            continue
        addr = parse_ip(alias.ip)
        if not 0 <= alias.mask <= addr.max_prefixlen:  # stored by HOMER (exact inventories); matches nothing
            continue
        start = (addr.value | host_mask(addr, alias.mask)) ^ host_mask(addr, alias.mask)
        prefixes.setdefault((addr.version, start, alias.mask), {}).setdefault(alias.port, []).append((alias, entry))
    hiders: dict = {}  # (parent prefix, what is hidden) -> [inner prefix, ...]
    stack: list = []  # (version, end, prefix key) of the enclosing prefixes
    for key in sorted(prefixes):
        version, start, mask = key
        end = start | ((1 << ((32 if version == 4 else 128) - mask)) - 1)
        while stack and (stack[-1][0] != version or stack[-1][1] < start):
            stack.pop()
        if stack and not (_all_exact(prefixes[stack[-1][2]]) and _all_exact(prefixes[key])):
            hidden = _hidden(prefixes[stack[-1][2]], prefixes[key])
            if hidden:
                hiders.setdefault((stack[-1][2], hidden), []).append(key)
        stack.append((version, end, key))
    warnings = []
    for (parent_key, hidden), inner in hiders.items():
        _, entry = _first(prefixes[inner[0]])
        warnings.append(Problem(entry.source, entry.line, entry.path,
                                _hiding_message([prefixes[k] for k in inner], prefixes[parent_key], hidden)))
    return warnings


def _hidden(parent: dict, inner: dict) -> tuple:
    """((parent port, ...), (inner port, ...)): the ports of the parent prefix's aliases whose names HOMER
    no longer shows on some ports of the inner prefix's addresses, which names neither those ports nor
    port 0; () when nothing is hidden."""
    if 0 in inner:
        return ()
    hidden = tuple(port for port in sorted(parent) if port == 0 or port not in inner)
    return (hidden, tuple(sorted(inner))) if hidden else ()


def _all_exact(by_port: dict) -> bool:
    """Only entries of exact inventories: HOMER's own state (an export, a backup), not the operator's to fix."""
    return all(entry.exact for pairs in by_port.values() for _, entry in pairs)


def _first(by_port: dict):
    """The (alias, entry) reported for a prefix: the first by place in the inventory."""
    return min((pair for pairs in by_port.values() for pair in pairs),
               key=lambda pair: (pair[1].source, pair[1].line or 0, pair[0].port))


def _names(pairs) -> str:
    return " or ".join(quote(name) for name in sorted({alias.name for alias, _ in pairs}))


def _ports(ports) -> str:
    return f"port {ports[0]}" if len(ports) == 1 else "ports " + ", ".join(str(p) for p in ports)


def _hiding_message(inner: list, parent: dict, hidden: tuple) -> str:
    parent_ports, named = hidden
    shown = [f"{_first(by_port)[0].cidr} {_names([pair for pairs in by_port.values() for pair in pairs])}"
             for by_port in inner[:SHOWN_HIDERS]]
    more = f" and {len(inner) - SHOWN_HIDERS} more" if len(inner) > SHOWN_HIDERS else ""
    verb, fix = ("hides", _first(inner[0])[0].cidr) if len(inner) == 1 else ("hide", "them")
    lost = []
    for port in parent_ports:
        parent_alias, parent_entry = parent[port][0]
        if port == 0:
            others = sorted(set(named) | {p for p in parent if p != 0})
            on = f"on every port but {', '.join(str(p) for p in others)}"
        else:
            on = f"on port {port}"
        lost.append(f"{_names(parent[port])} ({parent_alias.cidr} port {port}, {parent_entry.where}) {on}")
    specific = [p for p in parent_ports if p != 0]
    alternatives = f"port 0 (or {_ports(specific)})" if specific else "port 0"
    return (f"{', '.join(shown)}{more} ({_ports(named)} only) {verb} {' and '.join(lost)} there: those packets "
            "show the bare address (HOMER takes the longest prefix, then the exact port, then port 0 on that "
            f"prefix only); give {fix} {alternatives} too if that is not meant")
