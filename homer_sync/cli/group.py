"""The ``homer-sync`` group: its options, its help, and the App every command receives."""

from __future__ import annotations

import click

from homer_sync import __version__

from .errors import HomerSyncGroup
from .options import (
    App,
    connection_options,
    global_option_flags,
    keys_from_env,
    pop_connection,
    server_options,
    with_globals,
)

EXIT_CODES_HELP = """\b
Exit codes:
  0   success (with --detailed-exitcode: no changes)
  1   error of any kind (network, auth, invalid inventory, failed or unverified apply)
  2   changes pending (plan --detailed-exitcode); saved plan stale (show --check)
  3   plan refused as unsafe (thresholds, empty inventory prune); --force overrides
  64  command-line usage error"""


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
    ctx.obj = with_globals(App(connection=pop_connection(kwargs), connection_from_env=keys_from_env(ctx),
                                servers=tuple(servers), all_servers=all_servers),
                            {"verbose": verbose, "quiet": quiet, "no_color": no_color, "lock_file": lock_file,
                             "lock_wait": lock_wait, "max_aliases": max_aliases, "config_path": config_path})
