"""HTTP plumbing shared by the API clients.

One :class:`Transport` owns one ``requests.Session`` for one HOMER base URL
(or the URL of another service read the same way, such as a NetBox source):
a connection pool sized for the apply concurrency, urllib3 retries with
backoff (never for a create's POST, except connection attempts that sent
nothing; the login's POST is harmless to repeat and retried like a GET),
a time limit on every request, the per-request hook, and the translation of
network failures into one-sentence errors that never carry a secret.

The time limit (``--timeout``) bounds one HTTP attempt from its start to the
last byte of the answer (connecting, sending, waiting, reading), not each
socket read: see deadline.py. Each retry is a new attempt with the same limit.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from .. import __version__
from ..errors import AmbiguousWriteError, ApiError
from .deadline import DeadlineSocket
from .redact import Redactor

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "PUT", "DELETE"})
# A Retry-After longer than this is shortened: an operator would rather see an error.
MAX_RETRY_AFTER = 60.0
_SECRET_QUERY_KEYS = ("token", "password", "passwd", "secret", "key", "auth")

_local = threading.local()


class _Attempts:
    """Timing of the HTTP attempts of one logical call (urllib3 retries included)."""

    def __init__(self, report, limit: float, describe, on_retry=None):
        self._report = report
        self._limit = limit
        self._describe = describe  # exception -> the phrase naming why an attempt got no answer
        self._on_retry = on_retry  # on_retry(retry number, status of the failed attempt or None)
        self.start = time.monotonic()
        self.open = True
        self.retries = 0
        self.last_status: int | None = None

    @property
    def deadline(self) -> float:
        """When the current attempt's answer must be complete (time.monotonic)."""
        return self.start + self._limit

    def ended(self, status: int | None, error: Exception | None = None) -> None:
        if self.open:
            self.open = False
            self.last_status = status
            reason = self._describe(error) if error is not None and status is None else None
            self._report(status, (time.monotonic() - self.start) * 1000.0, reason)

    def retrying(self) -> None:
        self.retries += 1
        self.open = True
        self.start = time.monotonic()
        if self._on_retry is not None:
            self._on_retry(self.retries, self.last_status)

    def resumed(self) -> None:
        self.start = time.monotonic()


class _ObservedRetry(Retry):
    """urllib3 Retry that reports each failed attempt to the call running on this thread."""

    def increment(self, *args, **kwargs):
        attempts = getattr(_local, "attempts", None)
        if attempts is not None:
            response = kwargs.get("response", args[2] if len(args) > 2 else None)
            error = kwargs.get("error", args[3] if len(args) > 3 else None)
            attempts.ended(getattr(response, "status", None),
                           requests.exceptions.ConnectionError(error) if error is not None else None)
        new = super().increment(*args, **kwargs)
        if attempts is not None:
            attempts.retrying()
        return new

    def sleep(self, response=None) -> None:
        super().sleep(response)
        attempts = getattr(_local, "attempts", None)
        if attempts is not None:
            attempts.resumed()

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)

    def _is_method_retryable(self, method: str) -> bool:
        # A POST marked repeatable (the login) is retried like a GET.
        if method and method.upper() == "POST" and getattr(_local, "repeatable", False):
            return True
        return super()._is_method_retryable(method)


class _DeadlineConnection:
    """Reads the answer of an attempt through a DeadlineSocket ending at the attempt's deadline."""

    def getresponse(self):
        attempts = getattr(_local, "attempts", None)
        real = self.sock  # type: ignore[attr-defined]
        if attempts is None or real is None:
            return super().getresponse()  # type: ignore[misc]
        # http.client makes its answer file from self.sock here; the body is read from that file later.
        self.sock = DeadlineSocket(real, attempts.deadline)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            if isinstance(self.sock, DeadlineSocket):  # None when http.client closed the connection
                self.sock = real


