"""review."""

from __future__ import annotations

import click

from ..api import Repository
from ._common import with_repo


@click.command()
@click.argument("rev", required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free port, printed).")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening a browser.")
@with_repo
def review(repo: Repository, rev: str | None, port: int, no_browser: bool) -> None:
    """Serve a read-only review page of the brain's learning on 127.0.0.1 (needs brainvcs[review]).

    The page shows the history as a graph, each commit's learning (new words,
    counters and connections that moved, a histogram of weight changes,
    memories added and rolled off), two revisions compared, learning curves
    per branch, and a merge preview. REV is the commit shown first (default
    HEAD). Stop with Ctrl-C.
    """
    from ..web.serve import serve

    serve(repo, port=port, open_browser=not no_browser, rev=rev,
          announce=lambda line: click.echo(line, err=True))
