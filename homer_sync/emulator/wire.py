"""Request and response values passed between the HTTP handler and the API modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from homer_sync.emulator import gojson


def canonical_header_name(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: "auth-token" -> "Auth-Token"."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as."""

    name: str
    admin: bool
    kind: str  # "jwt" | "token"


@dataclass
class Request:
    method: str
    target: str  # path plus query, as sent
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, list[str]]:
        _, _, raw = self.target.partition("?")
        return parse_qs(raw, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """First value of a header, name compared case-insensitively (as HTTP defines it)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def go_header(self, configured_name: str) -> str | None:
        """First value of a header looked up the way a Go server looks it up.

        HTTP header names are case-insensitive on the wire, and Go's net/http
        canonicalises every incoming name ("auth-token" arrives as "Auth-Token"),
        so a client may send any case. The *configured* name, however, is compared
        exactly against that canonical form: HOMER configured with a non-canonical
        name such as "X-API-KEY" never finds the header ("X-Api-Key" on arrival).
        That is the sense in which HOMER's token header name is case-sensitive.
        """
        for key, value in self.headers:
            if canonical_header_name(key) == configured_name:
                return value
        return None

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, obj, *, newline: bool = False) -> Response:
    return Response(status, gojson.encode(obj, newline=newline))


def echo_error(status: int, message: str) -> Response:
    """An error written by the echo framework itself: {"message": ...} plus a newline."""
    return json_response(status, {"message": message}, newline=True)

