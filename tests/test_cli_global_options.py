"""Global options work before the command and after it, on every command; given after the command, an
option wins over its value before it (as the connection options do)."""

from __future__ import annotations

import re

import pytest

from homer_sync.cli import GLOBAL_KEYS, cli
from homer_sync.cli import environment as cli_environment
from homer_sync.lock import run_lock

TWO_ALIASES = "version: 1\naliases:\n  - {alias: host-a1, ip: 10.0.0.1, port: [5060, 5061]}\n"


@pytest.fixture
def inv(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text(TWO_ALIASES)
    return str(path)


def both_positions(option: list[str], command: list[str]) -> list[list[str]]:
    """The argument lists with ``option`` before the command, right after it, and at the end."""
    return [option + command, command[:1] + option + command[1:], command + option]


def test_every_command_takes_every_global_option():
    for name, command in cli.commands.items():
        names = {param.name for param in command.params}
        assert set(GLOBAL_KEYS) <= names, name


def test_verbose_in_either_place_logs_the_requests(cli_run, emulator, inv):
    for args in both_positions(["-v"], ["plan", inv]):
        result = cli_run(*args, emulator=emulator)
        assert result.exit_code == 0, args
        lines = [line for line in result.stderr.splitlines() if line.startswith("HTTP ")]
        assert [re.sub(r"\d+ms$", "Nms", line) for line in lines] == [
            "HTTP POST /api/v3/auth 201 Nms", "HTTP GET /api/v3/alias 201 Nms"], args


def test_quiet_in_either_place_prints_nothing(cli_run, inv):
    assert cli_run("validate", inv).stdout == f"{inv}: valid, 2 aliases\n"
    for args in both_positions(["-q"], ["validate", inv]):
        result = cli_run(*args)
        assert (result.exit_code, result.output) == (0, ""), args


def test_verbose_and_quiet_in_different_places_are_still_a_usage_error(cli_run, inv):
    for args in (["-q", "validate", inv, "-v"], ["-v", "validate", "-q", inv]):
        result = cli_run(*args)
        assert result.exit_code == 64
        assert result.stderr.splitlines()[-1] == "Error: -v and -q cannot be used together"


def test_no_color_in_either_place_prints_plain_lines_on_a_terminal(cli_run, emulator, inv, monkeypatch):
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = cli_run("plan", inv, emulator=emulator)
    assert "\x1b[" in coloured.stdout
    for args in both_positions(["--no-color"], ["plan", inv]):
        result = cli_run(*args, emulator=emulator)
        assert result.exit_code == 0, args
        assert "\x1b[" not in result.stdout, args
        assert result.stdout.splitlines()[-1] == "Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged."


def test_max_aliases_in_either_place(cli_run, inv):
    for args in both_positions(["--max-aliases", "1"], ["validate", inv]):
        result = cli_run(*args)
        assert result.exit_code == 1, args
        assert "over the limit of 1 aliases" in result.stderr, args


def test_max_aliases_after_the_command_wins(cli_run, inv):
    assert cli_run("--max-aliases", "1", "validate", inv, "--max-aliases", "2").exit_code == 0
    assert cli_run("--max-aliases", "2", "validate", inv, "--max-aliases", "1").exit_code == 1


def test_lock_file_in_either_place_is_the_lock_apply_takes(cli_run, emulator, inv, tmp_path):
    lock = tmp_path / "held.lock"
    with run_lock(lock):
        for args in both_positions(["--lock-file", str(lock)], ["apply", "--yes", inv]):
            result = cli_run(*args, emulator=emulator)
            assert result.exit_code == 1, args
            assert result.stderr.startswith(f"Error: another homer-sync run holds the lock {lock} (pid "), args
            assert result.stderr.endswith("; retry later or raise --lock-wait\n")
    assert emulator.aliases() == []
    assert cli_run("apply", "--yes", inv, "--lock-file", str(lock), emulator=emulator).exit_code == 0
    assert len(emulator.aliases()) == 2


@pytest.fixture
def lock_waits(monkeypatch):
    """The wait each apply asked the run lock for."""
    import homer_sync.lock as lock_module

    waits = []
    real = lock_module.run_lock

    def recording(path, *, wait=0.0, **kwargs):
        waits.append(wait)
        return real(path, wait=wait, **kwargs)

    monkeypatch.setattr(lock_module, "run_lock", recording)
    return waits


def test_lock_wait_in_either_place(cli_run, emulator, inv, lock_waits):
    for args in both_positions(["--lock-wait", "5"], ["apply", "--yes", inv]):
        assert cli_run(*args, emulator=emulator).exit_code == 0, args
    assert cli_run("apply", "--yes", inv, emulator=emulator).exit_code == 0
    assert lock_waits == [5.0, 5.0, 5.0, 0.0]


def test_lock_wait_after_the_command_wins(cli_run, emulator, inv, lock_waits, tmp_path):
    lock = tmp_path / "held.lock"
    with run_lock(lock):
        result = cli_run("--lock-wait", "30", "apply", "--yes", "--lock-wait", "0", inv, "--lock-file", str(lock),
                         emulator=emulator)
    assert result.exit_code == 1
    assert "retry later or raise --lock-wait" in result.stderr
    assert lock_waits == [0.0]
