"""Incremental layout: re-encode only what a learning step changed.

A learning system usually knows what it touched: the words it saw, the
neurons that fired, the memory it appended. Given the snapshot of the previous
commit and those *changed paths*, :class:`Rebuilder` re-encodes only the map
shards, dict members and lists on those paths and shares every other directory
(already sealed, already written) with the previous snapshot. The result is
byte-identical to a full :func:`brainvcs.snapshot.layout.build` — as long as the paths
cover every difference, which is the caller's promise (like git trusting file
stat data). Cheap consistency checks (key counts) fall back to a full build of
the affected value when the promise visibly does not hold.

Paths are key tuples (``("language_module", "word_frequency", "hello")``) or
dotted strings for simple keys (``"language_module.word_frequency.hello"``).
A path names a subtree: everything below it may have changed.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from . import canonical, deltas
from .members import member_values
from .encode import Builder
from .paths import parse_keys
from .names import (MAP_MARKER, MAP_MIN_KEYS, SPLIT_LIMIT, DeltaChain, Entry, NodeInfo, Snapshot, SnapshotTree,
                    key_hash, shard_bits, shard_name)
from ..errors import InvalidStateError

#: Marks "this whole subtree changed" in a :func:`parse_changed` trie.
ALL: dict[str, Any] = {}


def parse_changed(paths: Iterable[str | tuple[str, ...] | list[str]]) -> dict[str, Any]:
    """Turn changed paths into a trie of keys; a path's end marks its whole subtree as changed."""
    trie: dict[str, Any] = {}
    for path in paths:
        keys = parse_keys(path, what="changed path") if isinstance(path, str) else tuple(path)
        if not keys:
            continue
        node = trie
        for key in keys[:-1]:
            child = node.get(key)
            if child is ALL:
                break
            if child is None:
                child = node[key] = {}
            node = child
        else:
            node[keys[-1]] = ALL
    return trie


