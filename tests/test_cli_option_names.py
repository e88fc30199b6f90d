"""One name for the output format on every command (--output, -o); --save names the saved plan. The
older names (export --format, plan --out) still work, hidden from --help."""

from __future__ import annotations

import json

import pytest

from homer_sync.cli import cli

INVENTORY = "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n"


@pytest.fixture
def inv(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY)
    return str(path)


def test_every_output_format_option_is_output_with_short_o():
    for name, command in cli.commands.items():
        formats = [p for p in command.params if p.name == "output"]
        if name in ("plan", "apply", "export", "check", "show"):
            assert [sorted(p.opts) for p in formats] == [["--output", "-o"]], name
        else:
            assert formats == [], name


def test_short_o_on_plan_apply_check(cli_run, emulator, inv):
    plan = json.loads(cli_run("plan", "-o", "json", inv, emulator=emulator).stdout)
    assert plan["summary"]["create"] == 1
    applied = json.loads(cli_run("apply", "--yes", "-o", "json", inv, emulator=emulator).stdout)
    assert applied["apply"]["summary"]["created"] == 1
    check = json.loads(cli_run("check", "-o", "json", emulator=emulator).stdout)
    assert check["aliases"] == 1


def test_export_output_and_its_older_name_format(cli_run, emulator, inv):
    assert cli_run("apply", "--yes", inv, emulator=emulator).exit_code == 0
    expected = "# exact: true\nalias,ip,port,mask,capture_id,status\npcscf01,10.0.1.10,5060,32,0,true\n"
    for flag in ("--output", "-o", "--format"):
        result = cli_run("export", flag, "csv", emulator=emulator)
        assert (result.exit_code, result.stdout) == (0, expected), flag


def test_export_format_and_output_together_is_a_usage_error(cli_run, emulator):
    result = cli_run("export", "--format", "csv", "-o", "json", emulator=emulator)
    assert result.exit_code == 64
    assert result.stderr.splitlines()[-1] == "Error: --format is an older name of --output; give --output only"
    assert emulator.request_log == []


def test_export_format_is_checked_like_output(cli_run, emulator):
    result = cli_run("export", "--format", "xml", emulator=emulator)
    assert result.exit_code == 64
    assert "'xml' is not one of 'yaml', 'json', 'csv'" in result.stderr


@pytest.mark.parametrize("flag", ["--save", "--out"])
def test_plan_save_and_its_older_name_out(cli_run, emulator, inv, tmp_path, flag):
    saved = tmp_path / "reviewed.plan"
    result = cli_run("plan", inv, flag, saved, emulator=emulator)
    assert result.exit_code == 0
    assert result.stderr == f"Plan saved to {saved}; apply it with: homer-sync apply --plan {saved}\n"
    assert json.loads(saved.read_text())["summary"]["create"] == 1
    assert cli_run("apply", "--yes", "--plan", saved, emulator=emulator).exit_code == 0
    assert [a["alias"] for a in emulator.aliases()] == ["pcscf01"]


def test_plan_save_and_out_together_is_a_usage_error(cli_run, emulator, inv, tmp_path):
    result = cli_run("plan", inv, "--save", tmp_path / "a.plan", "--out", tmp_path / "b.plan", emulator=emulator)
    assert result.exit_code == 64
    assert result.stderr.splitlines()[-1] == "Error: --out is an older name of --save; give --save only"
    assert not (tmp_path / "a.plan").exists() and not (tmp_path / "b.plan").exists()


def test_older_names_are_hidden_from_help(cli_run):
    plan_help = cli_run("plan", "--help").stdout
    assert "--save PLANFILE" in plan_help
    assert "-o, --output [auto|table|plain|json|markdown|jsonl]" in plan_help
    assert "--out " not in plan_help
    export_help = cli_run("export", "--help").stdout
    assert "-o, --output [yaml|json|csv]" in export_help
    assert "--format" not in export_help
