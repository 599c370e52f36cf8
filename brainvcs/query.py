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

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

from .snapshot import layout
from .errors import CorruptObjectError, IntegrityError, PathNotFoundError, UsageError
from .snapshot.layout import INLINE, LIST_MARKER, MAP_MARKER, escape_name, key_hash, shard_name
from .repo import Repository
from .storage.commits import CommitInfo
from .storage.objects import GitTreeReader, ObjectId
from .snapshot.paths import Segment, format_path, parse_path
from .snapshot.tensors import is_array

__all__ = [
    "DEFAULT_LEARNED_MAP", "HistoryPoint", "StatsRow", "commits_in_range", "first_learned", "format_path",
    "history", "parse_path", "plot_stats", "stats",
]

#: Where ``log --learned WORD`` looks for WORD.
DEFAULT_LEARNED_MAP = "language_module.word_frequency"


# --------------------------------------------------------------------------
# Paths and ranges


def commits_in_range(repo: Repository, rev_range: str = "HEAD") -> list[CommitInfo]:
    """The commits of ``REV``, ``A..B`` or ``A...B``, oldest first (parents before children, first parents first)."""
    return [CommitInfo.from_commit(repo.graph.commit(sha)) for sha in repo.range_commits(rev_range)]


# --------------------------------------------------------------------------
# Reading one path of one snapshot, memoised across commits


@dataclass(frozen=True)
class _Node:
    """An entry of the snapshot tree, the BLAKE3 digest its parent records, and how deep its value nests."""

    path: str
    is_dir: bool
    digest: str
    depth: int = 1

    def entry(self, name: str, is_dir: bool, digest: str, *, member: bool = False) -> _Node:
        """An entry of this directory: a dict member's value nests one level deeper, a shard or chunk does not."""
        return _Node(f"{self.path}/{name}", is_dir, digest, self.depth + 1 if member else self.depth)


@dataclass(frozen=True)
class _Found:
    """Where a path led: absent, a whole entry (``node``), or a value inside a blob."""

    present: bool
    node: _Node | None = None
    value: Any = None


_ABSENT = _Found(False)


def _walk(value: Any, rest: Sequence[Segment]) -> _Found:
    for segment in rest:
        if isinstance(value, dict) and type(segment) is str and segment in value:
            value = value[segment]
        elif isinstance(value, list) and type(segment) is int and -len(value) <= segment < len(value):
            value = value[segment]
        else:
            return _ABSENT
    return _Found(True, None, value)


