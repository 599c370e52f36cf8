"""diff, git-setup, and the two hidden commands git runs as the diff driver."""

from __future__ import annotations

import click

from ..diff import api as diffapi
from ..diff import render_text, to_json
from ..diff.markdown import float_changes, histogram_svg, render_markdown
from ..diff.render import render_module
from ..files import atomic_write
from ..repo import Repository
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("a", required=False, metavar="[A]")
@click.argument("b", required=False, metavar="[B]")
@click.option("--stat", is_flag=True, help="One line per changed path, without the items.")
@click.option("--module", "modules", multiple=True, help="Only this module (repeatable).")
@click.option("--path", default=None, metavar="DOTTED.PATH",
              help="Only what lies at or below this path, e.g. language_module.word_frequency.")
@click.option("--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Items shown per path, largest changes first (0: all).")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Count but do not list float changes smaller than this.")
@click.option("--format", "format_", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="markdown: a report to paste into a pull/merge request (summary table, top changes).")
@click.option("--chart", type=click.Path(dir_okay=False), default=None, metavar="FILE.svg",
              help="With --format markdown: also draw the float changes as an SVG histogram, linked from the report.")
@json_option
@with_repo
def diff(repo: Repository, a: str | None, b: str | None, stat: bool, modules: tuple[str, ...], path: str | None,
         limit: int, tolerance: float, format_: str, chart: str | None, as_json: bool) -> None:
    """Show what the brain learned between A and B: words learned, counters moved, weights changed.

    With no revision, HEAD against its parent; with one, A against HEAD; A..B
    and A...B also work. Maps show keys added and removed, integers their deltas,
    floats how many moved and by how much, lists what was appended and what
    rolled off, tensors the size of the change. A...B compares B with the
    merge base of A and B (what B learned since they parted). FILE (a state
    file) in place of B, or alone, compares it with A or HEAD. --json prints
    the stable schema described in docs/diff.md (items cut to --limit);
    --format markdown a report for a pull request (--chart adds a histogram).
    """
    if diffapi.is_state_file(b) or (b is None and diffapi.is_state_file(a)):
        rev, file = (a, b) if b is not None else (None, a)
        assert file is not None
        result = diffapi.diff_file(repo, rev, file, modules=list(modules) or None, path=path, tolerance=tolerance)
    else:
        old, new = diffapi.split_range(a, b, repo)
        result = diffapi.diff(repo, old, new, modules=list(modules) or None, path=path, tolerance=tolerance)
    if as_json:
        emit_json(to_json(result, limit=limit or None))
        return
    if format_ == "markdown":
        if chart is not None:
            atomic_write(chart, histogram_svg(float_changes(result)).encode("utf-8"))
        click.echo(render_markdown(result, limit=limit or None, chart=chart), nl=False)
        return
    if chart is not None:
        raise click.UsageError("--chart goes with --format markdown")
    click.echo(render_text(result, limit=limit or None, stat=stat, color=True), nl=False)


@click.command("git-setup")
@click.option("--program", default=None, metavar="COMMAND",
              help="How git should start brainvcs (default: this Python in isolated mode, -I -m brainvcs).")
@json_option
@with_repo
def git_setup(repo: Repository, program: str | None, as_json: bool) -> None:
    """Make plain `git diff`, `git log -p` and `git merge` in a git clone of a brain semantic.

    Run it inside a clone made with `git clone`. It adds a diff driver for
    brain.json and a merge driver for the snapshot's JSON files to
    .git/info/attributes (untracked, so snapshots stay clean) and to
    .git/config: `git diff` then prints the semantic diff of the two
    snapshots, `git log -p` / `git show` an overview of each snapshot (use
    --ext-diff there for the full semantic diff), and `git merge` merges
    brains semantically (finish with `brainvcs reseal` when it asks).
    git starts the drivers inside the working tree; they run Python in
    isolated mode, so files in the clone can never stand in for brainvcs.
    """
    result = diffapi.git_setup(repo, program=program)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"installed the brainvcs diff and merge drivers in {result.gitdir}")
    click.echo(f"  attributes: {result.attributes}")
    for key, value in result.config.items():
        click.echo(f"  {key} = {value}")


def print_commit_diff(repo: Repository, rev: str, *, stat: bool = False) -> None:
    """Print what commit ``rev`` changed against its first parent (``show``; ``log --stat`` with ``stat``)."""
    result = diffapi.diff(repo, None, rev)
    if not stat:
        click.echo(render_text(result, color=True), nl=False)
        return
    for module in result.modules:
        for line in render_module(module, stat=True, color=True):
            click.echo(f"  {line}")
    click.echo("")


_DRIVER_CONTEXT = {"ignore_unknown_options": True, "allow_interspersed_args": False}


@click.command("git-diff-driver", hidden=True, context_settings=_DRIVER_CONTEXT)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@with_repo
def git_diff_driver(repo: Repository, args: tuple[str, ...]) -> None:
    """Run by git as diff.brainvcs.command (PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE)."""
    click.echo(diffapi.git_diff_driver(repo, list(args)), nl=False)


@click.command("git-textconv", hidden=True, context_settings=_DRIVER_CONTEXT)
@click.argument("file", type=click.UNPROCESSED)
@with_repo
def git_textconv(repo: Repository, file: str) -> None:
    """Run by git as diff.brainvcs.textconv: print the text git should compare for FILE."""
    click.echo(diffapi.git_textconv(repo, file), nl=False)
