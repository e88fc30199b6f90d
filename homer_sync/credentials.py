"""Which credentials (and server trust) a run uses, and a token fit to be sent as an HTTP header.

Credentials arrive in layers: command-line flags, then environment variables
(then, where used, a config file). A nearer layer wins over a farther one, so
``--token X`` works in a shell that exports ``HOMER_USERNAME``/``HOMER_PASSWORD``
(as CI jobs do), and ``--username``/``--password-file`` works with ``HOMER_TOKEN``
set. Two ways of logging in given in the same layer contradict each other: a
usage error, since homer-sync cannot know which one was meant.

Secrets read from a file or the environment lose a trailing newline (``echo``
and editors add one). Whatever is still unfit for an HTTP header is refused
before any request, naming where the token came from and what is wrong with it,
never the token itself.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import EXIT_USAGE, HomerSyncError

FLAG, ENV, CONFIG = 0, 1, 2  # layers, nearest first
# RFC 9110 field-name: a "token" of these characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class CredentialsUsageError(HomerSyncError):
    """Credentials given in contradictory ways; exit 64 like any usage error."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Given:
    """A value and where it came from: ``name`` is how the operator wrote it (``--token``, ``HOMER_TOKEN``)."""

    value: str
    name: str
    layer: int = FLAG


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    token: str | None = None
    token_source: str | None = None  # e.g. "HOMER_TOKEN", for messages about the token


def choose(*, token: Given | None, username: Given | None, password: Given | None) -> Credentials:
    """The credentials to use: the nearer layer wins; token and login in the same layer is a usage error."""
    login = [given for given in (username, password) if given is not None]
    if token is not None and login:
        login_layer = min(given.layer for given in login)
        if token.layer == login_layer:
            names = " and ".join(given.name for given in [token, *login] if given.layer == token.layer)
            raise CredentialsUsageError(
                f"{names} contradict each other: give either an API token or a username and password, not both")
        if token.layer < login_layer:
            username = password = None
        else:
            token = None
    if token is not None:
        return Credentials(token=strip_newline(token.value), token_source=token.name)
    return Credentials(username=username.value if username else None, password=password.value if password else None)


ENV_NAMES = {"username": "HOMER_USERNAME", "password": "HOMER_PASSWORD", "token": "HOMER_TOKEN",
             "ca_bundle": "HOMER_CA_BUNDLE"}
PASSWORD_FLAGS = {"password": "--password", "password_file": "--password-file", "password_stdin": "--password-stdin"}


def _given(options: Mapping, key: str, from_env: Collection[str]) -> Given | None:
    value = options.get(key)
    if not value:
        return None
    if key in from_env:
        return Given(strip_newline(value) if key == "token" else value, ENV_NAMES[key], ENV)
    return Given(value, "--" + key.replace("_", "-"), FLAG)


def _from_config(server, key: str) -> Given | None:
    """A config server's username, or a placeholder for its password/token (read once it is chosen)."""
    if server is None:
        return None
    if key == "username":
        return Given(server.username, f"the username of server {server.name!r}", CONFIG) if server.username else None
    source = getattr(server, key)
    return Given("", f"{source.describe()} of server {server.name!r}", CONFIG) if source is not None else None


