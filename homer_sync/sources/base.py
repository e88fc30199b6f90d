"""The contract every source module follows.

A source module ``homer_sync/sources/<type>.py`` exposes two functions:

``check(spec: Mapping[str, Any]) -> list[tuple[str, str]]``
    Offline validation of its configuration block (``type`` already removed):
    a list of ``(field, message)`` problems, empty when the block is usable.
    The loader turns each into a file:line problem of the inventory.

``collect(spec: Mapping[str, Any], context: SourceContext) -> list[SourceEntry]``
    Reads the source (network, files, a program) and returns its entries.
    Raises :class:`SourceError` when the source cannot be read completely
    (unreachable, refused credentials, timeout, NXDOMAIN/SERVFAIL, bad output):
    a partial answer must never drive a plan, let alone a prune.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import HomerSyncError


@dataclass(frozen=True)
class SourceEntry:
    """One ``aliases:`` item produced by a source.

    ``fields`` holds the keys of a hand-written entry (``alias``, ``ip`` or
    ``host``, ``port``, ``mask``, ``capture_id``, ``status``) with the same
    meaning and validation; ``origin`` names the object it came from, as shown
    in messages: ``netbox ipam/ip-addresses id=42``, ``dns SRV _sip._udp.example.net``,
    ``kamailio dispatcher.list:7``.
    """

    origin: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SourceContext:
    """What a source may use besides its own configuration; tests pass fakes."""

    base_dir: str = "."  # relative paths in a source block are relative to the inventory file
    environ: Mapping[str, str] = field(default_factory=dict)  # for token_env: and the like
    timeout: float = 300.0  # seconds for the whole source (its block's time_limit); the framework enforces it
    resolver: Callable[[str], list[str]] | None = None  # host name -> addresses (None: the source's default)
    # on_request(method, path, status or None, milliseconds, why there is no status or None) for each
    # HTTP request a source sends (the -v lines); never given headers or bodies.
    on_request: Callable[[str, str, int | None, float, str | None], None] | None = None


class SourceError(HomerSyncError):
    """A source could not be read completely; the run stops before any write."""

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(f"{source}: {message}")
