"""Backup files: their names, which server they came from, and how many of them are kept.

A backup is named ``homer-aliases-KEY-STAMP.yaml``: KEY is the server's host (``_PORT`` when the
URL gives one), preceded by ``NAME@`` for a server of the config file; STAMP is the UTC time it
was taken. Retention reads the time from the name, never from the file's mtime (which a copy or
a restore from tape changes), and only ever removes backups whose KEY is the server's own.

Inside, the backup's ``backup:`` block (see inventory/origin.py) records the server's URL, so
that applying it to another server can be refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "homer-aliases-"
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
DEFAULT_KEEP = 100
_NAME = re.compile(r"^homer-aliases-(?P<key>.+)-(?P<stamp>\d{8}T\d{6}\.\d{6}Z)\.yaml$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def server_url(url: str) -> str:
    """The URL a backup records: without user information (never a credential), without a trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}" if parts.scheme else url.rstrip("/")


def same_server(one: str, other: str) -> bool:
    return server_url(one) == server_url(other)


def server_key(url: str, name: str | None = None) -> str:
    """``lab@homer-lab.example.net`` / ``homer.example.net_8443``: the part of a backup's name that says whose it is."""
    parts = urlsplit(url)
    host = parts.hostname or "homer"
    if parts.port:
        host += f"_{parts.port}"
    key = _UNSAFE.sub("_", host)
    return f"{_UNSAFE.sub('_', name)}@{key}" if name else key


def backup_file_path(backup_dir: Path, key: str, when: datetime) -> Path:
    return Path(backup_dir) / f"{PREFIX}{key}-{when.astimezone(timezone.utc).strftime(STAMP_FORMAT)}.yaml"


@dataclass(frozen=True)
class BackupFile:
    path: Path
    key: str
    taken: datetime


def parse_name(path: Path) -> BackupFile | None:
    """The server key and time a backup's name carries; None for any other file."""
    match = _NAME.match(Path(path).name)
    if not match:
        return None
    try:
        taken = datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return BackupFile(Path(path), match["key"], taken)


def prune_backups(backup_dir: Path, key: str, keep: int) -> list[Path]:
    """Delete the oldest backups of server ``key`` beyond the newest ``keep`` (0: keep all); the deleted paths.

    Other servers' backups, backups named the old way (no server) and other files are never touched."""
    if keep <= 0:
        return []
    mine = [found for found in map(parse_name, Path(backup_dir).iterdir()) if found is not None and found.key == key]
    mine.sort(key=lambda found: (found.taken, found.path.name))
    removed = []
    for found in mine[:-keep] if len(mine) > keep else []:
        try:
            found.path.unlink()
        except FileNotFoundError:  # removed meanwhile by another run
            continue
        removed.append(found.path)
    return removed
