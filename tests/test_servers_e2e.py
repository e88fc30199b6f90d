"""Several HOMER servers from a config file: --config, --server, --all-servers, HOMER_SERVER,
end to end against two emulators on two free loopback ports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator
from homer_sync.errors import EXIT_CHANGES_PENDING, EXIT_ERROR, EXIT_OK, EXIT_UNSAFE, EXIT_USAGE
from homer_sync.runs import per_server_path, worst_exit_code

LAB_INVENTORY = "version: 1\naliases:\n  - {alias: lab-sbc, ip: 10.1.0.1, port: 5060}\n"
PROD_INVENTORY = "version: 1\naliases:\n  - {alias: prod-sbc, ip: 10.2.0.1, port: 5060}\n"


@pytest.fixture
def homers():
    with HomerEmulator(api="v3") as lab, HomerEmulator(api="v4") as prod:
        yield lab, prod


@pytest.fixture
def site(homers, tmp_path):
    """A config with lab (password from an env var) and prod (password file, default inventory)."""
    lab, prod = homers
    (tmp_path / "lab.yaml").write_text(LAB_INVENTORY)
    (tmp_path / "prod.yaml").write_text(PROD_INVENTORY)
    (tmp_path / "prod.pw").write_text("sipcapture\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
servers:
  lab:
    url: {lab.url}
    username: admin
    password_env: LAB_PASSWORD
    inventory: lab.yaml
  prod: {{url: {prod.url}, username: admin, password_file: prod.pw, api: v4, inventory: prod.yaml}}
""")
    return config


