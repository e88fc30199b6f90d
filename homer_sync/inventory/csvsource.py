"""CSV inventories: a header row of known columns, then one alias per row.

Problems are reported at the row's line with the plain column name.
"""

from __future__ import annotations

import csv
import io

from .entries import Entry, entry_prefixes
from .keys import suggest
from .problems import INVALID, FileProblems, Invalid, one, quote
from .values import DIGITS, parse_capture_id, parse_mask, parse_name, parse_port

CSV_COLUMNS = ("alias", "ip", "port", "mask", "capture_id", "status")


def parse_csv(f: FileProblems, text: str) -> list[Entry]:
    """CSV text -> entries; ``f`` must collect this file's problems only."""
    reader = csv.reader(io.StringIO(text))
    header = None
    entries = []
    start = 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if header is None:
            if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            header = _csv_header(f, row, line)
            if header is None:
                return []
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            f.error(line, None, f"row has {len(row)} cells but the header has {len(header)} columns")
            continue
        cells = dict(zip(header, row, strict=False))  # a short row leaves the last columns empty
        entry = _csv_entry(f, cells, line)
        if entry is not None:
            entries.append(entry)
    if header is None:
        f.error(None, None, f"file is empty; expected the header {','.join(CSV_COLUMNS)}")
    elif not entries and not f.problems:
        f.error(None, None, "file declares no aliases")
    return entries


def _csv_header(f: FileProblems, row, line):
    header = [cell.strip().lower() for cell in row]
    ok = True
    for i, name in enumerate(header):
        if name in CSV_COLUMNS and name not in header[:i]:
            continue
        ok = False
        if name in header[:i]:
            f.error(line, name, f"duplicate column {name!r}")
            continue
        hint = suggest(name, CSV_COLUMNS)
        tail = f"did you mean {hint!r}?" if hint else f"expected columns: {','.join(CSV_COLUMNS)}"
        f.error(line, name or None, f"unknown column {row[i].strip()!r}; {tail}")
    for required in ("alias", "ip"):
        if required not in header:
            f.error(line, None, f"missing column {required!r}; expected the header {','.join(CSV_COLUMNS)}")
            ok = False
    return header if ok else None


def _csv_entry(f: FileProblems, cells: dict, line: int) -> Entry | None:
    ok = True

    def parse(key, fn, empty_value):
        nonlocal ok
        raw = cells.get(key, "") if key == "alias" else cells.get(key, "").strip()
        if key != "alias" and raw == "":
            return empty_value
        value = one(f, raw, line, key, fn)
        ok &= value is not INVALID
        return value

    name = parse("alias", parse_name, None)
    capture_id = parse("capture_id", parse_capture_id, "0")
    status = parse("status", _csv_bool, True)
    port = parse("port", lambda v: parse_port(_csv_int(v, "port")), 0)
    mask = parse("mask", lambda v: parse_mask(_csv_int(v, "mask")), None)
    ip = cells.get("ip", "").strip()
    if not ip:
        f.error(line, "ip", "ip must not be empty")
        return None
    entry = {"ip": ip} if mask in (None, INVALID) else {"ip": ip, "mask": mask}
    prefixes: list[tuple[str, int]] = []
    ok &= entry_prefixes(_CsvRow(f, line), entry, "", mask, prefixes)
    if not ok:
        return None
    return Entry(f.source, line, f"row {line}", name, line, prefixes, [], (port,), capture_id, status)


class _CsvRow(FileProblems):
    """Reports entry-level problems at the CSV line with plain column names."""

    def __init__(self, f: FileProblems, line: int):
        super().__init__(f.source, f.problems)
        self.line = line

    def error(self, line, field_path, message):
        column = field_path.split(".")[-1].split("[")[0] if field_path else None
        super().error(self.line, column, message)


def _csv_int(value: str, what: str) -> int:
    if not DIGITS.fullmatch(value):
        raise Invalid(f"{what} must be an integer, got {quote(value)}")
    return int(value)


def _csv_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Invalid(f"status must be true or false, got {quote(value)}")
