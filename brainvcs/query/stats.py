"""Learning curves: measures of every commit of a range (vocabulary, encounters, connections, memory), and their plot."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

from ..errors import UsageError
from ..repo import Repository
from ..snapshot.paths import parse_path
from ..storage.commits import CommitInfo
from ..storage.objects import ObjectId
from .history import commits_in_range
from .walker import Walker


# --------------------------------------------------------------------------
# stats and plot_stats


@dataclass(frozen=True)
class StatsRow:
    """Learning measures of one commit (None where the brain has no such part)."""

    commit: CommitInfo
    vocabulary_size: int | None
    total_word_count: int | None
    mean_connection_weight: float | None
    connection_count: int | None
    working_memory: int | None
    episodic_memory: int | None
    response_memory: int | None
    brain_history: int | None

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        out: dict[str, Any] = {"commit": self.commit.id, "summary": self.commit.summary,
                               "author_time": self.commit.author_time}
        out.update({name: getattr(self, name) for name in STATS_COLUMNS})
        return out


#: The measures of a :class:`StatsRow`, in table order.
STATS_COLUMNS = ("vocabulary_size", "total_word_count", "mean_connection_weight", "connection_count",
                 "working_memory", "episodic_memory", "response_memory", "brain_history")


def _word_total(values: Iterable[Any]) -> tuple[int]:
    return (sum(v for v in values if type(v) is int),)


def _frequency_total(values: Iterable[Any]) -> tuple[int]:
    # The seed's SQLite vocabulary rows: {"frequency": n, ...}.
    return (sum(v["frequency"] for v in values if isinstance(v, dict) and type(v.get("frequency")) is int),)


def _connections(values: Iterable[Any]) -> tuple[Fraction, int]:
    # Fractions make the mean exact and independent of how the neurons are sharded.
    total, count = Fraction(0), 0
    for neuron in values:
        connections = neuron.get("connections") if isinstance(neuron, dict) else None
        if isinstance(connections, dict):
            for weight in connections.values():
                if type(weight) in (int, float):
                    total += Fraction(weight)
                    count += 1
    return total, count


_Measure = tuple[str, Union[Callable[[Iterable[Any]], tuple[Any, ...]], None]]
# Each measure: candidate paths, first present wins (the live/reference layout, the seed's JSON, its SQLite).
_SOURCES: dict[str, list[_Measure]] = {
    "vocabulary_size": [("language_module.vocabulary", None), ("vocabulary", None)],
    "total_word_count": [("language_module.word_frequency", _word_total), ("vocabulary", _frequency_total)],
    "connections": [("language_module.neurons", _connections), ("language_module.neuron_states", _connections),
                    ("neural_connections", _connections)],
    "working_memory": [("memory_module.working_memory", None), ("memory_states.working", None)],
    "episodic_memory": [("memory_module.episodic_memory", None), ("memory_states.episodic", None)],
    "response_memory": [("response_generator.response_memory", None), ("response_history", None)],
    "brain_history": [("brain_history", None)],
}


def _measure(walker: Walker, candidates: list[_Measure]) -> Any:
    for path, fn in candidates:
        found = walker.locate(parse_path(path))
        if not found.present:
            continue
        result = walker.size(found) if fn is None else walker.fold(found, fn)
        if result is not None:
            return result
    return None


def stats(repo: Repository, rev_range: str = "HEAD") -> list[StatsRow]:
    """Learning curves: one :class:`StatsRow` per commit of ``rev_range``, oldest first.

    Sizes come from map and list markers where the layout has them; sums are
    folded shard by shard, each distinct shard once.
    """
    walker = Walker(repo)
    rows: list[StatsRow] = []
    for commit in commits_in_range(repo, rev_range):
        walker.open(commit)
        values = {name: _measure(walker, candidates) for name, candidates in _SOURCES.items()}
        total, count = values.pop("connections") or (Fraction(0), None)
        words = values.pop("total_word_count")
        rows.append(StatsRow(
            commit=commit,
            total_word_count=words[0] if words is not None else None,
            mean_connection_weight=float(total / count) if count else None,
            connection_count=count,
            **values,
        ))
    return rows


#: What stats says when a brain has none of the parts it measures.
NOTHING_MEASURED = ("this brain has none of the parts stats measures (a vocabulary, word frequencies, "
                    "neuron connections, working/episodic/response memory, a brain history)")
NOTHING_MEASURED_HINT = "follow any value over time with `brainvcs history PATH` (e.g. history cognitive_metrics.step)"


def measured(rows: Sequence[StatsRow]) -> list[str]:
    """The measures (of :data:`STATS_COLUMNS`) that at least one row has."""
    return [column for column in STATS_COLUMNS if any(getattr(row, column) is not None for row in rows)]


def parent_edges(rows: Sequence[StatsRow]) -> list[tuple[ObjectId, ObjectId]]:
    """(parent, child) commit ids of the rows, for every parent that is a row too: the lines a plot draws."""
    ids = {row.commit.id for row in rows}
    return [(parent, row.commit.id) for row in rows for parent in row.commit.parents if parent in ids]


def plot_stats(rows: Sequence[StatsRow], path: str) -> None:
    """Draw the learning curves of ``rows`` as a PNG at ``path`` (needs matplotlib: ``brainvcs[plot]``)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("plotting needs matplotlib, which is not installed",
                         "pip install 'brainvcs[plot]'") from None
    if not rows:
        raise UsageError("no commits to plot")
    if not measured(rows):
        raise UsageError(NOTHING_MEASURED, NOTHING_MEASURED_HINT)
    # A bare Figure on the Agg canvas: no GUI backend, no global pyplot state.
    figure = Figure(figsize=(10, 7), dpi=100)
    FigureCanvasAgg(figure)
    xs = list(range(1, len(rows) + 1))
    panels = [
        ("Vocabulary size", ["vocabulary_size"]),
        ("Total word count", ["total_word_count"]),
        ("Mean connection weight", ["mean_connection_weight"]),
        ("Memory sizes", ["working_memory", "episodic_memory", "response_memory", "brain_history"]),
    ]
    # Each commit is joined to its parents (not to the row before it): branches are drawn as branches.
    position = {row.commit.id: x for x, row in zip(xs, rows)}
    present = set(measured(rows))
    panels = [(title, [c for c in columns if c in present]) for title, columns in panels if present & set(columns)]
    grid = (1, len(panels)) if len(panels) <= 2 else (2, 2)  # only what this brain has: no empty axes
    for index, (title, columns) in enumerate(panels, start=1):
        axes = figure.add_subplot(*grid, index)
        for column in columns:
            ys = [getattr(row, column) for row in rows]
            if all(y is None for y in ys):
                continue
            value = {row.commit.id: y for row, y in zip(rows, ys) if y is not None}
            line = axes.plot([x for x, y in zip(xs, ys) if y is not None], [y for y in ys if y is not None],
                             marker="o", markersize=3, linestyle="none", label=column.replace("_", " "))[0]
            for parent, child in parent_edges(rows):
                if parent in value and child in value:
                    axes.plot([position[parent], position[child]], [value[parent], value[child]],
                              color=line.get_color(), linewidth=1)
        axes.set_title(title)
        axes.set_xlabel("commit (oldest to newest; lines join parents and children)")
        if len(columns) > 1:
            axes.legend(fontsize="small")
        if len(rows) <= 12:
            axes.set_xticks(xs, [row.commit.id[:7] for row in rows], rotation=45, fontsize="x-small")
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the plot: {exc.strerror or exc}") from None
