"""`homer-sync show PLANFILE`: a saved plan with its server, creation time and inventory checksum,
in every output format, without contacting anything; `--check` lists the server (read only) and
says whether the plan is stale (exit 2)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest

from homer_sync.cli import environment as cli_environment
from homer_sync.demo import LEGACY_ALIASES

INVENTORY = "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n"
EXTRA = "version: 1\naliases:\n  - {alias: scscf01, ip: 10.0.1.20, port: 5060}\n"
WHEN = datetime(2026, 11, 28, 22, 45, 24, 500000, tzinfo=timezone.utc)


@pytest.fixture
def saved(cli_run, emulator, tmp_path, monkeypatch):
    """A plan saved from two inventory files at WHEN, against the demo's aliases."""
    emulator.seed(LEGACY_ALIASES)
    first, second = tmp_path / "inv.yaml", tmp_path / "extra.yaml"
    first.write_text(INVENTORY)
    second.write_text(EXTRA)
    path = tmp_path / "reviewed.plan"
    monkeypatch.setattr(cli_environment, "CLOCKS", cli_environment.Clocks(wall=WHEN.timestamp))
    result = cli_run("plan", "--save", path, first, second, emulator=emulator)
    assert result.exit_code == 0, result.output
    return path, first, second


def test_plan_out_records_creation_time_and_inventory_checksum(saved):
    path, first, second = saved
    data = json.loads(path.read_text())
    assert data["created"] == "2026-11-28T22:45:24Z"
    assert data["inventory_files"] == [str(first), str(second)]
    # cat inv.yaml extra.yaml | sha256sum
    assert data["inventory_checksum"] == hashlib.sha256((INVENTORY + EXTRA).encode()).hexdigest()


def test_show_needs_no_server(cli_run, saved, emulator):
    path, first, second = saved
    checksum = hashlib.sha256((INVENTORY + EXTRA).encode()).hexdigest()
    requests = len(emulator.request_log)
    result = cli_run("show", path)  # no HOMER_URL, no login
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"plan file: {path}\n"
        f"server:    {emulator.url} (API v3)\n"
        "created:   2026-11-28T22:45:24Z\n"
        f"inventory: {first}, {second}, sha256 {checksum}\n"
        "update  10.0.1.20/32  port 5060  capture 0  old-scscf -> scscf01\n"
        "delete  10.0.1.10/32  port 5060  capture 0  pcscf01  # duplicate of 10.0.1.10/32 port 5060 capture 0 "
        f"(kept {json.loads(path.read_text())['changes'][1]['kept']['guid'][:8]})\n"
        "Left alone on the server: 1 alias\n"
        "  not declared: kept (use --prune): 1\n"
        "    192.0.2.50/32  port 0  capture 0  lab-phone\n"
        "Plan: 0 to create, 1 to update, 1 to delete, 1 unchanged, 1 undeclared kept.\n"
    )
    assert len(emulator.request_log) == requests


def test_show_check_current_then_stale(cli_run, saved, emulator):
    path, *_ = saved
    current = cli_run("show", path, "--check", emulator=emulator)
    assert current.exit_code == 0, current.output
    assert current.stdout.splitlines()[-1] == (
        f"Current: the aliases on {emulator.url} are as they were when the plan was made; apply --plan would apply it.")
    assert [r for r in emulator.request_log if r[0] != "GET" and "auth" not in r[1]] == []  # read only
    emulator.seed([{"alias": "new", "ip": "10.9.9.9", "port": 0, "mask": 32, "captureID": "0", "status": True}])
    stale = cli_run("show", path, "--check", emulator=emulator)
    assert stale.exit_code == 2
    assert stale.stdout.splitlines()[-1] == (
        f"Stale: the aliases on {emulator.url} changed since the plan was made; apply --plan would refuse it. "
        "Run plan again and review the new plan.")
    # and apply --plan agrees
    assert cli_run("apply", "--yes", "--plan", path, emulator=emulator).exit_code == 1


def test_show_check_against_another_server(cli_run, saved, emulator, tmp_path):
    path, *_ = saved
    data = json.loads(path.read_text())
    data["server"] = "https://homer-lab.example.net"
    other = tmp_path / "lab.plan"
    other.write_text(json.dumps(data))
    result = cli_run("show", other, "--check", "--output", "json", emulator=emulator)
    assert result.exit_code == 2
    check = json.loads(result.stdout)["check"]
    assert check == {"current": False, "freshness": "other server", "server": emulator.url,
                     "detail": "https://homer-lab.example.net",
                     "message": f"Stale: the plan was made for https://homer-lab.example.net, not {emulator.url}; "
                                "apply --plan would refuse it."}


