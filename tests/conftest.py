"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

from homer_sync.emulator import HomerEmulator


@pytest.fixture
def emulator():
    """A HOMER 7 (API v3) emulator on a free loopback port; admin / sipcapture."""
    with HomerEmulator(api="v3") as homer:
        yield homer


@pytest.fixture
def emulator_v4():
    """An API v4 emulator on a free loopback port; admin / sipcapture."""
    with HomerEmulator(api="v4") as homer:
        yield homer
