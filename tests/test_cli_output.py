"""Output modes through the CLI: table on a terminal, plain lines otherwise, json, markdown,
-q, -v, the progress bar, exit codes. Against the HOMER 7 emulator over loopback.

CliRunner's streams are not terminals; the terminal path is tested by patching
``cli.environment.is_tty``, the one place where the CLI asks.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.cli import environment as cli_environment

PASSWORD = "sipcapture"
GREEN, RED, YELLOW = "\x1b[32m", "\x1b[31m", "\x1b[33m"

INVENTORY = """\
version: 1
aliases:
  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}
  - {alias: scscf01, ip: 10.0.1.20, port: 5060}
  - {alias: ims-core, ip: 10.0.0.0/24, capture_id: CAP101}
"""
# on the server: one to rename, one unchanged, one not in the inventory (deleted with --prune)
SERVER = [
    {"alias": "old-name", "ip": "10.0.1.20", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "ims-core", "ip": "10.0.0.0", "port": 0, "mask": 24, "captureID": "CAP101", "status": True},
    {"alias": "stale", "ip": "10.0.9.9", "port": 0, "mask": 32, "captureID": "0", "status": True},
]


@pytest.fixture
def run(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")  # rich colours a (patched) terminal unless TERM=dumb
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD}

    def invoke(*args, extra_env=None, input=None):
        result = CliRunner().invoke(cli, list(args), env={**env, **(extra_env or {})}, input=input,
                                    catch_exceptions=False)
        assert PASSWORD not in result.output
        return result

    return invoke


@pytest.fixture
def inv(tmp_path, emulator):
    emulator.seed(SERVER)
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY)
    return str(path)


@pytest.fixture
def tty(monkeypatch):
    """Every stream counts as a terminal."""
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: True)


def test_plain_lines_when_stdout_is_not_a_terminal(run, inv, emulator):
    result = run("plan", "--prune", inv)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"server: {emulator.url}, api: v3\n"
        "create  10.0.1.10/32  port 5060  capture 0  pcscf01\n"
        "update  10.0.1.20/32  port 5060  capture 0  old-name -> scscf01\n"
        "delete  10.0.9.9/32   port 0     capture 0  stale  # not in the inventory (prune)\n"
        "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged.\n"
    )
    assert "\x1b[" not in result.output


def test_terminal_gets_a_coloured_table_with_summary(run, inv, tty):
    result = run("plan", "--prune", inv)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "─" * 20 in out  # a rich table: the rule under its headings
    for heading in ("address", "port", "capture", "name", "reason"):
        assert heading in out
    # each row coloured by its action, its symbol in bold
    assert re.search(r"^\x1b\[1;32m\+\x1b\[0m\x1b\[32m.*\x1b\[32m10\.0\.1\.10/32", out, re.M)
    assert re.search(r"^\x1b\[1;33m~\x1b\[0m\x1b\[33m.*\x1b\[33m10\.0\.1\.20/32", out, re.M)
    assert re.search(r"^\x1b\[1;31m-\x1b\[0m\x1b\[31m.*\x1b\[31m10\.0\.9\.9/32", out, re.M)
    assert "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged." in out


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_color_on_a_terminal_gives_plain_lines(run, inv, tty, how):
    if how == "NO_COLOR":
        result = run("plan", "--prune", inv, extra_env={"NO_COLOR": "1"})
    else:
        result = run("--no-color", "plan", "--prune", inv)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "create  10.0.1.10/32  port 5060  capture 0  pcscf01",
        "update  10.0.1.20/32  port 5060  capture 0  old-name -> scscf01",
        "delete  10.0.9.9/32   port 0     capture 0  stale  # not in the inventory (prune)",
        "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged.",
    ]


def test_explicit_table_into_a_pipe_has_no_escape_sequences(run, inv):
    result = run("plan", "--prune", "--output", "table", inv)
    assert result.exit_code == 0, result.output
    assert "─" * 20 in result.stdout
    assert "\x1b[" not in result.output


def test_no_changes_table_and_plain(run, emulator, tmp_path, tty):
    emulator.seed(SERVER[1:2])
    path = tmp_path / "one.yaml"
    path.write_text("version: 1\naliases:\n  - {alias: ims-core, ip: 10.0.0.0/24, capture_id: CAP101}\n")
    table = run("plan", str(path))
    assert table.exit_code == 0
    assert "No changes. HOMER matches the inventory (1 alias)." in table.stdout
    plain = run("--no-color", "plan", str(path))
    assert plain.stdout.splitlines()[-1] == "No changes. HOMER matches the inventory (1 alias)."


def test_json_schema(run, inv, emulator):
    result = run("plan", "--prune", "--output", "json", inv)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema_version", "server", "api", "refused", "state_checksum", "prune", "summary", "changes",
                         "left_alone"]
    assert "prunable" not in doc  # only when prune.only or an owner narrows what prune may touch
    assert doc["schema_version"] == 1
    assert doc["server"] == emulator.url and doc["api"] == "v3" and doc["prune"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", doc["state_checksum"])
    assert doc["summary"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 1, "existing": 3, "desired": 3}
    assert [c["action"] for c in doc["changes"]] == ["create", "update", "delete"]
    for change in doc["changes"]:
        kind = ["kind"] if change["action"] == "delete" else []  # why it is deleted, as a fact
        assert list(change) == ["action", "reason", "before", "after", *kind]
    create, update, delete = doc["changes"]
    assert create["before"] is None and delete["after"] is None
    assert create["after"] == {"alias": "pcscf01", "ip": "10.0.1.10", "mask": 32, "port": 5060,
                               "capture_id": "0", "status": True}
    assert update["before"]["alias"] == "old-name" and update["after"]["alias"] == "scscf01"
    assert update["before"]["guid"] == update["after"]["guid"]  # an update keeps the guid
    assert delete["before"]["alias"] == "stale" and delete["reason"] == "not in the inventory (prune)"


def test_json_is_not_coloured_on_a_terminal_either(run, inv, tty):
    result = run("plan", "--output", "json", inv)
    assert result.exit_code == 0
    json.loads(result.stdout)


def test_apply_json_is_one_document_with_the_result(run, inv, emulator):
    result = run("apply", "--yes", "--prune", "--output", "json", inv)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # one document, not two
    assert doc["schema_version"] == 1 and doc["summary"]["create"] == 1
    applied = doc["apply"]
    assert applied["ok"] is True and applied["verified"] is True
    assert applied["summary"] == {"created": 1, "updated": 1, "deleted": 1, "failed": 0, "not_started": 0,
                                  "not_verified": 0}
    assert applied["backup"].endswith(".yaml")
    assert applied["failures"] == [] and applied["not_started"] == [] and applied["verify_problems"] == []

    again = run("apply", "--yes", "--prune", "--output", "json", inv)
    doc = json.loads(again.stdout)
    assert doc["changes"] == [] and doc["apply"] is None


def test_apply_json_when_refused_as_unsafe_still_prints_the_plan(run, emulator, tmp_path):
    emulator.seed([{"alias": f"h{i}", "ip": f"10.0.2.{i}", "port": 0, "mask": 32, "captureID": "0",
                    "status": True} for i in range(10)])
    path = tmp_path / "few.yaml"
    path.write_text("version: 1\naliases:\n  - {alias: h0, ip: 10.0.2.0}\n")
    result = run("apply", "--yes", "--prune", "--output", "json", str(path))
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["summary"]["delete"] == 9 and doc["apply"] is None
    assert "90.00% of existing aliases would be deleted" in result.stderr
    assert len(emulator.aliases()) == 10


def test_markdown_for_a_merge_request(run, inv, emulator):
    result = run("plan", "--prune", "--output", "markdown", inv)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "## homer-sync plan\n"
        "\n"
        f"server: `{emulator.url}`, api: `v3`\n"
        "\n"
        "**Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged.**\n"
        "\n"
        "| action | address | port | capture | name | reason |\n"
        "|---|---|---|---|---|---|\n"
        "| create | 10.0.1.10/32 | 5060 | 0 | pcscf01 | not on the server |\n"
        "| update | 10.0.1.20/32 | 5060 | 0 | old-name -> scscf01 | name 'old-name' -> 'scscf01' |\n"
        "| delete | 10.0.9.9/32 | 0 | 0 | stale | not in the inventory (prune) |\n"
    )


def test_quiet_prints_nothing_but_errors(run, inv, emulator, tmp_path, tty):
    warned = tmp_path / "warned.yaml"  # a name the HOMER 7 UI refuses: a warning, silenced by -q
    warned.write_text(INVENTORY + "  - {alias: 'x y', ip: 10.0.7.7}\n")
    planned = run("-q", "plan", "--prune", str(warned))
    assert planned.exit_code == 0
    assert planned.stdout == "" and planned.stderr == ""
    assert run("-q", "validate", str(warned)).output == ""

    applied = run("-q", "apply", "--yes", "--prune", inv)  # a backup note, a table, a bar: none shown
    assert applied.exit_code == 0
    assert applied.stdout == "" and applied.stderr == ""
    assert sorted(a["alias"] for a in emulator.aliases()) == ["ims-core", "pcscf01", "scscf01"]

    failed = run("-q", "plan", inv, extra_env={"HOMER_PASSWORD": "wrong-password"})
    assert failed.exit_code == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith("Error: ")
    assert "wrong-password" not in failed.output


def test_verbose_adds_one_line_per_request_without_secrets(run, inv, emulator):
    result = run("-v", "plan", inv)
    assert result.exit_code == 0, result.output
    http = [line for line in result.stderr.splitlines() if line.startswith("HTTP ")]
    assert len(http) == 2
    for line in http:
        assert re.fullmatch(r"HTTP (GET|POST|PUT|DELETE) /\S* (\d{3}|-) \d+ms", line), line
    assert http[0].startswith("HTTP POST /api/v3/auth 201 ")
    assert http[1].startswith("HTTP GET /api/v3/alias 201 ")
    assert "HTTP " not in result.stdout  # the plan on stdout stays clean
    assert "eyJ" not in result.output  # no JWT
    assert PASSWORD not in result.output

    applied = run("-v", "apply", "--yes", inv)
    methods = [line.split()[1] for line in applied.stderr.splitlines() if line.startswith("HTTP ")]
    # login, list, then the create and the update (concurrent: either order), then the verifying list
    assert methods[:2] == ["POST", "GET"] and sorted(methods[2:4]) == ["POST", "PUT"] and methods[4:] == ["GET"]


def test_verbose_with_a_token_never_shows_it(run, inv, emulator):
    token = emulator.add_token()
    result = run("-v", "plan", inv, extra_env={"HOMER_USERNAME": "", "HOMER_PASSWORD": "", "HOMER_TOKEN": token})
    assert result.exit_code == 0, result.output
    assert any(line.startswith("HTTP GET /api/v3/alias 201") for line in result.stderr.splitlines())
    assert token not in result.output


def test_verbose_and_quiet_together_are_a_usage_error(run, inv):
    assert run("-v", "-q", "plan", inv).exit_code == 64


def _many(tmp_path, count):
    lines = "".join(f"  - {{alias: host{i}, ip: 10.0.5.{i}}}\n" for i in range(count))
    path = tmp_path / f"many{count}.yaml"
    path.write_text("version: 1\naliases:\n" + lines)
    return str(path)


def test_progress_bar_on_a_terminal_for_more_than_five_changes(run, tmp_path, tty):
    result = run("apply", "--yes", _many(tmp_path, 6))
    assert result.exit_code == 0, result.output
    assert "applying" in result.stderr and "6/6" in result.stderr
    assert "applying" not in result.stdout


def test_no_progress_bar_for_five_changes(run, tmp_path, tty):
    result = run("apply", "--yes", _many(tmp_path, 5))
    assert result.exit_code == 0, result.output
    assert "applying" not in result.output


def test_no_progress_bar_off_a_terminal(run, tmp_path):
    result = run("apply", "--yes", _many(tmp_path, 8))
    assert result.exit_code == 0, result.output
    assert "applying" not in result.output and "\x1b[" not in result.output
    assert result.stdout.splitlines()[-1] == "Apply complete: 8 created, 0 updated, 0 deleted; verified."


def test_no_progress_bar_when_quiet(run, tmp_path, tty):
    result = run("-q", "apply", "--yes", _many(tmp_path, 8))
    assert result.exit_code == 0
    assert result.output == ""


def test_exit_codes(run, inv, emulator, tmp_path):
    assert run("plan", inv).exit_code == 0
    assert run("plan", "--detailed-exitcode", inv).exit_code == 2
    assert run("apply", "--yes", inv).exit_code == 0
    assert run("plan", "--detailed-exitcode", inv).exit_code == 0
    assert run("plan", "--prune", "--detailed-exitcode", inv).exit_code == 2  # "stale" is still there
    assert run("plan", inv, extra_env={"HOMER_PASSWORD": "nope"}).exit_code == 1
    assert run("plan", "--output", "yaml", inv).exit_code == 64
    assert run("plan", str(tmp_path / "missing.yaml")).exit_code == 1

    emulator.seed([{"alias": f"h{i}", "ip": f"10.0.2.{i}", "port": 0, "mask": 32, "captureID": "0",
                    "status": True} for i in range(10)])
    unsafe = run("plan", "--prune", inv)
    assert unsafe.exit_code == 3
    assert unsafe.stdout.startswith("server: ")  # the refused plan is still shown
    assert run("plan", "--prune", "--force", inv).exit_code == 0
