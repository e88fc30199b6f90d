"""The options shared by several commands, defined once: connection, global, server, output and
targeting options, and the App that carries the global ones."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import click

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
        ctx.obj = with_globals(ctx.obj, given)
        return func(*args, **kwargs)

    return global_option_flags(command)


def with_globals(app: App, given: dict) -> App:
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


def pop_connection(kwargs: dict) -> dict:
    return {key: kwargs.pop(key, None) for key in CONNECTION_KEYS}


def merged_connection(app: App, command_level: dict) -> tuple[dict, frozenset]:
    """The connection options with command-level flags over group-level ones, and which came from env."""
    merged = dict(app.connection)
    given = {k: v for k, v in command_level.items() if v is not None}
    merged.update(given)
    return merged, app.connection_from_env - set(given)


def keys_from_env(ctx: click.Context) -> frozenset:
    from click.core import ParameterSource

    return frozenset(k for k in CONNECTION_KEYS if ctx.get_parameter_source(k) is ParameterSource.ENVIRONMENT)


metrics_option = click.option(
    "--metrics-file", type=click.Path(dir_okay=False), metavar="PATH",
    help="After the run, write Prometheus metrics (one set per server) to PATH, atomically, also when it fails;"
         " for node_exporter's textfile collector.")


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


def pop_only(kwargs: dict):
    """The plan.Target of the --only-* options (None without any); several values of one option are
    alternatives, different options must all match."""
    from homer_sync.plan import Target as ChangeTarget

    networks, names, capture_ids = (kwargs.pop(key, ()) or () for key in TARGET_KEYS)
    only = ChangeTarget(networks=networks, names=names, capture_ids=capture_ids)
    return only if only else None
