"""The ``brainvcs`` command line: a thin click layer over the Python API.

Each command opens the repository, calls one API function with the same name
and option names, and prints the result (text, or ``--json``). Errors from the
API are printed as one line plus a hint and mapped to exit codes here, in one
place (:func:`exit_code_for`).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from ..errors import BrainVCSError, os_error
from ._common import EXIT_CODES_HELP
from .core import checkout, commit, export, init, log, show, status
from .maint import gc, verify
from .refcmds import branch, reset, switch, tag
from .braincmds import demo, learn
from .importcmds import import_
from .querycmds import history, stats
from .autosavecmds import squash, watch
from .remotecmds import clone, fetch, ls_remote, pull, push, remote, sync
from .mergecmds import merge, merge_driver, reseal, revert
from .diffcmds import diff, git_diff_driver, git_setup, git_textconv
from .reviewcmds import review


class _Group(click.Group):
    """Runs commands with brainvcs's error handling around them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the group's own options; a usage error is one line and a hint, like every other error."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage_error(exc)
            ctx.exit(2)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # click's own: bad option, missing argument, bad value
            _usage_error(exc)
            ctx.exit(2)
        except BrainVCSError as exc:
            _print_error(exc.message, exc.hint)
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was half-written (objects are written before refs move)", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # Output piped into `head` and closed early: not an error.
            sys.stderr.close()
            ctx.exit(0)
        except OSError as exc:  # the file system said no: name the file and the reason, not a bug
            error = os_error(exc)
            _print_error(error.message, error.hint)
            ctx.exit(exit_code_for(error))
        except Exception as exc:  # a bug: say so in one line, details on request
            if os.environ.get("BRAINVCS_DEBUG"):
                traceback.print_exc()
            _print_error(f"internal error: {type(exc).__name__}: {exc}",
                         "this is a bug in brainvcs; rerun with BRAINVCS_DEBUG=1 for the traceback and report it")
            ctx.exit(70)


def exit_code_for(exc: BrainVCSError) -> int:
    """The documented exit code of an API error (see ``brainvcs --help``)."""
    return exc.exit_code


def _usage_error(exc: click.UsageError) -> None:
    """A click usage error as brainvcs prints errors: ``error:`` one line, ``hint:`` where to look."""
    command = exc.ctx.command_path if exc.ctx is not None else "brainvcs"
    _print_error(" ".join(exc.format_message().split()), f"see `{command} --help`")


def _print_error(message: str, hint: str | None) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="brainvcs")
@click.option("--repo", "-C", "repo_path", default=None, metavar="DIR",
              help="Repository every command uses (as if each were given --repo DIR).")
def main(repo_path: str | None) -> None:
    """Version control for learning systems: commit, log, branch, diff and share brain states in git.

    A brain's state (a JSON object of modules) is stored as canonical,
    BLAKE3-hashed JSON blobs in an ordinary git repository. Start with
    `brainvcs demo`, or `brainvcs init DIR` and `brainvcs commit -m MSG STATE.json`.
    The repository is the one containing the current directory, or DIR from
    --repo DIR (-C DIR), given before the command or after it.
    """


COMMANDS: list[click.Command] = [
    init,
    commit,
    log,
    show,
    checkout,
    export,
    status,
    branch,
    switch,
    tag,
    reset,
    verify,
    gc,
    learn,
    demo,
    import_,
    history,
    stats,
    watch,
    squash,
    remote,
    clone,
    fetch,
    pull,
    push,
    ls_remote,
    sync,
    merge,
    revert,
    reseal,
    merge_driver,
    diff,
    git_setup,
    git_diff_driver,
    git_textconv,
    review,
]
for command in COMMANDS:
    main.add_command(command)
