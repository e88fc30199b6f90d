"""Secrets are masked in server text in every form a server may echo them, before the text is squeezed."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from homer_sync.api.redact import Redactor, secret_forms
from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator, gojson

PASSWORDS = {
    "tab": "pass\tword",
    "double space": "two  spaces",
    "edges": " leading and trailing ",
    "newline": "line\nbreak",
    "regex metacharacters": r"a.b*c+d?(e)[f]{g}|h^$\1",
    "cyrillic": "пароль-секрет",
    "composed accent": "égalité",  # NFC
    "decomposed accent": unicodedata.normalize("NFD", "égalité"),
    "percent and plus": "100% +plus",
    "html and json specials": "q\"uo'te<tag>&amp;\\",
    "emoji": "key🔑🔑",
}

ECHOES = {
    "verbatim": lambda s: s,
    "JSON, ASCII escapes": lambda s: json.dumps(s)[1:-1],
    "JSON, UTF-8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "JSON, Go encoder": lambda s: gojson.encode(s).decode("utf-8")[1:-1],
    "URL, %20": lambda s: quote(s, safe=""),
    "URL, + for space": quote_plus,
    "URL, lowercase hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")),
    "HTML": html.escape,
    "NFC": lambda s: unicodedata.normalize("NFC", s),
    "NFD": lambda s: unicodedata.normalize("NFD", s),
}


@pytest.mark.parametrize("password", PASSWORDS.values(), ids=PASSWORDS.keys())
@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_every_echoed_form_is_masked(password, echo):
    echoed = echo(password)
    text = f"login failed for admin:{echoed} (from 10.0.0.1)"
    cleaned = Redactor([password]).clean(text)
    assert cleaned == "login failed for admin:*** (from 10.0.0.1)"


@pytest.mark.parametrize("password", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_no_form_survives_squeezing(password):
    # Whatever the text looks like once squeezed onto one line, no spelling of the secret is in it.
    text = "\t".join(echo(password) for echo in ECHOES.values())
    cleaned = Redactor([password]).clean(text, limit=10_000)
    for form in secret_forms(password) | {" ".join(password.split())}:
        if len(form) > 3:  # a 3-character form could be a piece of the mask itself
            assert form not in cleaned


def test_text_without_a_secret_is_only_squeezed_and_shortened():
    redactor = Redactor(["s3cret!"])
    assert redactor.clean("  bad\trequest:\n\n  alias  exists ") == "bad request: alias exists"
    assert redactor.clean("x" * 400) == "x" * 297 + "..."


def test_a_secret_added_later_and_a_jwt_are_masked():
    redactor = Redactor([None, ""])
    redactor.add("tok\ten")
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    assert redactor.clean(f"token tok\ten or {jwt}") == "token *** or ***"


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole():
    redactor = Redactor(["abc", "abc  def"])
    assert redactor.clean("echo abc  def end") == "echo *** end"


@pytest.mark.parametrize("password", [PASSWORDS["tab"], PASSWORDS["double space"], PASSWORDS["regex metacharacters"],
                                      PASSWORDS["cyrillic"], PASSWORDS["percent and plus"]],
                         ids=["tab", "double space", "regex", "cyrillic", "percent and plus"])
def test_cli_never_shows_a_password_homer_echoes(tmp_path, password):
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("version: 1\naliases:\n  - {alias: pcscf01, ip: 10.1.1.1}\n")
    with HomerEmulator(api="v3", users={"admin": (password, True)}) as homer:
        echoes = [f"{name}: {echo(password)}" for name, echo in ECHOES.items()]
        homer.fail_next(1, 400, body=gojson.encode({"message": "bad request; " + " | ".join(echoes)}),
                        method="POST", path_prefix="/api/v3/alias")
        env = {"HOMER_URL": homer.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": password, "HOMER_API": "v3",
               "XDG_STATE_HOME": str(tmp_path / "state"), "HOMER_TOKEN": None}
        result = CliRunner().invoke(cli, ["--retries", "0", "apply", "--yes", str(inventory)], env=env)
    output = result.output  # stdout and stderr, interleaved
    assert result.exit_code == 1, output
    assert "bad request; verbatim: ***" in output
    for form in secret_forms(password):
        assert form not in output
