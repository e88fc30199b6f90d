"""`plan/apply --output jsonl`: one schema-versioned JSON event a line, flushed as the run goes,
against the emulator end to end; event multisets for concurrent writes, never a secret."""

from __future__ import annotations

import io
import itertools
import json
import threading
from collections import Counter
from contextlib import closing, nullcontext

import pytest

from homer_sync.api import connect
from homer_sync.demo import LEGACY_ALIASES, example_inventory_path
from homer_sync.inventory import load_inventory
from homer_sync.render.events import EventStream
from homer_sync.sync import RunHooks, RunOptions, Sync

from waiting import wait_until

PASSWORD = "sipcapture"


def events_of(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    assert lines, "no events"
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(e, dict) and e["schema"] == 1 for e in parsed)
    return parsed


def identity(alias: dict) -> tuple:
    return alias["ip"], alias["mask"], alias["port"], alias["capture_id"], alias.get("guid")


@pytest.fixture
def seeded(emulator):
    emulator.seed(LEGACY_ALIASES)
    return emulator


def test_apply_jsonl_end_to_end(cli_run, seeded):
    result = cli_run("apply", "--yes", "--prune", "--concurrency", "4", "--output", "jsonl",
                     example_inventory_path(), emulator=seeded)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "Bearer" not in result.output
    events = events_of(result.stdout)
    first, last = events[0], events[-1]
    assert first["event"] == "plan"
    assert first["summary"] == {"create": 13, "update": 1, "delete": 2, "unchanged": 1, "existing": 4, "desired": 15}
    assert first["server"] == seeded.url and first["refused"] is None
    changes = [e for e in events if e["event"] == "change"]
    assert events[1:1 + len(changes)] == changes  # the plan's changes come right after it, in plan order
    assert [c["action"] for c in changes] == ["create"] * 13 + ["update"] + ["delete"] * 2
    # the writes end in any order: compare multisets
    middle = events[1 + len(changes):-1]
    assert Counter(e["event"] for e in middle) == {"write": 16, "verify": 1}
    assert middle[-1] == {"schema": 1, "event": "verify", "ok": True, "problems": []}
    writes = [e for e in middle if e["event"] == "write"]
    assert Counter((w["action"], identity(w["alias"])) for w in writes) == Counter(
        (c["action"], identity(c["after"] or c["before"])) for c in changes)
    assert all(w["ok"] and w["outcome"] == "done" and w["error"] is None for w in writes)
    assert all(isinstance(w["duration_ms"], float) and w["duration_ms"] >= 0 for w in writes)
    assert last == {"schema": 1, "event": "summary", "command": "apply", "outcome": "applied", "ok": True,
                    "exit_code": 0, "created": 13, "updated": 1, "deleted": 2, "failed": 0, "not_started": 0,
                    "not_verified": 0, "interrupted": False, "backup": last["backup"]}
    assert last["backup"].endswith(".yaml")
    assert "Backup of the previous aliases" in result.stderr  # notes stay on stderr

    again = events_of(cli_run("apply", "--yes", "--prune", "--output", "jsonl", example_inventory_path(),
                              emulator=seeded).stdout)
    assert [e["event"] for e in again] == ["plan", "summary"]
    assert again[-1]["outcome"] == "no changes" and again[-1]["exit_code"] == 0


def test_plan_jsonl(cli_run, seeded):
    result = cli_run("plan", "--detailed-exitcode", "--output", "jsonl", example_inventory_path(), emulator=seeded)
    assert result.exit_code == 2
    events = events_of(result.stdout)
    assert [e["event"] for e in events] == ["plan"] + ["change"] * 15 + ["summary"]
    assert events[-1] == {"schema": 1, "event": "summary", "command": "plan", "outcome": "planned", "ok": False,
                          "exit_code": 2}
    assert seeded.aliases() and len(seeded.aliases()) == 4  # read only


def test_a_retried_write_is_an_event(cli_run, seeded):
    seeded.fail_next(1, 503, method="PUT")
    result = cli_run("apply", "--yes", "--output", "jsonl", example_inventory_path(), emulator=seeded)
    assert result.exit_code == 0, result.output
    events = events_of(result.stdout)
    (retry,) = [e for e in events if e["event"] == "retry"]
    assert retry["method"] == "PUT" and retry["path"].startswith("/api/v3/alias/")
    assert retry["status"] == 503 and retry["retry"] == 1
    update = next(e for e in events if e["event"] == "write" and e["action"] == "update")
    assert update["ok"] and events.index(retry) < events.index(update)


def test_a_failed_write(cli_run, seeded):
    seeded.fail_next(1, 400, method="PUT", body='{"message": "no"}')
    result = cli_run("apply", "--yes", "--output", "jsonl", example_inventory_path(), emulator=seeded)
    assert result.exit_code == 1
    events = events_of(result.stdout)
    update = next(e for e in events if e["event"] == "write" and e["action"] == "update")
    assert update["ok"] is False and update["outcome"] == "failed" and update["error"]
    assert events[-1]["event"] == "summary" and events[-1]["exit_code"] == 1 and events[-1]["failed"] == 1
    assert "Error: update" in result.stderr


