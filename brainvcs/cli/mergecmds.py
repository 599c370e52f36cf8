"""merge, reseal, and the merge-driver git calls."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import MergeConflictError, UsageError
from ..merge.api import abort_merge
from ..merge.api import merge as merge_branch
from ..merge.api import revert as revert_commit
from ..merge.gitdriver import run_merge_driver
from ..merge.outcomes import Conflict, Resolution, iter_conflict_lines, parse_resolve_option
from ..merge.reseal import reseal as reseal_worktree
from ..merge.strategies import FLOAT_STRATEGIES
from ..repo import Repository
from ._common import emit_json, json_option, with_repo

_strategy_option = click.option(
    "--strategy", type=click.Choice(FLOAT_STRATEGIES), default=None,
    help="Floats changed on both sides: mean (default), max, min, ours, theirs or conflict. "
         "ours/theirs also settle every other conflict.")
_resolve_option = click.option(
    "--resolve", "resolve", multiple=True, metavar="PATH=VALUE",
    help="Settle PATH with ours, theirs, base or a JSON value (repeatable), e.g. "
         "language_module.word_frequency.sea=theirs.")


def _resolutions(options: tuple[str, ...]) -> dict[str, Resolution | str]:
    return dict(parse_resolve_option(text) for text in options)


def _print_conflicts(conflicts: list[Conflict], as_json: bool) -> None:
    if as_json:
        emit_json({"status": "conflict", "conflicts": [c.to_json() for c in conflicts]})
        return
    for line in iter_conflict_lines(conflicts):
        click.echo(line)


@click.command()
@click.argument("branch", required=False)
@click.option("--dry-run", is_flag=True, help="Print the plan (every changed path and its outcome); change nothing.")
@_strategy_option
@_resolve_option
@click.option("--message", "-m", default=None, help="Message of the merge commit.")
@click.option("--abort", is_flag=True, help="Nothing to undo: a brainvcs merge keeps no state between runs.")
@json_option
@with_repo
def merge(repo: Repository, branch: str | None, dry_run: bool, strategy: str | None, resolve: tuple[str, ...],
          message: str | None, abort: bool, as_json: bool) -> None:
    """Merge BRANCH into the current branch, by meaning rather than by line.

    Fast-forwards when possible; otherwise commits a merge with two parents:
    counters add both sides' deltas, maps take the union of keys, logs and
    rolling windows keep both sides' new items, floats use --strategy (mean by
    default). Values changed differently on both sides stop the merge with exit
    status 13, are listed with their base/ours/theirs values, and no branch
    moves: rerun with --resolve PATH=VALUE or --strategy ours|theirs.
    Per-path rules live in the brainvcs_merge module (docs/merge.md).
    """
    if abort:
        if branch or dry_run or resolve or strategy or message:
            raise UsageError("--abort takes no other argument")
        text = abort_merge(repo)
        emit_json({"status": "nothing-to-abort", "message": text}) if as_json else click.echo(text)
        return
    if not branch:
        raise UsageError("name the branch to merge", "brainvcs merge BRANCH (see `brainvcs branch`)")
    ours_label = repo.current_branch or "HEAD"
    try:
        result = merge_branch(repo, branch, strategy=strategy, resolutions=_resolutions(resolve), dry_run=dry_run,
                              message=message)
    except MergeConflictError as exc:
        _print_conflicts(exc.conflicts, as_json)
        raise
    if as_json:
        emit_json(result.to_json())
        return
    for line in result.lines(ours_label, branch):
        click.echo(line)


@click.command()
@click.argument("rev")
@click.option("--message", "-m", default=None, help="Commit message (default: Revert \"SUBJECT\").")
@_strategy_option
@json_option
@with_repo
def revert(repo: Repository, rev: str, message: str | None, strategy: str | None, as_json: bool) -> None:
    """Commit the undoing of what REV learned, keeping everything learned since (a semantic git revert).

    A three-way merge of HEAD with REV's parent over REV: counters REV raised
    go back down by as much, words it added go, later learning stays.
    """
    try:
        result = revert_commit(repo, rev, message=message, strategy=strategy)
    except MergeConflictError as exc:
        _print_conflicts(exc.conflicts, as_json)
        raise
    if as_json:
        emit_json(result.to_json())
    elif result.commit is not None:
        click.echo(f"[{repo.current_branch or 'HEAD'} {result.commit.id[:7]}] {result.commit.summary}")


@click.command()
@_strategy_option
@_resolve_option
@json_option
@with_repo
def reseal(repo: Repository, strategy: str | None, resolve: tuple[str, ...], as_json: bool) -> None:
    """Rewrite a git working tree as a valid snapshot and stage it (digests, manifest, layout).

    During a `git merge` this writes the semantic merge of HEAD and MERGE_HEAD
    (what `brainvcs merge` would commit); run `git commit` afterwards. Outside a
    merge it re-derives every digest file and the layout from the data files.
    """
    try:
        result = reseal_worktree(repo, strategy=strategy, resolutions=_resolutions(resolve))
    except MergeConflictError as exc:
        _print_conflicts(exc.conflicts, as_json)
        raise
    if as_json:
        emit_json(result.to_json())
        return
    if result.plan is not None:
        click.echo(result.plan.summary("HEAD", "MERGE_HEAD"))
    then = " — now run `git commit`" if result.merging else ""
    click.echo(f"resealed: {len(result.written)} file(s) written, {len(result.removed)} removed, "
               f"fingerprint {result.fingerprint[:16]}; staged{then}")


@click.command("merge-driver", hidden=True)
@click.argument("base_file", metavar="BASE")
@click.argument("ours_file", metavar="OURS")
@click.argument("theirs_file", metavar="THEIRS")
@click.argument("path", metavar="PATH")
def merge_driver(base_file: str, ours_file: str, theirs_file: str, path: str) -> None:
    """Merge driver for git (`git config merge.brainvcs.driver`): merges one snapshot file into OURS."""
    with Repository.open(Path.cwd()) as repo:
        status = run_merge_driver(repo, base_file, ours_file, theirs_file, path)
    raise click.exceptions.Exit(status)
