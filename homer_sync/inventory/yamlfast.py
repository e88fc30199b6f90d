"""A fast reader for the block YAML people (and ``export``) write; anything else goes to yamlsource.

Inventories of tens of thousands of aliases are block YAML: mappings of plain keys,
sequences of ``- key: value`` items, one-line scalars. Reading those lines directly is
several times faster than turning every libyaml event into a Python object. This
reader accepts only that subset:

- block mappings whose keys are plain words (``alias``, ``capture_id``, ``x-site``);
- block sequences (``- item``), also at the indentation of their key;
- plain scalars on one line, single-quoted ones, double-quoted ones without ``\\``;
- flow sequences of plain words and quoted scalars on one line (``port: [5060, 5061]``);
- comments, blank lines and one leading ``---``.

It builds exactly what yamlsource's event builder builds (yamlnodes Map and Seq with
the same lines, the same scalars through yamlnodes.plain_scalar, duplicate keys
recorded). Anything else, including every syntax error, raises :class:`Unsupported`
at the first line outside the subset, and the caller reads the text again with the
full parser, which reports errors at their file:line. Tests check both readers agree.
"""

from __future__ import annotations

import re

from .yamlnodes import TYPED_STARTS as _TYPED_STARTS
from .yamlnodes import new_map, new_seq, plain_scalar


class Unsupported(Exception):
    """The text uses YAML outside this reader's subset (or is not valid YAML)."""


# Characters libyaml reads as something else than text on one line (tabs, \r, NEL, LS, PS,
# BOM, controls) or refuses: their presence sends the whole text to the full parser.
_ODD = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?\Z", re.DOTALL)
_PLAIN_START = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ]|-[0-9]")
_SINGLE = re.compile(r"'((?:[^']|'')*)'(?: +#.*| *)\Z", re.DOTALL)
_DOUBLE = re.compile(r'"([^"\\]*)"(?: +#.*| *)\Z', re.DOTALL)
_FLOW_ITEM = r"""[A-Za-z0-9_.][A-Za-z0-9_./-]*|"[^"\\]*"|'(?:[^']|'')*'"""
_FLOW_SEQ = re.compile(rf"\[ *((?:{_FLOW_ITEM})(?: *, *(?:{_FLOW_ITEM}))*)? *\](?: +#.*| *)\Z", re.DOTALL)
_FLOW_ITEMS = re.compile(r"""([A-Za-z0-9_.][A-Za-z0-9_./-]*)|"([^"\\]*)"|'((?:[^']|'')*)'""")


def read_block_yaml(text: str):
    """The document as yamlsource builds it; Unsupported when the text is outside the subset."""
    if _ODD.search(text):
        raise Unsupported
    indents: list[int] = []
    contents: list[str] = []
    lines: list[int] = []
    add_indent, add_content, add_line = indents.append, contents.append, lines.append
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if content and content[0] != "#":
            add_indent(len(line) - len(content))
            add_content(content)
            add_line(number)
    reader = _Reader(indents, contents, lines)
    start = 0
    if contents and indents[0] == 0 and (contents[0] == "---" or contents[0].startswith("--- #")):
        start = 1
    if start >= len(contents):
        raise Unsupported  # an empty document: the full parser says what it is
    value, end = reader.block(start, indents[start])
    if end < len(contents):
        raise Unsupported
    return value


def _is_item(content: str) -> bool:
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


_KEY_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*): +([A-Za-z0-9_][A-Za-z0-9_./-]*)\Z")
_DOTTED = re.compile(r"[0-9]+\.[0-9]+\.[0-9.]*\Z")  # what yamlnodes.plain_scalar keeps as text (an IPv4)
_SIMPLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")  # a plain word: no quote, comment, colon or space


def _scalar(text: str, line: int):
    """A one-line scalar value (text after ``key: `` or ``- ``, comments included)."""
    if _SIMPLE.match(text):
        return text if text[0] not in _TYPED_STARTS else plain_scalar(text)
    first = text[0]
    if first == "'":
        match = _SINGLE.match(text)
        if match is None:
            raise Unsupported
        return match[1].replace("''", "'")
    if first == '"':
        match = _DOUBLE.match(text)
        if match is None:
            raise Unsupported
        return match[1]
    if first == "[":
        match = _FLOW_SEQ.match(text)
        if match is None:
            raise Unsupported
        seq = new_seq(line)
        for word, double, single in _FLOW_ITEMS.findall(match[1] or ""):
            seq.append(plain_scalar(word) if word else double if double or not single else single.replace("''", "'"))
            seq.item_lines.append(line)
        return seq
    if not _PLAIN_START.match(text):
        raise Unsupported
    cut = text.find(" #")
    if cut >= 0:
        text = text[:cut]
    text = text.rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise Unsupported
    return plain_scalar(text)


_KEYS: dict = {}  # key text -> its value (keys repeat on every entry)


class _Reader:
    def __init__(self, indents: list[int], contents: list[str], lines: list[int]):
        self.indents, self.contents, self.lines = indents, contents, lines
        self.count = len(contents)

    def block(self, i: int, indent: int):
        """The block node starting at content line ``i`` (at ``indent``) -> (value, next line)."""
        content = self.contents[i]
        if _is_item(content):
            return self.sequence(i, indent)
        return self.mapping(i, indent, content)

    def mapping(self, i: int, indent: int, content: str):
        """A block mapping whose first key is ``content`` (on line ``i``, at column ``indent``)."""
        indents, contents, lines, count = self.indents, self.contents, self.lines, self.count
        mapping = new_map(lines[i])
        key_lines = mapping.key_lines
        keys = _KEYS
        while True:
            line = lines[i]
            i += 1
            match = _KEY_WORD.match(content)  # the usual "key: word" line, read at once
            if match is not None:
                value = match[2]
                if value[0] in _TYPED_STARTS and not _DOTTED.match(value):  # dotted quads stay text
                    value = plain_scalar(value)
            else:
                match = _KEY.match(content)
                if match is None:
                    raise Unsupported
                rest = match[2]
                if rest and rest[0] != "#":
                    value = _scalar(rest, line)
                elif i < count and indents[i] > indent:
                    value, i = self.block(i, indents[i])
                elif i < count and indents[i] == indent and _is_item(contents[i]):
                    value, i = self.sequence(i, indent)
                else:
                    value = None
            key = keys.get(match[1], keys)
            if key is keys:
                key = keys[match[1]] = plain_scalar(match[1])
            if key in mapping:
                mapping.add_duplicate(key, line)
            mapping[key] = value
            key_lines[key] = line
            if i >= count or indents[i] < indent:
                return mapping, i
            if indents[i] > indent:
                raise Unsupported
            content = contents[i]

    def sequence(self, i: int, indent: int):
        """A block sequence whose first ``-`` is on line ``i`` at column ``indent``."""
        indents, contents, lines, count = self.indents, self.contents, self.lines, self.count
        seq = new_seq(lines[i])
        append, item_lines = seq.append, seq.item_lines
        while i < count and indents[i] == indent and _is_item(contents[i]):
            content = contents[i]
            rest = content[1:].lstrip(" ")
            if not rest or rest[0] == "#" or _is_item(rest):
                raise Unsupported  # an empty item, or one whose node starts on the next line, or "- - x"
            line = lines[i]
            if _KEY.match(rest):
                value, i = self.mapping(i, indent + len(content) - len(rest), rest)
            else:
                value = _scalar(rest, line)
                i += 1
            append(value)
            item_lines.append(line)
            if i < count and indents[i] > indent:
                raise Unsupported
        return seq, i
