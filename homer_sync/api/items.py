"""One alias item of a list answer -> Alias, refusing what HOMER never sends.

HOMER writes exact JSON types: integers for port and mask, a boolean status,
strings for the rest. Anything else (a float port, ``"status": "false"``, a
number a Go int cannot hold, a missing field) means the answer is not HOMER's
or is broken, and reading it "leniently" would plan against values HOMER does
not hold (``"false"`` read as active, 5060.7 as 5060). So every field is
checked for its exact type, and the first problem is reported in words.
"""

from __future__ import annotations

from ..model import TAG_FIELDS, Alias
from ..model import lenient_ip as _lenient_ip

_INT64 = range(-(2**63), 2**63)  # Go's int, which HOMER's JSON decodes into
_INT64_MIN, _INT64_MAX = _INT64[0], _INT64[-1]


class MalformedItem(ValueError):
    """An item that is not an alias as HOMER writes one; the message says why."""


def json_kind(value) -> str:
    """How a JSON value is named in a message: "the string 'false'", "the number 5060.7"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"the integer {_clip(str(value))}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_clip(repr(value))}"
    return "a list" if isinstance(value, list) else "an object"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


_EXPECTED = {int: "an integer", str: "a string", bool: "true or false"}


def read_alias(item, index: int, *, capture_key: str, zero_omitted: bool, tags: bool) -> Alias:
    """The alias an item of a list answer describes; MalformedItem when it is not one.

    ``zero_omitted``: API v4 leaves out fields whose value is 0, false or "" (but
    never guid and ip); API v3 sends every field. ``tags``: read API v4's
    custom_image and tag1..tag4 (strings, also omitted when empty).
    """
    if type(item) is dict and not tags:
        # The usual item: every field present with its exact type and in range; anything else
        # is read below, field by field, to say what is wrong (or to fill v4's omitted zeros).
        try:
            guid, ip, name, port = item["guid"], item["ip"], item["alias"], item["port"]
            mask, capture_id, status = item["mask"], item[capture_key], item["status"]
        except KeyError:
            pass
        else:
            if (type(guid) is str and guid and type(ip) is str and ip and type(name) is str
                    and type(port) is int and type(mask) is int and type(capture_id) is str
                    and type(status) is bool and _INT64_MIN <= port <= _INT64_MAX
                    and _INT64_MIN <= mask <= _INT64_MAX):
                return Alias(_lenient_ip(ip), mask, port, capture_id, name, status, guid)
    if not isinstance(item, dict):
        raise MalformedItem(f"alias #{index} is {json_kind(item)}, not an object")
    guid = item.get("guid")
    who = f"alias #{index} (guid {_clip(guid)})" if isinstance(guid, str) and guid else f"alias #{index}"

    def get(key: str, kind: type, zero):
        if key not in item:
            if zero_omitted and zero is not None:
                return zero
            raise MalformedItem(f"{who} has no {key!r}")
        value = item[key]
        if type(value) is not kind:
            raise MalformedItem(f"{who}: {key} is {json_kind(value)}, not {_EXPECTED[kind]}")
        if kind is int and value not in _INT64:
            raise MalformedItem(f"{who}: {key} {_clip(str(value))} is out of range for an integer HOMER stores")
        if zero is None and value == "":
            raise MalformedItem(f"{who}: {key} is empty")
        return value

    guid = get("guid", str, None)
    ip = get("ip", str, None)
    name = get("alias", str, "")
    port = get("port", int, 0)
    mask = get("mask", int, 0)
    capture_id = get(capture_key, str, "")
    status = get("status", bool, False)
    extra = {key: value for key in TAG_FIELDS if (value := get(key, str, ""))} if tags else {}
    return Alias.from_server(ip=ip, mask=mask, port=port, capture_id=capture_id, name=name, status=status,
                             guid=guid, extra=extra)
