"""``log --graph``: the history drawn as lanes, one column per line of descent, as ``git log --graph`` does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..storage.commits import CommitInfo


@dataclass
class GraphRow:
    """What to print for one commit: lines joining lanes before it, its own prefix, lines opening lanes after it."""

    before: list[str] = field(default_factory=list)
    prefix: str = "*"
    after: list[str] = field(default_factory=list)


def _bars(count: int) -> str:
    return " ".join("|" for _ in range(count))


def graph_rows(commits: Sequence[CommitInfo]) -> list[GraphRow]:
    """One :class:`GraphRow` per commit, newest first.

    A lane holds the commit it waits for. Lanes waiting for the same commit
    join before it (``|/``); the commit takes the first of them (or a new
    lane), hands it to its first parent, and opens a lane for each other
    parent not already awaited (``|\\``); a root commit closes its lane.
    """
    lanes: list[str] = []
    rows: list[GraphRow] = []
    for info in commits:
        row = GraphRow()
        waiting = [i for i, lane in enumerate(lanes) if lane == info.id]
        if not waiting:
            lanes.append(info.id)
            waiting = [len(lanes) - 1]
        col = waiting[0]
        for i in reversed(waiting[1:]):  # every other lane that waited for this commit ends here
            del lanes[i]
            row.before.append(_bars(i - 1) + (" " if i > 1 else "") + "|/" + ("" if i == len(lanes) else " "
                                                                           + _bars(len(lanes) - i)))
        row.prefix = " ".join("*" if i == col else "|" for i in range(len(lanes)))
        parents = list(info.parents)
        if not parents:
            del lanes[col]
        else:
            lanes[col] = parents[0]
            for extra in parents[1:]:
                if extra not in lanes:
                    lanes.insert(col + 1, extra)
                    right = len(lanes) - col - 2
                    row.after.append(_bars(col + 1) + "\\" + (" " + _bars(right) if right > 0 else ""))
        rows.append(row)
    return rows