def invoke(tmp_path, *args, env=None, input=None):
    full_env = {"XDG_STATE_HOME": str(tmp_path / "state"), "LAB_PASSWORD": "sipcapture", "HOMER_URL": None,
                "HOMER_USERNAME": None, "HOMER_PASSWORD": None, "HOMER_TOKEN": None, "HOMER_API": None,
                "HOMER_SERVER": None, "HOMER_SYNC_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    full_env.update(env or {})
    return CliRunner().invoke(cli, [str(a) for a in args], env=full_env, input=input, catch_exceptions=False)


def names(emulator):
    return sorted(a["alias"] for a in emulator.aliases())


def test_plan_all_servers_reads_each_default_inventory_and_exits_with_the_worst_code(site, homers, tmp_path):
    lab, prod = homers
    prod.seed([{"alias": "prod-sbc", "ip": "10.2.0.1", "port": 5060, "mask": 32, "captureID": "0",
                "status": True}])
    result = invoke(tmp_path, "--config", site, "plan", "--all-servers", "--detailed-exitcode")
    assert result.exit_code == EXIT_CHANGES_PENDING, result.output
    out = result.stdout
    assert out.index(f"=== server lab ({lab.url}) ===") < out.index("create  10.1.0.1/32") < out.index(
        f"=== server prod ({prod.url}) ===")
    assert "No changes. HOMER matches the inventory (1 alias)." in out
    assert result.stderr.splitlines()[-3:] == [
        "Summary: 2 servers, 0 failed; exit code 2 (the worst of the servers': 64 > 1 > 3 > 2 > 0)",
        "  lab   ok (exit 2): Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.",
        "  prod  ok (exit 0): No changes. HOMER matches the inventory (1 alias).",
    ]


def test_a_failing_server_does_not_stop_the_others(site, homers, tmp_path):
    lab, prod = homers
    result = invoke(tmp_path, "--config", site, "apply", "--all-servers", "--yes",
                    env={"LAB_PASSWORD": "wrong-password"})
    assert result.exit_code == EXIT_ERROR
    assert names(lab) == []  # login refused: nothing written
    assert names(prod) == ["prod-sbc"]  # run after lab failed
    lines = result.stderr.splitlines()
    assert any(line.startswith("Error: server lab: ") and "incorrect password" in line for line in lines)
    summary = lines[lines.index(next(line for line in lines if line.startswith("Summary: "))):]
    assert summary[0] == "Summary: 2 servers, 1 failed; exit code 1 (the worst of the servers': 64 > 1 > 3 > 2 > 0)"
    assert summary[1].startswith("  lab   failed (exit 1): ") and "incorrect password" in summary[1]
    assert summary[2] == "  prod  ok: Apply complete: 1 created, 0 updated, 0 deleted; verified."
    assert summary[3] == "A failure on one server did not stop the others: every server was run."
    assert "wrong-password" not in result.output


def test_each_server_has_its_own_lock_and_saved_plan(site, homers, tmp_path):
    lab, prod = homers
    planned = invoke(tmp_path, "--config", site, "plan", "--server", "lab", "--server", "prod",
                     "--save", tmp_path / "reviewed.plan")
    assert planned.exit_code == EXIT_OK, planned.output
    lab_plan = json.loads((tmp_path / "reviewed.lab.plan").read_text())
    prod_plan = json.loads((tmp_path / "reviewed.prod.plan").read_text())
    assert (lab_plan["server"], prod_plan["server"]) == (lab.url, prod.url)
    assert not (tmp_path / "reviewed.plan").exists()
    applied = invoke(tmp_path, "--config", site, "apply", "--all-servers", "--yes",
                     "--plan", tmp_path / "reviewed.plan")
    assert applied.exit_code == EXIT_OK, applied.output
    assert (names(lab), names(prod)) == (["lab-sbc"], ["prod-sbc"])
    locks = sorted(p.name for p in (tmp_path / "state" / "homer-sync").glob("*.lock"))
    assert locks == ["homer-sync.lab.lock", "homer-sync.prod.lock"]


def test_homer_server_picks_one_server_and_flags_beat_the_file(site, homers, tmp_path):
    lab, prod = homers
    result = invoke(tmp_path, "--config", site, "check", env={"HOMER_SERVER": "prod"})
    assert result.exit_code == EXIT_OK, result.output
    assert f"server:  {prod.url}" in result.stdout and "Summary" not in result.output
    # a password from the environment beats the config's password_env
    flagged = invoke(tmp_path, "--config", site, "check", "--server", "lab",
                     env={"LAB_PASSWORD": "wrong", "HOMER_PASSWORD": "sipcapture"})
    assert flagged.exit_code == EXIT_OK, flagged.output
    # --url beats the config's url for one server, with a warning
    moved = invoke(tmp_path, "--config", site, "check", "--server", "lab", "--url", prod.url, "--api", "v4")
    assert moved.exit_code == EXIT_OK, moved.output
    assert f"server:  {prod.url}" in moved.stdout
    assert "Warning: --url overrides the url of server 'lab' in the config" in moved.stderr


def test_a_url_from_the_environment_with_several_servers_is_a_usage_error(site, homers, tmp_path):
    lab, _ = homers
    result = invoke(tmp_path, "--config", site, "apply", "--all-servers", "--yes", env={"HOMER_URL": lab.url})
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.count("HOMER_URL would send the run of every server to the same HOMER") == 1
    assert "Summary" not in result.stderr  # refused before any server is run
    assert lab.request_log == []


def test_config_from_environment_and_check_summary(site, homers, tmp_path):
    result = invoke(tmp_path, "check", "--all-servers", env={"HOMER_SYNC_CONFIG": str(site)})
    assert result.exit_code == EXIT_OK, result.output
    assert "  lab   ok: api v3, 0 aliases, admin yes" in result.stderr
    assert "  prod  ok: api v4, 0 aliases, admin yes" in result.stderr
    assert "did not stop" not in result.stderr


def test_json_output_with_several_servers_is_refused(site, tmp_path):
    result = invoke(tmp_path, "--config", site, "plan", "--all-servers", "--output", "json")
    assert result.exit_code == EXIT_USAGE
    assert "--output json is one document about one server" in result.stderr


def test_unknown_server_and_server_without_inventory(site, homers, tmp_path):
    unknown = invoke(tmp_path, "--config", site, "plan", "--server", "staging")
    assert unknown.exit_code == EXIT_ERROR
    assert "no server named 'staging' (servers: lab, prod)" in unknown.stderr
    lab, _ = homers
    bare = tmp_path / "bare.yaml"
    bare.write_text(f"servers:\n  lab: {{url: {lab.url}, username: admin, password_env: LAB_PASSWORD}}\n")
    missing = invoke(tmp_path, "--config", bare, "plan", "--server", "lab")
    assert missing.exit_code == EXIT_USAGE
    assert "server 'lab' has no inventory in the config" in missing.stderr
    assert lab.request_log == []


def test_a_default_config_that_is_broken_does_not_stop_runs_without_a_server(emulator, tmp_path):
    (tmp_path / "xdg" / "homer-sync").mkdir(parents=True)
    (tmp_path / "xdg" / "homer-sync" / "config.yaml").write_text("servers: [not, a, mapping]\n")
    result = invoke(tmp_path, "check", env={"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin",
                                            "HOMER_PASSWORD": "sipcapture"})
    assert result.exit_code == EXIT_OK, result.output


def test_worst_exit_code_ranks_errors_over_refusals_over_pending_changes():
    assert worst_exit_code([]) == EXIT_OK
    assert worst_exit_code([EXIT_OK, EXIT_CHANGES_PENDING]) == EXIT_CHANGES_PENDING
    assert worst_exit_code([EXIT_CHANGES_PENDING, EXIT_UNSAFE, EXIT_OK]) == EXIT_UNSAFE
    assert worst_exit_code([EXIT_UNSAFE, EXIT_ERROR, EXIT_CHANGES_PENDING]) == EXIT_ERROR
    assert worst_exit_code([EXIT_ERROR, EXIT_USAGE]) == EXIT_USAGE
    assert worst_exit_code([EXIT_OK, 130]) == 130  # an unknown code ranks as an error


def test_per_server_path_inserts_the_name_before_the_extension(tmp_path):
    assert per_server_path(tmp_path / "reviewed.plan", "lab") == tmp_path / "reviewed.lab.plan"
    assert per_server_path(tmp_path / "plan", "lab") == tmp_path / "plan.lab"


def test_the_readme_config_example_is_valid(tmp_path):
    from homer_sync.config import parse_config

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Several servers", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = parse_config(block, path=str(tmp_path / "config.yaml"))
    assert sorted(config.servers) == ["lab", "prod"]
    assert config.server("lab").inventory == (str(tmp_path / "inventories/lab.yaml"),)


def test_export_and_lookup_talk_to_one_named_server(site, homers, tmp_path):
    lab, prod = homers
    prod.seed([{"alias": "prod-sbc", "ip": "10.2.0.1", "port": 5060, "mask": 32, "captureID": "0",
                "status": True}])
    exported = invoke(tmp_path, "--config", site, "export", "--server", "prod")
    assert exported.exit_code == EXIT_OK, exported.output
    assert f"from {prod.url}: 1 aliases" in exported.stdout and "prod-sbc" in exported.stdout
    found = invoke(tmp_path, "--config", site, "--server", "prod", "lookup", "10.2.0.1", "--port", "5060")
    assert found.exit_code == EXIT_OK, found.output
    assert found.stdout.splitlines()[0] == "prod-sbc"
    several = invoke(tmp_path, "--config", site, "export", "--all-servers")
    assert several.exit_code == EXIT_USAGE
    assert "export talks to one server: give one --server NAME" in several.stderr
    assert lab.request_log == []


def test_on_a_terminal_each_server_is_confirmed_by_name(site, homers, tmp_path, monkeypatch):
    import sys

    from homer_sync.cli import environment as cli_environment

    lab, prod = homers
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: stream is sys.stdin)
    result = invoke(tmp_path, "--config", site, "apply", "--all-servers", input="n\ny\n")
    assert result.exit_code == EXIT_ERROR  # lab declined
    assert "Apply these changes to HOMER lab? [y/N]: n" in result.stderr
    assert "Apply these changes to HOMER prod? [y/N]: y" in result.stderr
    assert (names(lab), names(prod)) == ([], ["prod-sbc"])
    assert "  lab   failed (exit 1): aborted" in result.stderr
