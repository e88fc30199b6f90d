"""Prometheus textfile metrics: the format is checked with prometheus_client's own parser."""

from __future__ import annotations

import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from homer_sync.errors import HomerSyncError
from homer_sync.metrics import RunMetrics, render_metrics, write_metrics_file


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_two_servers_render_to_parseable_samples():
    runs = [
        RunMetrics(server="lab", command="plan", finished_at=1_800_000_000.5, duration_seconds=0.25, exit_code=2,
                   planned={"create": 2, "update": 1}, declared=38, on_server=37, left_alone=1),
        RunMetrics(server='pr"od\\', command="plan", finished_at=1_800_000_001.0, duration_seconds=1.5,
                   exit_code=1),
    ]
    got = samples(render_metrics(runs))
    lab = (("command", "plan"), ("server", "lab"))
    assert got[("homer_sync_last_run_exit_code", lab)] == 2
    assert got[("homer_sync_last_success_timestamp_seconds", lab)] == 1_800_000_000.5
    assert got[("homer_sync_changes_planned", tuple(sorted(lab + (("action", "create"),))))] == 2
    assert got[("homer_sync_changes_planned", tuple(sorted(lab + (("action", "delete"),))))] == 0
    assert got[("homer_sync_drift_changes", lab)] == 3
    assert got[("homer_sync_aliases_left_alone", lab)] == 1
    prod = (("command", "plan"), ("server", 'pr"od\\'))
    assert got[("homer_sync_last_run_exit_code", prod)] == 1
    assert ("homer_sync_last_success_timestamp_seconds", prod) not in got
    assert ("homer_sync_drift_changes", prod) not in got  # unknown, not zero


def test_apply_drift_is_what_failed():
    run = RunMetrics(server="s", command="apply", finished_at=1.0, duration_seconds=1.0, exit_code=1,
                     planned={"create": 3}, applied={"create": 2}, failed={"create": 1})
    got = samples(render_metrics([run]))
    assert got[("homer_sync_drift_changes", (("command", "apply"), ("server", "s")))] == 1


def test_each_family_has_help_and_type_once():
    text = render_metrics([RunMetrics(server=s, command="plan", finished_at=1.0, duration_seconds=1.0, exit_code=0)
                           for s in ("a", "b")])
    assert text.count("# TYPE homer_sync_last_run_exit_code gauge") == 1
    assert text.endswith("\n")


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "homer_sync.prom"
    target.write_text("old\n")
    write_metrics_file(target, "new\n")
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["homer_sync.prom"]


def test_unwritable_directory_is_one_clear_error(tmp_path):
    with pytest.raises(HomerSyncError, match=r"cannot write metrics file .*missing/m.prom"):
        write_metrics_file(tmp_path / "missing" / "m.prom", "x\n")


def test_a_failed_run_keeps_the_last_success_an_earlier_run_recorded():
    from homer_sync.metrics import previous_successes

    server = 'l"a\\b\nc'
    ok = RunMetrics(server=server, command="apply", finished_at=100.0, duration_seconds=1.0, exit_code=0)
    earlier = previous_successes(render_metrics([ok]))
    assert earlier == {(server, "apply"): 100.0}
    failed = RunMetrics(server=server, command="apply", finished_at=200.0, duration_seconds=1.0, exit_code=1,
                        previous_success=earlier.get((server, "apply")))
    got = samples(render_metrics([failed]))
    key = (("command", "apply"), ("server", server))
    assert got[("homer_sync_last_success_timestamp_seconds", key)] == 100.0
    assert got[("homer_sync_last_run_timestamp_seconds", key)] == 200.0