def from_options(options: Mapping, from_env: Collection[str], *, stdin=None, server=None,
                 read_secret=None) -> tuple[Credentials, list[str]]:
    """The credentials the connection options ask for, and warnings about them.

    ``options`` holds username, password, password_file, password_stdin, token; ``from_env``
    names the keys whose value came from an environment variable rather than a flag. A
    password file or standard input is read only when no contradiction was found first.
    ``server`` (a config.ServerConfig) is the farthest layer; its secret is read by
    ``read_secret(SecretSource)`` only when it is the one chosen.
    """
    flagged = [key for key in PASSWORD_FLAGS if options.get(key) and key not in from_env]
    if len(flagged) > 1:
        raise CredentialsUsageError(f"use only one of {', '.join(PASSWORD_FLAGS[k] for k in flagged)}")
    token = _given(options, "token", from_env) or _from_config(server, "token")
    username = _given(options, "username", from_env) or _from_config(server, "username")
    password = _given(options, "password", from_env) or _from_config(server, "password")
    if flagged and flagged[0] != "password":
        password = Given("", PASSWORD_FLAGS[flagged[0]], FLAG)  # read below, once it is known to be used
    chosen = choose(token=token, username=username, password=password)
    if chosen.token is None:
        require_text(chosen.username, f"the user name ({username.name})" if username else "the user name")
    if chosen.token is not None and token is not None and token.layer == CONFIG:
        return Credentials(token=read_secret(server.token), token_source=token.name), []
    if chosen.username is not None and password is not None and password.layer == CONFIG:
        return Credentials(username=chosen.username, password=read_secret(server.password)), []
    if chosen.token is None and (not flagged or flagged[0] == "password"):
        require_text(chosen.password, f"the password ({password.name})" if password else "the password")
    if chosen.token is not None or not flagged or flagged[0] == "password":
        return chosen, []
    warnings = []
    if flagged[0] == "password_file":
        path = Path(options["password_file"])
        secret, shared = read_password_file(path)
        if shared:
            warnings.append(f"password file {path} is readable by other users; chmod 600 it")
    else:
        secret = read_password_line(stdin)
        require_text(secret, "the password on standard input")
    return Credentials(username=chosen.username, password=secret), warnings


def choose_tls(options: Mapping, from_env: Collection[str]) -> tuple[str | None, bool]:
    """(CA bundle, insecure): --insecure beats HOMER_CA_BUNDLE; with --ca-bundle it is a contradiction."""
    bundle = _given(options, "ca_bundle", from_env)
    insecure = bool(options.get("insecure"))
    if insecure and bundle is not None:
        if bundle.layer == FLAG:
            raise CredentialsUsageError("--ca-bundle and --insecure contradict each other: give one of them")
        return None, True
    return (bundle.value if bundle else None), insecure


def require_text(value: str | None, what: str) -> None:
    """Refuse a value that was not UTF-8 where it came from (Python keeps such bytes as lone
    surrogates, which cannot be sent): one line naming it, never quoting it."""
    for index, char in enumerate(value or "", start=1):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise HomerSyncError(f"{what} is not UTF-8 text (character {index} is an undecodable byte)")


def strip_newline(secret: str) -> str:
    """The secret without the line break(s) a file or ``$(...)`` may leave at its end."""
    return secret.rstrip("\r\n")


def check_header_name(name: str) -> None:
    if not _HEADER_NAME.fullmatch(name or ""):
        raise HomerSyncError(f"--token-header {name!r} is not a valid HTTP header name"
                             " (letters, digits and !#$%&'*+-.^_`|~ only)")


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as an HTTP header value, without quoting it; None when it can."""
    if token != token.strip(" \t"):
        return "it starts or ends with a space or tab"
    for index, char in enumerate(token, start=1):
        code = ord(char)
        if char in "\r\n":
            return f"character {index} is a line break"
        if (code < 32 and char != "\t") or code == 127:
            return f"character {index} is a control character (U+{code:04X})"
        if code > 255:
            return (f"character {index} is not Latin-1 (U+{code:04X}), and an HTTP header can carry only"
                    " Latin-1 characters")
    return None


def check_token(token: str, *, source: str | None, header: str) -> None:
    """Refuse a token that cannot be sent in the ``header`` header, before any request."""
    problem = token_problem(token)
    if problem:
        named = f" ({source})" if source else ""
        raise HomerSyncError(f"the API token{named} cannot be sent in the {header} header: {problem}")


def read_password_file(path: Path) -> tuple[str, bool]:
    """The password in ``path`` without its trailing newline, and whether other users may read the file."""
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise HomerSyncError(f"cannot read password file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HomerSyncError(f"password file {path} is not UTF-8 text (byte {exc.start + 1} is"
                             f" 0x{raw[exc.start]:02x})") from None
    return strip_newline(text), bool(mode & 0o077)


def read_password_line(stream=None) -> str:
    """The first line of ``stream`` (standard input), without its newline."""
    stream = sys.stdin if stream is None else stream
    try:
        line = stream.readline()
    except UnicodeDecodeError:
        raise HomerSyncError("the password on standard input is not UTF-8 text") from None
    except (OSError, ValueError, AttributeError):  # AttributeError: no standard input at all (sys.stdin is None)
        raise HomerSyncError("cannot read the password from standard input (is it closed?)") from None
    return strip_newline(line)
