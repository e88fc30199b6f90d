"""What the YAML readers build: mappings and lists that remember their lines, and plain scalars.

Unquoted scalars are read the YAML 1.2 way, never YAML 1.1's: only ``true``/``false``
(any case PyYAML accepts) are booleans, only plain decimal numbers (``5060``, ``-1``,
``30.5``) are numbers, ``~``/``null``/nothing is null. Anything YAML 1.1 would turn into
something else (``0101`` octal, ``1:30`` base 60, ``0x10``, ``1_000``, ``yes``/``on``,
``.inf``, dates) stays the text as written, as an :class:`Unquoted` that remembers the
YAML 1.1 reading so that a number or boolean field can refuse it and say why.
"""

from __future__ import annotations

import re

from .problems import Unquoted

_STR_TAG = "tag:yaml.org,2002:str"
_DECIMAL_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_WORDS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
          "null": None, "Null": None, "NULL": None, "~": None, "": None}
# First characters of every YAML 1.1 implicit type (PyYAML's resolver): other text is a string.
TYPED_STARTS = frozenset("-+0123456789.~=<yYnNtTfFoO")
# Dotted quads and longer: no YAML 1.1 number, boolean or date has two dots.
_DOTTED = re.compile(r"[0-9]+\.[0-9]+\.[0-9.]*")


class Map(dict):
    """A mapping that remembers its own line and the line of each key."""

    __slots__ = ("line", "key_lines", "duplicates")
    line: int
    key_lines: dict
    duplicates: tuple  # (key, line, first line) of each repeated key; () for most mappings

    def add_duplicate(self, key, line: int) -> None:
        self.duplicates = (*self.duplicates, (key, line, self.key_lines[key]))


class Seq(list):
    """A sequence that remembers its own line and the line of each item."""

    __slots__ = ("line", "item_lines")
    line: int
    item_lines: list


def new_map(line: int) -> Map:
    mapping = Map()
    mapping.line, mapping.key_lines, mapping.duplicates = line, {}, ()
    return mapping


def new_seq(line: int) -> Seq:
    seq = Seq()
    seq.line, seq.item_lines = line, []
    return seq


def plain_scalar(text: str):
    """The value of an unquoted scalar (see the module doc); ``<<`` and ``=`` stay text."""
    first = text[:1]
    if first not in TYPED_STARTS:
        return text if text else None
    if text in _WORDS:
        return _WORDS[text]
    if first.isalpha():  # y/n/t/f/o: only YAML 1.1's extra booleans are typed
        return Unquoted(text, _YAML11_BOOLEANS[text]) if text in _YAML11_BOOLEANS else text
    if _DECIMAL_INT.fullmatch(text):
        return int(text)
    if _DOTTED.fullmatch(text):
        return text
    value = _CACHE.get(text, _CACHE)
    if value is _CACHE:
        value = _CACHE[text] = _read_yaml11(text)
    return value


_YAML11_BOOLEANS = {"yes": True, "Yes": True, "YES": True, "on": True, "On": True, "ON": True,
                    "no": False, "No": False, "NO": False, "off": False, "Off": False, "OFF": False}
_CACHE: dict = {}
_YAML11: list = []  # [resolver, constructor], made on first use


def _read_yaml11(text: str):
    """Numbers, signs and dots: what PyYAML's YAML 1.1 resolver makes of them."""
    import yaml

    if not _YAML11:
        _YAML11.extend((yaml.resolver.Resolver(), yaml.constructor.SafeConstructor()))
    resolver, constructor = _YAML11
    tag = resolver.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR_TAG or tag.endswith((":merge", ":value")):
        return text
    if tag.endswith(":float") and _DECIMAL_FLOAT.fullmatch(text):
        return float(text)
    try:
        value = constructor.yaml_constructors[tag](constructor, yaml.ScalarNode(tag, text))
    except (ValueError, OverflowError, yaml.YAMLError):
        return text  # shaped like a date but not one (2024-02-30): YAML 1.1 cannot read it either
    return Unquoted(text, value)
