"""What the commands share: the inventory opened and checked, the plan rendered, the orchestrator made."""

from __future__ import annotations

import sys

import click

from . import environment
from .options import App
from .servers import log_request


def output_format(app: App, requested: str) -> str:
    if requested != "auto":
        return requested
    return "table" if app.color and environment.is_tty(sys.stdout) else "plain"


def report_warnings(app: App, inventory) -> None:
    for warning in inventory.warnings if inventory is not None else ():
        app.warn(str(warning))


def inventory_loaded(app: App, paths, *, resolve: bool = True, sources: bool = True):
    """The complete inventory (sources read, hosts resolved), its warnings printed."""
    inventory = inventory_draft(app, paths, resolve=resolve).load(resolve_hosts=resolve, collect_sources=sources)
    report_warnings(app, inventory)
    return inventory


def inventory_draft(app: App, paths, *, resolve: bool = True):
    """The files read and checked offline (inventory.open_inventory); -v reports the sources' requests."""
    from dataclasses import replace

    from homer_sync.inventory import DEFAULT_MAX_ALIASES, open_inventory

    draft = open_inventory(list(paths), stdin=sys.stdin, resolve_hosts=resolve,
                           max_aliases=app.max_aliases or DEFAULT_MAX_ALIASES)
    return replace(draft, on_request=log_request) if app.verbose else draft


def inventory_or_draft(app: App, paths):
    """The inventory checked before any request: complete when it has no sources; otherwise a
    draft whose sources are read while HOMER lists its aliases (sync.plan_inventory)."""
    draft = inventory_draft(app, paths)
    return draft if draft.source_specs else draft.load()


def table_color(app: App, fmt: str) -> bool:
    """Escape sequences only for a table on a terminal (never into a file or a pipe)."""
    return fmt == "table" and app.color and environment.is_tty(sys.stdout)


def render(plan, app: App, fmt: str, context: dict, **refusal) -> None:
    """The plan on stdout; ``refusal``: render_plan's unsafe, forced and saved."""
    from homer_sync.render import render_plan

    fmt = output_format(app, fmt)
    if app.quiet and fmt in ("table", "plain"):
        return
    render_plan(plan, sys.stdout, fmt=fmt, color=table_color(app, fmt), context=context, verbose=app.verbose > 0,
                **refusal)


def say_forced(reasons: list[str]) -> None:
    from homer_sync.render import unsafe_text

    click.echo(unsafe_text(reasons, forced=True), err=True, nl=False)


def make_sync(app: App, client, url: str, **options):
    from homer_sync.sync import RunOptions, Sync

    return Sync(client, RunOptions(server=url, **options))
