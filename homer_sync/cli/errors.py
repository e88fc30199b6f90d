"""Errors to exit codes and one line each: the group that maps them, and the wording every command shares."""

from __future__ import annotations

import os
import sys

import click

from homer_sync.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, HomerSyncError, UnsafePlanError


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
