"""type: command — argv without a shell, a timeout, and every way a program can fail the run."""

from __future__ import annotations

import sys
import textwrap

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.errors import InventoryError
from homer_sync.inventory import SourceFailure, load_inventory, open_inventory
from homer_sync.sources import command

PY = sys.executable


def inventory(tmp_path, argv, extra=""):
    path = tmp_path / "inventory.yaml"
    items = ", ".join(f'"{a}"' for a in argv)
    path.write_text(f"version: 1\nsources:\n  - type: command\n    argv: [{items}]\n{extra}", encoding="utf-8")
    return str(path)


def script(tmp_path, body, name="gen.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return str(path)


def test_program_output_becomes_entries_and_runs_without_a_shell(tmp_path):
    gen = script(tmp_path, """\
        import json, os, sys
        # the arguments arrive as given: no shell splits or expands them
        print(json.dumps({"version": 1, "aliases": [
            {"alias": sys.argv[1], "ip": "10.0.0.1"},
            {"alias": "cwd-" + os.path.basename(os.getcwd()), "ip": "10.0.0.2", "port": [5060]},
        ]}))
        """)
    path = inventory(tmp_path, [PY, gen, "name with $HOME; and *"])
    inv = load_inventory([path])
    assert {(a.name, a.ip, a.port) for a in inv.aliases} == {
        ("name with $HOME; and *", "10.0.0.1", 0), (f"cwd-{tmp_path.name}", "10.0.0.2", 5060)}
    origins = [e.origin for e in inv.collected[0].entries]
    assert origins == [f"command {PY} output line 1", f"command {PY} output line 1"]


def test_yaml_list_output_with_lines_in_origins(tmp_path):
    gen = script(tmp_path, """\
        print("- alias: a01\\n  ip: 10.0.0.1\\n- alias: a02\\n  ip: 10.0.0.300\\n")
        """)
    with pytest.raises(InventoryError) as caught:
        load_inventory([inventory(tmp_path, [PY, gen])])
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"command {PY} output line 3: ip: '10.0.0.300'")


@pytest.mark.parametrize(("body", "expected"), [
    ("import sys; sys.stderr.write('ansible: inventory not found\\n'); sys.exit(3)",
     "exited with status 3: ansible: inventory not found"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal 9"),
    ("pass", "printed nothing; expected inventory YAML or JSON (print [] for no aliases)"),
    ("print('aliases: [unclosed')", "printed invalid output: output:2: invalid YAML:"),
    ("print('{\"hosts\": []}')", "printed a mapping with 'hosts'; expected 'aliases' (and 'version: 1')"),
    ("print('42')", "printed something that is neither a list of aliases nor a mapping with aliases"),
])
def test_failures_name_the_program_and_the_reason(tmp_path, body, expected):
    gen = script(tmp_path, body)
    with pytest.raises(SourceFailure) as caught:
        load_inventory([inventory(tmp_path, [PY, gen])])
    assert f"sources[0] command: command {PY}: {expected}" in str(caught.value)


def test_timeout_stops_the_program(tmp_path):
    gen = script(tmp_path, "import time\nwhile True: time.sleep(0.05)\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([inventory(tmp_path, [PY, gen], extra="    timeout: 0.5\n")])
    assert "did not finish within 0.5s (timeout); it was stopped" in str(caught.value)


def test_missing_program(tmp_path):
    with pytest.raises(SourceFailure) as caught:
        load_inventory([inventory(tmp_path, ["./no-such-program"])])
    assert "command ./no-such-program: cannot run it: No such file or directory" in str(caught.value)


def test_relative_program_runs_from_the_inventory_directory(tmp_path, monkeypatch):
    gen = tmp_path / "inventory-from-ansible.sh"
    gen.write_text("#!/bin/sh\necho '[{alias: a01, ip: 10.0.0.1}]'\n", encoding="utf-8")
    gen.chmod(0o755)
    monkeypatch.chdir("/")
    assert [a.name for a in load_inventory([inventory(tmp_path, ["./inventory-from-ansible.sh"])]).aliases] == ["a01"]


@pytest.mark.parametrize(("config", "message"), [
    ("    argv: ./x.sh --env prod\n", "sources[0].argv: argv must be a list (no shell is used), e.g. [./x.sh, ...]"),
    ("    argv: []\n", "sources[0].argv: argv must be a non-empty list of strings"),
    ("    argv: [x, {a: 1}]\n", "sources[0].argv[1]: each argument must be a string"),
    ("    argv: [x]\n    timeout: 0\n", "sources[0].timeout: timeout must be a number of seconds above 0"),
    ("    argv: [x]\n    shell: true\n",
     "sources[0].shell: unknown key 'shell'; a command source takes: argv, timeout"),
    ("    args: [x]\n", "sources[0]: missing argv (the program and its arguments, as a list; no shell is used)"),
])
def test_configuration_checked_offline(tmp_path, config, message):
    path = tmp_path / "inventory.yaml"
    path.write_text("version: 1\nsources:\n  - type: command\n" + config, encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        open_inventory([str(path)])
    assert message in [str(p).split(": ", 1)[1] for p in caught.value.problems]


def test_failing_program_fails_apply_with_nothing_written(tmp_path, emulator):
    gen = script(tmp_path, "import sys; sys.exit(1)")
    path = inventory(tmp_path, [PY, gen], extra="aliases: [{alias: a01, ip: 10.0.0.1}]\n")
    result = CliRunner().invoke(cli, ["apply", "--yes", "--url", emulator.url, "--username", "admin",
                                      "--password", "sipcapture", path])
    assert result.exit_code == 1
    assert f"command {PY}: exited with status 1" in result.stderr
    assert emulator.aliases() == []


def test_check_is_pure():
    assert command.check({"argv": ["x"], "timeout": 5}) == []