class Rebuilder:
    """Lays out modules of a new state, reusing the unchanged parts of ``base``."""

    def __init__(self, builder: Builder, base: Snapshot, changed: Any, *, deltas: bool = False) -> None:
        self.builder = builder
        #: Store changed maps as deltas on their last rollup (format version 2, :mod:`.deltas`).
        self.deltas = deltas
        self.base = base
        self.trie = changed if isinstance(changed, dict) else parse_changed(changed)
        self.reused: list[str] = []

    def module(self, name: str, value: Any) -> tuple[Entry, str]:
        """The entry and kind of one module."""
        previous = self.base.modules.get(name)
        sub = self.trie.get(name)
        if previous is not None and sub is None:
            self.reused.append(name)
            return previous[1], previous[2]
        entry, kind, _ = self._node(value, name, 1, sub)
        return entry, kind

    def _node(self, value: Any, path: str, depth: int, sub: Any) -> tuple[Entry, str, int]:
        info = self.base.infos.get(path)
        if sub is None or sub is ALL or info is None:
            return self.builder._node(value, path, depth)
        if info.kind == "dict" and type(value) is dict and len(value) < MAP_MIN_KEYS:
            return self._dict(value, path, depth, sub, info)
        if info.kind == "map" and type(value) is dict and len(value) >= MAP_MIN_KEYS:
            return self._map(value, path, depth, sub, info)
        return self.builder._node(value, path, depth)

    def _dict(self, value: dict[str, Any], path: str, depth: int, sub: dict[str, Any],
              info: NodeInfo) -> tuple[Entry, str, int]:
        members: dict[str, tuple[Entry, str, int]] = {}
        reused: list[str] = []
        for key in value:
            if type(key) is not str:
                canonical.check(value, path=path)
            child = sub.get(key)
            if child is None and key in info.members:
                members[key] = info.members[key]
                reused.append(key)
            elif child is None:
                # A key the caller did not declare: do this dict the slow, exact way.
                return self.builder._node(value, path, depth)
            else:
                members[key] = self._node(value[key], canonical.join_path(path, key), depth + 1, child)
        if any(key not in value and key not in sub for key in info.members):
            return self.builder._node(value, path, depth)
        for key in reused:  # only now: a dict rebuilt whole above records its members afresh
            self._carry(canonical.join_path(path, key))
        return self.builder._small_dict(value, path, depth, members)

    def _map(self, value: dict[str, Any], path: str, depth: int, sub: dict[str, Any],
             info: NodeInfo) -> tuple[Entry, str, int]:
        bits = info.bits
        shift = 64 - bits
        groups = dict(info.groups)
        touched: dict[int, list[str]] = {}  # shard index -> the declared keys in it
        removed: list[str] = []
        for key in sub:
            index = key_hash(key) >> shift
            touched.setdefault(index, []).append(key)
            keys = groups.get(index, [])
            present = key in value
            if present and key not in keys:
                keys = [*keys, key]
            elif not present and key in keys:
                keys = [k for k in keys if k != key]
                removed.append(key)
            groups[index] = keys
        if sum(len(keys) for keys in groups.values()) != len(value):
            return self.builder._node(value, path, depth)  # an undeclared key came or went
        sizes = dict(info.shard_sizes)
        encoded: dict[int, bytes] = {}
        for index in touched:
            keys = groups[index]
            if not keys:
                del groups[index]
                sizes.pop(index, None)
                continue
            values = operator.itemgetter(*keys)(value)
            shard = dict(zip(keys, values)) if len(keys) > 1 else {keys[0]: values}
            encoded[index] = self.builder.encode(shard, path, depth)
            sizes[index] = len(encoded[index])
        size = sum(n - 3 for n in sizes.values()) + 3
        if size <= SPLIT_LIMIT or shard_bits(size) != bits:
            return self.builder._node(value, path, depth)  # crossed a layout threshold: rebuild exactly
        tree = _copy(info.tree)
        tree.entries[MAP_MARKER] = canonical.encode({"bits": bits, "count": len(value)})
        for index in touched:
            _replace(tree, shard_name(index, bits), encoded.get(index))
        if self.deltas:
            tree.chain = self._chain(info, value, touched, removed, size, path, depth)
        self.builder.infos[path] = NodeInfo("map", size, tree, bits=bits, groups=groups, shard_sizes=sizes,
                                            chain=tree.chain)
        return tree, "map", size

    def _chain(self, info: NodeInfo, value: dict[str, Any], touched: dict[int, list[str]], removed: list[str],
               size: int, path: str, depth: int) -> DeltaChain | None:
        """Format version 2: this commit's delta on the previous chain, or None to write the map whole.

        ``touched`` maps each changed shard's index to the declared keys in it.
        """
        old: dict[str, Any] = {}
        for index, names in touched.items():  # the keys' previous values, from the shards last committed
            data = info.tree.find(shard_name(index, info.bits))
            if isinstance(data, bytes):
                old.update(member_values(data, names))
        keys = [key for names in touched.values() for key in names]
        try:
            delta = deltas.delta_blob(value, keys, removed, old, lambda v: self.builder.encode(v, path, max(0, depth - 1)))
        except InvalidStateError:  # (one level deeper than in a shard: a value at the depth limit)
            return None
        return None if delta is None else deltas.extend(info.chain, info.tree, delta, size)

    def _carry(self, path: str) -> None:
        """Keep the layout records of a reused member and everything below it (its maps' chains too)."""
        for below, info in self.base.infos.items():
            if below == path or below.startswith(path) and below[len(path)] in ".[":
                self.builder.infos.setdefault(below, info)

    def carry_infos(self) -> None:
        """Keep the layout records of reused modules for the next incremental build."""
        for path, info in self.base.infos.items():
            module = path.split(".", 1)[0].split("[", 1)[0]
            if module in self.reused and path not in self.builder.infos:
                self.builder.infos[path] = info


def _copy(tree: SnapshotTree) -> SnapshotTree:
    """A new, unsealed directory with the same entries (children stay shared)."""
    return SnapshotTree({name: entry for name, entry in tree.entries.items() if name != "_b3.json"},
                        blob_ids=tree.blob_ids)  # (read only: the store replaces it once this copy is written)


def _replace(tree: SnapshotTree, path: str, blob: bytes | None) -> None:
    """Set (or with None, remove) the file at ``path``, copying directories on the way."""
    parts = path.split("/")
    node = tree
    for part in parts[:-1]:
        child = node.entries.get(part)
        if child is None:
            if blob is None:
                return
            child = SnapshotTree()
        elif isinstance(child, SnapshotTree):
            child = _copy(child)
        node.entries[part] = child
        node = child  # type: ignore[assignment]
    if blob is None:
        node.entries.pop(parts[-1], None)
    else:
        node.entries[parts[-1]] = blob
    _prune_empty(tree, parts[:-1])


def _prune_empty(tree: SnapshotTree, dirs: list[str]) -> None:
    # A full build writes no directory for shards that do not exist.
    chain = [tree]
    for part in dirs:
        child = chain[-1].entries.get(part)
        if not isinstance(child, SnapshotTree):
            return
        chain.append(child)
    for depth in range(len(dirs), 0, -1):
        if not any(name != "_b3.json" for name in chain[depth].entries):
            del chain[depth - 1].entries[dirs[depth - 1]]
        else:
            break
