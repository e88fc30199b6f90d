"""The configuration file: named HOMER servers and where their secrets come from.

```yaml
servers:
  lab:
    url: https://homer-lab.example.net
    username: admin
    password_env: HOMER_LAB_PASSWORD   # or password_file / password_command / password
    api: auto
    inventory: inventories/lab.yaml
  prod: {url: https://homer.example.net, token_file: /etc/homer-sync/prod.token}
```

Looked up at ``--config FILE``, else ``$HOMER_SYNC_CONFIG``, else
``$XDG_CONFIG_HOME/homer-sync/config.yaml`` (``~/.config/...``). A missing
default file is no error; a missing named one is. Flags and environment
variables win over the file; that merge happens where settings are built.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HomerSyncError

SECRET_KINDS = ("password", "token")
SECRET_FROM = ("", "_env", "_file", "_command")  # password, password_env, password_file, password_command
PLAIN_KEYS = ("url", "api", "username", "token_header", "ca_bundle", "insecure", "timeout", "retries", "inventory")
SERVER_KEYS = PLAIN_KEYS + tuple(kind + origin for kind in SECRET_KINDS for origin in SECRET_FROM)
API_CHOICES = ("v3", "v4", "auto")
SECRET_COMMAND_TIMEOUT = 30.0


class ConfigError(HomerSyncError):
    """The configuration file is missing, unreadable or invalid; every problem is listed."""

    def __init__(self, path: str, problems: Sequence[str]):
        self.path = path
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__(f"config {path}: {self.problems[0]}")
        else:
            super().__init__(f"config {path} has {len(self.problems)} problems:\n"
                             + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class SecretSource:
    """Where a password or token comes from; never the secret itself in its repr."""

    kind: str  # "password" | "token"
    origin: str  # "inline" | "env" | "file" | "command"
    value: str | tuple[str, ...] = field(repr=False)  # the secret, an env var name, a path or an argv

    def describe(self) -> str:
        if self.origin == "inline":
            return f"the {self.kind} written in the config"
        if self.origin == "command":
            return f"{self.kind}_command {self.value[0]!r}"
        return f"{self.kind}_{self.origin} {self.value!r}"


@dataclass(frozen=True)
class ServerConfig:
    """One named server of the config file; unset fields are None."""

    name: str
    url: str | None = None
    api: str | None = None
    username: str | None = None
    token_header: str | None = None
    ca_bundle: str | None = None
    insecure: bool | None = None
    timeout: float | None = None
    retries: int | None = None
    inventory: tuple[str, ...] = ()
    password: SecretSource | None = None
    token: SecretSource | None = None


@dataclass(frozen=True)
class Config:
    path: str | None
    servers: Mapping[str, ServerConfig]
    warnings: tuple[str, ...] = ()

    def server(self, name: str) -> ServerConfig:
        if name not in self.servers:
            known = ", ".join(sorted(self.servers)) or "none"
            where = self.path or "no config file"
            raise ConfigError(where, [f"no server named {name!r} (servers: {known})"])
        return self.servers[name]


def default_config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "homer-sync" / "config.yaml"


def find_config(explicit: str | None, environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """(path, required): the flag, then HOMER_SYNC_CONFIG, then the XDG default (optional)."""
    chosen = explicit or environ.get("HOMER_SYNC_CONFIG")
    if chosen:
        return Path(chosen), True
    return default_config_path(environ), False


def load_config(explicit: str | None, environ: Mapping[str, str]) -> Config:
    """The config in force; an empty one when no file is named and the default does not exist."""
    path, required = find_config(explicit, environ)
    if path is None or (not required and not path.exists()):
        return Config(path=None, servers={})
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"file is not valid UTF-8 (byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read file: {exc.strerror or exc}"]) from None
    return parse_config(text, path=str(path), mode=mode)


def parse_config(text: str, *, path: str, mode: int = 0o600) -> Config:
    """Validate a config file's text; every problem is reported at once with its line."""
    from .inventory.problems import FileProblems
    from .inventory.yamlsource import load_yaml

    problems: list = []
    doc, ok = load_yaml(FileProblems(path, problems), text)
    messages = [_located(p) for p in problems]
    if not ok:
        raise ConfigError(path, messages)
    if doc is None:
        return Config(path=path, servers={})
    if not isinstance(doc, dict) or set(doc) - {"servers"}:
        raise ConfigError(path, ["the top level must be a mapping with one key, servers"])
    servers_node = doc.get("servers") or {}
    if not isinstance(servers_node, dict):
        raise ConfigError(path, [f"line {_line(doc, 'servers')}: servers must be a mapping of name -> settings"])
    servers, warnings = {}, []
    base = Path(path).parent
    for name, node in servers_node.items():
        server = _parse_server(str(name), node, _line(servers_node, name), base, messages)
        if server is None:
            continue
        servers[server.name] = server
        inline = [s.kind for s in (server.password, server.token) if s is not None and s.origin == "inline"]
        if inline and mode & 0o077:
            warnings.append(f"config {path} holds the {inline[0]} of server {server.name!r} and is readable by "
                            f"other users (mode {stat.S_IMODE(mode):o}); chmod 600 it or use {inline[0]}_env / "
                            f"{inline[0]}_file")
    if messages:
        raise ConfigError(path, messages)
    return Config(path=path, servers=servers, warnings=tuple(warnings))


def _line(node, key) -> int | None:
    lines = getattr(node, "key_lines", None) or {}
    return lines.get(key, getattr(node, "line", None))


def _located(problem) -> str:
    return f"line {problem.line}: {problem.message}" if problem.line else problem.message


