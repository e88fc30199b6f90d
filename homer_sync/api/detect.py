"""connect(): check the settings, log in (or probe with the token) and pick the API version.

Detection costs no extra request on HOMER 7: with a password the v3 login
goes first (a v4 server answers 404 there, and only then is the v4 login
tried); with a token the first alias list request is the probe and its
answer is kept for the first ``list_aliases()``. A v3 run is therefore
exactly login + list, and a v3 token run a single request.
"""

from __future__ import annotations

from ..credentials import check_header_name, check_token
from ..errors import ApiError, AuthenticationError
from .http import Transport
from .v3 import V3Client

_APIS = ("auto", "v3", "v4")


def check_settings(settings) -> None:
    """Refuse settings that cannot work, before any request."""
    if settings.api not in _APIS:
        raise ApiError(f"unknown API version {settings.api!r}: use v3, v4 or auto")
    if not settings.timeout or settings.timeout <= 0:
        raise ApiError("the timeout must be a positive number of seconds")
    if settings.retries < 0:
        raise ApiError("the number of retries cannot be negative")
    if settings.token:
        if settings.username or settings.password:
            raise AuthenticationError(
                "give either an API token or a username and password, not both")
        if not (settings.token_header or "").strip():
            raise AuthenticationError("the token header name is empty")
        check_header_name(settings.token_header)
        check_token(settings.token, source=None, header=settings.token_header)
        return
    if not settings.username:
        raise AuthenticationError("no credentials: give --username and --password, or --token")
    if not settings.password:
        raise AuthenticationError(f"no password given for user {settings.username!r}")


def connect(settings):
    """Log in (or probe with the token), detect the API, return a ready client."""
    check_settings(settings)
    transport = Transport(settings)
    try:
        if settings.token:
            return _first_answering(transport, settings, "GET", "probe_request", "accept_probe")
        return _first_answering(transport, settings, "POST", "login_request", "accept_login")
    except BaseException:
        transport.close()
        raise


def _first_answering(transport, settings, method: str, ask: str, accept: str):
    """Try each candidate API in turn: a 404 means "not this one"; anything else decides.

    With a password the question is the login; with a token it is the first list call,
    whose answer the client keeps, so that detection costs no request on HOMER 7.
    """
    paths = []
    for client_class in _candidates(settings.api):
        client = client_class(transport, settings)
        reply = getattr(client, ask)()
        paths.append(f"{method} {reply.path}")
        if reply.status == 404:
            continue
        getattr(client, accept)(reply)
        return client
    raise _no_api(transport, settings.api, paths)


def _candidates(api: str):
    """The clients to try, in order; API v4's (and its listing) imported only when its turn comes."""
    if api not in ("v3", "v4", "auto"):
        raise KeyError(api)
    if api != "v4":
        yield V3Client
    if api != "v3":
        from .v4 import V4Client

        yield V4Client


def _no_api(transport, api: str, paths: list[str]) -> ApiError:
    base = transport.base_url
    if api == "auto":
        return ApiError(
            f"no HOMER API found at {base}: {' and '.join(paths)} both answered 404"
            " (is the URL right, including any path prefix?)", status=404)
    hint = ("HOMER 10+ speaks API v4: try --api v4" if api == "v3"
            else "HOMER 7 speaks API v3: try --api v3")
    return ApiError(
        f"HOMER at {base} has no API {api}: {paths[0]} answered 404 (is the URL right,"
        f" including any path prefix? {hint})", status=404)
