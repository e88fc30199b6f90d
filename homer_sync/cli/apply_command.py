"""``homer-sync apply``: confirmation, the run lock, backups, progress, Ctrl-C and SIGTERM, the report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from homer_sync.errors import EXIT_ERROR, EXIT_OK

from . import environment
from .group import cli
from .options import (
    App,
    FiniteFloat,
    connection_options,
    global_options,
    metrics_option,
    only_options,
    pop_connection,
    pop_only,
    run_output_option,
    server_options,
)
from .running import inventory_or_draft, make_sync, output_format, render, report_warnings, say_forced, table_color
from .servers import (
    ErrorsAsEvents,
    Target,
    check_one_document,
    chosen_targets,
    connect_server,
    each_server,
    event_stream,
    inventory_for,
)


def _confirm(app: App, yes: bool, reads_stdin: bool, server: str | None = None):
    """The confirm hook: --yes, or ask on a terminal (never read an answer from a pipe); ``server``
    names the server of the config file it is about."""

    def confirm(plan) -> bool:
        if yes:
            return True
        if reads_stdin or not environment.is_tty(sys.stdin):
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
    only = pop_only(kwargs)
    if plan_file and only:
        raise click.UsageError("--only-network, --only-name and --only-capture-id have no effect with --plan: the "
                               "saved plan already says what to change (give them to plan)")
    if plan_file and inventory:
        raise click.UsageError("give either inventory files or --plan, not both")
    if plan_file and prune:
        raise click.UsageError("--prune has no effect with --plan: the saved plan already says what to delete")
    command_level = pop_connection(kwargs)
    targets = chosen_targets(app, servers, all_servers, command_level)
    check_one_document(output, targets)
    if not plan_file and not inventory and targets[0].server is None:
        raise click.UsageError("give inventory files, or --plan FILE")
    if not plan_file and (max_delete_percent is not None or max_update_percent is not None):
        raise click.UsageError("--max-delete-percent and --max-update-percent go with --plan; an inventory sets "
                               "prune.max_delete_percent and prune.max_update_percent")
    from homer_sync.sync import RunHooks

    fmt = output_format(app, output)
    events = event_stream(fmt)

    def one(target: Target, record) -> int:
        with ErrorsAsEvents(events):  # with jsonl output, an error is also an event
            return apply_one(target, record)

    def apply_one(target: Target, record) -> int:
        saved = target.path(Path(plan_file)) if plan_file else None
        if saved is not None and not saved.is_file():
            raise click.UsageError(f"plan file {saved} does not exist")
        paths = () if saved is not None else inventory_for(target, inventory)
        loaded = None if saved is not None else inventory_or_draft(app, paths)
        client, url = connect_server(app, command_level, target, pool_size=concurrency, stdin_taken="-" in paths,
                               record=record, events=events)
        run = make_sync(app, client, url, prune=prune, force=force, concurrency=concurrency, target=only,
                    backup_dir=Path(backup_dir) if backup_dir else _default_backup_dir(),
                    max_delete_percent=max_delete_percent, max_update_percent=max_update_percent,
                    server_name=target.name, keep_backups=keep_backups, allow_other_server=allow_other_server)
        try:
            with _run_lock(app, target), InterruptGuard(app) as stop:
                job = run.load(saved) if saved is not None else run.plan(loaded)
                record.plan = job.plan
                report_warnings(app, job.inventory)
                hooks = RunHooks(confirm=_confirm(app, yes, "-" in paths, target.name),
                                 progress=lambda plan: _progress(app, plan), stop=stop, forced=say_forced)
                if events is not None:
                    return _apply_events(app, run, job, hooks, events, url, record)
                return _apply_and_report(app, run, job, hooks, fmt, url, record)
        finally:
            client.close()

    return each_server(app, "apply", targets, one, fmt=fmt, metrics_file=metrics_file)


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
    from homer_sync.render import render_apply_json, render_apply_result
    from homer_sync.sync import RunOutcome

    context = {"server": url, "api": job.client.api_version}
    refusal = {"unsafe": run.unsafe(job), "forced": run.options.force}
    if fmt != "json":
        render(job.plan, app, fmt, context, **refusal)
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
        render_apply_result(result.applied, sys.stdout, fmt=fmt, color=table_color(app, fmt))
    _report_on_stderr(app, result.applied)
    return EXIT_OK if result.ok else EXIT_ERROR


def _report_on_stderr(app: App, applied) -> None:
    """What an apply tells beside its output, in every format: the backup, the backups removed, each failure."""
    from homer_sync.render import failure_lines

    if applied.backup_path:
        app.info(f"Backup of the previous aliases: {applied.backup_path}")
    if applied.pruned_backups:
        app.info(f"Removed the {len(applied.pruned_backups)} oldest backup(s) of this server (--keep-backups)")
    for line in failure_lines(applied):
        click.echo(line, err=True)


def _apply_events(app: App, run, job, hooks, events, url: str, record=None) -> int:
    """apply --output jsonl: the plan and its changes, each write as it ends (the progress hook),
    the verification and a summary, as events on stdout; notes and failures on stderr as usual."""
    from contextlib import nullcontext
    from dataclasses import replace

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
    _report_on_stderr(app, result.applied)
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

    enabled = not app.quiet and environment.is_tty(sys.stderr) and len(plan.changes) > PROGRESS_OVER
    return progress_reporter(len(plan.changes), enabled=enabled, stream=sys.stderr, color=app.color)
