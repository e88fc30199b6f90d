"""CSV inventories: a header row of known columns, then one alias per row.

Problems are reported at the row's line with the plain column name. A comment
line ``# exact: true`` before the header makes the file exact (see exact.py):
cells are HOMER's values, kept verbatim (an empty capture_id cell is an empty
capture id), and the tag columns custom_image, tag1..tag4 are allowed.
"""

from __future__ import annotations

import csv
import io
import re

from ..model import TAG_FIELDS
from .entries import Entry, entry_prefixes
from .exact import EXACT, EXACT_KEY, STRICT, ValueRules, no_tags
from .keys import suggest
from .problems import INVALID, FileProblems, Invalid, one, quote
from .values import DIGITS

CSV_COLUMNS = ("alias", "ip", "port", "mask", "capture_id", "status")
EXACT_MARK = f"# {EXACT_KEY}: true"
_SIGNED = re.compile(r"-?[0-9]+")


def parse_csv(f: FileProblems, text: str) -> list[Entry]:
    """CSV text -> entries; ``f`` must collect this file's problems only."""
    reader = csv.reader(io.StringIO(text))
    header = None
    entries = []
    start = 1
    rules = STRICT
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            # The csv module's hint ("open the file in universal-newline mode") is about code, not the file.
            f.error(start, None, f"invalid CSV: {str(exc).split(' - ')[0]}")
            return []
        line, start = start, reader.line_num + 1
        if header is None:
            if len(row) == 1 and row[0].strip().lower() == EXACT_MARK:
                rules = EXACT
            if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            header = _csv_header(f, row, line, CSV_COLUMNS + TAG_FIELDS if rules.exact else CSV_COLUMNS)
            if header is None:
                return []
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            f.error(line, None, f"row has {len(row)} cells but the header has {len(header)} columns")
            continue
        cells = dict(zip(header, row, strict=False))  # a short row leaves the last columns empty
        entry = _csv_entry(f, cells, line, rules)
        if entry is not None:
            entries.append(entry)
    if header is None:
        f.error(None, None, f"file is empty; expected the header {','.join(CSV_COLUMNS)}")
    elif not entries and not f.problems:
        f.error(None, None, "file declares no aliases")
    return entries


def _csv_header(f: FileProblems, row, line, allowed):
    header = [cell.strip().lower() for cell in row]
    ok = True
    for i, name in enumerate(header):
        if name in allowed and name not in header[:i]:
            continue
        ok = False
        if name in header[:i]:
            f.error(line, name, f"duplicate column {name!r}")
            continue
        hint = suggest(name, allowed)
        tail = f"did you mean {hint!r}?" if hint else f"expected columns: {','.join(CSV_COLUMNS)}"
        f.error(line, name or None, f"unknown column {row[i].strip()!r}; {tail}")
    for required in ("alias", "ip"):
        if required not in header:
            f.error(line, None, f"missing column {required!r}; expected the header {','.join(CSV_COLUMNS)}")
            ok = False
    return header if ok else None


def _csv_entry(f: FileProblems, cells: dict, line: int, rules: ValueRules) -> Entry | None:
    ok = True
    verbatim = ("alias", "capture_id") if rules.exact else ("alias",)

    def parse(key, fn, empty_value):
        nonlocal ok
        raw = cells.get(key, "") if key in verbatim else cells.get(key, "").strip()
        if key != "alias" and raw == "":
            return empty_value
        value = one(f, raw, line, key, fn)
        ok &= value is not INVALID
        return value

    digits = _SIGNED if rules.exact else DIGITS
    name = parse("alias", rules.name, None)
    capture_id = parse("capture_id", rules.capture_id, "" if rules.exact else "0")
    status = parse("status", _csv_bool, True)
    port = parse("port", lambda v: rules.port(_csv_int(v, "port", digits)), 0)
    mask = parse("mask", lambda v: rules.mask(_csv_int(v, "mask", digits)), None)
    ip = cells.get("ip", "").strip()
    if not ip:
        f.error(line, "ip", "ip must not be empty")
        return None
    entry = {"ip": ip} if mask in (None, INVALID) else {"ip": ip, "mask": mask}
    prefixes: list[tuple[str, int]] = []
    ok &= entry_prefixes(_CsvRow(f, line), entry, "", mask, prefixes, rules)
    if not ok:
        return None
    extra = no_tags({key: cells[key] for key in TAG_FIELDS if cells.get(key)}) if rules.exact else ()
    return Entry(f.source, line, f"row {line}", name, line, prefixes, [], (port,), capture_id, status, extra,
                 rules.exact)


class _CsvRow(FileProblems):
    """Reports entry-level problems at the CSV line with plain column names."""

    def __init__(self, f: FileProblems, line: int):
        super().__init__(f.source, f.problems)
        self.line = line

    def error(self, line, field_path, message):
        column = field_path.split(".")[-1].split("[")[0] if field_path else None
        super().error(self.line, column, message)


def _csv_int(value: str, what: str, digits=DIGITS) -> int:
    if not digits.fullmatch(value):
        raise Invalid(f"{what} must be an integer, got {quote(value)}")
    return int(value)


def _csv_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Invalid(f"status must be true or false, got {quote(value)}")
