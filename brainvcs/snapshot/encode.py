"""Encoding a state into a tree of blobs (docs/format.md §3): the node kinds, shards, chunks, tensors, seals.

:class:`Builder` lays out one value at a time, encoding each value once;
:mod:`.build` drives it over a whole state, and :mod:`.incremental` reuses it
for the paths a commit changed.
"""

from __future__ import annotations

import itertools
import operator
import zlib
from typing import Any

from . import canonical, tensors
from .canonical import TENSOR_KEY, Blake3Digest, blake3_hex
from .names import (CHUNK_MAX, CHUNK_TARGET, DIGESTS, INLINE, LIST_MARKER, MAP_MARKER, MAP_MIN_KEYS, MAX_NAME,
                    MEMBER_LIMIT, SPLIT_LIMIT, TENSOR_CHUNK, Entry, NodeInfo, SnapshotTree, _HASH_CACHE, chunk_name,
                    escape_name, key_hash, shard_bits, shard_name)



class Builder:
    """Lays out values as snapshot entries, encoding each value once; collects tensor chunks on the way."""

    def __init__(self) -> None:
        self.tensors: dict[str, bytes] = {}
        self.infos: dict[str, NodeInfo] = {}
        #: Digests of the chunks encoded since the caller last reset it (one module's, in ``build``).
        self.module_chunks: set[str] = set()

    # Tensors -------------------------------------------------------------
    def tensor_hook(self, obj: Any) -> Any:
        """The canonical encoder's hook for a numpy array: its descriptor (its chunks are kept)."""
        if not tensors.is_array(obj):
            raise TypeError(f"unsupported type {type(obj).__name__}")
        descriptor, chunks = tensors.describe(obj, TENSOR_CHUNK)
        for digest, data in chunks:
            self.tensors[digest] = data
            self.module_chunks.add(digest)
        return {TENSOR_KEY: descriptor}

    def encode(self, value: Any, path: str, depth: int) -> bytes:
        """The canonical bytes of ``value`` at ``path``, nested ``depth`` levels deep."""
        return canonical.encode(value, default=self.tensor_hook, depth_budget=canonical.MAX_DEPTH - depth, path=path)

    # Nodes ---------------------------------------------------------------
    # Every value is encoded once: sizes of split values are derived from their
    # pieces, and small containers are assembled from their members' bytes.
    def node(self, value: Any, path: str, depth: int) -> tuple[Entry, str]:
        """Lay out one value; returns the entry and its kind."""
        entry, kind, _ = self._node(value, path, depth)
        return entry, kind

    def _node(self, value: Any, path: str, depth: int) -> tuple[Entry, str, int]:
        kind = type(value)
        if kind is dict:
            if len(value) < MAP_MIN_KEYS:
                return self._small_dict(value, path, depth)
            return self._map(value, path, depth)
        if kind is list or kind is tuple:
            return self._list(value, path, depth)
        encoded = self.encode(value, path, depth)
        return encoded, "value", len(encoded)

    def _small_dict(self, value: dict[str, Any], path: str, depth: int,
                    members: dict[str, tuple[Entry, str, int]] | None = None) -> tuple[Entry, str, int]:
        if members is None:
            members = {}
            for key, item in value.items():
                if type(key) is not str or key == TENSOR_KEY:
                    canonical.check(value, path=path)
                members[key] = self._node(item, canonical.join_path(path, key), depth + 1)
        total = sum(member[2] for member in members.values())
        # The whole is longer than the sum of its members' standalone
        # encodings, so a sum above the limit decides without assembling it.
        # Either way the size reported for a split dict exceeds SPLIT_LIMIT,
        # which is all a parent's decisions need.
        size = total
        if total <= SPLIT_LIMIT:
            whole = assemble_object([(key, members[key][0]) for key in sorted(members)])  # type: ignore[misc]
            if len(whole) <= SPLIT_LIMIT:
                return whole, "value", len(whole)
            size = len(whole)
        tree = SnapshotTree()
        inline: list[tuple[str, bytes]] = []
        for key in sorted(members):
            entry, _, member_size = members[key]
            item = value[key]
            name = escape_name(key)
            if (type(item) in (dict, list, tuple) and member_size >= MEMBER_LIMIT
                    and len(name) <= MAX_NAME):
                tree.entries[name if isinstance(entry, SnapshotTree) else name + ".json"] = entry
            else:
                if isinstance(entry, SnapshotTree):  # a big member with an over-long name stays inline
                    entry = self.encode(item, canonical.join_path(path, key), depth + 1)
                inline.append((key, entry))
        tree.entries[INLINE] = assemble_object(inline)
        self.infos[path] = NodeInfo("dict", size, tree, members=members)
        return tree, "dict", size

    def _map(self, value: dict[str, Any], path: str, depth: int) -> tuple[Entry, str, int]:
        guess = _BITS_CACHE.get(path) or _estimate_bits(value, path, depth, self)
        encoded = self._shards(value, path, depth, guess)
        # Shards hold the map's entries at the same indentation as the whole map,
        # so the whole's length follows exactly from theirs.
        size = sum(len(data) - 3 for data in encoded.values()) + 3
        if size <= SPLIT_LIMIT:
            whole = self.encode(value, path, depth)
            return whole, "value", len(whole)
        bits = shard_bits(size)
        if bits != guess:
            encoded = self._shards(value, path, depth, bits)
        if len(_BITS_CACHE) < 4096:
            _BITS_CACHE[path] = bits
        tree = SnapshotTree()
        tree.entries[MAP_MARKER] = canonical.encode({"bits": bits, "count": len(value)})
        for index in sorted(encoded):
            place(tree, shard_name(index, bits), encoded[index])
        self.infos[path] = NodeInfo("map", size, tree, bits=bits, groups=_group_keys(value, path, bits),
                                    shard_sizes={index: len(data) for index, data in encoded.items()})
        return tree, "map", size

    def _shards(self, value: dict[str, Any], path: str, depth: int, bits: int) -> dict[int, bytes]:
        groups = _group_keys(value, path, bits)
        out: dict[int, bytes] = {}
        for index, keys in groups.items():
            values = operator.itemgetter(*keys)(value)
            shard = dict(zip(keys, values)) if len(keys) > 1 else {keys[0]: values}
            out[index] = self.encode(shard, path, depth)
        return out

    def _list(self, items: list[Any] | tuple[Any, ...], path: str, depth: int) -> tuple[Entry, str, int]:
        if len(items) <= MAP_MIN_KEYS:
            whole = self.encode(items, path, depth)
            if len(whole) <= SPLIT_LIMIT:
                return whole, "value", len(whole)
        encoded = [self.encode(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(items)]
        whole = assemble_array(encoded)
        size = len(whole)
        if size <= SPLIT_LIMIT:
            return whole, "value", size
        chunks: list[list[bytes]] = []
        current: list[bytes] = []
        chunk_size = 0
        for data in encoded:
            current.append(data)
            chunk_size += len(data)
            if is_chunk_boundary(data) or chunk_size >= CHUNK_MAX:
                chunks.append(current)
                current, chunk_size = [], 0
        if current:
            chunks.append(current)
        tree = SnapshotTree()
        tree.entries[LIST_MARKER] = canonical.encode({"chunks": len(chunks), "count": len(items)})
        for index, chunk in enumerate(chunks):
            tree.entries[chunk_name(index, len(chunks))] = assemble_array(chunk)
        return tree, "list", size


#: Shard bits last used per map path: a guess that is right on every commit
#: after the first, so a map is normally encoded once (the result never depends on it).
_BITS_CACHE: dict[str, int] = {}
#: Per map path: (bits, the key set, keys grouped by shard) from the last build.
_GROUP_CACHE: dict[str, tuple[int, frozenset[str], dict[int, list[str]]]] = {}


def _estimate_bits(value: dict[str, Any], path: str, depth: int, builder: Builder) -> int:
    """A first guess at a map's shard bits from a sample of its entries (only speed depends on it)."""
    sample = dict(itertools.islice(value.items(), 32))
    per_entry = (len(builder.encode(sample, path, depth)) - 3) / max(1, len(sample))
    return shard_bits(int(per_entry * len(value)))


def _group_keys(value: dict[str, Any], path: str, bits: int) -> dict[int, list[str]]:
    """Keys of a map grouped by shard index; reuses the last grouping when the key set is unchanged."""
    cached = _GROUP_CACHE.get(path)
    if cached is not None and cached[0] == bits and value.keys() == cached[1]:
        return cached[2]
    shift = 64 - bits
    groups: dict[int, list[str]] = {}
    get = _HASH_CACHE.get
    for key in value:
        if type(key) is not str:
            canonical.check(value, path=path)
        h = get(key)
        if h is None:
            h = key_hash(key)
        index = h >> shift
        group = groups.get(index)
        if group is None:
            groups[index] = [key]
        else:
            group.append(key)
    if len(value) >= 1024 and (path in _GROUP_CACHE or len(_GROUP_CACHE) < 64):
        _GROUP_CACHE[path] = (bits, frozenset(value), groups)
    return groups


def _key_bytes(key: str) -> bytes:
    return canonical.encode(key)[:-1]


def _indented(encoded: bytes) -> bytes:
    """A standalone encoding, one level deeper and without its final newline."""
    return encoded[:-1].replace(b"\n", b"\n  ")


def assemble_object(members: list[tuple[str, bytes]]) -> bytes:
    """The canonical encoding of an object from its members' encodings (keys in sorted order)."""
    if not members:
        return b"{}\n"
    return b"{\n" + b",\n".join(b"  " + _key_bytes(k) + b": " + _indented(e) for k, e in members) + b"\n}\n"


def assemble_array(items: list[bytes]) -> bytes:
    """The canonical encoding of an array from its items' encodings."""
    if not items:
        return b"[]\n"
    return b"[\n" + b",\n".join(b"  " + _indented(e) for e in items) + b"\n]\n"


def is_chunk_boundary(item: bytes) -> bool:
    """Whether a list chunk ends after an item with this canonical encoding.

    Content-defined: the chance is proportional to the item's size, so chunks
    average :data:`CHUNK_TARGET` bytes, and an edit only moves nearby cuts.
    """
    return zlib.crc32(item) * CHUNK_TARGET < len(item) << 32


def place(tree: SnapshotTree, path: str, blob: bytes) -> None:
    """Put ``blob`` at ``path`` (slash-separated) below ``tree``, making directories on the way."""
    parts = path.split("/")
    for part in parts[:-1]:
        sub = tree.entries.get(part)
        if sub is None:
            sub = tree.entries[part] = SnapshotTree()
        assert isinstance(sub, SnapshotTree)
        tree = sub
    tree.entries[parts[-1]] = blob


def seal(tree: SnapshotTree) -> Blake3Digest:
    """Add ``_b3.json`` to every directory below ``tree``; return ``tree``'s digest.

    Directories already sealed (shared with an earlier snapshot) keep their digest.
    """
    if tree.sealed is not None:
        return Blake3Digest(tree.sealed)
    digests: dict[str, str] = {}
    deltas = tree.chain is not None
    for name, entry in tree.entries.items():
        if name == DIGESTS:
            continue
        if isinstance(entry, SnapshotTree):
            digests[name] = seal(entry)
            deltas = deltas or entry.has_deltas
        else:
            digests[name] = blake3_hex(entry)
    tree.has_deltas = deltas
    data = canonical.encode(digests)
    tree.entries[DIGESTS] = data
    tree.sealed = blake3_hex(data)
    return Blake3Digest(tree.sealed)