def _parse_server(name: str, node, line, base: Path, messages: list) -> ServerConfig | None:
    where = f"line {line}: server {name!r}" if line else f"server {name!r}"
    if not isinstance(node, dict):
        messages.append(f"{where}: must be a mapping (url, username, password_env, ...)")
        return None
    before = len(messages)
    for key in node:
        if key not in SERVER_KEYS:
            messages.append(f"{where}: unknown key {key!r} (known: {', '.join(SERVER_KEYS)})")
    values: dict = {}
    for key in ("url", "username", "token_header", "ca_bundle"):
        if key in node:
            values[key] = _text(node[key], key, where, messages)
    if "api" in node:
        if node["api"] not in API_CHOICES:
            messages.append(f"{where}: api must be one of {', '.join(API_CHOICES)}, got {node['api']!r}")
        else:
            values["api"] = node["api"]
    if "insecure" in node:
        if not isinstance(node["insecure"], bool):
            messages.append(f"{where}: insecure must be true or false")
        else:
            values["insecure"] = node["insecure"]
    if "timeout" in node:
        timeout = node["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.1 <= timeout <= 3600:
            messages.append(f"{where}: timeout must be a number of seconds between 0.1 and 3600")
        else:
            values["timeout"] = float(timeout)
    if "retries" in node:
        retries = node["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
            messages.append(f"{where}: retries must be an integer between 0 and 100")
        else:
            values["retries"] = retries
    if "inventory" in node:
        items = node["inventory"] if isinstance(node["inventory"], list) else [node["inventory"]]
        paths = [_text(item, "inventory", where, messages) for item in items]
        values["inventory"] = tuple(str(base / p) for p in paths if p)
    if values.get("ca_bundle"):
        values["ca_bundle"] = str(base / values["ca_bundle"])
    for kind in SECRET_KINDS:
        given = [kind + origin for origin in SECRET_FROM if kind + origin in node]
        if len(given) > 1:
            messages.append(f"{where}: give one of {', '.join(given)}, not several")
        elif given:
            values[kind] = _secret_source(kind, given[0], node[given[0]], base, where, messages)
    if values.get("password") and values.get("token"):
        messages.append(f"{where}: give either a password or a token, not both")
    if len(messages) > before:
        return None
    return ServerConfig(name=name, **values)


def _text(value, key: str, where: str, messages: list) -> str | None:
    if not isinstance(value, str) or not value.strip():
        messages.append(f"{where}: {key} must be a non-empty string")
        return None
    return value


def _secret_source(kind: str, key: str, value, base: Path, where: str, messages: list) -> SecretSource | None:
    origin = key[len(kind) + 1:] or "inline"
    if origin == "command":
        argv = value if isinstance(value, list) else None
        if not argv or not all(isinstance(a, str) and a for a in argv):
            messages.append(f"{where}: {key} must be a list of program arguments (no shell), "
                            "e.g. [pass, show, homer/prod]")
            return None
        return SecretSource(kind, origin, tuple(argv))
    if not isinstance(value, str) or not value:
        messages.append(f"{where}: {key} must be a non-empty string")
        return None
    if origin == "file":
        value = str(base / value)
    return SecretSource(kind, origin, value)


Runner = Callable[[Sequence[str], float], str]


def run_secret_command(argv: Sequence[str], timeout: float) -> str:
    """stdout of a password/token command; its stderr passes through to the operator."""
    import subprocess

    completed = subprocess.run(list(argv), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               timeout=timeout, check=True)
    return completed.stdout.decode("utf-8")


def read_secret(source: SecretSource, environ: Mapping[str, str], *, run: Runner = run_secret_command) -> str:
    """The secret a SecretSource points at, without a trailing newline; ConfigError names the source, never
    the secret."""
    what = source.describe()
    if source.origin == "inline":
        secret = str(source.value)
    elif source.origin == "env":
        if str(source.value) not in environ:
            raise HomerSyncError(f"{what} is not set in the environment")
        secret = environ[str(source.value)]
    elif source.origin == "file":
        try:
            secret = Path(str(source.value)).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise HomerSyncError(f"{what}: file is not valid UTF-8") from None
        except OSError as exc:
            raise HomerSyncError(f"cannot read {what}: {exc.strerror or exc}") from None
    else:
        import subprocess  # here only: most runs read no secret from a program

        argv = source.value if isinstance(source.value, tuple) else (str(source.value),)
        try:
            secret = run(argv, SECRET_COMMAND_TIMEOUT)
        except FileNotFoundError:
            raise HomerSyncError(f"{what}: program not found") from None
        except subprocess.TimeoutExpired:
            raise HomerSyncError(f"{what}: no answer within {SECRET_COMMAND_TIMEOUT:.0f} s") from None
        except subprocess.CalledProcessError as exc:
            raise HomerSyncError(f"{what}: exited with status {exc.returncode}") from None
        except UnicodeDecodeError:
            raise HomerSyncError(f"{what}: printed something that is not UTF-8") from None
        except OSError as exc:
            raise HomerSyncError(f"{what}: cannot run it: {exc.strerror or exc}") from None
    secret = secret.rstrip("\r\n")
    if not secret:
        raise HomerSyncError(f"{what} is empty")
    return secret


def server_names(config: Config, chosen: Sequence[str], every: bool, environ: Mapping[str, str]) -> list[str]:
    """The servers a run targets: --server NAME... or --all-servers, else HOMER_SERVER, else none (flags/env only)."""
    if every:
        if not config.servers:
            raise ConfigError(config.path or str(default_config_path(environ)), ["--all-servers: no servers defined"])
        return sorted(config.servers)
    names = list(dict.fromkeys(chosen)) or ([environ["HOMER_SERVER"]] if environ.get("HOMER_SERVER") else [])
    for name in names:
        config.server(name)
    return names
