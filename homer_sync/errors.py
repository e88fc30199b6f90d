"""Exceptions raised by the library; the CLI turns them into messages and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES_PENDING = 2
EXIT_UNSAFE = 3
EXIT_USAGE = 64


class HomerSyncError(Exception):
    """Base of every error homer-sync reports to the operator."""

    exit_code = EXIT_ERROR


class InventoryError(HomerSyncError):
    """The inventory is invalid; ``problems`` lists every reason at once."""

    def __init__(self, problems):
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"inventory has {count} {noun}:"] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ApiError(HomerSyncError):
    """HOMER answered with an error, an unexpected body, or not at all."""

    def __init__(self, message, *, status=None, method=None, url=None):
        self.status = status
        self.method = method
        self.url = url
        super().__init__(message)


class AuthenticationError(ApiError):
    """Login failed, or the credentials were refused."""


class PermissionDeniedError(ApiError):
    """The credentials in use may read but not write (HOMER's 403)."""


class AmbiguousWriteError(ApiError):
    """A write was sent but its outcome is unknown (connection lost, timeout, 5xx)."""


class AliasNotFoundError(ApiError):
    """An update or delete named an alias the server no longer has (v3 answers 201 with data "")."""


class IncompleteListError(ApiError):
    """The server's alias list could not be proven complete; planning on it is unsafe."""


class UnsafePlanError(HomerSyncError):
    """The plan exceeds a safety threshold and --force was not given."""

    exit_code = EXIT_UNSAFE

    def __init__(self, reasons):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class StalePlanError(HomerSyncError):
    """A saved plan no longer matches the server state it was computed from."""


class LockError(HomerSyncError):
    """Another homer-sync run holds the lock (``holder``: what it wrote about itself, when known)."""

    def __init__(self, message: str, *, path=None, holder: dict | None = None):
        super().__init__(message)
        self.path = path
        self.holder = holder
