"""JSON as a Go server (encoding/json behind the echo framework) writes and reads it.

Encoding: compact separators, UTF-8 left raw, and Go's HTML-safe escapes for
``<``, ``>``, ``&``, U+2028 and U+2029.

Decoding into a "struct" (:func:`bind`) mimics ``json.NewDecoder(body).Decode(&s)``
as echo's binder calls it: only the first JSON value is read (trailing bytes are
ignored), keys match field names case-insensitively (last one wins), ``null``
leaves a plain field alone and sets a pointer field to nil, and a value of the
wrong type is an error (Go reports it after decoding the rest, so any type
error fails the whole bind).
"""

from __future__ import annotations

import json
import re

_HTML_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_SURROGATES = re.compile("[\ud800-\udfff]")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def dumps(obj) -> str:
    """Text of ``obj`` exactly as Go's json.Marshal would produce it."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _HTML_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def encode(obj, *, newline: bool = False) -> bytes:
    """Bytes of ``obj``; ``newline`` adds the "\\n" that json.Encoder (echo's c.JSON) appends."""
    return (dumps(obj) + ("\n" if newline else "")).encode("utf-8")


def clean_str(value: str) -> str:
    """Replace lone surrogates (from JSON escapes like "\\ud800") with U+FFFD, as Go does."""
    return _SURROGATES.sub("\ufffd", value) if _SURROGATES.search(value) else value


class BindError(ValueError):
    """The body is not JSON, or a value has the wrong JSON type (echo's bind error)."""


class _Object(list):
    """A JSON object kept as its (key, value) pairs, in document order."""


def _reject_constant(name):
    raise BindError(f"invalid JSON constant {name}")


_DECODER = json.JSONDecoder(object_pairs_hook=_Object, parse_constant=_reject_constant)

# Field kinds of a Go struct: "str" (string), "int" (int), "*int" (pointer to int),
# "*bool" (pointer to bool), "bool", "any" (accepted, ignored).
FieldSpec = tuple  # (json_name, kind)


def first_value(body: bytes):
    """The first JSON value of ``body`` (Go's Decoder.Decode); BindError when there is none."""
    text = clean_str(body.decode("utf-8", errors="replace")).lstrip(" \t\r\n")
    try:
        value, _end = _DECODER.raw_decode(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BindError(str(exc)) from None
    return value


def _convert(kind: str, value):
    if kind == "any":
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
    elif kind in ("int", "*int"):
        if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
            return value
    elif kind in ("bool", "*bool") and isinstance(value, bool):
        return value
    raise BindError(f"cannot unmarshal {type(value).__name__} into a field of kind {kind}")


def bind(body: bytes, fields: list[FieldSpec]) -> dict:
    """Decode ``body`` into a dict holding one entry per field that received a value.

    A field absent from the result is Go's zero value for plain fields, or nil for
    pointer fields. Raises BindError exactly where echo's ``c.Bind`` would fail.
    """
    value = first_value(body)
    result: dict = {}
    if value is None:  # a JSON null decodes into a struct as a no-op
        return result
    if not isinstance(value, _Object):
        raise BindError("JSON value is not an object")
    by_name = {name: (name, kind) for name, kind in fields}
    by_fold = {name.casefold(): (name, kind) for name, kind in fields}
    type_error = None
    for key, item in value:
        target = by_name.get(key) or by_fold.get(key.casefold())
        if target is None:
            continue  # unknown fields are ignored
        name, kind = target
        if item is None:
            if kind.startswith("*"):
                result.pop(name, None)
            continue
        try:
            result[name] = _convert(kind, item)
        except BindError as exc:
            type_error = type_error or exc
    if type_error is not None:
        raise type_error
    return result


def loads_object(body: bytes) -> dict | None:
    """A JSON object body as a plain dict (duplicate keys: last wins), or None if it is not one."""
    try:
        value = first_value(body)
    except BindError:
        return None
    if not isinstance(value, _Object):
        return None
    return _plain(value)


def _plain(value):
    if isinstance(value, _Object):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
