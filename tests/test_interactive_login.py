"""Interactive login: on a terminal, a username without a password is asked for it once, hidden;
without a terminal (CI, cron, a pipe) it stays a usage error and nothing is asked."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.cli import environment as cli_environment

from waiting import DEADLINE

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "sipcapture"
PROMPT = "Password for admin at "


def _env(tmp_path, emulator):
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "HOMER_URL": emulator.url, "HOMER_USERNAME": "admin",
            "HOMER_PASSWORD": None, "HOMER_TOKEN": None, "HOMER_API": None}


@pytest.fixture
def terminal(monkeypatch):
    """Standard input counts as a terminal (the CLI's only way of asking)."""
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: stream is sys.stdin)


def test_a_username_without_password_is_asked_once_on_a_terminal(emulator, tmp_path, terminal):
    result = CliRunner().invoke(cli, ["check"], env=_env(tmp_path, emulator), input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(PROMPT) == 1
    assert f"{PROMPT}{emulator.url}: \n" in result.stderr  # nothing echoed after the prompt
    assert "auth:    password" in result.stdout
    assert [r[:2] for r in emulator.request_log].count(("POST", "/api/v3/auth")) == 1


def test_the_prompt_is_not_shown_when_a_password_is_given(emulator, tmp_path, terminal):
    env = dict(_env(tmp_path, emulator), HOMER_PASSWORD=PASSWORD)
    result = CliRunner().invoke(cli, ["check"], env=env, input="")
    assert result.exit_code == 0, result.output
    assert PROMPT not in result.output


def test_an_empty_answer_is_the_usage_error_and_no_request(emulator, tmp_path, terminal):
    result = CliRunner().invoke(cli, ["check"], env=_env(tmp_path, emulator), input="\n")
    assert result.exit_code == 64
    assert result.stderr.count(PROMPT) == 1
    assert "no credentials: give --username with a password" in result.stderr
    assert emulator.request_log == []


def test_without_a_terminal_nothing_is_asked(emulator, tmp_path):
    result = CliRunner().invoke(cli, ["check"], env=_env(tmp_path, emulator), input=PASSWORD + "\n")
    assert result.exit_code == 64
    assert PROMPT not in result.output
    assert "no credentials: give --username with a password" in result.stderr
    assert emulator.request_log == []


def test_an_inventory_on_standard_input_is_never_mistaken_for_the_answer(emulator, tmp_path, terminal):
    inventory = "version: 1\naliases:\n  - {alias: a1, ip: 10.0.0.1}\n"
    result = CliRunner().invoke(cli, ["plan", "-"], env=_env(tmp_path, emulator), input=inventory)
    assert result.exit_code == 64
    assert PROMPT not in result.output


# -- a real terminal --------------------------------------------------------------------------------


def _read_until(fd: int, seen: bytearray, done) -> None:
    """Read the terminal until ``done(seen)`` or end of output; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not done(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"terminal output not as expected within {DEADLINE:.0f} s: {bytes(seen)!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the program exited and closed the terminal
            return
        if not chunk:
            return
        seen.extend(chunk)


def test_on_a_real_terminal_the_password_is_read_without_echo(emulator, tmp_path, output_guard):
    import pty

    master, slave = pty.openpty()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOMER_")}
    env.update(PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"), HOMER_URL=emulator.url,
               HOMER_USERNAME="admin", NO_COLOR="1")
    # A new session without a controlling terminal: the prompt is read from standard input, the pty.
    child = subprocess.Popen([sys.executable, "-m", "homer_sync", "check"], stdin=slave, stdout=slave, stderr=slave,
                             env=env, cwd=tmp_path, start_new_session=True, close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, seen, lambda out: PROMPT.encode() in out and out.rstrip().endswith(b":"))
        os.write(master, PASSWORD.encode() + b"\n")
        _read_until(master, seen, lambda out: False)  # to the end of the output
        assert child.wait(timeout=DEADLINE) == 0, bytes(seen)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    text = seen.decode("utf-8", "replace")
    output_guard.record(text)
    assert text.count(PROMPT) == 1
    assert PASSWORD not in text  # not echoed
    assert "auth:    password" in text
    assert [r[:2] for r in emulator.request_log].count(("POST", "/api/v3/auth")) == 1
