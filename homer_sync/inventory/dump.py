"""Write aliases (and a prune block) as an inventory file in YAML, JSON or CSV.

Every format is written as an *exact* inventory (``exact: true``, in CSV the
comment line ``# exact: true``; see exact.py):
they load back with load_inventory to the same fields, byte for byte, whatever
HOMER holds (host bits, any mask or port, untrimmed or empty capture ids, names
with control characters, v4 tags).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sys

from ..errors import HomerSyncError
from ..model import TAG_FIELDS, Alias, describe, max_mask, sort_key
from .csvsource import CSV_COLUMNS, EXACT_MARK
from .document import VERSION
from .exact import EXACT_KEY
from .origin import BACKUP_KEY
from .prune import PruneConfig

CSV_CARRIES_NUL = sys.version_info >= (3, 11)  # Python 3.10's csv module can neither write nor read NUL

_PLAIN = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.@&/+:-]*[A-Za-z0-9_./+-])?")
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _escape_unsafe(text: str) -> str:
    """Escape characters JSON leaves raw but YAML readers refuse or fold."""
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
    if not flow and _PLAIN.fullmatch(text) and _plain_tag()(text) == "tag:yaml.org,2002:str":
        return text
    return _escape_unsafe(json.dumps(text, ensure_ascii=False))


@functools.cache
def _plain_tag():
    """text -> the tag YAML gives it unquoted; PyYAML is loaded on the first YAML dump only."""
    import yaml

    resolver = yaml.resolver.Resolver()
    return lambda text: resolver.resolve(yaml.ScalarNode, text, (True, False))


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


def _record(alias: Alias) -> dict:
    """The fields of one alias as an exact entry: a mask a CIDR cannot carry gets its own key."""
    record: dict = {"alias": alias.name}
    if alias.mask == max_mask(alias.ip):
        record["ip"] = alias.ip
    elif 0 <= alias.mask <= max_mask(alias.ip):
        record["ip"] = alias.cidr
    else:
        record["ip"], record["mask"] = alias.ip, alias.mask
    record.update(port=alias.port, capture_id=alias.capture_id, status=alias.status)
    tags = {key: value for key, value in alias.extra if key in TAG_FIELDS and value}
    if tags:
        record["tags"] = tags
    return record


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


def dump_inventory(aliases, fmt: str = "yaml", *, prune: PruneConfig | None = None, header: str | None = None,
                   backup: dict | None = None) -> str:
    """Write aliases as an inventory file (yaml, json or csv) that loads back identically.

    Aliases sharing an identity appear once (the first in model.sort_key
    order). ``header`` becomes ``#`` comment lines (yaml and csv; JSON has no
    comments). CSV has no prune block, so ``prune`` is ignored there.
    """
    if fmt not in ("yaml", "json", "csv"):
        raise ValueError(f"unknown inventory format {fmt!r}; use yaml, json or csv")
    unique: dict = {}
    left_out = []
    for alias in sorted(aliases, key=sort_key):
        if unique.setdefault(alias.identity, alias) is not alias:
            left_out.append(alias)
    items = list(unique.values())
    comments = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    # An inventory declares an identity once; say what that loses rather than losing it silently.
    shown = "# left out, same ip, mask, port and capture id as another alias: "
    comments += [shown + _escape_unsafe(json.dumps(a.to_dict())) for a in left_out]
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.writelines(line + "\n" for line in [EXACT_MARK, *comments])
        writer = csv.writer(buffer, lineterminator="\n")
        # QUOTE_MINIMAL quotes "\n" but not a lone "\r", which a reader takes for a line break.
        quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
        tagged = any(value for a in items for key, value in a.extra if key in TAG_FIELDS)
        writer.writerow(CSV_COLUMNS + (TAG_FIELDS if tagged else ()))
        for a in items:
            tags = [a.extra_dict().get(key, "") for key in TAG_FIELDS] if tagged else []
            row = [a.name, a.ip, a.port, a.mask, a.capture_id, "true" if a.status else "false", *tags]
            if not CSV_CARRIES_NUL and any("\x00" in str(cell) for cell in row):
                raise HomerSyncError(f"{describe(a)}: CSV cannot hold its NUL character on Python 3.10 "
                                     "(3.11 and later can); use yaml or json")
            (quoted if any("\r" in str(cell) for cell in row) else writer).writerow(row)
        return buffer.getvalue()
    records = [_record(a) for a in items]
    doc: dict = {"version": VERSION, EXACT_KEY: True}
    if backup is not None:  # which server a backup came from (inventory/origin.py reads it)
        doc[BACKUP_KEY] = dict(backup)
    doc["aliases"] = records
    if prune is not None:
        doc["prune"] = _prune_dict(prune)
    if fmt == "json":
        return _escape_unsafe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"
    out = list(comments)
    if not records:
        out.append(f"version: {VERSION}")
        out.append(f"{EXACT_KEY}: true")
        if backup is not None:
            _yaml_lines({BACKUP_KEY: doc[BACKUP_KEY]}, "", out)
        out.append("aliases: []")
        if prune is not None:
            _yaml_lines({"prune": doc["prune"]}, "", out)
    else:
        _yaml_lines(doc, "", out)
    return "\n".join(out) + "\n"


def dump_collected(collected) -> str:
    """What each inventory source yielded, as YAML ``aliases:`` items with their origin as a comment.

    The items are exactly the entries the loader validated: copied under
    ``aliases:`` they declare the same aliases.
    """
    out = ["version: 1", "aliases:"]
    for result in collected:
        spec = result.spec
        count = len(result.entries)
        out.append(f"  # {spec.label} ({spec.where}): {count} entr{'y' if count == 1 else 'ies'}")
        for entry in result.entries:
            fields = entry.fields if isinstance(entry.fields, dict) else {}
            pairs = ", ".join(f"{key}: {_flow_value(value)}" for key, value in fields.items())
            out.append(f"  - {{{pairs}}}  # {entry.origin}")
    return "\n".join(out) + "\n"


def _flow_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(_yaml_scalar(v, flow=True) for v in value)}]"
    return _yaml_scalar(value, flow=True)
