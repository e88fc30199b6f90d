"""--metrics-file end to end: the Prometheus textfile a run leaves for node_exporter, per server,
also when a server fails; read back with prometheus_client's parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from homer_sync.cli import cli
from homer_sync.cli import environment as cli_environment
from homer_sync.emulator import HomerEmulator

README = Path(__file__).resolve().parents[1] / "README.md"
WALL = 1_800_000_000.0
INVENTORY = "version: 1\naliases:\n  - {alias: sbc, ip: 10.1.0.1, port: 5060}\n  - {alias: pcscf, ip: 10.1.0.2}\n"
STRAY = {"alias": "stray", "ip": "10.9.0.1", "port": 0, "mask": 32, "captureID": "0", "status": True}


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def labels(server, command, **more):
    return tuple(sorted({"server": server, "command": command, **more}.items()))


@pytest.fixture
def clocks(monkeypatch):
    """Each server's run takes 0.5 s by the monotonic clock and ends at WALL, WALL + 1, ..."""
    ticks = iter(range(1000))
    walls = iter(range(1000))
    state = {"mono": 100.0}

    def monotonic():
        next(ticks)
        state["mono"] += 0.25
        return state["mono"]

    monkeypatch.setattr(cli_environment, "CLOCKS", cli_environment.Clocks(wall=lambda: WALL + next(walls),
                                                                monotonic=monotonic))


@pytest.fixture
def site(tmp_path):
    with HomerEmulator(api="v3") as lab, HomerEmulator(api="v4") as prod:
        (tmp_path / "inv.yaml").write_text(INVENTORY)
        config = tmp_path / "config.yaml"
        config.write_text(f"servers:\n"
                          f"  lab: {{url: {lab.url}, username: admin, password_env: LAB_PW, inventory: inv.yaml}}\n"
                          f"  prod: {{url: {prod.url}, username: admin, password_env: PROD_PW, inventory: inv.yaml}}\n")
        yield config, lab, prod


def invoke(tmp_path, *args, env=None):
    full_env = {"XDG_STATE_HOME": str(tmp_path / "state"), "LAB_PW": "sipcapture", "PROD_PW": "sipcapture",
                "HOMER_URL": None, "HOMER_USERNAME": None, "HOMER_PASSWORD": None, "HOMER_TOKEN": None,
                "HOMER_API": None, "HOMER_SERVER": None, **(env or {})}
    return CliRunner().invoke(cli, [str(a) for a in args], env=full_env, catch_exceptions=False)


def test_plan_on_two_servers_one_failing_writes_both(site, tmp_path, clocks):
    config, lab, prod = site
    prod.seed([STRAY, {"alias": "sbc", "ip": "10.1.0.1", "port": 5060, "mask": 32, "captureID": "0",
                       "status": True}])
    metrics = tmp_path / "homer_sync.prom"
    result = invoke(tmp_path, "--config", config, "plan", "--all-servers", "--detailed-exitcode",
                    "--metrics-file", metrics, env={"LAB_PW": "wrong"})
    assert result.exit_code == 1
    got = samples(metrics.read_text())
    lab_plan, prod_plan = labels("lab", "plan"), labels("prod", "plan")
    assert got[("homer_sync_last_run_exit_code", lab_plan)] == 1
    assert got[("homer_sync_last_run_timestamp_seconds", lab_plan)] == WALL
    assert got[("homer_sync_last_run_duration_seconds", lab_plan)] == 0.25
    assert ("homer_sync_last_success_timestamp_seconds", lab_plan) not in got
    assert ("homer_sync_drift_changes", lab_plan) not in got  # unknown: the plan was never made
    assert got[("homer_sync_last_run_exit_code", prod_plan)] == 2
    assert got[("homer_sync_last_success_timestamp_seconds", prod_plan)] == WALL + 1
    assert got[("homer_sync_changes_planned", labels("prod", "plan", action="create"))] == 1
    assert got[("homer_sync_changes_planned", labels("prod", "plan", action="delete"))] == 0
    assert got[("homer_sync_aliases_declared", prod_plan)] == 2
    assert got[("homer_sync_aliases_on_server", prod_plan)] == 2
    assert got[("homer_sync_aliases_left_alone", prod_plan)] == 1  # stray, not pruned
    assert got[("homer_sync_drift_changes", prod_plan)] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_apply_records_applied_changes_and_no_drift(site, tmp_path, clocks):
    config, lab, prod = site
    metrics = tmp_path / "m.prom"
    result = invoke(tmp_path, "--config", config, "apply", "--server", "prod", "--yes", "--metrics-file", metrics)
    assert result.exit_code == 0, result.output
    got = samples(metrics.read_text())
    prod_apply = labels("prod", "apply")
    assert got[("homer_sync_changes_applied", labels("prod", "apply", action="create"))] == 2
    assert got[("homer_sync_changes_failed", labels("prod", "apply", action="create"))] == 0
    assert got[("homer_sync_drift_changes", prod_apply)] == 0
    assert got[("homer_sync_last_run_exit_code", prod_apply)] == 0
    assert not any(server == "lab" for _, key in got for name, server in key if name == "server")


