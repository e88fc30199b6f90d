"""Problems: how an error or warning is located, worded and collected.

Value parsers raise :class:`Invalid` with the sentence to show; :func:`one`
and :func:`each` turn that into a :class:`Problem` at a file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass

INVALID = object()  # what one() returns for a value it reported as wrong


@dataclass(frozen=True)
class Problem:
    """One error or warning, located as precisely as the input allows."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.field, self.message) if p]
        return ": ".join(parts)


class Unquoted(str):
    """An unquoted YAML value kept as written, which YAML 1.1 would have read as ``yaml11``.

    ``0101``, ``1:30``, ``0x10``, ``yes``, ``.inf`` or ``2024-01-01`` stay text (as YAML 1.2
    reads them); a field that wants a number or a boolean refuses them and says why.
    """

    yaml11: object

    def __new__(cls, text: str, yaml11):
        value = super().__new__(cls, text)
        value.yaml11 = yaml11
        return value

    def reading(self) -> str:
        """What YAML 1.1 makes of it: "the octal number 8", "true", "a date"."""
        value = self.yaml11
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int):
            digits = self.lstrip("+-")
            if digits[:2].lower() in ("0x", "0b"):
                base = "hexadecimal" if digits[1] in "xX" else "binary"
            elif ":" in digits:
                base = "base-60"
            elif len(digits) > 1 and digits[0] == "0" and "_" not in digits:
                base = "octal"
            else:
                base = ""
            return f"the {base + ' ' if base else ''}number {value}"
        if isinstance(value, float):
            if value != value:
                return "not-a-number"
            return "infinity" if value in (float("inf"), float("-inf")) else f"the number {value!r}"
        return f"a {type(value).__name__}"

    def advice(self) -> str:
        """How to write what was probably meant, for a field that wants a number or a boolean."""
        if isinstance(self.yaml11, bool):
            return "; write true or false"
        digits = self.lstrip("+-")
        if digits.isdigit():
            return f"; write {int(self)}"
        return "; write a plain decimal number" if isinstance(self.yaml11, (int, float)) else ""


class Invalid(Exception):
    """A value is wrong; the caller knows where."""


class FileProblems:
    """Problem collector for one input file."""

    def __init__(self, source: str, problems: list):
        self.source = source
        self.problems = problems
        # (id of a list, parser) -> its valid parsed tuple: a YAML anchor shares one list
        # between entries, and it is parsed once (the document keeps the list, and its id, alive).
        self.parsed_lists: dict = {}

    def error(self, line, field_path, message):
        self.problems.append(Problem(self.source, line, field_path, message))


def join_path(path: str, key) -> str:
    """``path.key``, or ``key`` alone for an entry that has no path (one produced by a source)."""
    return f"{path}.{key}" if path else str(key)


def quote(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


def describe(value) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, Unquoted):
        return f"{value}, which YAML 1.1 reads as {value.reading()}"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {quote(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def wrong_type(value, expected: str, hint: str = "") -> Invalid:
    """The error for a value of the wrong type: "<expected>, got <what it is><hint>"."""
    if not hint and isinstance(value, Unquoted):
        hint = value.advice()
    return Invalid(f"{expected}, got {describe(value)}{hint}")


def boolean(what: str):
    """A parser of the true/false value called ``what``."""

    def parse(value) -> bool:
        if not isinstance(value, bool):
            raise wrong_type(value, f"{what} must be true or false")
        return value

    return parse


def one(f: FileProblems, value, line, path, parse):
    """``parse(value)``, or INVALID after reporting why not."""
    try:
        return parse(value)
    except Invalid as exc:
        f.error(line, path, str(exc))
        return INVALID


def places(value, line, path) -> list:
    """(line, field path) of each item of a value that may be one item or a list."""
    if not isinstance(value, list):
        return [(line, path)]
    lines = getattr(value, "item_lines", None) or [line] * len(value)
    return [(lines[i], f"{path}[{i}]") for i in range(len(value))]


def each(f: FileProblems, value, line, path, parse, what: str):
    """Parse a value that may be one item or a list of items; None when invalid."""
    if not isinstance(value, list):
        result = one(f, value, line, path, parse)
        return None if result is INVALID else [result]
    if not value:
        f.error(line, path, f"{what} list is empty")
        return None
    out = [one(f, item, item_line, item_path, parse)
           for item, (item_line, item_path) in zip(value, places(value, line, path), strict=True)]
    return None if INVALID in out else out
