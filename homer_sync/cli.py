"""Command line: click wiring, options, exit codes. The work happens in the library.

Heavy modules (requests, rich, yaml, the API client) are imported inside the
commands so that ``homer-sync --help`` starts fast.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from homer_sync import __version__
from homer_sync.errors import (
    EXIT_CHANGES_PENDING,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    HomerSyncError,
    InventoryError,
    UnsafePlanError,
)

if TYPE_CHECKING:
    from homer_sync.config import ServerConfig

EXIT_CODES_HELP = """\b
Exit codes:
  0   success (with --detailed-exitcode: no changes)
  1   error of any kind (network, auth, invalid inventory, failed or unverified apply)
  2   changes pending (plan --detailed-exitcode); saved plan stale (show --check)
  3   plan refused as unsafe (thresholds, empty inventory prune); --force overrides
  64  command-line usage error"""

CONNECTION_ENV = {
    "url": "HOMER_URL",
    "username": "HOMER_USERNAME",
    "password": "HOMER_PASSWORD",
    "token": "HOMER_TOKEN",
    "token_header": "HOMER_TOKEN_HEADER",
    "api": "HOMER_API",
    "timeout": "HOMER_TIMEOUT",
    "retries": "HOMER_RETRIES",
    "ca_bundle": "HOMER_CA_BUNDLE",
}
CONNECTION_KEYS = tuple(CONNECTION_ENV) + ("password_file", "password_stdin", "insecure")


class HomerSyncGroup(click.Group):
    """Maps library errors and click usage errors to the documented exit codes."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            if sys.stdout is None:  # started with standard output closed (>&-)
                raise HomerSyncError("standard output is closed, and homer-sync writes its results there; "
                                     "nothing was done")
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else EXIT_OK
            sys.stdout.flush()  # a full disk or a closed pipe is reported here, not at exit
        except OSError as exc:
            click.echo(f"Error: {_os_error_text(exc)}", err=True)
            code = EXIT_ERROR
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except REPORTED as exc:
            code, _ = report_error(exc)
        if standalone_mode:
            sys.exit(code)
        return code


REPORTED = (click.ClickException, click.Abort, HomerSyncError)


def exit_code_of(exc: BaseException) -> tuple[int, str]:
    """(exit code, first line of the message) of an error, without printing it."""
    if isinstance(exc, click.UsageError):
        return EXIT_USAGE, exc.format_message()
    if isinstance(exc, click.ClickException):
        return exc.exit_code, exc.format_message()
    if isinstance(exc, UnsafePlanError):
        return exc.exit_code, "; ".join(exc.reasons)
    if isinstance(exc, HomerSyncError):
        return exc.exit_code, str(exc).splitlines()[0]
    return EXIT_ERROR, "aborted" if isinstance(exc, click.Abort) else "interrupted"


def report_error(exc: BaseException, *, server: str | None = None) -> tuple[int, str]:
    """Print an error the way every command does and return (exit code, its first line);
    ``server`` names the server it happened on when a command runs several."""
    on = f"server {server}: " if server else ""
    if isinstance(exc, click.UsageError):
        if server:
            click.echo(f"Error: {on}{exc.format_message()}", err=True)
        else:
            exc.show()
        return EXIT_USAGE, exc.format_message()
    if isinstance(exc, click.Abort):
        click.echo(f"{on}Aborted.", err=True)
        return EXIT_ERROR, "aborted"
    if isinstance(exc, click.ClickException):
        if server:
            click.echo(f"Error: {on}{exc.format_message()}", err=True)
        else:
            exc.show()
        return exc.exit_code, exc.format_message()
    if isinstance(exc, UnsafePlanError):
        from homer_sync.render import unsafe_text

        click.echo(on + unsafe_text(exc.reasons, forced=False), err=True, nl=False)
        return exc.exit_code, "; ".join(exc.reasons)
    assert isinstance(exc, HomerSyncError)
    click.echo(f"Error: {on}{exc}", err=True)
    return exc.exit_code, str(exc).splitlines()[0]


def _os_error_text(exc: OSError) -> str:
    """One line for a local I/O failure that reached the top. Files homer-sync opens name
    themselves (their own messages, or the error's file name); a failure without a file name
    is standard output's (a full disk, a closed pipe)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{reason}: {exc.filename}"
    _silence_stdout()
    return f"cannot write to standard output: {reason}"


def _silence_stdout() -> None:
    """Send what is still buffered for a broken standard output nowhere, so that Python's exit
    does not print a second error about the same stream."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to silence
        pass


@dataclass
class App:
    verbose: int = 0
    quiet: bool = False
    color: bool = True
    lock_file: str | None = None
    lock_wait: float = 0.0
    max_aliases: int | None = None
    connection: dict = field(default_factory=dict)
    connection_from_env: frozenset = frozenset()  # keys of ``connection`` set by environment variables
    config_path: str | None = None  # --config (else HOMER_SYNC_CONFIG, else the XDG default)
    servers: tuple = ()  # global --server NAME...
    all_servers: bool = False

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)

    def warn(self, message: str) -> None:
        if not self.quiet:
            click.echo(f"Warning: {message}", err=True)


class FiniteFloat(click.FloatRange):
    """A number of seconds or a percentage: a FloatRange that also refuses nan and inf, which
    compare false with every bound (so a plain range lets them through) and then fail deep in
    a socket or a percentage with a traceback."""

    name = "number"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def connection_options(with_env: bool):
    """The connection flags, defined once: on the group (with env vars) and on each network command."""

    def env(key):
        return CONNECTION_ENV.get(key) if with_env else None

    options = [
        click.option("--url", envvar=env("url"), help="HOMER base URL, may carry a path prefix [env HOMER_URL]."),
        click.option("--username", envvar=env("username"),
                     help="HOMER user [env HOMER_USERNAME]; on a terminal, a missing password is asked for."),
        click.option("--password", envvar=env("password"),
                     help="Password [env HOMER_PASSWORD]; prefer the env var or --password-file."),
        click.option("--password-file", type=click.Path(dir_okay=False), help="Read the password from this file."),
        click.option("--password-stdin", is_flag=True, default=None, help="Read the password from standard input."),
        click.option("--token", envvar=env("token"),
                     help="Static API token, sent as the --token-header header [env HOMER_TOKEN]."),
        click.option("--token-header", envvar=env("token_header"),
                     help="Header name for --token (default Auth-Token)."),
        click.option("--api", envvar=env("api"), type=click.Choice(["v3", "v4", "auto"]),
                     help="HOMER API: v3 (HOMER 7), v4 (HOMER 10+) or auto (default) [env HOMER_API]."),
        click.option("--timeout", envvar=env("timeout"), type=FiniteFloat(0.1, 3600),
                     help="Seconds a request may take, connecting to the last byte of the answer;"
                          " each retry gets as long again (default 10, at most 3600)."),
        click.option("--retries", envvar=env("retries"), type=click.IntRange(min=0),
                     help="Retries on connection errors, 429, 502-504 (default 3)."),
        click.option("--ca-bundle", envvar=env("ca_bundle"), type=click.Path(exists=True, dir_okay=False),
                     help="CA bundle to verify HTTPS."),
        click.option("--insecure", is_flag=True, default=None,
                     help="Do not verify HTTPS certificates (prints a warning)."),
    ]

    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


