"""history, stats."""

from __future__ import annotations

import click

from ..errors import UsageError
import orjson

from .. import query
from ..repo import Repository
from ._common import emit_json, format_date, json_option, with_repo


def _compact(value: object) -> str:
    return orjson.dumps(query.to_jsonable(value), option=orjson.OPT_SORT_KEYS).decode()


@click.command()
@click.argument("path")
@click.argument("rev_range", metavar="[RANGE]", default="HEAD")
@click.option("--changes-only", is_flag=True, help="Show only the commits where the value changed.")
@json_option
@with_repo
def history(repo: Repository, path: str, rev_range: str, changes_only: bool, as_json: bool) -> None:
    """Show the value of PATH (such as language_module.word_frequency.hello) at each commit, oldest first.

    RANGE is REV (default HEAD) or A..B (commits of B that A does not have).
    List items are written [3], odd keys ["like.this"]. Only the shard that
    holds PATH is read, and only in commits where it changed.
    """
    points = query.history(repo, path, rev_range, changes_only=changes_only)
    if as_json:
        emit_json([p.to_json() for p in points])
        return
    for point in points:
        shown = _compact(point.value) if point.present else "(absent)"
        date = format_date(point.commit.author_time, point.commit.author_tz)
        click.echo(f"{click.style(point.commit.id[:7], fg='yellow')}  {date}  {shown}")


_HEADINGS = {"vocabulary_size": "words", "total_word_count": "seen", "mean_connection_weight": "mean_w",
             "connection_count": "links", "working_memory": "working", "episodic_memory": "episodic",
             "response_memory": "responses", "brain_history": "history"}


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


@click.command()
@click.argument("rev_range", metavar="[RANGE]", default="HEAD")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Also draw the learning curves as a PNG (needs matplotlib: pip install 'brainvcs[plot]').")
@json_option
@with_repo
def stats(repo: Repository, rev_range: str, plot_path: str | None, as_json: bool) -> None:
    """Learning curves over RANGE (default HEAD): vocabulary, words seen, connection weight, memory sizes.

    One row per commit, oldest first; "-" where the brain has no such part.
    """
    rows = query.stats(repo, rev_range)
    if rows and not query.measured(rows) and not as_json:
        raise UsageError(query.NOTHING_MEASURED, query.NOTHING_MEASURED_HINT)
    if plot_path is not None:
        query.plot_stats(rows, plot_path)
    if as_json:
        emit_json([row.to_json() for row in rows])
    else:
        click.echo("commit   " + " ".join(f"{_HEADINGS[c]:>9}" for c in query.STATS_COLUMNS))
        for row in rows:
            click.echo(f"{row.commit.id[:7]}  " + " ".join(f"{_cell(getattr(row, c)):>9}" for c in query.STATS_COLUMNS))
    if plot_path is not None and not as_json:
        click.echo(f"wrote {plot_path}", err=True)
