"""learn, demo."""

from __future__ import annotations

import click

from .. import demo as demo_api
from ..repo import Repository
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("texts", nargs=-1)
@click.option("--file", "-f", "files", multiple=True, type=click.File("r", encoding="utf-8"),
              help="Read text to learn from this file (repeatable; - for stdin).")
@click.option("--message", "-m", default=None, help="Commit message (default: a summary of what was learned).")
@click.option("--branch", default=None, help="Branch to commit to (default: the current branch).")
@json_option
@with_repo
def learn(repo: Repository, texts: tuple[str, ...], files: tuple[click.utils.LazyFile, ...], message: str | None,
          branch: str | None, as_json: bool) -> None:
    """Load the reference brain at HEAD, learn TEXTS (and/or --file), and commit what it learned."""
    inputs = list(texts) + [f.read() for f in files]
    if not inputs:
        raise click.UsageError("give TEXT arguments or --file")
    result = demo_api.learn(repo, inputs, message=message, branch=branch)
    if as_json:
        emit_json(result.to_json())
        return
    commit = result.commit.commit
    assert commit is not None
    click.echo(f"[{result.commit.ref.removeprefix('refs/heads/')} {commit.id[:7]}] {result.report.summary()}")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def demo(directory: str | None) -> None:
    """Show the whole loop on the bundled reference brain: commits, a tag, a branch, the log, verify.

    Creates a new repository in DIRECTORY (default: a fresh temporary directory,
    printed at the start) and keeps it so you can explore it afterwards.
    """
    demo_api.run_demo(directory, echo=click.echo)
