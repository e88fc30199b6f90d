"""Checks shared by the source modules' ``check(spec)``: keys, lists of names, numbers, templates.

Each helper appends ``(field, message)`` problems to a list and returns the
parsed value (or None when it was wrong), so that a source reports every
problem of its block at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import string
from collections.abc import Mapping
from typing import Any

Problems = list[tuple[str, str]]


def unknown_keys(spec: Mapping[str, Any], allowed: tuple[str, ...], problems: Problems) -> None:
    for key in spec:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        problems.append((str(key), f"unknown key {key!r}; {hint}"))


def text_list(spec: Mapping[str, Any], key: str, problems: Problems) -> list[str] | None:
    """A string or a list of non-empty strings; None when absent or wrong."""
    if key not in spec:
        return None
    value = spec[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        problems.append((key, f"{key} must be a name or a non-empty list of names, got {_describe(value)}"))
        return None
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            problems.append((f"{key}[{index}]", f"must be a non-empty string, got {_describe(item)}"))
            return None
    return [item.strip() for item in items]


def integer(spec: Mapping[str, Any], key: str, low: int, high: int, problems: Problems, *,
            what: str = "a number") -> int | None:
    if key not in spec:
        return None
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append((key, f"{key} must be {what} from {low} to {high}, got {_describe(value)}"))
        return None
    return value


def integer_list(spec: Mapping[str, Any], key: str, low: int, high: int, problems: Problems, *,
                 what: str = "a number") -> list[int] | None:
    """One integer or a list of them, each in [low, high]; None when absent or wrong."""
    if key not in spec:
        return None
    value = spec[key]
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(i, bool) or not isinstance(i, int) or not low <= i <= high for i in items):
        problems.append((key, f"{key} must be {what} ({low}-{high}) or a list of them, got {_describe(value)}"))
        return None
    return list(dict.fromkeys(items))


def seconds(spec: Mapping[str, Any], key: str, problems: Problems) -> float | None:
    if key not in spec:
        return None
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
        problems.append((key, f"{key} must be a number of seconds (0-3600), got {_describe(value)}"))
        return None
    return float(value)


def ip_list(spec: Mapping[str, Any], key: str, problems: Problems) -> list[str] | None:
    """One IP address or a list (nameservers): DNS servers are addressed by IP, not by name."""
    names = text_list(spec, key, problems)
    if names is None:
        return None
    for index, name in enumerate(names):
        try:
            ipaddress.ip_address(name)
        except ValueError:
            where = key if isinstance(spec[key], str) else f"{key}[{index}]"
            problems.append((where, f"{name!r} is not an IP address (a nameserver is given by its address)"))
            return None
    return names


def template(spec: Mapping[str, Any], key: str, fields: tuple[str, ...], problems: Problems) -> str | None:
    """A str.format template using only ``fields``; None when absent or wrong."""
    if key not in spec:
        return None
    value = spec[key]
    if not isinstance(value, str) or not value.strip():
        problems.append((key, f"{key} must be a non-empty template string, got {_describe(value)}"))
        return None
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        problems.append((key, f"{key} is not a valid template: {exc}"))
        return None
    unknown = sorted(used - set(fields))
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in fields)
        problems.append((key, f"{key} uses {', '.join('{' + n + '}' for n in unknown)}; available: {allowed}"))
        return None
    return value


def check_resolver_options(spec: Mapping[str, Any], problems: Problems) -> None:
    """``nameserver``, ``port`` and ``timeout``: shared by every block that resolves names."""
    ip_list(spec, "nameserver", problems)
    integer(spec, "port", 1, 65535, problems, what="a port")
    if "port" in spec and "nameserver" not in spec:
        problems.append(("port", "port is the nameserver's port; give nameserver too"))
    seconds(spec, "timeout", problems)


def _describe(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__}"
    return repr(value)
