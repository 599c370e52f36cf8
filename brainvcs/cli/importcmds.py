"""import seed-json, import seed-sqlite."""

from __future__ import annotations

import click

from ..seed import api as importexport
from ..repo import CommitResult, Repository
from ._common import emit_json, json_option, with_repo


def _print(branch: str, result: CommitResult) -> None:
    assert result.commit is not None
    click.echo(f"[{branch} {result.commit.id[:7]}] {result.commit.summary}")


@click.group(name="import")
def import_() -> None:
    """Import brains saved by the seed's code (JSON files, SQLite databases) as history.

    Imports are all-or-nothing: a malformed input (truncated JSON, a missing
    table, a value of the wrong type) is reported with the file and the place,
    and nothing is written. Target branches must not exist yet.
    """


@import_.command(name="seed-json")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--branch", default="seed-import", show_default=True, help="New branch to create for the commits.")
@click.option("--author", default=None, help="Author as 'Name <email>' (default: from the file, else git config).")
@json_option
@with_repo
def seed_json(repo: Repository, files: tuple[str, ...], branch: str, author: str | None, as_json: bool) -> None:
    """Import FILES (the seed's BrainStateSerializer JSON) as one commit each, oldest saved_at first."""
    fresh = repo.head() is None
    results = importexport.import_seed_json(repo, list(files), branch=branch, author=author)
    if as_json:
        emit_json([r.to_json() for r in results])
        return
    for result in results:
        _print(branch, result)
    if fresh:
        _say_where(repo)


@import_.command(name="seed-sqlite")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--prefix", default=None, help="Namespace for the new branches: PREFIX/<user>/<session>.")
@click.option("--author", default=None, help="Author as 'Name <email>' (default: each session's user).")
@json_option
@with_repo
def seed_sqlite(repo: Repository, db: str, prefix: str | None, author: str | None, as_json: bool) -> None:
    """Import every session of DB (the seed's BrainDatabase) as a commit on its own branch <user>/<session>."""
    fresh = repo.head() is None
    results = importexport.import_seed_sqlite(repo, db, prefix=prefix, author=author)
    if as_json:
        emit_json({branch: r.to_json() for branch, r in results.items()})
        return
    for branch, result in results.items():
        _print(branch, result)
    if fresh:
        _say_where(repo)


def _say_where(repo: Repository) -> None:
    """Where `log` looks now that the repository, empty before, holds the imported history."""
    click.echo(f"HEAD is on {repo.current_branch} (`brainvcs log` shows it; `brainvcs branch` lists the others)",
               err=True)
