"""What the v3 and v4 clients share: authentication state, re-login, error sentences."""

from __future__ import annotations

import threading
from typing import NoReturn
from urllib.parse import quote

from ..errors import (
    AmbiguousWriteError,
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
)
from ..model import Alias, describe
from .http import RETRY_METHODS, RETRY_STATUSES, Reply, Transport, redact_url

TOKEN_REJECTED = "the API token was rejected (401/400): it may have expired or been revoked"
TOKEN_REJECTED_MID_RUN = (
    "the API token was accepted, then rejected ({status}) by {method} {path}: it expired or was"
    " revoked during the run. A static API token cannot be renewed by logging in again: issue a"
    " new token, or use --username with a password"
)


class BaseClient:
    """Authentication and error handling; subclasses add the endpoints of one API version."""

    api_version = "?"
    supports_tags = False
    login_path = ""
    aliases_path = ""

    def __init__(self, transport: Transport, settings):
        self._http = transport
        self._settings = settings
        self._auth_lock = threading.RLock()
        self._jwt: str | None = None
        self._generation = 0
        self.auth_kind = "token" if settings.token else "password"
        self.username = None if settings.token else settings.username
        self.is_admin: bool | None = None
        self._token_accepted = False

    # -- public bits ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, every urllib3 retry included."""
        return self._http.request_count

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        who = f"user {self.username!r}" if self.auth_kind == "password" else "token"
        return f"<{type(self).__name__} {self.api_version} {self._http.base_url} {who}>"

    # -- login ---------------------------------------------------------------
    def login_request(self) -> Reply:
        body = {"username": self._settings.username, "password": self._settings.password}
        return self._http.send("POST", self.login_path, body=body, action="log in",
                               repeatable=True)

    def accept_login(self, reply: Reply) -> None:
        token, admin = self._parse_login(reply)
        self._http.add_secret(token)
        with self._auth_lock:
            self._jwt = token
            self._generation += 1
            self.is_admin = admin

    def login(self) -> None:
        self.accept_login(self.login_request())

    def _parse_login(self, reply: Reply) -> tuple[str, bool | None]:  # pragma: no cover
        raise NotImplementedError

    def _login_refused(self, reply: Reply, hints: dict | None = None) -> AuthenticationError:
        """HOMER's own words, quoted as its words (``hints``: a note for a message known to say less or
        more than it seems, e.g. HOMER 7's "incorrect password" for an unknown user too)."""
        words = self._message(reply)
        text = f"login refused for user {self.username!r}"
        if words:
            text += f": HOMER says \"{words}\""
            if hints and words in hints:
                text += f" ({hints[words]})"
        else:
            text += f" (HTTP {reply.status}, no reason given)"
        return AuthenticationError(text, status=reply.status, method=reply.method, url=reply.url)

    # -- authenticated calls -------------------------------------------------
    def _auth_headers(self) -> tuple[dict, int]:
        if self.auth_kind == "token":
            return {self._settings.token_header: self._settings.token}, 0
        with self._auth_lock:
            return {"Authorization": f"Bearer {self._jwt}"}, self._generation

    def _auth_rejected(self, reply: Reply) -> bool:
        return reply.status == 401

    def call(self, method: str, path: str, *, params=None, body=None, action=None) -> Reply:
        """One request with credentials; a rejected session is renewed once (password login)."""
        headers, generation = self._auth_headers()
        reply = self._http.send(method, path, params=params, body=body, headers=headers,
                                action=action)
        if not self._auth_rejected(reply):
            if self.auth_kind == "token":
                self._token_accepted = True
            return reply
        if self.auth_kind == "token":
            message = TOKEN_REJECTED
            if self._token_accepted:
                message = TOKEN_REJECTED_MID_RUN.format(status=reply.status, method=method,
                                                        path=reply.path)
            raise AuthenticationError(message, status=reply.status, method=method, url=reply.url)
        with self._auth_lock:
            # Several threads may see the expiry at once: only the first logs in again.
            if self._generation == generation:
                self.login()
        headers, _ = self._auth_headers()
        reply = self._http.send(method, path, params=params, body=body, headers=headers,
                                action=action)
        if self._auth_rejected(reply):
            raise AuthenticationError(
                f"the server rejected the session twice: {method} {reply.path} answered"
                f" {reply.status} right after a fresh login as {self.username!r}",
                status=reply.status, method=method, url=reply.url,
            )
        return reply

    # -- errors --------------------------------------------------------------
    # -- writes shared by both APIs (the answers differ: see each _confirm) -----
    @staticmethod
    def _body(alias: Alias) -> dict:
        """The JSON body of a create or update, in this API's shape."""
        raise NotImplementedError

    def _confirm(self, reply: Reply, guid: str, action: str) -> None:
        """Raise unless the answer to a PUT or DELETE of ``guid`` reports success."""
        raise NotImplementedError

    def update(self, before: Alias, after: Alias) -> None:
        guid = _guid_of(before)
        action = f"update alias {describe(before)}"
        reply = self.call("PUT", f"{self.aliases_path}/{quote(guid, safe='')}", body=self._body(after),
                          action=action)
        self._confirm(reply, guid, action)

    def delete(self, alias: Alias) -> None:
        guid = _guid_of(alias)
        action = f"delete alias {describe(alias)}"
        reply = self.call("DELETE", f"{self.aliases_path}/{quote(guid, safe='')}", action=action)
        self._confirm(reply, guid, action)

    def unknown_create_outcome(self, reply: Reply, action: str) -> AmbiguousWriteError:
        return AmbiguousWriteError(
            f"the request to {action} has an unknown outcome: HOMER answered {reply.status}"
            " without the new alias's guid; it may or may not have been stored",
            status=reply.status, method="POST", url=reply.url)

    def _message(self, reply: Reply) -> str:
        data = reply.data
        if isinstance(data, dict):
            for key in ("message", "error"):
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    return self._http.clean(value)
        return ""

    def _forbidden(self, reply: Reply, action: str) -> str:
        """The sentence for a 403; subclasses say why tokens are refused."""
        if self.auth_kind == "password" and self.is_admin is False:
            return f"user {self.username!r} is not an administrator; HOMER refuses writes (403)"
        reason = self._message(reply)
        return f"HOMER refused to {action} (403)" + (f": {reason}" if reason else "")

    def shape_error(self, reply: Reply, problem: str) -> ApiError:
        return ApiError(
            f"HOMER answered {reply.method} {reply.path} with JSON of an unexpected shape: {problem}",
            status=reply.status, method=reply.method, url=reply.url,
        )

    def fail(self, reply: Reply, action: str, *, write: bool = False) -> NoReturn:
        """Raise the error that explains a reply the caller could not use."""
        status = reply.status
        kw = {"status": status, "method": reply.method, "url": reply.url}
        reason = self._message(reply)
        if write and reply.method == "POST" and (status >= 500 or
                                                 (reply.ok and reply.kind != "json")):
            body = {"html": " with an HTML page", "text": " with a non-JSON body",
                    "empty": " with an empty body"}.get(reply.kind, "")
            raise AmbiguousWriteError(
                f"the request to {action} has an unknown outcome: HOMER answered {status}{body};"
                " it may or may not have been stored", **kw)
        if status == 403 and write:
            raise PermissionDeniedError(self._forbidden(reply, action), **kw)
        if status == 403:
            raise PermissionDeniedError(
                f"HOMER refused to {action} (403)" + (f": {reason}" if reason else ""), **kw)
        if 300 <= status < 400:
            target = redact_url(reply.location) if reply.location else "another address"
            raise ApiError(f"HOMER answered {status} to {reply.method} {reply.path}, redirecting"
                           f" to {target}: use that address as the HOMER URL", **kw)
        if reply.retries and (status in RETRY_STATUSES or status >= 500):
            page = " (an HTML page, not JSON)" if reply.kind == "html" else ""
            raise ApiError(f"{reply.method} {reply.url} failed after {reply.retries}"
                           f" {'retry' if reply.retries == 1 else 'retries'}:"
                           f" last status {status}{page}", **kw)
        unreadable = {"deep": "with JSON nested too deeply to read", "binary": "with a body that is not UTF-8 text",
                      "not-finite": f"with a number JSON cannot carry ({reply.data})"}.get(reply.kind)
        if unreadable:
            raise ApiError(f"HOMER answered {reply.method} {reply.path} {unreadable}", **kw)
        if reply.kind == "html":
            raise ApiError(f"HOMER answered {status} with an HTML page instead of JSON"
                           " (is the URL right? a proxy in the way?)", **kw)
        if reply.kind == "text":
            raise ApiError(f"HOMER answered {status} with a body that is not JSON"
                           " (is the URL right? a proxy in the way?)", **kw)
        if status in RETRY_STATUSES and reply.method in RETRY_METHODS:
            # Retries are off (--retries 0): still say where it failed and how.
            raise ApiError(f"{reply.method} {reply.url} failed without a retry (retries are set to 0):"
                           f" last status {status}" + (f" ({reason})" if reason else ""), **kw)
        if status == 429:
            raise ApiError(f"HOMER is rate limiting requests: {reply.method} {reply.path}"
                           " answered 429", **kw)
        if status == 404:
            raise ApiError(f"HOMER answered 404 Not Found to {reply.method} {reply.path}"
                           " (is the URL right, with its path prefix, and the API version?)",
                           **kw)
        if reply.ok:
            raise ApiError(f"HOMER answered {status} to {reply.method} {reply.path} with an"
                           f" unexpected body ({reply.kind})", **kw)
        if status >= 500:
            raise ApiError(f"HOMER failed to {action}: it answered {status}"
                           + (f" ({reason})" if reason else ""), **kw)
        raise ApiError(f"HOMER refused to {action} ({status})" + (f": {reason}" if reason else ""),
                       **kw)


def collapse_repeated_guids(aliases: list[Alias], source: str) -> list[Alias]:
    """The list with each guid once: a row repeated identically (a proxy, a database join)
    is collapsed; two different rows under one guid make the list unusable (ApiError).

    A guid names one alias: planning on a list where it names two would keep and delete
    the same alias at once.
    """
    guids = [alias.guid for alias in aliases]
    if None not in guids and len(set(guids)) == len(guids):
        return list(aliases)  # the usual list: every guid once, decided without a loop in Python
    by_guid: dict[str, Alias] = {}
    unique = []
    for alias in aliases:
        if alias.guid is None:
            unique.append(alias)
            continue
        seen = by_guid.setdefault(alias.guid, alias)
        if seen is alias:
            unique.append(alias)
        elif seen != alias:
            raise ApiError(
                f"HOMER answered {source} with guid {alias.guid} twice, as two different aliases"
                f" ({describe(seen)} and {describe(alias)}); refusing to plan on an inconsistent list"
            )
    return unique


def _guid_of(alias: Alias) -> str:
    if not alias.guid:
        raise ValueError("an alias read from the server (with a guid) is required")
    return alias.guid
