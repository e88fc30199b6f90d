"""Secrets out of server-provided text, in every form a server may echo them in.

A server that repeats a password or token back (in an error message, say) may
do so verbatim, JSON-escaped (Go's encoder also escapes ``<``, ``>``, ``&``),
URL-encoded (``%20`` or ``+`` for a space, either hex case), HTML-escaped, or
Unicode-normalised. Each of those forms is replaced, and only then is the text
squeezed onto one line: squeezing first would change a secret containing a tab
or two spaces so that it no longer matches.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from urllib.parse import quote, quote_plus

MASK = "***"
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_forms(secret: str) -> set[str]:
    plain = json.dumps(secret, ensure_ascii=False)[1:-1]
    go = "".join(_GO_ESCAPES.get(char, char) for char in plain)
    return {plain, go, json.dumps(secret)[1:-1]}


def _url_forms(secret: str) -> set[str]:
    forms = {quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, safe="/")}
    lower = {_PERCENT.sub(lambda m: m.group(0).lower(), form) for form in forms}
    return forms | lower


def secret_forms(secret: str) -> set[str]:
    """Every spelling of ``secret`` a server might echo (empty strings excluded)."""
    bases = {secret, unicodedata.normalize("NFC", secret), unicodedata.normalize("NFD", secret)}
    forms = set()
    for base in bases:
        forms |= {base, html.escape(base), html.escape(base, quote=False)}
        forms |= _json_forms(base)
        forms |= _url_forms(base)
    # A server that itself squeezes whitespace echoes that form.
    forms.add(" ".join(secret.split()))
    return {form for form in forms if form}


class Redactor:
    """Knows the run's secrets; makes server text safe to show."""

    def __init__(self, secrets=()):
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        self._forms |= secret_forms(secret)
        # Longest first: a form that contains another must be replaced whole.
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(form) for form in ordered))

    def redact(self, text: str) -> str:
        """``text`` with every known secret form and anything shaped like a JWT masked."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _JWT.sub(MASK, text)

    def clean(self, text, limit: int = 300) -> str:
        """Server-provided text made safe for a message: no secret, one line, at most ``limit`` characters."""
        text = " ".join(self.redact(str(text)).split())
        return text if len(text) <= limit else text[: limit - 3] + "..."
