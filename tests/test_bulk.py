"""Loading, listing and diffing run with the cyclic garbage collector paused, and leave it as they found it."""

from __future__ import annotations

import gc
import io

import pytest

from homer_sync import bulk
from homer_sync.inventory import document, load_inventory

INVENTORY = "version: 1\naliases:\n  - alias: a01\n    ip: 10.0.0.1\n"


@pytest.fixture
def collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_inventory_loads_with_the_collector_paused_then_resumed(collector_enabled, monkeypatch):
    seen = []
    parse = document.fast_entry

    def recording(*args):
        seen.append(gc.isenabled())
        return parse(*args)

    monkeypatch.setattr(document, "fast_entry", recording)
    inventory = load_inventory(["-"], stdin=io.StringIO(INVENTORY), resolve_hosts=False)
    assert [alias.name for alias in inventory.aliases] == ["a01"]
    assert seen == [False]
    assert gc.isenabled()


def test_a_paused_collector_stays_paused_after_a_nested_pause():
    was = gc.isenabled()
    gc.disable()
    try:
        with bulk.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_the_collector_resumes_when_the_block_fails(collector_enabled):
    with pytest.raises(ValueError), bulk.collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


@pytest.fixture
def freezing(collector_enabled):
    bulk.freeze_bulk_data()
    yield
    bulk.freeze_bulk_data(False)
    gc.unfreeze()


def test_a_library_caller_keeps_its_collector_as_it_was(collector_enabled):
    frozen = gc.get_freeze_count()
    with bulk.collector_paused():
        built = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == frozen and gc.isenabled() and len(built) == 1000


def test_the_command_line_freezes_what_a_bulk_phase_built(freezing):
    before = gc.get_freeze_count()
    with bulk.collector_paused():
        built = [[i] for i in range(1000)]
        with bulk.collector_paused():  # only the outermost pause freezes, when it resumes the collector
            assert gc.get_freeze_count() == before
    assert gc.get_freeze_count() >= before + len(built) and gc.isenabled()


def test_the_console_script_turns_freezing_on(tmp_path):
    import subprocess
    import sys

    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
             "sys.argv = ['homer-sync', 'validate', 'inventory.yaml']\n"
             "from homer_sync.cli import main\n"
             "main()\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split("frozen ")[-1]) > 0
