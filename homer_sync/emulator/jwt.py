"""Minimal HS256 JSON Web Tokens (RFC 7519), enough to mint and check HOMER-like tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from homer_sync.emulator import gojson

_HEADER = gojson.dumps({"alg": "HS256", "typ": "JWT"}).encode()


class InvalidToken(ValueError):
    """Malformed, wrongly signed or expired token."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("bad base64") from None


def encode(claims: dict, secret: bytes) -> str:
    """Signed token; claims are serialised in their dict order, compact, like Go's jwt library."""
    signing_input = _b64encode(_HEADER) + "." + _b64encode(gojson.dumps(claims).encode("utf-8"))
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64encode(signature)


def decode(token: str, secret: bytes, *, now: float) -> dict:
    """Verified claims of ``token`` at Unix time ``now``; raises InvalidToken (bad shape, algorithm,
    signature, or expired)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("token must have three segments")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("bad JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidToken("unexpected signing method")
    if not isinstance(claims, dict):
        raise InvalidToken("claims are not an object")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64decode(parts[2])):
        raise InvalidToken("signature is invalid")
    exp = claims.get("exp")
    if exp is not None:
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise InvalidToken("exp is not a number")
        if int(now) > exp:
            raise InvalidToken("token is expired")
    return claims


def unverified_claims(token: str) -> dict:
    """Claims without any check (for tests and diagnostics)."""
    return json.loads(_b64decode(token.split(".")[1]))
