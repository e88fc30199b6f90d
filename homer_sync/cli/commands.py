"""The commands: each parses its options, calls the library (sync.Sync runs plan, gate and apply) and prints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from homer_sync import __version__
from homer_sync.errors import EXIT_CHANGES_PENDING, EXIT_ERROR, EXIT_OK

from . import environment
from .group import cli
from .options import (
    App,
    FiniteFloat,
    connection_options,
    global_options,
    inventory_argument,
    metrics_option,
    older_name,
    only_options,
    output_option,
    plan_output_option,
    pop_connection,
    pop_only,
    run_output_option,
    server_options,
)
from .running import (
    inventory_draft,
    inventory_loaded,
    inventory_or_draft,
    make_sync,
    output_format,
    render,
    report_warnings,
    say_forced,
    table_color,
)
from .servers import (
    ErrorsAsEvents,
    Target,
    check_one_document,
    chosen_targets,
    connect_server,
    each_server,
    event_stream,
    inventory_for,
    single_target,
)


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
    draft = inventory_draft(app, inventory, resolve=not no_resolve)
    loaded = draft.load(resolve_hosts=not no_resolve, collect_sources=not no_sources)
    report_warnings(app, loaded)
    if show_sources:
        click.echo(dump_collected(loaded.collected), nl=False)
    line = validate_line(loaded, sources_skipped=bool(draft.source_specs) and not loaded.collected)
    if show_sources:
        app.info(line)
    elif not app.quiet:
        click.echo(line)


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

    only = pop_only(kwargs)
    command_level = pop_connection(kwargs)
    targets = chosen_targets(app, servers, all_servers, command_level)
    check_one_document(output, targets)
    events = event_stream(output)

    def one(target: Target, record) -> int:
        with ErrorsAsEvents(events):  # with jsonl output, an error is also an event
            return plan_one(target, record)

    def plan_one(target: Target, record) -> int:
        paths = inventory_for(target, inventory)
        files = InventoryFiles.read(paths) if save else None  # the bytes planned from, for show
        loaded = inventory_or_draft(app, paths)
        client, url = connect_server(app, command_level, target, stdin_taken="-" in paths, record=record, events=events)
        run = make_sync(app, client, url, prune=prune, force=force, target=only)
        try:
            job = run.plan(loaded)
        finally:
            client.close()
        record.plan = job.plan
        report_warnings(app, job.inventory)
        for origin in backup_of_other_server(job.inventory, url):
            app.warn(f"{origin.source} is a backup of {origin.server}, not of this server: apply will refuse it "
                     "without --allow-other-server")
        unsafe = run.unsafe(job)
        saved = target.path(Path(save)) if save else None
        context = {"server": url, "api": client.api_version}
        if events is not None:
            events.planned(job.plan, context, unsafe=unsafe, forced=force)
        else:  # an unsafe plan is refused before it is saved: the markdown names the file only when it will be
            render(job.plan, app, output, context, unsafe=unsafe, forced=force,
                    saved=str(saved) if saved is not None and (force or not unsafe) else None)
        forced = run.gate(job)
        if forced:
            say_forced(forced)
        if saved is not None:
            from datetime import datetime, timezone

            created = datetime.fromtimestamp(environment.CLOCKS.wall(), timezone.utc)
            run.save(job, saved, created=created, inventory=files)
            app.info(f"Plan saved to {saved}; apply it with: homer-sync apply --plan {save}")
        if detailed_exitcode and job.plan.not_targeted:
            from homer_sync.render import drift_outside_target_line

            click.echo(drift_outside_target_line(job.plan), err=True)
        code = EXIT_CHANGES_PENDING if detailed_exitcode and job.plan.has_changes else EXIT_OK
        if events is not None:
            events.summary("plan", "planned" if job.plan.has_changes else "no changes", exit_code=code)
        return code

    return each_server(app, "plan", targets, one, fmt=output_format(app, output), metrics_file=metrics_file)


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
    command_level = pop_connection(kwargs)
    client, url = connect_server(app, command_level, single_target(app, "export", servers, all_servers, command_level))
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

    draft = inventory_draft(app, paths)
    if not draft.source_specs:
        raise click.UsageError(f"{', '.join(paths)} declare(s) no sources: to export; give an inventory with sources:")
    # The hand-written entries are left out: only what the sources declare, validated and merged.
    inventory = replace(draft, entries=()).load()
    report_warnings(app, inventory)
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
        client, url = connect_server(app, pop_connection(kwargs))
        try:
            check = check_saved_plan(saved, client, server=url)
        finally:
            client.close()
    fmt = output_format(app, output)
    unsafe = saved.plan.unsafe_reasons(saved.safety_limits())
    render_saved_plan(saved, sys.stdout, fmt=fmt, color=table_color(app, fmt), check=check, unsafe=unsafe)
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

    command_level = pop_connection(kwargs)
    targets = chosen_targets(app, servers, all_servers, command_level)
    check_one_document(output, targets)

    def one(target: Target, record) -> int:
        client, url = connect_server(app, command_level, target, record=record)
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

    return each_server(app, "check", targets, one, metrics_file=metrics_file)


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
        aliases = inventory_loaded(app, [inventory_file]).aliases
    else:
        command_level = pop_connection(kwargs)
        target = single_target(app, "lookup", servers, all_servers, command_level)
        client, _ = connect_server(app, command_level, target)
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

    return run_demo(sys.stdout, color=app.color and environment.is_tty(sys.stdout), latency=latency,
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
