"""The alias record shared by every module, and the normalisation rules."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

Identity = tuple  # (ip, mask, port, capture_id)


def normalize_ip(value: str) -> str:
    """Canonical text of an IP address; raises ValueError for anything else."""
    return ipaddress.ip_address(str(value).strip()).compressed


def max_mask(ip: str) -> int:
    return 128 if ":" in ip else 32


def normalize_capture_id(value) -> str:
    if isinstance(value, bool):
        raise ValueError("capture_id must be a string or an integer")
    return str(value).strip()


def _lenient_ip(value: str) -> str:
    """Server data may hold anything HOMER accepted; normalise what parses, keep the rest."""
    try:
        return normalize_ip(value)
    except ValueError:
        return str(value)


@dataclass(frozen=True, slots=True)
class Alias:
    """One HOMER alias: identity (ip, mask, port, capture_id) plus attributes.

    ``guid`` is set only for aliases read from a server. ``extra`` carries
    server fields homer-sync does not manage (API v4 tags, custom image) as
    sorted (key, value) pairs, so that an update can send them back unchanged.
    """

    ip: str
    mask: int
    port: int
    capture_id: str
    name: str
    status: bool = True
    guid: str | None = None
    extra: tuple = field(default=())

    @property
    def identity(self) -> Identity:
        return (self.ip, self.mask, self.port, self.capture_id)

    @property
    def attributes(self) -> tuple:
        return (self.name, self.status)

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.mask}"

    def extra_dict(self) -> dict:
        return dict(self.extra)

    def with_extra(self, **values) -> Alias:
        merged = self.extra_dict()
        merged.update(values)
        return replace(self, extra=tuple(sorted(merged.items())))

    def to_dict(self) -> dict:
        """Plain record for JSON output and saved plans (never includes secrets)."""
        data = {
            "alias": self.name,
            "ip": self.ip,
            "mask": self.mask,
            "port": self.port,
            "capture_id": self.capture_id,
            "status": self.status,
        }
        if self.guid is not None:
            data["guid"] = self.guid
        if self.extra:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Alias:
        return cls(
            ip=data["ip"],
            mask=int(data["mask"]),
            port=int(data["port"]),
            capture_id=str(data["capture_id"]),
            name=data["alias"],
            status=bool(data["status"]),
            guid=data.get("guid"),
            extra=tuple(sorted((data.get("extra") or {}).items())),
        )

    @classmethod
    def from_server(cls, *, ip, mask, port, capture_id, name, status, guid, extra=()) -> Alias:
        """Build from server data, tolerating values HOMER stores without checking."""
        return cls(
            ip=_lenient_ip(ip),
            mask=int(mask),
            port=int(port),
            capture_id=str(capture_id),
            name=str(name),
            status=bool(status),
            guid=guid,
            extra=tuple(sorted(dict(extra).items())),
        )


def sort_key(alias: Alias) -> tuple:
    """Stable, human-friendly order: by address family, address, mask, port, capture id."""
    ip_key: tuple[int, int]
    try:
        parsed = ipaddress.ip_address(alias.ip)
        ip_key = (parsed.version, int(parsed))
    except ValueError:
        ip_key = (99, 0)
    return (ip_key, alias.ip, alias.mask, alias.port, alias.capture_id, alias.name, alias.guid or "")
