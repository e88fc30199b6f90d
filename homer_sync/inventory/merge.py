"""Entries -> one alias per identity: ip x port expansion, resolved hosts, duplicate merging.

The same identity declared twice with the same name and status is merged
silently; with a different name or status it is a conflict (a problem).

The number of aliases is counted (ips x ports per entry) before any is made:
past ``max_aliases`` (DEFAULT_MAX_ALIASES unless raised with --max-aliases) the
inventory is refused at the entry that crosses the limit, so that a list of
65,536 ports anchored into many entries cannot eat the machine's memory.
"""

from __future__ import annotations

import ipaddress

from ..model import Alias, address, ip_text
from .entries import Entry
from .problems import Problem

DEFAULT_MAX_ALIASES = 200_000


def expand(entries: list[Entry], resolved: dict, problems: list, max_aliases: int = DEFAULT_MAX_ALIASES) -> dict:
    """Entries -> {identity: (Alias, entry)}; conflicts, failed hosts and too many aliases become problems."""
    if _over_limit(entries, resolved, problems, max_aliases):
        return {}
    seen: dict = {}
    conflicts: dict = {}
    for entry in entries:
        declared = entry.name
        if entry.prefixes and declared is None:  # parse_entry refuses an ip entry without an alias
            raise ValueError(f"{entry.where}: an entry with ip but no alias reached expansion")
        pairs: list[tuple[str, int, str]] = (  # (ip, mask, name)
            [(ip, mask, declared) for ip, mask in entry.prefixes] if declared is not None else [])
        if entry.hosts:
            pairs.extend(_host_addresses(entry, resolved, problems))
        capture_id, status, extra = entry.capture_id, entry.status, entry.extra
        for ip, mask, name in pairs:
            for port in entry.ports:
                alias = Alias(ip, mask, port, capture_id, name, status, None, extra)
                identity = (ip, mask, port, capture_id)  # == alias.identity
                previous = seen.get(identity)
                if previous is None:
                    seen[identity] = (alias, entry)
                elif previous[0].name != name or previous[0].status != status:
                    conflicts.setdefault((id(previous[1]), id(entry)), (previous, (alias, entry), []))[2].append(alias)
    for (first, first_entry), (second, second_entry), clashes in conflicts.values():
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        problems.append(Problem(
            second_entry.source, second_entry.line, second_entry.path or None,
            f"{address(second)}{more} is declared twice with different name/status: "
            f"{_describe_attributes(first)} at {first_entry.where}{_in_parentheses(first_entry.path)} "
            f"and {_describe_attributes(second)} here",
        ))
    return seen


def _over_limit(entries: list[Entry], resolved: dict, problems: list, max_aliases: int) -> bool:
    """Report the entry whose expansion crosses ``max_aliases``; True when one does."""
    total = 0
    crossing = None
    for entry in entries:
        addresses = len(entry.prefixes)
        if entry.hosts:
            addresses += sum(len(found) for host, _, _ in entry.hosts
                             if (found := resolved.get(host)) and not isinstance(found, str))
        count = addresses * len(entry.ports)
        total += count
        if crossing is None and total > max_aliases:
            crossing = (entry, addresses, count, total)
    if crossing is None:
        return False
    entry, addresses, count, running = crossing
    problems.append(Problem(
        entry.source, entry.line, entry.path,
        f"expands to {count:,} aliases ({addresses:,} address{'es' if addresses != 1 else ''} x "
        f"{len(entry.ports):,} port{'s' if len(entry.ports) != 1 else ''}), bringing the inventory to "
        f"{running:,}, over the limit of {max_aliases:,} aliases (the whole inventory expands to {total:,}); "
        "nothing was expanded. Use --max-aliases to raise the limit if that many is meant",
    ))
    return True


def _host_addresses(entry: Entry, resolved: dict, problems: list) -> list:
    """(ip, mask, name) of each address the entry's hosts resolved to; failed hosts become problems."""
    pairs = []
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
        for answer in result:
            try:
                addr = ipaddress.ip_address(str(answer).split("%")[0])
            except ValueError:
                problems.append(Problem(entry.source, line, field_path,
                                        f"host {host!r} resolved to {answer!r}, which is not an IP address"))
                continue
            pairs.append((ip_text(addr), addr.max_prefixlen, entry.name or host))
    return pairs


def _in_parentheses(path: str) -> str:
    return f" ({path})" if path else ""


def _describe_attributes(alias: Alias) -> str:
    return f"{alias.name!r} ({'active' if alias.status else 'inactive'})"
