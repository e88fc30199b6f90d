"""Where a command runs: connection settings and login, the servers of the config file (one run
each, a failure not stopping the others), the metrics file and the jsonl error events."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from homer_sync.errors import EXIT_ERROR, EXIT_USAGE, HomerSyncError, UnsafePlanError

if TYPE_CHECKING:
    from homer_sync.config import ServerConfig

from . import environment
from .errors import REPORTED, exit_code_of, report_error
from .options import App, merged_connection


def log_request(method, path, status, ms, reason=None):
    from homer_sync.render import request_line

    click.echo(request_line(method, path, status, ms, reason), err=True)


def _settings(app: App, command_level: dict, target: Target | None = None, *, stdin_taken: bool = False):
    from homer_sync.api import ConnectionSettings
    from homer_sync.config import read_secret
    from homer_sync.credentials import check_header_name, check_token, choose_tls, from_options

    conn, from_env = merged_connection(app, command_level)
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
        on_request=log_request if app.verbose else None,
    )


def _ask_password(credentials, url: str, *, stdin_taken: bool):
    """On a terminal, a username without a password is asked for its password once, hidden.
    Without a terminal (CI, cron, a pipe) nothing is asked: the caller's usage error stands."""
    from dataclasses import replace

    if stdin_taken or not environment.is_tty(sys.stdin):
        return credentials
    password = click.prompt(f"Password for {credentials.username} at {url}", hide_input=True, err=True,
                            default="", show_default=False)
    return replace(credentials, password=password or None)


def connect_server(app: App, command_level: dict, target: Target | None = None, *, pool_size: int = 8,
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


def event_stream(fmt: str):
    """The jsonl event stream on stdout, or None for the other formats."""
    if fmt != "jsonl":
        return None
    from homer_sync.render.events import EventStream

    return EventStream(sys.stdout)


class ErrorsAsEvents:
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


def chosen_targets(app: App, servers, all_servers: bool, command_level: dict | None = None) -> list[Target]:
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
    conn, from_env = merged_connection(app, command_level or {})
    if len(names) > 1 and conn.get("url"):
        raise click.UsageError(f"{_url_given(from_env)} would send the run of every server to the same HOMER: "
                               "unset it, each server's url comes from the config")
    return [Target(config.server(name), several=len(names) > 1) for name in names]


def single_target(app: App, command: str, servers, all_servers: bool, command_level: dict) -> Target:
    """The server of a command that talks to one (export, lookup): --server NAME or HOMER_SERVER."""
    targets = chosen_targets(app, servers, all_servers, command_level)
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


def inventory_for(target: Target, inventory) -> tuple:
    """The INVENTORY arguments, else the server's default inventory from the config."""
    if inventory:
        return tuple(inventory)
    if target.server is not None and target.server.inventory:
        return tuple(target.server.inventory)
    if target.server is not None:
        raise click.UsageError(f"give inventory files: server {target.name!r} has no inventory in the config")
    raise click.UsageError("give inventory files (or --server NAME of a config file with an inventory)")


def each_server(app: App, command: str, targets: list[Target], body, *, fmt: str = "plain",
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
        started = environment.CLOCKS.monotonic()
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
            record.duration_seconds = environment.CLOCKS.monotonic() - started
            record.finished_at = environment.CLOCKS.wall()
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


def check_one_document(fmt: str, targets: list[Target]) -> None:
    if fmt == "json" and len(targets) > 1:
        raise click.UsageError("--output json is one document about one server: run one --server at a time")