class _HTTPConnection(_DeadlineConnection, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections (proxied ones too) bound each answer by the attempt's deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, body already parsed."""

    method: str
    path: str  # as shown to people: path with prefix and decoded query
    url: str  # full URL, no credentials
    status: int
    data: Any  # parsed JSON, or None
    kind: str  # "json" | "empty" | "html" | "text"
    retries: int
    location: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def redact_url(url: str) -> str:
    """The URL without user:password@ and without secret-looking query values."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            key, sep, value = pair.partition("=")
            if any(word in unquote(key).lower() for word in _SECRET_QUERY_KEYS):
                value = "***"
            pairs.append(key + sep + value)
        query = "&".join(pairs)
    return parts._replace(netloc=netloc, query=query, fragment="").geturl()


def parse_base_url(url: str, service: str = "HOMER",
                   credentials: str = "use --username/--password or --token") -> str:
    """Validate the service's URL (may carry a path prefix) and return it without a trailing slash."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # "Invalid IPv6 URL": a '[' without its ']'; the text is not shown (it may hold secrets)
        raise ApiError(f"invalid {service} URL: {exc} (expected http(s)://host[:port][/prefix])") from None
    shown = redact_url(text) if text else "''"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"invalid {service} URL {shown}: expected http(s)://host[:port][/prefix]")
    if parts.username is not None or parts.password is not None:
        raise ApiError(f"the {service} URL {shown} must not carry credentials: {credentials}")
    if parts.query or parts.fragment:
        raise ApiError(f"the {service} URL {shown} must not have a query string or fragment")
    try:
        _ = parts.port
    except ValueError:
        raise ApiError(f"invalid {service} URL {shown}: bad port") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class Transport:
    """Thread-safe HTTP access to one HOMER (or ``service``) base URL."""

    def __init__(self, settings, *, service: str = "HOMER"):
        self.service = service
        self.base_url = parse_base_url(settings.url, service)
        self.timeout = float(settings.timeout)
        self.retries = int(settings.retries)
        self._hook = settings.on_request
        self._retry_hook = getattr(settings, "on_retry", None)
        self._redactor = Redactor((settings.password, settings.token))
        self._count_lock = threading.Lock()
        # Every HTTP attempt counts, urllib3 retries included (they are observed
        # through _ObservedRetry); call_count counts logical calls.
        self.request_count = 0
        self.call_count = 0

        factor = float(settings.backoff_factor)
        retry = _ObservedRetry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,  # TLS and similar failures do not heal by retrying
            backoff_factor=factor,
            backoff_jitter=factor / 2,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=RETRY_METHODS,  # never POST: a create must not be repeated blindly
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = _DeadlineAdapter(pool_connections=1, pool_maxsize=max(1, int(settings.pool_size)),
                                  max_retries=retry)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": f"homer-sync/{__version__}",
                                "Accept": "application/json"})
        # A no-op auth keeps requests from adding Basic credentials from ~/.netrc,
        # which would replace our Authorization header.
        session.auth = _no_auth
        if settings.ca_bundle:
            session.verify = settings.ca_bundle
        elif settings.insecure:
            session.verify = False
            import warnings

            warnings.filterwarnings("ignore", category=u3.InsecureRequestWarning)
        # requests re-reads every environment variable for proxies on each request (about a
        # third of the client's CPU per call); read them once here, then stop it looking.
        session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        if session.verify is True:
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
        self._session = session

    # -- secrets -------------------------------------------------------------
    def add_secret(self, secret: str | None) -> None:
        self._redactor.add(secret)

    def clean(self, text: str, limit: int = 300) -> str:
        """Server-provided text made safe for a message: one line, short, no secret."""
        return self._redactor.clean(text, limit)

    # -- requests ------------------------------------------------------------
    def send(self, method: str, path: str, *, params=None, body=None, headers=None,
             action: str | None = None, repeatable: bool = False) -> Reply:
        """Send one request; ``repeatable`` marks a POST that is harmless to repeat (login)."""
        query = urlencode(params) if params else ""
        url = self.base_url + path + (f"?{query}" if query else "")
        parts = urlsplit(url)  # the path may carry a query of its own (a link the server gave)
        shown = unquote(parts.path + (f"?{parts.query}" if parts.query else ""))
        with self._count_lock:
            self.call_count += 1
        host = parts.hostname or ""
        retried = None
        if self._retry_hook is not None:
            hook = self._retry_hook

            def retried(number: int, status: int | None) -> None:
                hook(method, shown, status, number)

        attempts = _Attempts(lambda status, ms, reason: self._record(method, shown, status, ms, reason),
                             self.timeout, lambda exc: _describe(exc, self.timeout, host, self.service)[0], retried)
        _local.attempts = attempts
        _local.repeatable = repeatable
        try:
            response = self._session.request(method, url, json=body, headers=headers,
                                             timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            attempts.ended(None, exc)
            ambiguous = method == "POST" and not repeatable
            raise self._network_error(exc, method, url, shown, attempts.retries, action,
                                      ambiguous) from None
        finally:
            _local.attempts = None
            _local.repeatable = False
        attempts.ended(response.status_code)
        data, kind = _parse_body(response)
        return Reply(method=method, path=shown, url=redact_url(url), status=response.status_code,
                     data=data, kind=kind, retries=attempts.retries,
                     location=response.headers.get("Location"))

    def _record(self, method: str, path: str, status: int | None, ms: float, reason: str | None) -> None:
        with self._count_lock:
            self.request_count += 1
        if self._hook is not None:
            self._hook(method, path, status, ms, reason)

    def _network_error(self, exc, method, url, shown, retries, action, ambiguous) -> ApiError:
        detail, sent = _describe(exc, self.timeout, urlsplit(url).hostname or "", self.service)
        kw = {"method": method, "url": redact_url(url)}
        if ambiguous and sent:
            what = action or f"send POST {shown}"
            return AmbiguousWriteError(
                f"the request to {what} has an unknown outcome: {detail};"
                f" {self.service} may or may not have stored it",
                **kw,
            )
        if not sent:
            return ApiError(f"cannot reach {self.service} at {redact_url(self.base_url)}: {detail}", **kw)
        after = f" (after {retries} {'retry' if retries == 1 else 'retries'})" if retries else ""
        return ApiError(
            f"{self.service} at {redact_url(self.base_url)} failed to answer {method} {shown}: {detail}{after}",
            **kw,
        )

    def close(self) -> None:
        self._session.close()


def _no_auth(request):
    return request


class _NotFinite(ValueError):
    """A JSON number no float holds (1e400) or a non-JSON constant (NaN, Infinity)."""


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _NotFinite(text)
    return value


def _no_constant(text: str):
    raise _NotFinite(text)


def _parse_body(response) -> tuple[Any, str]:
    """(data, kind): kind is json, empty, html, text, "deep" (nested past Python's
    recursion limit), "binary" (not UTF-8) or "not-finite" (data: the number's text)."""
    content = response.content or b""
    if not content.strip():
        return None, "empty"
    try:
        return json.loads(content, parse_float=_finite, parse_constant=_no_constant), "json"
    except _NotFinite as exc:
        return str(exc), "not-finite"
    except RecursionError:
        return None, "deep"
    except UnicodeDecodeError:
        if content.lstrip()[:1] != b"<":
            return None, "binary"
    except ValueError:
        pass
    ctype = response.headers.get("Content-Type", "").lower()
    head = content.lstrip()[:15].lower()
    if "html" in ctype or head.startswith((b"<!doctype", b"<html", b"<")):
        return None, "html"
    return None, "text"


def _describe(exc: Exception, timeout: float, host: str, service: str = "HOMER") -> tuple[str, bool]:
    """A short phrase for a network failure, and whether the request may have reached the service."""
    timeout_text = f"{timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return _tls_phrase(exc), False
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connection timed out after {timeout_text}", False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no complete answer within {timeout_text}", True
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused the connection", False
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return "the answer was cut off", True
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema)):
        return "invalid URL", False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, u3.MaxRetryError):
            reason = reason.reason
        if isinstance(reason, u3.NameResolutionError):
            return f"host name {host!r} could not be resolved", False
        if isinstance(reason, u3.NewConnectionError):
            text = str(reason).lower()
            if "refused" in text:
                return "connection refused", False
            if "name or service" in text or "nodename" in text or "name resolution" in text:
                return f"host name {host!r} could not be resolved", False
            if "unreachable" in text:
                return "network unreachable", False
            if "no route" in text:
                return "no route to host", False
            return "connection failed", False
        if isinstance(reason, u3.ConnectTimeoutError):
            return f"connection timed out after {timeout_text}", False
        if isinstance(reason, u3.ReadTimeoutError):
            return f"no complete answer within {timeout_text}", True
        if isinstance(reason, u3.SSLError):
            return _tls_phrase(reason), False
        if isinstance(reason, u3.ProxyError):
            return "the proxy refused the connection", False
        return f"the connection was closed before {service} answered", True
    return f"request failed ({type(exc).__name__})", True


def _tls_phrase(exc: Exception) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        if "hostname" in text.lower() or "match" in text.lower():
            return "the TLS certificate does not match the host name"
        return ("TLS certificate verification failed (use --ca-bundle FILE, or --insecure to skip"
                " the check)")
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "TLS handshake failed (is this an http:// server?)"
    return "TLS handshake failed"
