"""Backup files hold the whole alias list: owner-only, wherever --backup-dir points."""

from __future__ import annotations

import stat
from pathlib import Path

from homer_sync.apply import write_backup
from homer_sync.inventory import dump_inventory
from homer_sync.model import Alias

ALIASES = [Alias(ip="10.0.0.1", mask=32, port=5060, capture_id="0", name="a", guid="g1")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_custom_backup_dir_is_created_0700_and_files_are_0600(tmp_path):
    target = tmp_path / "new" / "nested" / "backups"
    path = write_backup(ALIASES, target, server_label="HOMER", dump=dump_inventory)
    assert path.parent == target
    assert [mode(p) for p in (tmp_path / "new", tmp_path / "new" / "nested", target)] == [0o700] * 3
    assert mode(path) == 0o600
    assert "exact: true" in path.read_text()


def test_an_existing_backup_dir_keeps_its_mode(tmp_path):
    target = tmp_path / "shared"
    target.mkdir(mode=0o750)
    target.chmod(0o750)
    path = write_backup(ALIASES, target, server_label="HOMER", dump=dump_inventory)
    assert mode(target) == 0o750 and mode(path) == 0o600
