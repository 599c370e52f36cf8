"""Reading one path of one snapshot, memoised across commits by the git ids of what was read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CorruptObjectError, IntegrityError
from ..repo import Repository
from ..snapshot import canonical, deltas, layout, tensors
from ..snapshot.layout import DELTA_DIR, INLINE, LIST_MARKER, MAP_MARKER, escape_name, key_hash, shard_name
from ..snapshot.paths import Segment
from ..storage.commits import CommitInfo
from ..storage.treereader import GitTreeReader


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


class Walker:
    """Finds paths in commits' snapshots; everything is memoised by git object id."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.reader: GitTreeReader | None = None
        self.loader = layout.Loader(layout.MemoryTreeReader(layout.SnapshotTree()))  # until open()

    def open(self, commit: CommitInfo) -> None:
        """Point at ``commit``'s snapshot (and check its manifest against the commit's trailer)."""
        self.reader = GitTreeReader(self.repo.objects, commit.tree)
        self.reader.trusted = commit.tree in self.repo.verified
        # The layout's verified loader: every blob read is checked against its BLAKE3 digest
        # (unless the snapshot was verified once in this repository).
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
        if type(segments[i]) is str and self.reader is not None and self.reader.trusted:
            chain = self.reader.delta_chain(node.path)
            if chain is not None and chain[1]:
                return self._in_chain(node, chain[1], segments, i)
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

    def _in_chain(self, node: _Node, chain: tuple[object, ...], segments: tuple[Segment, ...], i: int) -> _Found:
        """A key of a map stored as base plus deltas (format version 2), read without rebuilding the map.

        The newest delta that changes the key holds its value (or its removal); otherwise the
        base shard does. Only for a snapshot verified once here: its deltas agree with its digests.
        """
        assert self.reader is not None
        key = segments[i]
        assert isinstance(key, str)
        for identity in reversed(chain):
            memo = ("delta", identity)
            if memo not in self.memo:
                data = self.reader.delta_bytes(node.path, identity)
                self.memo[memo] = deltas.read_delta(data, f"{node.path}/{DELTA_DIR}", trusted=True)
            delta: deltas.Delta = self.memo[memo]
            if key in delta.set:
                return _walk({key: delta.set[key]}, segments[i:])
            if key in delta.removed:
                return _ABSENT
        marker = self.reader.base_file(node.path, MAP_MARKER)
        info = canonical.decode(marker[1], what=f"{node.path}/{MAP_MARKER}") if marker is not None else None
        bits = info.get("bits") if isinstance(info, dict) else None
        if type(bits) is not int or not 1 <= bits <= 24:
            raise CorruptObjectError(f"{node.path}/{MAP_MARKER}: malformed ({info!r})")
        shard = shard_name(key_hash(key) >> (64 - bits), bits)
        found = self.reader.base_file(node.path, shard)
        if found is None:
            return _ABSENT
        memo = ("base", found[0])
        if memo not in self.memo:
            value = canonical.decode_stored(found[1], what=f"{node.path}/{shard}", trusted=True)
            if tensors.NEEDLE in found[1]:
                value = self.loader.restore_tensors(value, f"{node.path}/{shard}")
            self.memo[memo] = value
        return _walk(self.memo[memo], segments[i:])

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
            return fold_value(self.value(found), fn)
        parts: list[tuple[Any, ...] | None] = []
        for part, single in self._parts(found.node):
            key = ("fold", fn.__qualname__, single, part.path, self._id(part.path), part.digest)
            if key not in self.memo:
                self.memo[key] = fold_value(self._load(part), fn, single)
            parts.append(self.memo[key])
        return sum_parts(parts)

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


def fold_value(value: Any, fn: Callable[[Iterable[Any]], tuple[Any, ...]],
               single: bool = False) -> tuple[Any, ...] | None:
    """``fn`` over a map's values (or over ``[value]`` when ``single``): one measure of one part."""
    if single:
        return fn([value])
    if isinstance(value, dict):
        return fn(value.values())
    if isinstance(value, list):
        return fn(value)
    return None


def sum_parts(parts: Sequence[tuple[Any, ...] | None]) -> tuple[Any, ...] | None:
    """Column sums of the measures of several parts (None when no part had the measure)."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return tuple(sum(column) for column in zip(*present))


