"""The plan table fits the terminal: one line per change at 60, 80 and 120 columns, never an IP,
port, capture id or name split; the reason is shortened first, then the table gives way to one
compact line per change."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from homer_sync.cli import environment as cli_environment
from homer_sync.demo import LEGACY_ALIASES, example_inventory_path
from homer_sync.inventory import load_inventory
from homer_sync.model import Alias
from homer_sync.plan import build_plan
from homer_sync.render import ACTION_SYMBOL, narrow_line, render_plan, table_layout, table_reason

GREEN, YELLOW, RED = "32", "33", "31"  # SGR colour codes
ANSI = re.compile(r"\x1b\[[0-9;]*m")
README = Path(__file__).resolve().parents[1] / "README.md"


def legacy_aliases() -> list[Alias]:
    return [Alias.from_dict({**raw, "capture_id": raw["captureID"], "guid": f"{i:08d}-0000-4000-8000-000000000000"})
            for i, raw in enumerate(LEGACY_ALIASES, 1)]


@pytest.fixture
def readme_plan():
    """The README's example: inventory.example.yaml against the demo's hand-made aliases."""
    inventory = load_inventory([str(example_inventory_path())])
    return build_plan(inventory.aliases, legacy_aliases())


def render(plan, width, **kwargs):
    stream = io.StringIO()
    render_plan(plan, stream, fmt="table", width=width, **kwargs)
    return stream.getvalue()


def change_lines(out: str, plan) -> dict:
    """change -> the one output line that shows it (its address, port and name, whole)."""
    lines = out.splitlines()
    found = {}
    for change in plan.changes:
        alias = change.alias
        name = alias.name if change.action != "update" else f"{change.before.name} -> {change.after.name}"
        matching = [line for line in lines
                    if re.search(rf"(?<![\w:./]){re.escape(alias.cidr)}(?![\w:./])", line)
                    and re.search(rf"(?<!\d){alias.port}(?!\d)", line) and name in line]
        assert matching, f"{alias.cidr} port {alias.port} {name!r} is not whole on one line:\n{out}"
        found[change] = matching
    return found


@pytest.mark.parametrize("width", [60, 80, 120])
def test_one_line_per_change_and_no_token_split(readme_plan, width):
    out = render(readme_plan, width)
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), out
    change_lines(out, readme_plan)
    # one line per change, three for the alias left alone, the summary (cut after a comma below 80
    # columns), and, for the table, the legend and two heading lines
    summary = 1 if width >= 80 else 2
    extra = 3 + summary + (3 if width >= 80 else 0)
    assert len(lines) == len(readme_plan.changes) + extra, out
    assert " ".join(line.strip() for line in lines[-summary:]) == (
        "Plan: 13 to create, 1 to update, 1 to delete, 1 unchanged, 1 undeclared kept.")


def test_80_columns_is_a_table_with_symbols_and_a_shortened_reason(readme_plan):
    lines = render(readme_plan, 80).splitlines()
    assert lines[0] == "+ create  ~ update  - delete"
    assert lines[1].split() == ["address", "port", "capture", "name", "reason"]
    assert lines[3].split() == ["+", "10.0.0.0/24", "0", "CAP101", "ims-core"]
    assert lines[16].split() == ["~", "10.0.1.20/32", "5060", "0", "old-scscf", "->", "scscf01"]
    assert re.match(r"-  10\.0\.1\.10/32 +5060  0 +pcscf01 +duplicate \(k?e?p?…$", lines[17]), lines[17]


def test_120_columns_shows_the_whole_reason(readme_plan):
    out = render(readme_plan, 120)
    assert "duplicate (kept 00000001)" in out
    assert "not on the server" not in out  # a create's reason is its symbol


def test_60_columns_falls_back_to_one_compact_line_per_change(readme_plan):
    lines = render(readme_plan, 60).splitlines()
    assert lines[0] == "+ 10.0.0.0/24 port 0 capture CAP101 ims-core"
    assert lines[13] == "~ 10.0.1.20/32 port 5060 capture 0 old-scscf -> scscf01"
    assert lines[14] == "- 10.0.1.10/32 port 5060 capture 0 pcscf01  # duplicate (ke…"


def test_the_reason_is_dropped_rather_than_cut_to_nothing(make_alias):
    plan = build_plan([], [make_alias("10.0.0.1", "n" * 40, guid="g1")], prune=True)
    (change,) = plan.changes
    assert narrow_line(change, 70) == "- 10.0.0.1/32 port 5060 capture 0 " + "n" * 40
    assert narrow_line(change, 200).endswith("  # not in the inventory (prune)")


def test_a_name_too_long_for_the_table_gives_narrow_lines_that_keep_it_whole(make_alias):
    name = "voicemail-" + "x" * 60
    plan = build_plan([make_alias("2001:db8:0:10::20", name)], [])
    assert table_layout(plan, 80) is None
    out = render(plan, 80)
    assert out.splitlines()[0] == f"+ 2001:db8:0:10::20/128 port 5060 capture 0 {name}"


def test_only_creates_have_no_reason_column(make_alias):
    plan = build_plan([make_alias("10.0.0.1", "a"), make_alias("10.0.0.2", "b")], [])
    lines = render(plan, 80).splitlines()
    assert lines[1].split() == ["address", "port", "capture", "name"]
    assert table_layout(plan, 80) == [1, 11, 4, 7, 4]


def test_table_reason_says_only_what_the_row_does_not(make_alias):
    before = make_alias("10.0.0.1", "a", guid="g1", extra={"tag1": "x"})
    plan = build_plan([make_alias("10.0.0.1", "b", status=False)], [before])
    assert table_reason(plan.changes[0]) == ""  # name and status: in the name column
    tagged = build_plan([make_alias("10.0.0.1", "a", extra={"tag1": "y"})], [before])
    assert table_reason(tagged.changes[0]) == "tag1 'x' -> 'y'"


def test_symbols_are_coloured_like_terraform(readme_plan):
    out = render(readme_plan, 120, color=True)
    for action, colour in (("create", GREEN), ("update", YELLOW), ("delete", RED)):
        assert re.search(rf"\x1b\[(\d+;)*{colour}m{re.escape(ACTION_SYMBOL[action])}\x1b", out), action
    narrow = render(readme_plan, 60, color=True)
    assert re.search(rf"\x1b\[(\d+;)*{GREEN}m\+", narrow)
    assert ANSI.sub("", narrow) == render(readme_plan, 60)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_cli_table_follows_COLUMNS(cli_run, emulator, monkeypatch, width):
    """The CLI on a terminal of ``width`` columns (COLUMNS, as a shell exports it)."""
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    emulator.seed(LEGACY_ALIASES)
    result = cli_run("plan", str(example_inventory_path()), emulator=emulator, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    out = ANSI.sub("", result.stdout)
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), out
    inventory = load_inventory([str(example_inventory_path())])
    change_lines(out, build_plan(inventory.aliases, legacy_aliases()))
    summary = 1 if width >= 80 else 2  # cut after a comma when it does not fit
    assert " ".join(line.strip() for line in lines[-summary:]) == (
        "Plan: 13 to create, 1 to update, 1 to delete, 1 unchanged, 1 undeclared kept.")
    assert lines[-summary - 3:-summary] == ["Left alone on the server: 1 alias",
                                            "  not declared: kept (use --prune): 1",
                                            "    192.0.2.50/32  port 0  capture 0  lab-phone"]
    assert len(lines) == 1 + 15 + 3 + summary + (3 if width >= 80 else 0)


def test_readme_shows_the_real_80_column_table(readme_plan):
    text = README.read_text(encoding="utf-8")
    block = text.split("```text\nserver: https://homer.example.net, api: v3\n+ create", 1)[1].split("```", 1)[0]
    shown = "server: https://homer.example.net, api: v3\n+ create" + block
    out = render(readme_plan, 80, context={"server": "https://homer.example.net", "api": "v3"})
    assert shown == "".join(line.rstrip() + "\n" for line in out.splitlines())
