"""The ``kamailio`` source: a SIP proxy's own lists of peers.

Dispatcher destinations (``sip:host:port;transport=...``) become one alias per
address x URI port, named after an attribute (``duid``, then ``desc`` by
default; ``name_attrs`` changes the order) or the URI's host; host names
resolve like the ``dns`` source's (``nameserver`` or the inventory's
resolver). Permissions addresses (``grp ip mask port tag``) become one alias
each, named after the tag (``kamailio-grp<N>`` without one).

The lists come from files (``dispatcher_list``, ``address_list``) or live from
a running Kamailio's JSON-RPC (``rpc_url``; ``read`` chooses the lists).
``sets`` and ``groups`` choose which; naming one that is absent is an error.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..base import SourceContext, SourceEntry, SourceError
from ..dns import address_resolver, dns_resolver, lookup
from ..options import Problems, check_resolver_options, integer_list, text_list, unknown_keys
from .lists import Address, Destination, parse_uri, read_address_list, read_dispatcher_list
from .rpc import KamailioRpc

KEYS = ("dispatcher_list", "address_list", "rpc_url", "read", "sets", "groups", "name_attrs",
        "nameserver", "port", "timeout", "capture_id", "status")
LISTS = ("dispatcher", "address")
DEFAULT_NAME_ATTRS = ("duid", "desc")
DEFAULT_TIMEOUT = 10.0


def check(spec: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    unknown_keys(spec, KEYS, problems)
    files = [key for key in ("dispatcher_list", "address_list") if key in spec]
    for key in files:
        if not isinstance(spec[key], str) or not spec[key].strip():
            problems.append((key, f"{key} must be a file path, got {spec[key]!r}"))
    live = "rpc_url" in spec
    if live:
        url = spec["rpc_url"]
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            problems.append(("rpc_url", "rpc_url must be an http:// or https:// URL (jsonrpcs over xhttp)"))
        if files:
            problems.append(("rpc_url", f"give either rpc_url or {' and '.join(files)}, not both"))
    elif not files:
        problems.append(("dispatcher_list", "give dispatcher_list and/or address_list, or rpc_url"))
    read = text_list(spec, "read", problems)
    if read is not None:
        if not live:
            problems.append(("read", "read is only used with rpc_url (with files, name the files you want)"))
        for item in read:
            if item not in LISTS:
                problems.append(("read", f"read takes {' and/or '.join(LISTS)}, got {item!r}"))
    chosen = _chosen_lists(spec)
    integer_list(spec, "sets", 0, 2**31 - 1, problems, what="a set id")
    integer_list(spec, "groups", 0, 2**31 - 1, problems, what="a group id")
    if "sets" in spec and "dispatcher" not in chosen:
        problems.append(("sets", "sets chooses dispatcher sets; this source reads no dispatcher list"))
    if "groups" in spec and "address" not in chosen:
        problems.append(("groups", "groups chooses permissions groups; this source reads no address list"))
    text_list(spec, "name_attrs", problems)
    check_resolver_options(spec, problems)
    return problems


def collect(spec: Mapping[str, Any], context: SourceContext) -> list[SourceEntry]:
    timeout = float(spec.get("timeout", min(DEFAULT_TIMEOUT, context.timeout)))
    chosen = _chosen_lists(spec)
    rpc = KamailioRpc(spec["rpc_url"], timeout, context.on_request) if "rpc_url" in spec else None
    extra = {key: spec[key] for key in ("capture_id", "status") if key in spec}
    entries: list[SourceEntry] = []
    if "dispatcher" in chosen:
        if rpc:
            destinations, where = rpc.destinations(), "kamailio rpc dispatcher.list"
        else:
            destinations = read_dispatcher_list(*_read(spec["dispatcher_list"], context))
            where = f"kamailio {spec['dispatcher_list']}"
        destinations = _choose(destinations, "set", spec.get("sets"), where, lambda d: d.set_id)
        resolve = address_resolver(spec, context, dns_resolver(spec, context))
        names = [str(n).lower() for n in _as_list(spec.get("name_attrs"))] or list(DEFAULT_NAME_ATTRS)
        entries += _destination_entries(destinations, resolve, names, extra)
    if "address" in chosen:
        if rpc:
            addresses, where = rpc.addresses(), "kamailio rpc permissions"
        else:
            addresses = read_address_list(*_read(spec["address_list"], context))
            where = f"kamailio {spec['address_list']}"
        addresses = _choose(addresses, "group", spec.get("groups"), where, lambda a: a.group)
        entries += [SourceEntry(a.origin, {**_address_fields(a), **extra}) for a in addresses]
    return entries


def _destination_entries(destinations: list[Destination], resolve: Callable[[str], list[str]],
                         name_attrs: list[str], extra: dict) -> list[SourceEntry]:
    entries: list[SourceEntry] = []
    cache: dict[str, list[str]] = {}
    for destination in destinations:
        try:
            host, port = parse_uri(destination.uri)
        except ValueError as exc:
            raise SourceError(destination.origin, str(exc)) from None
        name = next((destination.attrs[a] for a in name_attrs if destination.attrs.get(a)), host)
        if _is_ip(host):
            addresses = [host]
        else:
            if host not in cache:
                cache[host] = lookup(destination.origin, partial(resolve, host))
            addresses = cache[host]
            if not addresses:
                raise SourceError(destination.origin, f"{host} has no A or AAAA records")
        ip = addresses[0] if len(addresses) == 1 else list(addresses)
        entries.append(SourceEntry(destination.origin, {"alias": name, "ip": ip, "port": port, **extra}))
    return entries


def _address_fields(address: Address) -> dict[str, Any]:
    full = 32 if ":" not in address.ip else 128
    ip = address.ip if address.mask == full else f"{address.ip}/{address.mask}"
    return {"alias": address.tag or f"kamailio-grp{address.group}", "ip": ip, "port": address.port}


def _choose(records: list, what: str, wanted, where: str, key: Callable) -> list:
    """Records of the wanted sets/groups (all when none are named); a named one that is absent is an error."""
    if wanted is None:
        return records
    wanted = _as_list(wanted)
    present = {key(r) for r in records}
    missing = [w for w in wanted if w not in present]
    if missing:
        found = ", ".join(str(p) for p in sorted(present)) or "none"
        raise SourceError(where, f"{what} {', '.join(map(str, missing))} not found ({what}s present: {found})")
    return [r for r in records if key(r) in wanted]


def _read(path: str, context: SourceContext) -> tuple[str, str]:
    full = os.path.join(context.base_dir, os.path.expanduser(path))
    try:
        with open(full, encoding="utf-8") as handle:
            return handle.read(), path
    except UnicodeDecodeError as exc:
        raise SourceError(f"kamailio {path}", f"file is not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise SourceError(f"kamailio {path}", f"cannot read file: {exc.strerror or exc}") from None


def _chosen_lists(spec: Mapping[str, Any]) -> tuple[str, ...]:
    if "rpc_url" in spec:
        read = spec.get("read", LISTS)
        return tuple(_as_list(read))
    return tuple(name for name in LISTS if f"{name}_list" in spec)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