def test_a_refused_plan_ends_with_an_error_event(cli_run, emulator, tmp_path):
    emulator.seed([{"alias": f"h{i}", "ip": f"10.0.2.{i}", "port": 0, "mask": 32, "captureID": "0",
                    "status": True} for i in range(10)])
    path = tmp_path / "few.yaml"
    path.write_text("version: 1\naliases:\n  - {alias: h0, ip: 10.0.2.0}\n")
    result = cli_run("apply", "--yes", "--prune", "--output", "jsonl", path, emulator=emulator)
    assert result.exit_code == 3
    events = events_of(result.stdout)
    reason = "90.00% of existing aliases would be deleted, over the 30.00% limit (9/10)"
    assert events[0]["refused"] == {"reasons": [reason], "forced": False}
    assert [e["event"] for e in events] == ["plan"] + ["change"] * 9 + ["error"]
    assert events[-1]["exit_code"] == 3 and events[-1]["reasons"] == [reason]
    assert "Error: refusing an unsafe plan" in result.stderr
    assert len(emulator.aliases()) == 10


def test_a_login_failure_is_an_error_event_without_the_password(cli_run, seeded):
    wrong = "not-the-password-42"
    result = cli_run("plan", "--output", "jsonl", example_inventory_path(), emulator=seeded,
                     env={"HOMER_PASSWORD": wrong})
    assert result.exit_code == 1
    (event,) = events_of(result.stdout)
    assert event["event"] == "error" and event["exit_code"] == 1
    assert event["message"] == result.stderr.removeprefix("Error: ").rstrip("\n")
    assert wrong not in result.output


def test_each_event_is_flushed_as_it_is_written():
    class Recording(io.StringIO):
        flushed: list[str] = []

        def flush(self):
            self.flushed.append(self.getvalue())

    stream = Recording()
    events = EventStream(stream)
    events.emit("one", n=1)
    events.emit("two", n=2)
    assert stream.flushed == ['{"schema": 1, "event": "one", "n": 1}\n',
                              '{"schema": 1, "event": "one", "n": 1}\n{"schema": 1, "event": "two", "n": 2}\n']


def test_writes_are_reported_while_the_apply_goes_on(seeded, make_settings):
    """The creates' events are out while a delete is still held by the server."""
    stream = io.StringIO()
    events = EventStream(stream)
    inventory = load_inventory([str(example_inventory_path())])
    seeded.delay_next(1, 600, method="DELETE")
    with closing(connect(make_settings(seeded.url, api="v3"))) as client:
        run = Sync(client, RunOptions(concurrency=2))
        job = run.plan(inventory)
        hooks = RunHooks(progress=lambda plan: nullcontext(events.write))
        worker = threading.Thread(target=run.apply, args=(job, hooks))
        worker.start()
        try:
            wait_until(lambda: any(m == "DELETE" for m, _ in seeded.in_flight), what="the delete held")
            written = [json.loads(line) for line in stream.getvalue().splitlines()]
            assert Counter(e["action"] for e in written) == {"create": 13, "update": 1}
        finally:
            seeded.release_held()
            worker.join()
    assert len(stream.getvalue().splitlines()) == 15


def test_durations_come_from_the_injected_clock(seeded, make_settings):
    ticks = itertools.count()
    stream = io.StringIO()
    events = EventStream(stream)
    inventory = load_inventory([str(example_inventory_path())])
    with closing(connect(make_settings(seeded.url, api="v3"))) as client:
        run = Sync(client, RunOptions(concurrency=1, monotonic=lambda: next(ticks) * 0.25))
        result = run.apply(run.plan(inventory), RunHooks(progress=lambda plan: nullcontext(events.write)))
    assert result.ok
    writes = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(writes) == 15 and {w["duration_ms"] for w in writes} == {250.0}


def test_readme_lists_every_event_and_its_fields(cli_run, emulator, tmp_path):
    """The README's event table names exactly the fields the events carry, and its example's
    events have the fields of real ones."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Events (`--output jsonl`)", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for event, fields in re.findall(r"^\| `(\w+)` \| [^|]+ \| (.+) \|$", section, re.M):
        documented[event] = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", fields)))
    seen: dict[str, set] = {}

    def record(result):
        for event in events_of(result.stdout):
            seen.setdefault(event["event"], set()).update(set(event) - {"schema", "event"})

    emulator.seed(LEGACY_ALIASES)
    emulator.fail_next(1, 503, method="GET", skip=1)  # the verification's listing is retried
    record(cli_run("apply", "--yes", "--prune", "--output", "jsonl", example_inventory_path(), emulator=emulator))
    record(cli_run("plan", "--output", "jsonl", example_inventory_path(), emulator=emulator))
    few = tmp_path / "few.yaml"
    few.write_text("version: 1\naliases:\n  - {alias: h0, ip: 10.0.2.0}\n")
    record(cli_run("apply", "--yes", "--prune", "--output", "jsonl", few, emulator=emulator))  # refused
    optional = {"plan": {"prunable"}}  # only with a prune scope that narrows the server's aliases
    assert set(documented) == set(seen)
    for event, fields in documented.items():
        assert seen[event] <= fields and fields - seen[event] <= optional.get(event, set()), event
    example = section.split("```text\n", 1)[1].split("```", 1)[0]
    for line in example.splitlines():
        event = json.loads(line)
        assert set(event) - {"schema", "event"} <= seen[event["event"]], line