GLOBAL_KEYS = ("verbose", "quiet", "no_color", "lock_file", "lock_wait", "max_aliases", "config_path")


def global_option_flags(func):
    """The global options, defined once: on the group and, through ``global_options``, on every command."""
    options = [
        click.option("-v", "--verbose", count=True,
                     help="One line per HTTP request (method, path, status, ms); secrets redacted."),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("--no-color", is_flag=True, help="Plain output without colour (also NO_COLOR)."),
        click.option("--lock-file", type=click.Path(dir_okay=False),
                     help="Run lock (default $XDG_STATE_HOME/homer-sync/homer-sync.lock)."),
        click.option("--lock-wait", type=FiniteFloat(0, 86400),
                     help="Seconds to wait for another run's lock (default 0, at most 86400)."),
        click.option("--max-aliases", type=click.IntRange(min=1), metavar="N",
                     help="Refuse inventories that expand (ip x port) to more than N aliases (default 200,000)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Config file of named servers [env HOMER_SYNC_CONFIG; default "
                          "$XDG_CONFIG_HOME/homer-sync/config.yaml]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def global_options(func):
    """The global options after the command too: given there, each wins over its group-level value."""
    import functools

    @functools.wraps(func)
    def command(*args, **kwargs):
        from click.core import ParameterSource

        ctx = click.get_current_context()
        values = {key: kwargs.pop(key) for key in GLOBAL_KEYS}
        given = {k: v for k, v in values.items() if ctx.get_parameter_source(k) is not ParameterSource.DEFAULT}
        ctx.obj = _with_globals(ctx.obj, given)
        return func(*args, **kwargs)

    return global_option_flags(command)


def _with_globals(app: App, given: dict) -> App:
    """``app`` with the global options in ``given`` (absent keys keep their value); -v with -q is a usage error."""
    from dataclasses import replace

    changes = {k: v for k, v in given.items() if k != "no_color"}
    if given.get("no_color") or "NO_COLOR" in os.environ:
        changes["color"] = False
    if changes.get("lock_wait") is None:
        changes.pop("lock_wait", None)
    app = replace(app, **changes)
    if app.verbose and app.quiet:
        raise click.UsageError("-v and -q cannot be used together")
    return app


def server_options(func):
    """--server NAME (repeatable) and --all-servers: on the group and on plan, apply and check."""
    func = click.option("--all-servers", is_flag=True, default=False,
                        help="Run every server of the config file, one after the other.")(func)
    return click.option("--server", "servers", multiple=True, metavar="NAME",
                        help="A server of the config file (repeatable: run each in turn) [env HOMER_SERVER].")(func)


def _pop_connection(kwargs: dict) -> dict:
    return {key: kwargs.pop(key, None) for key in CONNECTION_KEYS}


def _merged_connection(app: App, command_level: dict) -> tuple[dict, frozenset]:
    """The connection options with command-level flags over group-level ones, and which came from env."""
    merged = dict(app.connection)
    given = {k: v for k, v in command_level.items() if v is not None}
    merged.update(given)
    return merged, app.connection_from_env - set(given)


def _from_env(ctx: click.Context) -> frozenset:
    from click.core import ParameterSource

    return frozenset(k for k in CONNECTION_KEYS if ctx.get_parameter_source(k) is ParameterSource.ENVIRONMENT)


@click.group(cls=HomerSyncGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", prog_name="homer-sync")
@global_option_flags
@server_options
@connection_options(with_env=True)
@click.pass_context
def cli(ctx, verbose, quiet, no_color, lock_file, lock_wait, max_aliases, config_path, servers, all_servers,
        **kwargs):
    """Keep the IP aliases of a HOMER SIP-capture server in line with an inventory.

    \b
    Examples (one per command):
      homer-sync demo
      homer-sync validate inventory.yaml
      homer-sync --url https://homer.example.net check
      homer-sync --url https://homer.example.net --username admin check   # asks for the password
      homer-sync --url https://homer.example.net plan inventory.yaml
      homer-sync apply --yes --prune inventory.yaml
      homer-sync export -o csv > aliases.csv
      homer-sync lookup 10.0.1.10 --port 5060
      homer-sync show reviewed.plan --check

    \b
    Shell completion (bash; zsh_source and fish_source for the others):
      eval "$(_HOMER_SYNC_COMPLETE=bash_source homer-sync)"
    """
    ctx.obj = _with_globals(App(connection=_pop_connection(kwargs), connection_from_env=_from_env(ctx),
                                servers=tuple(servers), all_servers=all_servers),
                            {"verbose": verbose, "quiet": quiet, "no_color": no_color, "lock_file": lock_file,
                             "lock_wait": lock_wait, "max_aliases": max_aliases, "config_path": config_path})


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _output_format(app: App, requested: str) -> str:
    if requested != "auto":
        return requested
    return "table" if app.color and _is_tty(sys.stdout) else "plain"


def _report_warnings(app: App, inventory) -> None:
    for warning in inventory.warnings if inventory is not None else ():
        app.warn(str(warning))


def _log_request(method, path, status, ms, reason=None):
    from homer_sync.render import request_line

    click.echo(request_line(method, path, status, ms, reason), err=True)


def _load(app: App, paths, *, resolve: bool = True, sources: bool = True):
    inventory = _draft(app, paths, resolve=resolve).load(resolve_hosts=resolve, collect_sources=sources)
    _report_warnings(app, inventory)
    return inventory


def _draft(app: App, paths, *, resolve: bool = True):
    from dataclasses import replace

    from homer_sync.inventory import DEFAULT_MAX_ALIASES, open_inventory

    draft = open_inventory(list(paths), stdin=sys.stdin, resolve_hosts=resolve,
                           max_aliases=app.max_aliases or DEFAULT_MAX_ALIASES)
    return replace(draft, on_request=_log_request) if app.verbose else draft


def _open(app: App, paths):
    """The inventory checked before any request: complete when it has no sources; otherwise a
    draft whose sources are read while HOMER lists its aliases (sync.plan_inventory)."""
    draft = _draft(app, paths)
    return draft if draft.source_specs else draft.load()


def _settings(app: App, command_level: dict, target: Target | None = None, *, stdin_taken: bool = False):
    from homer_sync.api import ConnectionSettings
    from homer_sync.config import read_secret
    from homer_sync.credentials import check_header_name, check_token, choose_tls, from_options

    conn, from_env = _merged_connection(app, command_level)
    server = target.server if target is not None else None
    if server is not None:
        conn = _with_server(app, conn, from_env, server, several=bool(target and target.several))
    if conn.get("password_stdin") and stdin_taken:
        raise click.UsageError("--password-stdin cannot be used with an inventory read from standard input ('-')")
    if not conn.get("url"):
        if server is not None:
            raise click.UsageError(f"no HOMER URL for server {server.name!r}: give it a url in the config")
        raise click.UsageError("no HOMER URL: give --url or set HOMER_URL (or --server NAME of a config file)")
    credentials, warnings = from_options(conn, from_env, stdin=sys.stdin, server=server,
                                         read_secret=lambda source: read_secret(source, os.environ))
    for warning in warnings:
        app.warn(warning)
    if credentials.username and not credentials.password and not credentials.token:
        credentials = _ask_password(credentials, conn["url"], stdin_taken=stdin_taken)
    if not credentials.token and not (credentials.username and credentials.password):
        raise click.UsageError("no credentials: give --username with a password (HOMER_PASSWORD, --password-file, "
                               "--password-stdin; asked for on a terminal) or --token")
    token_header = conn.get("token_header") or "Auth-Token"
    if credentials.token:
        check_header_name(token_header)
        check_token(credentials.token, source=credentials.token_source, header=token_header)
    ca_bundle, insecure = choose_tls(conn, from_env)
    if insecure:
        app.warn("--insecure: HTTPS certificates are not verified")

    return ConnectionSettings(
        url=conn["url"],
        username=credentials.username,
        password=credentials.password,
        token=credentials.token,
        token_header=token_header,
        api=conn.get("api") or "auto",
        timeout=conn.get("timeout") or 10.0,
        retries=3 if conn.get("retries") is None else conn["retries"],
        ca_bundle=ca_bundle,
        insecure=insecure,
        on_request=_log_request if app.verbose else None,
    )


def _ask_password(credentials, url: str, *, stdin_taken: bool):
    """On a terminal, a username without a password is asked for its password once, hidden.
    Without a terminal (CI, cron, a pipe) nothing is asked: the caller's usage error stands."""
    from dataclasses import replace

    if stdin_taken or not _is_tty(sys.stdin):
        return credentials
    password = click.prompt(f"Password for {credentials.username} at {url}", hide_input=True, err=True,
                            default="", show_default=False)
    return replace(credentials, password=password or None)


def _connect(app: App, command_level: dict, target: Target | None = None, *, pool_size: int = 8,
             stdin_taken: bool = False, record=None, events=None):
    """(client, URL); ``record`` (a runs.ServerRun) learns the URL before the first request;
    ``events`` (jsonl output) hears of every retry."""
    from dataclasses import replace

    from homer_sync.api import connect

    settings = replace(_settings(app, command_level, target, stdin_taken=stdin_taken), pool_size=pool_size,
                       on_retry=events.retry if events is not None else None)
    if record is not None:
        record.url = settings.url
    return connect(settings), settings.url


def _event_stream(fmt: str):
    """The jsonl event stream on stdout, or None for the other formats."""
    if fmt != "jsonl":
        return None
    from homer_sync.render.events import EventStream

    return EventStream(sys.stdout)


class _ErrorsAsEvents:
    """With jsonl output, an error ending the run is also an ``error`` event (the exit code and the
    stderr line stay as they are)."""

    def __init__(self, events):
        self.events = events

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if self.events is None or exc is None:
            return False
        if isinstance(exc, UnsafePlanError):
            self.events.error(str(exc), exit_code=exc.exit_code, reasons=exc.reasons)
        elif isinstance(exc, HomerSyncError):
            self.events.error(str(exc), exit_code=exc.exit_code)
        elif isinstance(exc, click.UsageError):
            self.events.error(exc.format_message(), exit_code=EXIT_USAGE)
        elif isinstance(exc, click.Abort):
            self.events.error("aborted", exit_code=EXIT_ERROR)
        return False


# -- several servers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The server one run goes to: a server of the config file, or (server None) flags and environment only."""

    server: ServerConfig | None = None
    several: bool = False  # one of several servers of this command

    @property
    def name(self) -> str | None:
        return getattr(self.server, "name", None)

    def path(self, path: Path) -> Path:
        """A file of this server: with several servers, ``reviewed.plan`` becomes ``reviewed.NAME.plan``."""
        from homer_sync.runs import per_server_path

        return per_server_path(path, self.name) if self.several and self.name else Path(path)


def _url_given(from_env) -> str:
    return "HOMER_URL" if "url" in from_env else "--url"


def _targets(app: App, servers, all_servers: bool, command_level: dict | None = None) -> list[Target]:
    """The servers a command runs: --server NAME..., --all-servers, HOMER_SERVER; else flags/env only.

    The config file is read only when a server is named, so a broken default config never stops
    a run that does not use it."""
    from homer_sync.config import load_config, server_names

    servers = tuple(servers) or app.servers
    all_servers = all_servers or app.all_servers
    if servers and all_servers:
        raise click.UsageError("give --server NAME or --all-servers, not both")
    if not (servers or all_servers or os.environ.get("HOMER_SERVER")):
        return [Target()]
    config = load_config(app.config_path, os.environ)
    for warning in config.warnings:
        app.warn(warning)
    names = server_names(config, servers, all_servers, os.environ)
    conn, from_env = _merged_connection(app, command_level or {})
    if len(names) > 1 and conn.get("url"):
        raise click.UsageError(f"{_url_given(from_env)} would send the run of every server to the same HOMER: "
                               "unset it, each server's url comes from the config")
    return [Target(config.server(name), several=len(names) > 1) for name in names]


def _single_target(app: App, command: str, servers, all_servers: bool, command_level: dict) -> Target:
    """The server of a command that talks to one (export, lookup): --server NAME or HOMER_SERVER."""
    targets = _targets(app, servers, all_servers, command_level)
    if len(targets) > 1:
        raise click.UsageError(f"{command} talks to one server: give one --server NAME")
    return targets[0]


def _with_server(app: App, conn: dict, from_env, server, *, several: bool) -> dict:
    """The connection with a config server's settings under the flags and environment variables."""
    if conn.get("url") and server.url and not several:
        app.warn(f"{_url_given(from_env)} overrides the url of server {server.name!r} in the config")
    merged = dict(conn)
    for key in ("url", "api", "token_header", "timeout", "retries"):
        if merged.get(key) is None:
            merged[key] = getattr(server, key)
    # --insecure (or HOMER_CA_BUNDLE / --ca-bundle) given: the config's trust setting is not used.
    if merged.get("insecure") is None and merged.get("ca_bundle") is None:
        merged["ca_bundle"], merged["insecure"] = server.ca_bundle, server.insecure
    return merged


def _inventory_for(target: Target, inventory) -> tuple:
    """The INVENTORY arguments, else the server's default inventory from the config."""
    if inventory:
        return tuple(inventory)
    if target.server is not None and target.server.inventory:
        return tuple(target.server.inventory)
    if target.server is not None:
        raise click.UsageError(f"give inventory files: server {target.name!r} has no inventory in the config")
    raise click.UsageError("give inventory files (or --server NAME of a config file with an inventory)")


def _each_server(app: App, command: str, targets: list[Target], body, *, fmt: str = "plain",
                 metrics_file: str | None = None) -> int:
    """Run ``body(target, record)`` for each target in turn; one failure does not stop the others.

    With one target, errors propagate as they always did; with several, each is reported with the
    server's name, a summary line per server follows, and the exit code is the worst of them.
    Each run is timed, and ``metrics_file`` is written afterwards, whatever happened."""
    from homer_sync.render import server_heading, servers_summary
    from homer_sync.runs import ServerRun, worst_exit_code

    single = len(targets) == 1
    runs: list[ServerRun] = []
    pending: BaseException | None = None  # an error of a single server, or an interruption: raised at the end
    for target in targets:
        record = ServerRun(target.name, command, url=getattr(target.server, "url", None))
        if not single and not app.quiet and fmt != "jsonl":  # jsonl: each plan event names its server
            click.echo(server_heading(str(target.name), record.url, fmt=fmt), nl=False)
        started = CLOCKS.monotonic()
        try:
            record.exit_code = body(target, record)
        except REPORTED as exc:
            if single:
                (record.exit_code, record.error), pending = exit_code_of(exc), exc
            else:
                record.exit_code, record.error = report_error(exc, server=target.name)
        except BaseException as exc:  # Ctrl-C, SIGTERM: no further server; metrics still written
            (record.exit_code, record.error), pending = exit_code_of(exc), exc
        finally:
            record.duration_seconds = CLOCKS.monotonic() - started
            record.finished_at = CLOCKS.wall()
        runs.append(record)
        if pending is not None and not isinstance(pending, REPORTED):
            break
    code = worst_exit_code(run.exit_code for run in runs)
    if metrics_file and not _write_metrics(metrics_file, runs):
        code = worst_exit_code([code, EXIT_ERROR])
    if pending is not None:
        raise pending
    if not single and (not app.quiet or any(run.failed for run in runs)):
        click.echo(servers_summary(runs, code), err=True, nl=False)
    return code


@dataclass(frozen=True)
class Clocks:
    """Where the time of a run comes from (tests replace them): the wall clock for "when", a
    monotonic one for "how long"."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic


CLOCKS = Clocks()


def _write_metrics(path: str, runs) -> bool:
    """Write the runs' metrics file; on failure one error line, and False."""
    from homer_sync.metrics import read_previous_successes, render_metrics, write_metrics_file
    from homer_sync.runs import run_metrics

    previous = read_previous_successes(path)
    try:
        write_metrics_file(path, render_metrics(run_metrics(run, previous) for run in runs))
    except HomerSyncError as exc:
        click.echo(f"Error: {exc}", err=True)
        return False
    return True


metrics_option = click.option(
    "--metrics-file", type=click.Path(dir_okay=False), metavar="PATH",
    help="After the run, write Prometheus metrics (one set per server) to PATH, atomically, also when it fails;"
         " for node_exporter's textfile collector.")


def _table_color(app: App, fmt: str) -> bool:
    """Escape sequences only for a table on a terminal (never into a file or a pipe)."""
    return fmt == "table" and app.color and _is_tty(sys.stdout)


def _render(plan, app: App, fmt: str, context: dict, **refusal) -> None:
    """The plan on stdout; ``refusal``: render_plan's unsafe, forced and saved."""
    from homer_sync.render import render_plan

    fmt = _output_format(app, fmt)
    if app.quiet and fmt in ("table", "plain"):
        return
    render_plan(plan, sys.stdout, fmt=fmt, color=_table_color(app, fmt), context=context, verbose=app.verbose > 0,
                **refusal)


def _say_forced(reasons: list[str]) -> None:
    from homer_sync.render import unsafe_text

    click.echo(unsafe_text(reasons, forced=True), err=True, nl=False)


def _sync(app: App, client, url: str, **options):
    from homer_sync.sync import RunOptions, Sync

    return Sync(client, RunOptions(server=url, **options))


inventory_argument = click.argument("inventory", nargs=-1, required=True, type=click.Path(allow_dash=True))
def output_option(choices: list[str], default: str, help: str | None = None):
    """The output format, one name on every command: --output / -o."""
    return click.option("--output", "-o", "output", type=click.Choice(choices), default=default, show_default=True,
                        help=help)


PLAN_FORMATS = ["auto", "table", "plain", "json", "markdown"]
plan_output_option = output_option(PLAN_FORMATS, "auto", "auto = table on a terminal, plain lines otherwise.")
run_output_option = output_option(PLAN_FORMATS + ["jsonl"], "auto", "auto = table on a terminal, plain lines "
                                  "otherwise; jsonl = one JSON event a line as the run goes.")


def older_name(old: str, new: str, dest: str, **attrs):
    """A hidden older name of an option: ``old`` sets what ``new`` sets; giving both is a usage error."""
    import functools

    old_dest = f"{dest}_older_name"

    def decorate(func):
        @functools.wraps(func)
        def command(*args, **kwargs):
            from click.core import ParameterSource

            value = kwargs.pop(old_dest)
            if value is not None:
                if click.get_current_context().get_parameter_source(dest) is not ParameterSource.DEFAULT:
                    raise click.UsageError(f"{old} is an older name of {new}; give {new} only")
                kwargs[dest] = value
            return func(*args, **kwargs)

        return click.option(old, old_dest, hidden=True, **attrs)(command)

    return decorate


@cli.command()
@inventory_argument
@click.option("--no-resolve", is_flag=True, help="Do not resolve host: entries (offline check).")
@click.option("--no-sources", is_flag=True,
              help="Check the sources: blocks but do not read the sources (offline check).")
@click.option("--show-sources", is_flag=True,
              help="Print the entries each source produced (YAML, origin as a comment).")
@global_options
@click.pass_obj
def validate(app: App, inventory, no_resolve, no_sources, show_sources):
    """Parse, validate and lint inventory files; print the expanded alias count. No HOMER access.

    Inventory sources (NetBox, DNS, Kamailio, commands) are read unless
    --no-sources is given.

    \b
    Example:
      homer-sync validate inventory.yaml extra-hosts.csv
      homer-sync validate --show-sources inventory.sources.yaml
    """
    from homer_sync.inventory import dump_collected
    from homer_sync.render import validate_line

    if show_sources and no_sources:
        raise click.UsageError("--show-sources needs the sources read; drop --no-sources")
    draft = _draft(app, inventory, resolve=not no_resolve)
    loaded = draft.load(resolve_hosts=not no_resolve, collect_sources=not no_sources)
    _report_warnings(app, loaded)
    if show_sources:
        click.echo(dump_collected(loaded.collected), nl=False)
    line = validate_line(loaded, sources_skipped=bool(draft.source_specs) and not loaded.collected)
    if show_sources:
        app.info(line)
    elif not app.quiet:
        click.echo(line)


TARGET_KEYS = ("only_network", "only_name", "only_capture_id")


def _check_networks(ctx, param, values):
    from homer_sync.inventory.problems import Invalid
    from homer_sync.inventory.values import parse_network

    try:
        return tuple(parse_network(value) for value in values)
    except Invalid as exc:
        raise click.BadParameter(str(exc)) from None


def _check_regexes(ctx, param, values):
    import re

    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise click.BadParameter(f"{value!r} does not compile: {exc}") from None
    return tuple(values)


def only_options(func):
    """--only-network / --only-name / --only-capture-id (plan and apply): a partial plan."""
    for option in reversed([
        click.option("--only-network", multiple=True, metavar="CIDR", callback=_check_networks,
                     help="Only changes to aliases inside this network (repeatable; a partial plan)."),
        click.option("--only-name", multiple=True, metavar="REGEX", callback=_check_regexes,
                     help="Only changes to aliases whose name matches (before or after; repeatable)."),
        click.option("--only-capture-id", multiple=True, metavar="ID",
                     help="Only changes to aliases with this capture id (repeatable)."),
    ]):
        func = option(func)
    return func


def _pop_only(kwargs: dict):
    """The plan.Target of the --only-* options (None without any); several values of one option are
    alternatives, different options must all match."""
    from homer_sync.plan import Target as ChangeTarget

    networks, names, capture_ids = (kwargs.pop(key, ()) or () for key in TARGET_KEYS)
    only = ChangeTarget(networks=networks, names=names, capture_ids=capture_ids)
    return only if only else None


def _check_one_document(fmt: str, targets: list[Target]) -> None:
    if fmt == "json" and len(targets) > 1:
        raise click.UsageError("--output json is one document about one server: run one --server at a time")


@cli.command()
@click.argument("inventory", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--prune", is_flag=True,
              help="Also delete server aliases the inventory does not declare (within prune.only).")
@run_output_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--save", "save", metavar="PLANFILE", type=click.Path(dir_okay=False),
              help="Save the plan (with a checksum of the server state) for apply --plan"
                   " (with several servers, FILE.NAME per server).")
@older_name("--out", "--save", "save", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Do not exit 3 when the plan exceeds the safety thresholds.")
@only_options
@server_options
@metrics_option
@connection_options(with_env=False)
@global_options
@click.pass_obj
def plan(app: App, inventory, prune, output, detailed_exitcode, save, force, servers, all_servers, metrics_file,
         **kwargs):
    """Show what apply would change. Read only.

    INVENTORY defaults to the server's inventory in the config file (with --server).

    With --only-network/--only-name/--only-capture-id the plan is partial (for
    emergencies): only the changes whose alias, before or after, matches; the
    others are listed as not targeted and --detailed-exitcode exits 2 only for
    targeted changes, reporting the drift outside the target on stderr.

    \b
    Examples:
      homer-sync plan inventory.yaml --prune -o markdown > plan.md
      homer-sync plan inventory.yaml --detailed-exitcode --save reviewed.plan
      homer-sync plan inventory.yaml --only-network 10.0.2.0/24 --only-name '^sbc' --detailed-exitcode
      homer-sync --config servers.yaml plan --server lab --server prod --detailed-exitcode
      homer-sync plan inventory.yaml --detailed-exitcode --metrics-file /var/lib/node_exporter/textfile/hs.prom
    """
    from homer_sync.sync import InventoryFiles, backup_of_other_server

    only = _pop_only(kwargs)
    command_level = _pop_connection(kwargs)
    targets = _targets(app, servers, all_servers, command_level)
    _check_one_document(output, targets)
    events = _event_stream(output)

    def one(target: Target, record) -> int:
        with _ErrorsAsEvents(events):  # with jsonl output, an error is also an event
            return plan_one(target, record)

    def plan_one(target: Target, record) -> int:
        paths = _inventory_for(target, inventory)
        files = InventoryFiles.read(paths) if save else None  # the bytes planned from, for show
        loaded = _open(app, paths)
        client, url = _connect(app, command_level, target, stdin_taken="-" in paths, record=record, events=events)
        run = _sync(app, client, url, prune=prune, force=force, target=only)
        try:
            job = run.plan(loaded)
        finally:
            client.close()
        record.plan = job.plan
        _report_warnings(app, job.inventory)
        for origin in backup_of_other_server(job.inventory, url):
            app.warn(f"{origin.source} is a backup of {origin.server}, not of this server: apply will refuse it "
                     "without --allow-other-server")
        unsafe = run.unsafe(job)
        saved = target.path(Path(save)) if save else None
        context = {"server": url, "api": client.api_version}
        if events is not None:
            events.planned(job.plan, context, unsafe=unsafe, forced=force)
        else:  # an unsafe plan is refused before it is saved: the markdown names the file only when it will be
            _render(job.plan, app, output, context, unsafe=unsafe, forced=force,
                    saved=str(saved) if saved is not None and (force or not unsafe) else None)
        forced = run.gate(job)
        if forced:
            _say_forced(forced)
        if saved is not None:
            from datetime import datetime, timezone

            run.save(job, saved, created=datetime.fromtimestamp(CLOCKS.wall(), timezone.utc), inventory=files)
            app.info(f"Plan saved to {saved}; apply it with: homer-sync apply --plan {save}")
        if detailed_exitcode and job.plan.not_targeted:
            from homer_sync.render import drift_outside_target_line

            click.echo(drift_outside_target_line(job.plan), err=True)
        code = EXIT_CHANGES_PENDING if detailed_exitcode and job.plan.has_changes else EXIT_OK
        if events is not None:
            events.summary("plan", "planned" if job.plan.has_changes else "no changes", exit_code=code)
        return code

    return _each_server(app, "plan", targets, one, fmt=_output_format(app, output), metrics_file=metrics_file)


def _confirm(app: App, yes: bool, reads_stdin: bool, server: str | None = None):
    """The confirm hook: --yes, or ask on a terminal (never read an answer from a pipe); ``server``
    names the server of the config file it is about."""

    def confirm(plan) -> bool:
        if yes:
            return True
        if reads_stdin or not _is_tty(sys.stdin):
            raise click.UsageError("refusing to apply without --yes when standard input is not a terminal")
        return click.confirm(f"Apply these changes to HOMER {server}?" if server else "Apply these changes to HOMER?",
                             default=False, err=True)

    return confirm


@cli.command()
@click.argument("inventory", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False),
              help="Apply exactly this saved plan; refuse if the server changed since"
                   " (with several servers, FILE.NAME per server).")
@click.option("--prune", is_flag=True,
              help="Also delete server aliases the inventory does not declare (within prune.only).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when stdin is not a terminal).")
@click.option("--force", is_flag=True, help="Apply even when the plan exceeds the safety thresholds.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Writes in flight at once.")
@click.option("--backup-dir", type=click.Path(file_okay=False),
              help="Where the pre-apply backup goes (default $XDG_STATE_HOME/homer-sync/backups).")
@click.option("--keep-backups", type=click.IntRange(min=0), default=100, show_default=True, metavar="N",
              help="Backups of this server kept after a new one, the oldest removed first (0: keep all).")
@click.option("--allow-other-server", is_flag=True,
              help="Apply a backup file taken from another HOMER server (refused by default).")
@click.option("--max-delete-percent", type=FiniteFloat(0, 100), metavar="PERCENT",
              help="With --plan: the delete limit (default: 30, or the lower one the plan was made with).")
@click.option("--max-update-percent", type=FiniteFloat(0, 100), metavar="PERCENT",
              help="With --plan: the update limit (default: 30, or the lower one the plan was made with).")
@run_output_option
@only_options
@server_options
@metrics_option
@connection_options(with_env=False)
@global_options
@click.pass_obj
def apply(app: App, inventory, plan_file, prune, yes, force, concurrency, backup_dir, keep_backups, allow_other_server,
          max_delete_percent, max_update_percent, output, servers, all_servers, metrics_file, **kwargs):
    """Make HOMER match the inventory: create, update, then delete; verify afterwards.

    Before any update or delete the complete alias list is saved as an
    inventory file in the backup directory; `homer-sync apply --prune FILE`
    restores it. INVENTORY defaults to the server's inventory in the config
    file (with --server).

    \b
    Examples:
      homer-sync apply inventory.yaml
      homer-sync apply --yes --prune --concurrency 8 inventory.yaml
      homer-sync apply --yes --plan reviewed.plan
      homer-sync apply --yes --only-name '^sbc-standby$' inventory.yaml
      homer-sync --config servers.yaml apply --all-servers --yes
      homer-sync apply --yes --keep-backups 30 inventory.yaml
      homer-sync -q apply --yes --metrics-file /var/lib/node_exporter/textfile/homer_sync.prom inventory.yaml
      homer-sync apply --prune --allow-other-server lab-backup.yaml   # restore lab's aliases here
      homer-sync apply --yes --output jsonl inventory.yaml   # one JSON event a line
    """
    only = _pop_only(kwargs)
    if plan_file and only:
        raise click.UsageError("--only-network, --only-name and --only-capture-id have no effect with --plan: the "
                               "saved plan already says what to change (give them to plan)")
    if plan_file and inventory:
        raise click.UsageError("give either inventory files or --plan, not both")
    if plan_file and prune:
        raise click.UsageError("--prune has no effect with --plan: the saved plan already says what to delete")
    command_level = _pop_connection(kwargs)
    targets = _targets(app, servers, all_servers, command_level)
    _check_one_document(output, targets)
    if not plan_file and not inventory and targets[0].server is None:
        raise click.UsageError("give inventory files, or --plan FILE")
    if not plan_file and (max_delete_percent is not None or max_update_percent is not None):
        raise click.UsageError("--max-delete-percent and --max-update-percent go with --plan; an inventory sets "
                               "prune.max_delete_percent and prune.max_update_percent")
    from homer_sync.sync import RunHooks

    fmt = _output_format(app, output)
    events = _event_stream(fmt)

    def one(target: Target, record) -> int:
        with _ErrorsAsEvents(events):  # with jsonl output, an error is also an event
            return apply_one(target, record)

    def apply_one(target: Target, record) -> int:
        saved = target.path(Path(plan_file)) if plan_file else None
        if saved is not None and not saved.is_file():
            raise click.UsageError(f"plan file {saved} does not exist")
        paths = () if saved is not None else _inventory_for(target, inventory)
        loaded = None if saved is not None else _open(app, paths)
        client, url = _connect(app, command_level, target, pool_size=concurrency, stdin_taken="-" in paths,
                               record=record, events=events)
        run = _sync(app, client, url, prune=prune, force=force, concurrency=concurrency, target=only,
                    backup_dir=Path(backup_dir) if backup_dir else _default_backup_dir(),
                    max_delete_percent=max_delete_percent, max_update_percent=max_update_percent,
                    server_name=target.name, keep_backups=keep_backups, allow_other_server=allow_other_server)
        try:
            with _run_lock(app, target), InterruptGuard(app) as stop:
                job = run.load(saved) if saved is not None else run.plan(loaded)
                record.plan = job.plan
                _report_warnings(app, job.inventory)
                hooks = RunHooks(confirm=_confirm(app, yes, "-" in paths, target.name),
                                 progress=lambda plan: _progress(app, plan), stop=stop, forced=_say_forced)
                if events is not None:
                    return _apply_events(app, run, job, hooks, events, url, record)
                return _apply_and_report(app, run, job, hooks, fmt, url, record)
        finally:
            client.close()

    return _each_server(app, "apply", targets, one, fmt=fmt, metrics_file=metrics_file)


def _run_lock(app: App, target: Target | None = None):
    """The run lock; a server of the config file has its own (homer-sync.NAME.lock), so that
    runs against different servers do not wait for each other."""
    from homer_sync.lock import default_lock_path, run_lock
    from homer_sync.runs import per_server_path

    path = Path(app.lock_file) if app.lock_file else default_lock_path()
    if target is not None and target.name:
        path = per_server_path(path, target.name)
    return run_lock(path, wait=app.lock_wait)


def _default_backup_dir() -> Path:
    from homer_sync.lock import default_lock_path

    return default_lock_path().parent / "backups"


def _apply_and_report(app: App, run, job, hooks, fmt: str, url: str, record=None) -> int:
    from homer_sync.render import failure_lines, render_apply_json, render_apply_result
    from homer_sync.sync import RunOutcome

    context = {"server": url, "api": job.client.api_version}
    refusal = {"unsafe": run.unsafe(job), "forced": run.options.force}
    if fmt != "json":
        _render(job.plan, app, fmt, context, **refusal)
    result = None
    try:
        result = run.apply(job, hooks)
    finally:
        if fmt == "json":  # one document: the plan, plus what the apply did (null when nothing was applied)
            render_apply_json(job.plan, result.applied if result else None, sys.stdout, context=context, **refusal)
    if record is not None:
        record.applied = result.applied
    if result.outcome is RunOutcome.DECLINED:
        raise click.Abort()
    if result.applied is None:
        return EXIT_OK
    if fmt != "json" and not (app.quiet and fmt in ("table", "plain")):
        render_apply_result(result.applied, sys.stdout, fmt=fmt, color=_table_color(app, fmt))
    if result.applied.backup_path:
        app.info(f"Backup of the previous aliases: {result.applied.backup_path}")
    if result.applied.pruned_backups:
        app.info(f"Removed the {len(result.applied.pruned_backups)} oldest backup(s) of this server "
                 "(--keep-backups)")
    for line in failure_lines(result.applied):
        click.echo(line, err=True)
    return EXIT_OK if result.ok else EXIT_ERROR


def _apply_events(app: App, run, job, hooks, events, url: str, record=None) -> int:
    """apply --output jsonl: the plan and its changes, each write as it ends (the progress hook),
    the verification and a summary, as events on stdout; notes and failures on stderr as usual."""
    from contextlib import nullcontext
    from dataclasses import replace

    from homer_sync.render import failure_lines
    from homer_sync.sync import RunOutcome

    events.planned(job.plan, {"server": url, "api": job.client.api_version}, unsafe=run.unsafe(job),
                   forced=run.options.force)
    result = run.apply(job, replace(hooks, progress=lambda plan: nullcontext(events.write)))
    if record is not None:
        record.applied = result.applied
    if result.outcome is RunOutcome.DECLINED:
        events.summary("apply", "declined", exit_code=EXIT_ERROR)
        click.echo("Aborted.", err=True)
        return EXIT_ERROR
    if result.applied is None:
        events.summary("apply", "no changes", exit_code=EXIT_OK)
        return EXIT_OK
    events.verified(result.applied)
    code = EXIT_OK if result.ok else EXIT_ERROR
    events.summary("apply", "applied", exit_code=code, result=result.applied)
    if result.applied.backup_path:
        app.info(f"Backup of the previous aliases: {result.applied.backup_path}")
    if result.applied.pruned_backups:
        app.info(f"Removed the {len(result.applied.pruned_backups)} oldest backup(s) of this server "
                 "(--keep-backups)")
    for line in failure_lines(result.applied):
        click.echo(line, err=True)
    return code


class InterruptGuard:
    """The first Ctrl-C (SIGINT) or SIGTERM (systemd, CI runners) stops new writes and lets the
    in-flight ones finish, and the run reports as usual; a second one aborts. The handlers are
    installed only for the run and the previous ones are put back after it."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, app: App):
        self.app = app

    def __enter__(self):
        import signal
        import threading

        self.stop = threading.Event()
        self.previous: dict = {}
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self.previous[number] = signal.signal(number, self._handle)
        return self.stop

    def _handle(self, signum, frame):
        import signal

        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        again = "Ctrl-C again" if signum == signal.SIGINT else "send it again"
        click.echo(f"\nInterrupted ({signal.Signals(signum).name}): finishing the writes in flight, starting no new "
                   f"ones ({again} to abort).", err=True)

    def __exit__(self, *exc):
        import signal

        for number, previous in self.previous.items():
            signal.signal(number, signal.SIG_DFL if previous is None else previous)
        return False


PROGRESS_OVER = 5  # changes; a shorter apply needs no bar


def _progress(app: App, plan):
    """A progress bar on stderr, only on a terminal and for more than PROGRESS_OVER changes."""
    from homer_sync.render import progress_reporter

    enabled = not app.quiet and _is_tty(sys.stderr) and len(plan.changes) > PROGRESS_OVER
    return progress_reporter(len(plan.changes), enabled=enabled, stream=sys.stderr, color=app.color)


@cli.command()
@output_option(["yaml", "json", "csv"], "yaml")
@older_name("--format", "--output", "output", type=click.Choice(["yaml", "json", "csv"]))
@click.option("--from-sources", "source_files", multiple=True, type=click.Path(allow_dash=True),
              help="Instead of the server: the aliases the sources of this inventory declare (repeatable).")
@server_options
@connection_options(with_env=False)
@global_options
@click.pass_obj
def export(app: App, output, source_files, servers, all_servers, **kwargs):
    """Print the server's aliases as an inventory (exporting then applying it is a no-op).

    With --from-sources, print what an inventory's sources (NetBox, DNS, ...)
    declare, as a static inventory; HOMER is not contacted.

    \b
    Example:
      homer-sync export > homer-aliases.yaml
      homer-sync export -o csv > aliases.csv
      homer-sync export --from-sources inventory.sources.yaml > from-netbox.yaml
    """
    from homer_sync.inventory import dump_inventory
    from homer_sync.sync import aliases_from_server_for_export

    if source_files:
        return _export_sources(app, source_files, output)
    command_level = _pop_connection(kwargs)
    client, url = _connect(app, command_level, _single_target(app, "export", servers, all_servers, command_level))
    try:
        existing = client.list_aliases()
    finally:
        client.close()
    unique = aliases_from_server_for_export(existing)
    if len(unique) != len(existing):
        app.warn(f"{len(existing) - len(unique)} duplicate aliases on the server were left out (same ip, mask, port "
                 "and capture id)")
    header = None if output == "csv" else f"Exported by homer-sync {__version__} from {url}: {len(unique)} aliases"
    click.echo(dump_inventory(unique, output, header=header), nl=False)


def _export_sources(app: App, paths, fmt: str) -> int:
    from dataclasses import replace

    from homer_sync.inventory import dump_inventory

    draft = _draft(app, paths)
    if not draft.source_specs:
        raise click.UsageError(f"{', '.join(paths)} declare(s) no sources: to export; give an inventory with sources:")
    # The hand-written entries are left out: only what the sources declare, validated and merged.
    inventory = replace(draft, entries=()).load()
    _report_warnings(app, inventory)
    labels = ", ".join(c.spec.label for c in inventory.collected)
    header = None if fmt == "csv" else (
        f"Exported by homer-sync {__version__} from the sources of {', '.join(paths)} ({labels}): "
        f"{len(inventory.aliases)} aliases")
    click.echo(dump_inventory(list(inventory.aliases), fmt, header=header), nl=False)
    return EXIT_OK


@cli.command()
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False))
@plan_output_option
@click.option("--check", "check_live", is_flag=True,
              help="Also log in, list the aliases and say whether the plan is stale (read only; exit 2 when stale).")
@connection_options(with_env=False)
@global_options
@click.pass_obj
def show(app: App, plan_file, output, check_live, **kwargs):
    """Print a saved plan (plan --save): its server, creation time, inventory checksum and changes.

    Without --check nothing is contacted. With --check the server is listed
    (read only) and the last line says whether apply --plan would still apply
    it: exit 0 when current, 2 when stale.

    \b
    Examples:
      homer-sync show reviewed.plan
      homer-sync show reviewed.plan --output json --check
    """
    from homer_sync.render import render_saved_plan
    from homer_sync.sync import check_saved_plan, read_saved_plan

    saved = read_saved_plan(Path(plan_file))
    check = None
    if check_live:
        client, url = _connect(app, _pop_connection(kwargs))
        try:
            check = check_saved_plan(saved, client, server=url)
        finally:
            client.close()
    fmt = _output_format(app, output)
    unsafe = saved.plan.unsafe_reasons(saved.safety_limits())
    render_saved_plan(saved, sys.stdout, fmt=fmt, color=_table_color(app, fmt), check=check, unsafe=unsafe)
    return EXIT_CHANGES_PENDING if check is not None and not check.current else EXIT_OK


@cli.command()
@output_option(["plain", "json"], "plain")
@server_options
@metrics_option
@connection_options(with_env=False)
@global_options
@click.pass_obj
def check(app: App, output, servers, all_servers, metrics_file, **kwargs):
    """Reach the server, log in, report API version, alias count and admin rights.

    \b
    Examples:
      HOMER_URL=https://homer.example.net HOMER_TOKEN=... homer-sync check
      homer-sync --config servers.yaml check --all-servers --metrics-file /var/lib/node_exporter/textfile/hs.prom
    """
    from homer_sync.render import check_note, check_text

    command_level = _pop_connection(kwargs)
    targets = _targets(app, servers, all_servers, command_level)
    _check_one_document(output, targets)

    def one(target: Target, record) -> int:
        client, url = _connect(app, command_level, target, record=record)
        try:
            count = len(client.list_aliases())
        finally:
            client.close()
        info = {"server": url, "api": client.api_version, "auth": client.auth_kind, "admin": client.is_admin,
                "aliases": count}
        record.check = info
        click.echo(check_text(info, fmt=output), nl=False)
        note = check_note(info)
        if note and output != "json":
            app.info(note)
        return EXIT_OK

    return _each_server(app, "check", targets, one, metrics_file=metrics_file)


@cli.command()
@click.argument("ip")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Packet port (default: none given, only port-0 aliases apply).")
@click.option("--capture-id", default="0", show_default=True)
@click.option("--inventory", "inventory_file", type=click.Path(allow_dash=True),
              help="Look up in an inventory file instead of the live server.")
@server_options
@connection_options(with_env=False)
@global_options
@click.pass_obj
def lookup(app: App, ip, port, capture_id, inventory_file, servers, all_servers, **kwargs):
    """Which alias HOMER would show for IP: the winner's name first, then why.

    Without --port, when only port-specific aliases apply, the name for each
    of their ports first ("port 5060: NAME", "other ports: (no alias)").
    Exit 1 when no alias applies to any port.

    \b
    Example:
      homer-sync lookup 10.0.1.10 --port 5060
      homer-sync lookup 2001:db8::1 --inventory inventory.yaml
    """
    from homer_sync.lookup import lookup as find
    from homer_sync.render import render_lookup

    if inventory_file:
        aliases = _load(app, [inventory_file]).aliases
    else:
        command_level = _pop_connection(kwargs)
        target = _single_target(app, "lookup", servers, all_servers, command_level)
        client, _ = _connect(app, command_level, target)
        try:
            aliases = client.list_aliases()
        finally:
            client.close()
    try:
        result = find(aliases, ip, port=port, capture_id=capture_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="IP") from None
    render_lookup(result, sys.stdout)
    return EXIT_OK if result.winner or result.per_port else EXIT_ERROR


@cli.command()
@click.option("--latency", type=FiniteFloat(0, 3600), default=0.0,
              help="Seconds of latency the emulator adds per request.")
@click.option("--keep", is_flag=True,
              help="Afterwards, keep the emulator running with the demo's aliases until Ctrl-C or SIGTERM, "
                   "and print how to connect to it.")
@global_options
@click.pass_obj
def demo(app: App, latency, keep):
    """Run the whole story against the built-in HOMER emulator on loopback.

    Starts the emulator, plans and applies inventory.example.yaml, then shows
    that a second run changes nothing (and costs two requests). With --keep
    the emulator stays up, holding the demo's aliases, for you to try every
    command against it.

    \b
    Examples:
      homer-sync demo
      homer-sync demo --keep
    """
    from homer_sync.demo import run_demo

    return run_demo(sys.stdout, color=app.color and _is_tty(sys.stdout), latency=latency,
                    hold=_until_stopped if keep else None)


def _until_stopped() -> None:
    """Return on Ctrl-C (SIGINT) or SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> None:
    from homer_sync.bulk import freeze_bulk_data

    freeze_bulk_data()  # this process ends with the command (see bulk.py)
    cli(prog_name="homer-sync")


__all__ = ["cli", "main", "InventoryError"]
