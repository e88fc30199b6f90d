"""The plan table: one line per change that fits the terminal, or one compact line per change.

See the ``table`` format in the package doc. Address, port, capture id and name are never split
nor shortened; only the reason column is (``table_reason``: what the row does not already say).
"""

from __future__ import annotations

from dataclasses import replace

from ..model import printable
from ..plan import update_reason
from . import _ACTION_STYLE, Row, _context_line, change_name, left_alone_text, plan_rows, summary_line

ACTION_SYMBOL = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}
_SYMBOL_WORD = {"create": "create", "update": "update", "delete": "delete", "replace": "replace"}
TABLE_HEADINGS = ("", "address", "port", "capture", "name", "reason")
TABLE_REASON_MIN = 12  # below this many columns for the reason, the table gives way to one line per change
_TABLE_GAP = 2  # columns between two table columns


def table_reason(change) -> str:
    """The reason cell of the table and of narrow lines: only what the rest of the row does not say.
    Nothing for a create; for an update the changed v4 tags (name and status are in the name
    column); "duplicate (kept 1a2b3c4d)" for a duplicate (the row gives its address)."""
    if change.action == "update":
        before = replace(change.before, name=change.after.name, status=change.after.status)
        return "" if before.extra == change.after.extra else printable(update_reason(before, change.after))
    if change.action == "delete" and getattr(change, "kept", None) is not None:
        kept = change.kept.guid[:8] if change.kept.guid else "the first"
        return f"duplicate (kept {printable(kept)})"
    if change.action == "delete":
        return printable(change.reason)
    return ""


def _as_row(item) -> Row:
    return item if isinstance(item, Row) else Row(item.action, item, item.reason, False)


def row_reason(row: Row) -> str:
    """table_reason, or for a replacement ("port 5070 -> 5060") what moved."""
    return printable(row.reason) if row.action == "replace" or (row.comment and row.action == "create") \
        else table_reason(row.change)


def _table_cells(row: Row) -> tuple[str, ...]:
    alias = row.change.alias
    return (ACTION_SYMBOL[row.action], printable(alias.cidr), str(alias.port), printable(alias.capture_id),
            change_name(row.change), row_reason(row))


def table_layout(plan, width: int) -> list[int] | None:
    """The column widths of the plan table at ``width`` columns, or None when it cannot fit.

    Symbol, address, port, capture and name are never shortened or split; the reason column
    takes what is left (shortened with an ellipsis), and is left out when no change has one.
    None: less than TABLE_REASON_MIN columns would be left for a reason (or none for the rest).
    """
    rows = [_table_cells(row) for row in plan_rows(plan)]
    widths = [max([len(heading)] + [len(row[i]) for row in rows]) for i, heading in enumerate(TABLE_HEADINGS)]
    if widths[-1] == len(TABLE_HEADINGS[-1]) and not any(row[-1] for row in rows):
        widths = widths[:-1]  # only creates: no reason column
        fixed = sum(widths) + _TABLE_GAP * (len(widths) - 1)
        return widths if fixed <= width else None
    fixed = sum(widths[:-1]) + _TABLE_GAP * (len(widths) - 1)
    room = width - fixed
    if room < min(TABLE_REASON_MIN, widths[-1]):
        return None
    widths[-1] = min(widths[-1], room)
    return widths


def render_table(plan, stream, context: dict, *, color: bool, width: int | None, verbose: bool = False) -> None:
    """A rich table, one line per change, when it fits ``width``; else one compact line per change
    (``_render_narrow``). IPs, ports, capture ids and names are never split."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=stream, force_terminal=color, no_color=not color, width=width,
                      highlight=False, emoji=False, markup=False)
    if context:
        console.print(Text(_context_line(context)), soft_wrap=True)
    if plan.has_changes:
        widths = table_layout(plan, console.width)
        if widths is None:
            _render_narrow(plan, console)
        else:
            console.print(_legend(plan), soft_wrap=True)
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                          collapse_padding=True, header_style="bold")
            for heading, size in zip(TABLE_HEADINGS, widths, strict=False):
                table.add_column(heading, width=size, no_wrap=True, overflow="ellipsis")
            for row in plan_rows(plan):
                style = _ACTION_STYLE.get(row.action, "")
                cells = [Text(cell) for cell in _table_cells(row)][: len(widths)]
                cells[0].stylize("bold " + style)
                table.add_row(*cells, style=style)
            console.print(table)
    for line in left_alone_text(plan, verbose=verbose):
        console.print(Text(line, style="dim"), soft_wrap=True)
    for line in wrap_summary(summary_line(plan), console.width):
        console.print(Text(line, style="bold"), soft_wrap=True)


def wrap_summary(text: str, width: int) -> list[str]:
    """The summary line cut after its commas (never inside a count) into lines of ``width``;
    continuation lines are indented by two spaces. A part longer than ``width`` stays whole."""
    lines: list[str] = []
    for part in text.split(", "):
        piece = part if not lines else lines[-1] + ", " + part
        if lines and len(piece) + 1 <= width:  # room for the comma a cut would leave behind
            lines[-1] = piece
        elif lines:
            lines[-1] += ","
            lines.append("  " + part)
        else:
            lines.append(part)
    return lines


def _legend(plan):
    """"+ create  ~ update  - delete": the symbols the table uses, coloured, in plan order."""
    from rich.text import Text

    legend = Text()
    for action in dict.fromkeys(row.action for row in plan_rows(plan)):
        if legend:
            legend.append("  ")
        legend.append(ACTION_SYMBOL[action], style="bold " + _ACTION_STYLE.get(action, ""))
        legend.append(" " + _SYMBOL_WORD[action])
    return legend


def narrow_line(change, width: int) -> str:
    """One change (or a plan_rows Row) on one line for a narrow terminal: "+ 10.0.1.10/32 port 5060
    capture 0 pcscf01", then "  # " and what the table's reason column would say, shortened with an
    ellipsis to fit ``width`` (left out when fewer than TABLE_REASON_MIN columns are left). The rest is
    never shortened."""
    row = _as_row(change)
    alias = row.change.alias
    line = (f"{ACTION_SYMBOL[row.action]} {printable(alias.cidr)} port {alias.port} "
            f"capture {printable(alias.capture_id)} {change_name(row.change)}")
    reason = row_reason(row)
    if not reason:
        return line
    room = width - len(line) - len("  # ")
    if room < TABLE_REASON_MIN:
        return line
    if len(reason) > room:
        reason = reason[: room - 1] + "\u2026"
    return f"{line}  # {reason}"


def _render_narrow(plan, console) -> None:
    from rich.text import Text

    for row in plan_rows(plan):
        line = Text(narrow_line(row, console.width), style=_ACTION_STYLE.get(row.action, ""))
        line.stylize("bold", 0, len(ACTION_SYMBOL[row.action]))
        console.print(line, soft_wrap=True)
