"""History queries: a path's value across commits, when a key was learned, learning curves.

These read only what they need. A path such as
``language_module.word_frequency.hello`` is followed down the snapshot layout
(docs/format.md §3): into a dict directory by the member's escaped name, into
a sharded map straight to the one shard BLAKE3(key) selects, into a chunked
list chunk by chunk. Every result is memoised by the git id of the entry it
came from, so a commit whose module (or directory, or shard) is unchanged
costs no blob reads at all — git ids are content hashes, so equal ids mean
equal bytes. Every blob that is read is verified against its BLAKE3 digest,
up to the manifest's fingerprint.

Ranges (:mod:`brainvcs.storage.revisions`): ``REV`` (everything reachable
from REV), ``A..B`` (reachable from B but not from A; an empty side means
HEAD) or ``A...B`` (reachable from either, not from both). Commits come
oldest first, parents before children.
"""

from __future__ import annotations

from ..snapshot.paths import format_path, parse_path
from .history import (DEFAULT_LEARNED_MAP, HistoryPoint, commits_in_range, first_learned, history, to_jsonable,
                      value_at)
from .stats import NOTHING_MEASURED, NOTHING_MEASURED_HINT, STATS_COLUMNS, StatsRow, measured, plot_stats, stats

__all__ = [
    "DEFAULT_LEARNED_MAP", "STATS_COLUMNS", "HistoryPoint", "StatsRow", "commits_in_range", "first_learned",
    "NOTHING_MEASURED", "NOTHING_MEASURED_HINT", "format_path", "history", "measured", "parse_path", "plot_stats",
    "stats", "to_jsonable", "value_at",
]