def test_a_failing_single_run_still_writes_its_exit_code(tmp_path, clocks):
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    metrics = tmp_path / "m.prom"
    with HomerEmulator(api="v3") as homer:
        result = invoke(tmp_path, "apply", "--yes", "--metrics-file", metrics, tmp_path / "inv.yaml",
                        env={"HOMER_URL": homer.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "wrong"})
        assert result.exit_code == 1
        assert "incorrect password" in result.stderr
        got = samples(metrics.read_text())
        assert got[("homer_sync_last_run_exit_code", labels(homer.url, "apply"))] == 1


def test_an_unsafe_refusal_is_exit_3_with_the_planned_changes_as_drift(tmp_path, clocks):
    (tmp_path / "inv.yaml").write_text("version: 1\naliases:\n  - {alias: keep, ip: 10.0.0.1}\n")
    seeded = [dict(STRAY, alias=f"a{i}", ip=f"10.8.0.{i}") for i in range(12)]
    metrics = tmp_path / "m.prom"
    with HomerEmulator(api="v3") as homer:
        homer.seed(seeded)
        env = {"HOMER_URL": homer.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}
        result = invoke(tmp_path, "apply", "--yes", "--prune", "--metrics-file", metrics, tmp_path / "inv.yaml",
                        env=env)
        assert result.exit_code == 3
        got = samples(metrics.read_text())
        key = labels(homer.url, "apply")
        assert got[("homer_sync_last_run_exit_code", key)] == 3
        assert got[("homer_sync_drift_changes", key)] == 13
        assert got[("homer_sync_changes_planned", labels(homer.url, "apply", action="delete"))] == 12


def test_check_reports_liveness_without_change_families(site, tmp_path, clocks):
    config, _, _ = site
    metrics = tmp_path / "m.prom"
    assert invoke(tmp_path, "--config", config, "check", "--all-servers", "--metrics-file", metrics).exit_code == 0
    got = samples(metrics.read_text())
    assert got[("homer_sync_aliases_on_server", labels("lab", "check"))] == 0
    assert got[("homer_sync_last_success_timestamp_seconds", labels("prod", "check"))] == WALL + 1
    assert not any(name.startswith(("homer_sync_changes_", "homer_sync_drift")) for name, _ in got)


def test_an_unwritable_metrics_file_is_an_error_after_the_run(site, tmp_path):
    config, _, _ = site
    result = invoke(tmp_path, "--config", config, "check", "--server", "lab",
                    "--metrics-file", tmp_path / "missing" / "m.prom")
    assert result.exit_code == 1
    assert "server:" in result.stdout  # the run itself happened
    assert re.search(r"^Error: cannot write metrics file .*missing/m\.prom: ", result.stderr, re.M)


def test_the_readme_alert_rules_use_metrics_that_exist(site, tmp_path):
    config, _, _ = site
    metrics = tmp_path / "m.prom"
    invoke(tmp_path, "--config", config, "plan", "--all-servers", "--metrics-file", metrics)
    written = {family.name for family in text_string_to_metric_families(metrics.read_text())}
    text = README.read_text(encoding="utf-8").split("### Metrics for cron", 1)[1].split("\n## ", 1)[0]
    rules = re.findall(r"```yaml\n(.*?)```", text, re.S)
    exprs = " ".join(line for block in rules for line in block.splitlines() if "expr:" in line or "  - " in line)
    used = set(re.findall(r"\bhomer_sync_[a-z_]+", exprs))
    assert {"homer_sync_drift_changes", "homer_sync_last_success_timestamp_seconds"} <= used
    assert used <= written, used - written


def test_the_last_success_survives_failing_runs(tmp_path, clocks):
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    metrics = tmp_path / "m.prom"
    with HomerEmulator(api="v3") as homer:
        env = {"HOMER_URL": homer.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}
        assert invoke(tmp_path, "plan", "--metrics-file", metrics, tmp_path / "inv.yaml", env=env).exit_code == 0
        failing = dict(env, HOMER_PASSWORD="wrong")
        for _ in range(2):
            failed = invoke(tmp_path, "plan", "--metrics-file", metrics, tmp_path / "inv.yaml", env=failing)
            assert failed.exit_code == 1
        got = samples(metrics.read_text())
        key = labels(homer.url, "plan")
        assert got[("homer_sync_last_success_timestamp_seconds", key)] == WALL
        assert got[("homer_sync_last_run_timestamp_seconds", key)] == WALL + 2
        assert got[("homer_sync_last_run_exit_code", key)] == 1