class _Walker:
    """Finds paths in commits' snapshots; everything is memoised by git object id."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.reader: GitTreeReader | None = None
        self.loader = layout.Loader(layout.MemoryTreeReader(layout.SnapshotTree()))  # until open()

    def open(self, commit: CommitInfo) -> None:
        """Point at ``commit``'s snapshot (and check its manifest against the commit's trailer)."""
        self.reader = GitTreeReader(self.repo.objects, commit.tree)
        # The layout's verified loader: every blob read is checked against its BLAKE3 digest.
        self.loader = layout.Loader(self.reader)
        manifest = self.manifest()
        if commit.fingerprint is not None and commit.fingerprint != manifest["fingerprint"]:
            raise IntegrityError(f"commit {commit.id[:12]}: Brain-Fingerprint trailer", commit.fingerprint,
                                 manifest["fingerprint"])

    def _id(self, path: str) -> str:
        assert self.reader is not None
        return self.reader.entry_id(path)

    def manifest(self) -> dict[str, Any]:
        """The current snapshot's verified manifest."""
        key = ("manifest", self._id(layout.MANIFEST))
        if key not in self.memo:
            assert self.reader is not None
            self.memo[key] = layout.read_manifest(self.reader)
        manifest: dict[str, Any] = self.memo[key]
        return manifest

    def locate(self, segments: Sequence[Segment]) -> _Found:
        """Where ``segments`` lead in the current snapshot."""
        assert self.reader is not None
        manifest = self.manifest()
        info = manifest["modules"].get(segments[0])
        if not isinstance(info, dict):
            return _ABSENT
        entry = info.get("entry")
        root = self.reader.list_dir("")
        if not isinstance(entry, str) or entry not in root or entry not in manifest["digests"]:
            raise CorruptObjectError(f"module {segments[0]!r}: manifest entry is missing or malformed")
        return self._locate(_Node(entry, root[entry], manifest["digests"][entry], 1), tuple(segments), 1)

    def _locate(self, node: _Node, segments: tuple[Segment, ...], i: int) -> _Found:
        if i == len(segments):
            return _Found(True, node)
        key = ("locate", segments, i, node.path, self._id(node.path), node.digest)
        if key not in self.memo:
            self.memo[key] = self._locate_in(node, segments, i)
        found: _Found = self.memo[key]
        return found

    def _locate_in(self, node: _Node, segments: tuple[Segment, ...], i: int) -> _Found:
        loader = self.loader
        if not node.is_dir:
            return _walk(self._json(node), segments[i:])
        digests = loader.dir_digests(node.path, node.digest)
        listing = self.reader.list_dir(node.path) if self.reader is not None else {}
        segment = segments[i]
        if MAP_MARKER in digests:
            return self._in_map(node, digests, segments, i) if type(segment) is str else _ABSENT
        if LIST_MARKER in digests:
            return self._in_list(node, digests, segments, i) if type(segment) is int else _ABSENT
        if INLINE in digests:
            if type(segment) is not str:
                return _ABSENT
            name = escape_name(segment)
            if listing.get(name) is True and name in digests:
                return self._locate(node.entry(name, True, digests[name], member=True), segments, i + 1)
            if listing.get(name + ".json") is False and name + ".json" in digests:
                return self._locate(node.entry(name + ".json", False, digests[name + ".json"], member=True),
                                    segments, i + 1)
            return _walk(self._json(node.entry(INLINE, False, digests[INLINE])), segments[i:])
        raise CorruptObjectError(f"{node.path}: directory has no {INLINE}, {MAP_MARKER} or {LIST_MARKER}")

    def _in_map(self, node: _Node, digests: dict[str, str], segments: tuple[Segment, ...], i: int) -> _Found:
        marker = self.loader.json(f"{node.path}/{MAP_MARKER}", digests[MAP_MARKER])
        bits = marker.get("bits") if isinstance(marker, dict) else None
        if type(bits) is not int or not 1 <= bits <= 24:
            raise CorruptObjectError(f"{node.path}/{MAP_MARKER}: malformed ({marker!r})")
        key = segments[i]
        assert isinstance(key, str)
        *dirs, leaf = shard_name(key_hash(key) >> (64 - bits), bits).split("/")
        base, level = node, digests
        for part in dirs:
            if part not in level:
                return _ABSENT
            base = base.entry(part, True, level[part])
            level = self.loader.dir_digests(base.path, base.digest)
        if leaf not in level:
            return _ABSENT
        # A shard is a dict of the map's own keys: walking from segment i finds the key in it.
        return self._locate(base.entry(leaf, False, level[leaf]), segments, i)

    def _in_list(self, node: _Node, digests: dict[str, str], segments: tuple[Segment, ...], i: int) -> _Found:
        marker = self.loader.json(f"{node.path}/{LIST_MARKER}", digests[LIST_MARKER])
        count = marker.get("count") if isinstance(marker, dict) else None
        if type(count) is not int:
            raise CorruptObjectError(f"{node.path}/{LIST_MARKER}: malformed ({marker!r})")
        index = segments[i]
        assert isinstance(index, int)
        index = index + count if index < 0 else index
        if not 0 <= index < count:
            return _ABSENT
        for name in sorted(n for n in digests if n != LIST_MARKER):
            chunk = self._blob(node.entry(name, False, digests[name]))
            if not isinstance(chunk, list):
                raise CorruptObjectError(f"{node.path}/{name}: list chunk is not an array")
            if index < len(chunk):
                return _walk(chunk[index], segments[i + 1:])
            index -= len(chunk)
        return _ABSENT

    def _json(self, node: _Node) -> Any:
        return self.loader.json(node.path, node.digest, node.depth)

    def _load(self, node: _Node) -> Any:
        return self.loader.node(node.path, node.is_dir, node.digest, node.depth)

    def _blob(self, node: _Node) -> Any:
        key = ("blob", node.path, self._id(node.path), node.digest)
        if key not in self.memo:
            self.memo[key] = self._json(node)
        return self.memo[key]

    def value(self, found: _Found) -> Any:
        """The value a located path holds (a whole subtree is read only now)."""
        if found.node is None:
            return found.value
        node = found.node
        key = ("value", node.path, self._id(node.path), node.digest)
        if key not in self.memo:
            self.memo[key] = self._load(node)
        return self.memo[key]

    # -- aggregates for stats: counted or folded without reading whole subtrees -------------

    def size(self, found: _Found) -> int | None:
        """Number of items of the dict or list at ``found`` (markers answer for maps and lists)."""
        if found.node is None or not found.node.is_dir:
            value = self.value(found) if found.present else None
            return len(value) if isinstance(value, (dict, list)) else None
        node = found.node
        digests = self.loader.dir_digests(node.path, node.digest)
        for marker_name in (MAP_MARKER, LIST_MARKER):
            if marker_name in digests:
                marker = self._blob(node.entry(marker_name, False, digests[marker_name]))
                count = marker.get("count") if isinstance(marker, dict) else None
                return count if type(count) is int else None
        inline = self._blob(node.entry(INLINE, False, digests[INLINE]))
        return len(inline) + len(digests) - 1 if isinstance(inline, dict) else None

    def fold(self, found: _Found, fn: Callable[[Iterable[Any]], tuple[Any, ...]]) -> tuple[Any, ...] | None:
        """``fn`` over the values of the dict (or items of the list) at ``found``, summed part by part.

        Each part (a map shard, a list chunk, a dict member) is folded once per
        distinct git object, so a commit that changed a few shards costs a few reads.
        """
        if not found.present:
            return None
        if found.node is None or not found.node.is_dir:
            return _fold_value(self.value(found), fn)
        parts: list[tuple[Any, ...] | None] = []
        for part, single in self._parts(found.node):
            key = ("fold", fn.__qualname__, single, part.path, self._id(part.path), part.digest)
            if key not in self.memo:
                self.memo[key] = _fold_value(self._load(part), fn, single)
            parts.append(self.memo[key])
        return _sum(parts)

    def _parts(self, node: _Node) -> Iterator[tuple[_Node, bool]]:
        """The entries a directory's values live in, and whether each holds a single value."""
        digests = self.loader.dir_digests(node.path, node.digest)
        listing = self.reader.list_dir(node.path) if self.reader is not None else {}
        if INLINE in digests:
            yield node.entry(INLINE, False, digests[INLINE]), False
            for name in sorted(n for n in digests if n != INLINE):
                yield node.entry(name, bool(listing.get(name)), digests[name], member=True), True
            return
        for name in sorted(n for n in digests if n not in (MAP_MARKER, LIST_MARKER)):
            if listing.get(name):
                # A level of a deeply sharded map: its own _b3.json lists the leaf shards.
                yield from self._parts(node.entry(name, True, digests[name]))
            else:
                yield node.entry(name, False, digests[name]), False


