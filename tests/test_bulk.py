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