def test_show_json_and_markdown(cli_run, saved):
    path, first, second = saved
    doc = json.loads(cli_run("show", path, "--output", "json").stdout)
    assert list(doc)[:9] == ["schema_version", "plan_file", "server", "api", "created", "inventory_files",
                             "inventory_checksum", "refused", "state_checksum"]
    assert doc["created"] == "2026-11-28T22:45:24Z" and doc["check"] is None and doc["refused"] is None
    assert doc["inventory_files"] == [str(first), str(second)]
    assert doc["summary"]["update"] == 1
    md = cli_run("show", path, "--output", "markdown").stdout
    assert md.startswith("## homer-sync plan\n\nplan file: `")
    assert "created: `2026-11-28T22:45:24Z`" in md and "| update | 10.0.1.20/32 |" in md


def test_show_an_older_plan_file_without_the_new_keys(cli_run, saved, tmp_path):
    path, *_ = saved
    data = json.loads(path.read_text())
    for key in ("created", "inventory_files", "inventory_checksum", "server", "api"):
        data.pop(key)
    old = tmp_path / "old.plan"
    old.write_text(json.dumps(data))
    result = cli_run("show", old)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:4] == [
        "server:    unknown (saved by an older homer-sync)",
        "created:   unknown (saved by an older homer-sync)",
        "inventory: unknown (saved by an older homer-sync)",
    ]


def test_inventory_from_stdin_has_no_checksum(cli_run, emulator, tmp_path):
    emulator.seed(LEGACY_ALIASES)
    path = tmp_path / "stdin.plan"
    assert cli_run("plan", "--save", path, "-", emulator=emulator, input=INVENTORY).exit_code == 0
    assert json.loads(path.read_text())["inventory_checksum"] is None
    assert "inventory: - (read from standard input: no checksum)" in cli_run("show", path).stdout


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "Error: cannot read plan file {path}: Expecting value: line 1 column 1 (char 0)"),
    ("[]", "Error: plan file {path} is not a homer-sync plan"),
    ("{}", "Error: plan file {path}: invalid plan file: 'schema_version' is missing"),
])
def test_an_invalid_plan_file_is_one_line_exit_1(cli_run, tmp_path, content, message):
    path = tmp_path / "bad.plan"
    path.write_text(content)
    result = cli_run("show", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == message.format(path=path) + "\n"


def test_a_wrong_type_in_the_new_keys_is_refused(cli_run, saved, tmp_path):
    path, *_ = saved
    data = json.loads(path.read_text())
    data["created"] = 1764369924
    bad = tmp_path / "bad.plan"
    bad.write_text(json.dumps(data))
    result = cli_run("show", bad)
    assert result.exit_code == 1
    assert result.stderr == f"Error: plan file {bad}: invalid plan file: 'created' has the wrong type\n"


def test_a_missing_plan_file(cli_run, tmp_path):
    result = cli_run("show", tmp_path / "nope.plan")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot read plan file {tmp_path / 'nope.plan'}: ")


def test_apply_plan_reads_files_with_the_new_keys(cli_run, saved, emulator):
    path, *_ = saved
    result = cli_run("apply", "--yes", "--plan", path, emulator=emulator)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 created, 1 updated, 1 deleted; verified." in result.stdout


def test_readme_shows_the_real_show_output():
    """The README's `show` example is what render_saved_plan prints for such a file."""
    import io
    from dataclasses import replace
    from pathlib import Path

    from homer_sync.inventory import load_inventory
    from homer_sync.plan import build_plan
    from homer_sync.render import render_saved_plan
    from homer_sync.sync import InventoryFiles, SavedPlan

    root = Path(__file__).resolve().parents[1]
    declared = load_inventory([str(root / "inventory.example.yaml")]).aliases
    existing = [replace(a, guid=f"{i:08d}-0000-4000-8000-000000000000",
                        name="old-scscf" if a.name == "scscf01" else a.name) for i, a in enumerate(declared)]
    checksum = InventoryFiles.read([str(root / "inventory.example.yaml")]).checksum
    saved = SavedPlan(path=Path("reviewed.plan"), plan=build_plan(declared, existing), server="https://homer.example.net",
                      api="v3", created="2026-11-28T22:45:24Z", inventory_files=("inventory.yaml",),
                      inventory_checksum=checksum)
    stream = io.StringIO()
    render_saved_plan(saved, stream, fmt="plain")
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "```text\n" + stream.getvalue() + "```\n" in readme