def _fold_value(value: Any, fn: Callable[[Iterable[Any]], tuple[Any, ...]], single: bool = False) -> tuple[Any, ...] | None:
    if single:
        return fn([value])
    if isinstance(value, dict):
        return fn(value.values())
    if isinstance(value, list):
        return fn(value)
    return None


def _sum(parts: Sequence[tuple[Any, ...] | None]) -> tuple[Any, ...] | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return tuple(sum(column) for column in zip(*present))


# --------------------------------------------------------------------------
# history and first_learned


@dataclass(frozen=True)
class HistoryPoint:
    """The value of a path at one commit; ``changed``: differs from the previous point (or is the first)."""

    commit: CommitInfo
    value: Any
    present: bool
    changed: bool = True

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (numpy arrays as ``{"$tensor": {dtype, shape, values}}``)."""
        return {"commit": self.commit.id, "summary": self.commit.summary, "author_time": self.commit.author_time,
                "present": self.present, "changed": self.changed, "value": to_jsonable(self.value)}


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy arrays written out as tensor documents (as state files hold them)."""
    if is_array(value):
        return {"$tensor": {"dtype": value.dtype.str, "shape": list(value.shape), "values": value.tolist()}}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if is_array(a) or is_array(b):
        return is_array(a) and is_array(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def _segments(path: str | Sequence[Segment]) -> tuple[Segment, ...]:
    segments = parse_path(path) if isinstance(path, str) else list(path)
    if not segments or not isinstance(segments[0], str):
        raise UsageError(f"invalid path {path!r}: it must start with a module name")
    return tuple(segments)


def history(repo: Repository, path: str | Sequence[Segment], rev_range: str = "HEAD", *,
            changes_only: bool = False) -> list[HistoryPoint]:
    """The value of ``path`` at every commit of ``rev_range``, oldest first.

    ``present`` is False where the path does not exist (``value`` is then
    None); ``changes_only`` keeps only the points where the value changed.
    A path that exists in none of the commits is :class:`PathNotFoundError`.
    """
    segments = _segments(path)
    walker = _Walker(repo)
    points: list[HistoryPoint] = []
    previous: tuple[bool, Any] | None = None
    for commit in commits_in_range(repo, rev_range):
        walker.open(commit)
        found = walker.locate(segments)
        value = walker.value(found) if found.present else None
        changed = previous is None or previous[0] != found.present or not _same(previous[1], value)
        previous = (found.present, value)
        if changed or not changes_only:
            points.append(HistoryPoint(commit, value, found.present, changed))
    if points and not any(point.present for point in points):
        shown = format_path(list(segments))
        raise PathNotFoundError(f"{shown} does not exist in any of the {len(points)} commit(s) of {rev_range}",
                                f"check the spelling; `brainvcs checkout {rev_range.split('..')[-1] or 'HEAD'} "
                                f"--module {segments[0]}` shows what that module holds")
    return points


def first_learned(repo: Repository, path_to_map: str | Sequence[Segment], key: str,
                  rev: str = "HEAD") -> CommitInfo | None:
    """The oldest commit of ``rev`` (a REV or an A..B range) where ``key`` appeared in the map at ``path_to_map``.

    "Appeared": the commit has the key and none of its parents has it. Walks
    oldest to newest and stops at the first such commit (None: never).
    """
    segments = (*_segments(path_to_map), key)
    walker = _Walker(repo)
    for commit in commits_in_range(repo, rev):
        walker.open(commit)
        if not walker.locate(segments).present:
            continue
        # In a full history the first hit has no parent with the key; a range may start after it appeared.
        for parent in repo.graph.parents(commit.id):  # none past a shallow clone's cut
            walker.open(CommitInfo.from_commit(repo.graph.commit(parent)))
            if walker.locate(segments).present:
                break
        else:
            return commit
    return None


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


def _measure(walker: _Walker, candidates: list[_Measure]) -> Any:
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
    walker = _Walker(repo)
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
    for index, (title, columns) in enumerate(panels, start=1):
        axes = figure.add_subplot(2, 2, index)
        for column in columns:
            ys = [getattr(row, column) for row in rows]
            if any(y is not None for y in ys):
                axes.plot(xs, [float("nan") if y is None else y for y in ys], marker="o", markersize=3,
                          label=column.replace("_", " "))
        axes.set_title(title)
        axes.set_xlabel("commit (oldest to newest)")
        if len(columns) > 1:
            axes.legend(fontsize="small")
        if len(rows) <= 12:
            axes.set_xticks(xs, [row.commit.id[:7] for row in rows], rotation=45, fontsize="x-small")
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the plot: {exc.strerror or exc}") from None
