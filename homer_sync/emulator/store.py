"""The emulator's alias table: thread-safe, kept sorted by guid, list bodies cached per version."""

from __future__ import annotations

import bisect
import threading
import uuid

V4_EXTRA_FIELDS = ("custom_image", "tag1", "tag2", "tag3", "tag4")


class AliasRecord:
    """One stored row. Values are kept exactly as received (HOMER does not normalise)."""

    __slots__ = ("id", "guid", "alias", "ip", "port", "mask", "capture_id", "status") + V4_EXTRA_FIELDS

    def __init__(self, *, id, guid, alias, ip, port, mask, capture_id, status, **extra):
        self.id = id
        self.guid = guid
        self.alias = alias
        self.ip = ip
        self.port = port
        self.mask = mask
        self.capture_id = capture_id
        self.status = status
        for name in V4_EXTRA_FIELDS:
            setattr(self, name, extra.get(name, ""))

    def v3(self) -> dict:
        """The row as HOMER 7 lists it (field order of its Go struct)."""
        return {
            "id": self.id,
            "guid": self.guid,
            "alias": self.alias,
            "ip": self.ip,
            "port": self.port,
            "mask": self.mask,
            "captureID": self.capture_id,
            "status": self.status,
        }

    def v4(self) -> dict:
        """The row as API v4 lists it: snake case, zero values (0, false, "") omitted."""
        full = {
            "guid": self.guid,
            "alias": self.alias,
            "ip": self.ip,
            "port": self.port,
            "mask": self.mask,
            "capture_id": self.capture_id,
            "status": self.status,
        }
        for name in V4_EXTRA_FIELDS:
            full[name] = getattr(self, name)
        return {key: value for key, value in full.items() if value not in (0, False, "")}

    def snapshot(self, *, with_extra: bool) -> dict:
        data = self.v3()
        if with_extra:
            for name in V4_EXTRA_FIELDS:
                data[name] = getattr(self, name)
        return data


class AliasStore:
    """Rows by guid plus a sorted guid list; every change bumps ``version``."""

    def __init__(self):
        self.lock = threading.RLock()
        self._rows: dict[str, AliasRecord] = {}
        self._order: list[str] = []
        self._next_id = 1
        self.version = 0
        self._cache: dict = {}

    def __len__(self) -> int:
        return len(self._rows)

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    def get(self, guid: str) -> AliasRecord | None:
        return self._rows.get(guid)

    def rows(self) -> list[AliasRecord]:
        """All rows sorted by guid (the caller holds ``lock`` if it needs a stable view)."""
        with self.lock:
            return [self._rows[guid] for guid in self._order]

    def insert(self, fields: dict, *, guid: str | None = None) -> AliasRecord:
        with self.lock:
            guid = guid or str(uuid.uuid4())
            if guid in self._rows:
                raise ValueError(f"guid {guid} already exists")
            row_id = fields.pop("id", None) or self._next_id
            self._next_id = max(self._next_id, row_id + 1)
            row = AliasRecord(id=row_id, guid=guid, **fields)
            self._rows[guid] = row
            bisect.insort(self._order, guid)
            self._changed()
            return row

    def insert_many(self, items: list[tuple[str | None, dict]]) -> list[str]:
        """Bulk insert (seeding): one sort at the end instead of one insort per row."""
        with self.lock:
            guids = []
            for guid, fields in items:
                guid = guid or str(uuid.uuid4())
                if guid in self._rows:
                    raise ValueError(f"guid {guid} already exists")
                row_id = fields.pop("id", None) or self._next_id
                self._next_id = max(self._next_id, row_id + 1)
                self._rows[guid] = AliasRecord(id=row_id, guid=guid, **fields)
                guids.append(guid)
            self._order = sorted(self._rows)
            self._changed()
            return guids

    def replace(self, guid: str, fields: dict) -> bool:
        """Overwrite every field of an existing row (id and guid stay); False if unknown."""
        with self.lock:
            row = self._rows.get(guid)
            if row is None:
                return False
            for name, value in fields.items():
                setattr(row, name, value)
            self._changed()
            return True

    def delete(self, guid: str) -> bool:
        with self.lock:
            if self._rows.pop(guid, None) is None:
                return False
            index = bisect.bisect_left(self._order, guid)
            del self._order[index]
            self._changed()
            return True

    def cached(self, key, build):
        """``build()`` once per store version and key (used for encoded list bodies)."""
        with self.lock:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._cache[key] = build()
            return entry
