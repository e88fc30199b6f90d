"""CLI behaviour that needs no server: help, version, usage errors, validate, demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import homer_sync
from homer_sync import __version__
from homer_sync.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inventory.example.yaml"
COMMANDS = ["validate", "plan", "apply", "export", "check", "lookup", "demo"]


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_every_command_has_help_with_an_example():
    for command in COMMANDS:
        result = invoke(command, "--help")
        assert result.exit_code == 0, command
        assert "Example" in result.output, command


def test_top_level_help_documents_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "64"):
        assert f"  {code}" in result.output


def test_usage_errors_exit_64_not_2():
    assert invoke("validate").exit_code == 64
    assert invoke("plan", "--output", "xml", "x.yaml").exit_code == 64
    assert invoke("-v", "-q", "validate", str(EXAMPLE)).exit_code == 64


def test_network_command_without_url_is_a_usage_error(tmp_path, monkeypatch):
    for var in ("HOMER_URL", "HOMER_USERNAME", "HOMER_PASSWORD", "HOMER_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = invoke("plan", str(EXAMPLE))
    assert result.exit_code == 64
    assert "HOMER_URL" in result.output


def test_validate_example_inventory():
    result = invoke("validate", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "warning" not in result.output.lower()


def test_validate_reports_every_problem_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\n"
        "aliases:\n"
        "  - {alias: a1, ip: 10.0.0.1/24}\n"
        "  - {alias: a2, ip: 10.0.0.300}\n"
        "  - {alias: a3, ip: 10.0.0.3, port: 70000}\n"
        "  - {alias: a4, ip: 10.0.0.4, captureId: 5}\n"
        "  - {alias: '', ip: 10.0.0.5}\n"
        "  - {alias: a6, ip: 10.0.0.6, status: 'yes'}\n"
    )
    result = invoke("validate", str(bad))
    assert result.exit_code == 1
    for line in range(3, 9):
        assert f"bad.yaml:{line}" in result.output, line


def test_validate_reads_stdin():
    result = invoke("validate", "-", input="version: 1\naliases:\n  - {alias: a1, ip: '2001:DB8::0001'}\n")
    assert result.exit_code == 0, result.output
    assert "1 alias" in result.output


def test_python_dash_m_works():
    proc = subprocess.run([sys.executable, "-m", "homer_sync", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_packaged_example_matches_the_repository_copy():
    packaged = Path(homer_sync.__file__).parent / "inventory.example.yaml"  # the installed package's copy
    assert packaged.read_text() == EXAMPLE.read_text()


def test_demo_runs_end_to_end(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    assert "sent 2 requests" in result.output
    assert "No changes: 15 unchanged, 1 undeclared kept." in result.output
    assert "    192.0.2.50/32  port 0  capture 0  lab-phone" in result.output


def test_password_stdin_and_inventory_from_stdin_conflict():
    result = invoke(
        "plan", "-", "--url", "http://127.0.0.1:9", "--username", "admin", "--password-stdin",
        input="version: 1\naliases:\n  - {alias: a1, ip: 10.0.0.1}\n",
    )
    assert result.exit_code == 64
    assert "--password-stdin" in result.output


def test_interrupt_guard_handles_sigint_and_sigterm_only_while_running():
    import signal

    from homer_sync.cli import App, InterruptGuard

    def mine(signum, frame):  # pragma: no cover - never delivered
        pass

    previous_int = signal.signal(signal.SIGINT, mine)
    previous_term = signal.getsignal(signal.SIGTERM)
    try:
        with InterruptGuard(App(quiet=True)) as stop:
            assert signal.getsignal(signal.SIGINT) is not mine
            assert signal.getsignal(signal.SIGTERM) is not previous_term
            signal.raise_signal(signal.SIGTERM)
            assert stop.is_set()
        assert signal.getsignal(signal.SIGINT) is mine
        assert signal.getsignal(signal.SIGTERM) is previous_term
    finally:
        signal.signal(signal.SIGINT, previous_int)
