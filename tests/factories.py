"""The one alias factory and the one connection-settings factory of the tests.

conftest.py offers them as fixtures (``make_alias``, ``make_settings``); modules that build many
objects at import time or in helpers import them from here.
"""

from __future__ import annotations

from homer_sync.api import ConnectionSettings
from homer_sync.model import Alias

ADMIN_PASSWORD = "sipcapture"  # the emulator's admin login


def make_alias(ip="10.0.0.1", name="h", *, mask=None, port=5060, capture="0", status=True, guid=None,
               extra=None) -> Alias:
    """An Alias; a host mask by default (/32, /128)."""
    return Alias(ip=ip, mask=mask if mask is not None else (128 if ":" in ip else 32), port=port,
                 capture_id=capture, name=name, status=status, guid=guid,
                 extra=tuple(sorted((extra or {}).items())))


def connection_settings(url: str, *, login_password: str = ADMIN_PASSWORD, **kw) -> ConnectionSettings:
    """Settings for an admin login (no login when a token is given), without backoff sleeps."""
    if kw.get("token"):
        kw.setdefault("username", None)
        kw.setdefault("password", None)
    kw.setdefault("username", "admin")
    kw.setdefault("password", login_password)
    kw.setdefault("backoff_factor", 0)
    return ConnectionSettings(url=url, **kw)
