"""Keys of a parsed mapping: where each one is, unknown and duplicate ones, reading one field.

Unknown keys get a suggestion ("did you mean 'capture_id'?") from a list of
names people reach for, then from difflib.
"""

from __future__ import annotations

from .problems import INVALID, FileProblems, each, join_path, one

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


def key_line(mapping, key):
    """The line of ``key`` in a mapping loaded with lines (the mapping's own line otherwise)."""
    return getattr(mapping, "key_lines", {}).get(key, getattr(mapping, "line", None))


def suggest(key, allowed) -> str | None:
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


def check_keys(f: FileProblems, mapping: dict, allowed, path: str, forbidden: dict | None = None, hints=None,
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
        line = key_line(mapping, key)
        if forbidden and key in forbidden:
            f.error(line, f"{prefix}{key}", forbidden[key])
            continue
        hint = suggest(key, allowed)
        if hint:
            f.error(line, f"{prefix}{key}", f"unknown key {key!r}; did you mean {hint!r}?")
            if hints is not None:
                hints.add(hint)
        else:
            f.error(line, f"{prefix}{key}", f"unknown key {key!r}; allowed keys: {', '.join(allowed)}")
    return ok


def field(f: FileProblems, mapping, key, path: str, parse, default=None, many: str | None = None):
    """``mapping[key]`` parsed: ``default`` when the key is absent, INVALID (reported) when wrong.

    With ``many`` (what the items are called) the value may be one item or a
    list, and the result is a tuple without repeats.
    """
    if key not in mapping:
        return default
    line, where = key_line(mapping, key), join_path(path, key)
    if many is None:
        return one(f, mapping[key], line, where, parse)
    value = mapping[key]
    shared = (id(value), parse) if isinstance(value, list) else None
    if shared in f.parsed_lists:
        return f.parsed_lists[shared]
    items = each(f, value, line, where, parse, many)
    if items is None:
        return INVALID
    result = tuple(dict.fromkeys(items))
    if shared is not None:
        f.parsed_lists[shared] = result
    return result
