"""The README's overlap warning and per-port lookup answer are what the CLI prints."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from homer_sync.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
INVENTORY = """\
version: 1
aliases:
  - {alias: core-net, ip: 10.0.0.0/16}
  - {alias: sbc01, ip: 10.0.1.5, port: 5060}
"""


def text_block(marker: str) -> str:
    for chunk in README.read_text(encoding="utf-8").split("```text\n")[1:]:
        body = chunk.split("\n```", 1)[0] + "\n"
        if marker in body:
            return body
    raise AssertionError(f"README has no text block with {marker!r}")


def test_readme_overlap_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("inventory.yaml").write_text(INVENTORY)
    result = CliRunner().invoke(cli, ["validate", "inventory.yaml"])
    assert result.exit_code == 0
    assert result.stdout == "inventory.yaml: valid, 2 aliases, 1 warning\n"
    assert result.stderr == text_block("hides 'core-net'")


def test_readme_per_port_lookup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("inventory.yaml").write_text(INVENTORY)
    result = CliRunner().invoke(cli, ["lookup", "10.0.1.5", "--inventory", "inventory.yaml"])
    assert result.exit_code == 0
    shown = text_block("port 5060: sbc01")
    assert result.stdout.startswith(shown)
    assert result.stdout[len(shown):] == (
        "Candidates, longest prefix first:\n"
        "  port 5060 only: 10.0.1.5/32 port 5060 capture 0 'sbc01'\n"
        "  shadowed by longer prefix 10.0.1.5/32: 10.0.0.0/16 port 0 capture 0 'core-net'\n"
    )
