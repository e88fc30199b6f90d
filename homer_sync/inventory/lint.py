"""Warnings about a valid inventory: names the HOMER 7 web UI refuses, prefixes hidden by longer ones."""

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


def overlap_warnings(seen: dict) -> list[Problem]:
    """Active prefixes hidden by a longer one for the same port and capture id.

    Per (port, capture_id, family), prefixes sorted by start address (longest
    first on ties) are either nested or disjoint, so one sweep with a stack of
    enclosing prefixes finds every direct parent in O(n log n).
    """
    groups: dict = {}
    for alias, _entry in seen.values():
        if not alias.status:
            continue
        addr = parse_ip(alias.ip)
        if not 0 <= alias.mask <= addr.max_prefixlen:  # stored by HOMER (exact inventories); matches nothing
            continue
        end = addr.value | host_mask(addr, alias.mask)
        start = end ^ host_mask(addr, alias.mask)  # the prefix's first address, also when host bits are set
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
