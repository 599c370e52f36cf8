"""watch, squash."""

from __future__ import annotations

import click

from .. import autosave as autosave_api
from ..repo import Repository
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("state_file", type=click.Path(dir_okay=False))
@click.option("--branch", default=None, help="The brain's branch (default: the current branch).")
@click.option("--on-branch", is_flag=True, help="Commit on the branch itself instead of autosave/BRANCH.")
@click.option("--debounce", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="SECONDS",
              help="Commit once the file has stayed unchanged this long.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=0.5, show_default=True, metavar="SECONDS",
              help="How often to look at the file.")
@click.option("--once", is_flag=True, help="Commit the file as it is now (if it changed) and exit.")
@click.option("--max-commits", type=click.IntRange(min=1), default=None, metavar="N", help="Exit after N commits.")
@click.option("--message", "-m", default="autosave", show_default=True, help="Commit message.")
@json_option
@with_repo
def watch(repo: Repository, state_file: str, branch: str | None, on_branch: bool, debounce: float, interval: float,
          once: bool, max_commits: int | None, message: str, as_json: bool) -> None:
    """Commit STATE_FILE whenever it changes: autosave for a brain that lives in another process.

    Commits land on autosave/BRANCH (see `brainvcs squash`). A version that is
    not a valid state (half-written, NaN...) is reported and skipped, never
    committed. Stop with Ctrl-C.
    """

    def show(event: autosave_api.WatchEvent) -> None:
        if as_json:
            return
        if event.kind == "commit" and event.commit is not None:
            click.echo(f"[{report_branch} {event.commit.id[:7]}] {event.path}")
        elif event.kind == "unchanged":
            click.echo(f"unchanged: {event.path} equals {report_branch}")
        elif event.error is not None:
            click.echo(f"{'skipped' if event.kind == 'invalid' else 'failed'}: {event.error.message}", err=True)

    report_branch = branch or repo.current_branch or "HEAD"
    if not on_branch:
        report_branch = autosave_api.AUTOSAVE_PREFIX + report_branch
    report = autosave_api.watch(repo, state_file, branch=branch, on_branch=on_branch, debounce=debounce,
                                interval=interval, once=once, max_commits=max_commits, message=message,
                                on_event=show)
    if as_json:
        emit_json(report.to_json())
    elif report.interrupted:
        click.echo(f"stopped: {len(report.commits)} commit(s), {report.invalid} invalid version(s) skipped", err=True)


@click.command()
@click.argument("branch", required=False)
@click.option("--onto", required=True, metavar="REV", help="Keep history up to REV; squash what follows.")
@click.option("--message", "-m", required=True, help="Message of the squashed commit.")
@click.option("--author", default=None, help="Author as 'Name <email>' (default: git config or GIT_AUTHOR_*).")
@json_option
@with_repo
def squash(repo: Repository, branch: str | None, onto: str, message: str, author: str | None, as_json: bool) -> None:
    """Collapse the autosaves on BRANCH (default: the current branch) since REV into one commit.

    The new commit has REV as parent and exactly the snapshot of BRANCH's tip;
    only autosave commits may be squashed. The branch moves by
    compare-and-swap (exit status 7 if another writer moved it meanwhile).
    """
    result = autosave_api.squash(repo, branch, onto=onto, message=message, author=author)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"[{result.branch} {result.commit.id[:7]}] {result.commit.summary}")
    click.echo(f" squashed {len(result.squashed)} autosave(s) onto {result.onto[:7]}; "
               f"previous tip {result.previous_tip[:7]}")
