"""The ``backup:`` block of an inventory: which HOMER server a backup file was taken from.

apply writes it into every backup (``server`` its URL, ``name`` the config file's name for it,
``taken`` the UTC time); applying a file that carries it to another server is refused unless
the operator says so (sync.refuse_other_server).
"""

from __future__ import annotations

from dataclasses import dataclass

from .keys import key_line
from .problems import FileProblems, describe

BACKUP_KEY = "backup"
BACKUP_FIELDS = ("server", "name", "taken")


@dataclass(frozen=True)
class BackupOrigin:
    source: str  # the inventory file
    server: str  # the URL it was taken from
    name: str | None = None
    taken: str | None = None


def parse_origin(f: FileProblems, node, line) -> BackupOrigin | None:
    if not isinstance(node, dict):
        f.error(line, BACKUP_KEY, f"backup must be a mapping with server, name and taken, got {describe(node)}")
        return None
    ok = True
    for key in node:
        if key not in BACKUP_FIELDS:
            f.error(key_line(node, key), f"{BACKUP_KEY}.{key}",
                    f"unknown key {key!r} in backup (known: {', '.join(BACKUP_FIELDS)})")
            ok = False
    for key in BACKUP_FIELDS:
        value = node.get(key)
        if (key == "server" or value is not None) and (not isinstance(value, str) or not value):
            f.error(key_line(node, key), f"{BACKUP_KEY}.{key}", f"backup.{key} must be a non-empty string")
            ok = False
    if not ok:
        return None
    return BackupOrigin(f.source, node["server"], node.get("name"), node.get("taken"))
