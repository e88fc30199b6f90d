"""`homer-sync demo`: the whole story against the built-in emulator, on loopback only."""

from __future__ import annotations

import tempfile
from contextlib import closing
from importlib import resources
from pathlib import Path

from homer_sync.errors import EXIT_ERROR, EXIT_OK

DEMO_USER = "admin"
DEMO_PASSWORD = "sipcapture"

# What a HOMER looks like after months of hand-typed aliases and naive scripts:
# a host typed twice, a renamed host still under its old name, an alias that
# no inventory declares (left alone: the demo does not prune).
LEGACY_ALIASES = [
    {"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "old-scscf", "ip": "10.0.1.20", "port": 5060, "mask": 32, "captureID": "0", "status": True},
    {"alias": "lab-phone", "ip": "192.0.2.50", "port": 0, "mask": 32, "captureID": "0", "status": True},
]


def example_inventory_path() -> Path:
    """The example next to the current directory wins, so the demo shows the file the README talks about."""
    local = Path("inventory.example.yaml")
    if local.is_file():
        return local
    return Path(str(resources.files("homer_sync") / "inventory.example.yaml"))


def run_demo(stream, *, color: bool = False, latency: float = 0.0, hold=None) -> int:
    """The demo; with ``hold`` (a function that returns when the user stops it), the emulator keeps
    running with the demo's aliases until ``hold`` returns, and how to connect to it is printed."""
    from homer_sync.api import ConnectionSettings, connect
    from homer_sync.emulator import HomerEmulator, connection_lines
    from homer_sync.inventory import load_inventory
    from homer_sync.render import render_apply_result, render_plan
    from homer_sync.sync import RunOptions, Sync

    fmt = "table" if color else "plain"
    inventory_path = example_inventory_path()
    inventory = load_inventory([str(inventory_path)])

    def say(text=""):
        stream.write(text + "\n")
        stream.flush()

    with HomerEmulator(latency=latency) as server, tempfile.TemporaryDirectory(prefix="homer-sync-demo-") as tmp:
        server.seed(LEGACY_ALIASES)
        settings = ConnectionSettings(url=server.url, username=DEMO_USER, password=DEMO_PASSWORD, api="v3")
        options = RunOptions(concurrency=4, backup_dir=Path(tmp), server=server.url)
        say(f"HOMER emulator (API v3) listening on {server.url}, holding {len(LEGACY_ALIASES)} hand-made aliases.")
        say(f"Inventory: {inventory_path} ({len(inventory.aliases)} aliases).")
        say()

        say("1. plan")
        with closing(connect(settings)) as client:
            run = Sync(client, options)
            job = run.plan(inventory)
            context = {"server": server.url, "api": client.api_version}
            render_plan(job.plan, stream, fmt=fmt, color=color, context=context)
            say()

            say("2. apply")
            # The operator's path: the same safety gate and admin check; the demo answers "yes".
            result = run.apply(job)
        applied = result.applied
        if applied is not None:
            render_apply_result(applied, stream, fmt=fmt, color=color)
            if applied.backup_path:
                say(f"Backup of the previous aliases written to {applied.backup_path.name} (deleted with the demo).")
        say()

        say("3. plan again")
        server.reset_stats()
        with closing(connect(settings)) as client:
            second = Sync(client, options).plan(inventory)
        render_plan(second.plan, stream, fmt=fmt, color=color, context={"server": server.url, "api": "v3"})
        requests_sent = len(server.request_log)
        say(f"The second run sent {requests_sent} requests to HOMER (login + list).")

        if not result.ok or second.plan.has_changes:
            say("Demo FAILED: the second plan is not empty.")
            return EXIT_ERROR
        say("Demo complete: HOMER holds every declared alias and a second run changes nothing "
            "(what it does not declare is left alone: the demo does not prune).")
        if hold is not None:
            say()
            say(f"The emulator keeps running on {server.url} with the demo's aliases (HOMER 7, API v3).")
            for line in connection_lines(server.url, DEMO_USER, DEMO_PASSWORD):
                say(line)
            say(f"Then try: homer-sync plan {inventory_path}, homer-sync export, homer-sync lookup 10.0.1.10")
            say("Ctrl-C (or SIGTERM) stops it.")
            hold()
    return EXIT_OK
