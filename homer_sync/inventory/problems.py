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


class Invalid(Exception):
    """A value is wrong; the caller knows where."""


class FileProblems:
    """Problem collector for one input file."""

    def __init__(self, source: str, problems: list):
        self.source = source
        self.problems = problems

    def error(self, line, field_path, message):
        self.problems.append(Problem(self.source, line, field_path, message))


def quote(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


def describe(value) -> str:
    if value is None:
        return "nothing (null)"
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
