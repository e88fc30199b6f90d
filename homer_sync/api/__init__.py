"""The HOMER API clients: ``connect(ConnectionSettings(...))`` returns a HomerClient.

Modules: ``http`` (session, retries, timeouts, hook, error sentences),
``v3`` (HOMER 7), ``v4`` (HOMER 10+), ``listing`` (v4 complete listing),
``iptext`` (its IP-text facts), ``detect`` (``connect`` and ``--api auto``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..model import Alias

RequestHook = Callable[[str, str, "int | None", float, "str | None"], None]
RetryHook = Callable[[str, str, "int | None", int], None]


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach and authenticate to HOMER. Its repr never shows a secret."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_header: str = "Auth-Token"
    api: str = "auto"  # "v3" | "v4" | "auto"
    timeout: float = 10.0
    retries: int = 3
    ca_bundle: str | None = None
    insecure: bool = False
    pool_size: int = 8
    backoff_factor: float = 0.5
    # on_request(method, path_with_query, status or None, milliseconds, reason or None): called for
    # every HTTP attempt, retries included; ``reason`` says why an attempt got no answer ("connection
    # refused"). It never receives headers or bodies.
    on_request: RequestHook | None = field(default=None, repr=False, compare=False)
    # on_retry(method, path_with_query, status of the failed attempt or None, retry number): called
    # before each retry (urllib3's), from the thread making the call.
    on_retry: RetryHook | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        from .http import redact_url

        parts = [f"url={redact_url(self.url)!r}"]
        if self.username is not None:
            parts.append(f"username={self.username!r}")
        if self.password is not None:
            parts.append("password='***'")
        if self.token is not None:
            parts.append("token='***'")
        parts += [f"token_header={self.token_header!r}", f"api={self.api!r}",
                  f"timeout={self.timeout!r}", f"retries={self.retries!r}",
                  f"ca_bundle={self.ca_bundle!r}", f"insecure={self.insecure!r}",
                  f"pool_size={self.pool_size!r}", f"backoff_factor={self.backoff_factor!r}"]
        return f"ConnectionSettings({', '.join(parts)})"


@runtime_checkable
class HomerClient(Protocol):
    api_version: str  # "v3" | "v4"
    is_admin: bool | None  # None when unknown (token auth)
    supports_tags: bool  # False on v3
    auth_kind: str  # "password" | "token"

    @property
    def request_count(self) -> int: ...  # HTTP requests sent, retries included

    def list_aliases(self) -> list[Alias]: ...

    def create(self, alias: Alias) -> str | None: ...

    def update(self, before: Alias, after: Alias) -> None: ...

    def delete(self, alias: Alias) -> None: ...

    def close(self) -> None: ...


def connect(settings: ConnectionSettings) -> HomerClient:
    """Log in (or probe with the token), detect the API version, return the client.

    Raises AuthenticationError / ApiError (from homer_sync.errors) with plain sentences.
    """
    from .detect import connect as _connect

    return _connect(settings)


__all__ = ["ConnectionSettings", "HomerClient", "RequestHook", "RetryHook", "connect"]
