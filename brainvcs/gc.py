"""Pack consolidation (with deltas) and pruning of unreachable objects.

Each commit writes one pack; many packs slow every lookup, so packs are
consolidated: :func:`consolidate` merges the smallest packs when there are
too many (run after commits), and :func:`collect_garbage` rewrites everything
reachable into one deltified pack and drops the rest (``brainvcs gc``).

Objects are handed to dulwich's delta search sorted by their path in the
snapshot, so successive versions of the same shard sit next to each other and
delta against each other — dulwich's own ``repack`` does not deltify.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dulwich.object_store import DiskObjectStore
from dulwich.objects import Blob, Commit, ShaFile, Tag, Tree
from dulwich.pack import deltify_pack_objects, write_pack_data

from .store import pack_count, read_object

#: Consolidate once a repository has more packs than this.
AUTO_PACK_LIMIT = 32
#: How many of the smallest packs an automatic consolidation merges.
AUTO_PACK_MERGE = 24


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection did."""

    packs_before: int
    packs_after: int
    objects_kept: int
    objects_dropped: int
    bytes_before: int
    bytes_after: int

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return dict(self.__dict__)


def _pack_bytes(store: DiskObjectStore) -> int:
    total = 0
    for name in os.listdir(store.pack_dir):
        if name.endswith((".pack", ".idx")):
            total += os.path.getsize(os.path.join(store.pack_dir, name))
    return total


def _loose_bytes(store: DiskObjectStore) -> int:
    total = 0
    for sha in store._iter_loose_objects():
        path = store._get_shafile_path(sha)
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total


def reachable_with_paths(store: Any, heads: Iterable[bytes]) -> dict[bytes, bytes | None]:
    """Every object reachable from ``heads`` -> the snapshot path it was found at (a delta hint)."""
    found: dict[bytes, bytes | None] = {}
    stack: list[tuple[bytes, bytes | None]] = [(h, None) for h in heads]
    while stack:
        sha, path = stack.pop()
        if sha in found:
            continue
        found[sha] = path
        obj = read_object(store, sha, "history")
        if isinstance(obj, Commit):
            stack.append((obj.tree, b""))
            stack.extend((p, None) for p in obj.parents)
        elif isinstance(obj, Tree):
            for item in obj.iteritems():
                if item.mode == 0o160000:
                    continue
                child = item.path if not path else path + b"/" + item.path
                if item.mode == 0o040000:
                    stack.append((item.sha, child))
                elif item.sha not in found:
                    found[item.sha] = child
        elif isinstance(obj, Tag):
            stack.append((obj.object[1], None))
    return found


def _write_deltified(store: DiskObjectStore, objects: list[tuple[ShaFile, bytes | None]]) -> None:
    if not objects:
        return
    f, commit, abort = store.add_pack()
    try:
        records: Iterator[Any] = deltify_pack_objects(iter(objects))
        write_pack_data(f.write, records, num_records=len(objects), object_format=store.object_format)
    except BaseException:
        abort()
        raise
    commit()


def collect_garbage(store: Any, heads: Iterable[bytes], *, prune: bool = True) -> GcReport:
    """Rewrite every object reachable from ``heads`` into one deltified pack.

    With ``prune``, unreachable objects (left by interrupted writes or deleted
    branches) are dropped; otherwise they are kept in the new pack too. Call
    with the repository lock held.
    """
    if not isinstance(store, DiskObjectStore):
        return GcReport(0, 0, 0, 0, 0, 0)
    before_packs = pack_count(store)
    before_bytes = _pack_bytes(store) + _loose_bytes(store)
    old_packs = list(store.packs)
    loose = list(store._iter_loose_objects())
    keep = reachable_with_paths(store, heads)
    if not prune:
        for pack in old_packs:
            for sha in pack:
                keep.setdefault(sha, None)
        for sha in loose:
            keep.setdefault(sha, None)
    everything = {sha for pack in old_packs for sha in pack} | set(loose)
    objects = [(read_object(store, sha, "gc"), path) for sha, path in keep.items()]
    _write_deltified(store, objects)
    store._update_pack_cache()
    new_names = {p.name() for p in store.packs} - {p.name() for p in old_packs}
    for pack in old_packs:
        if pack.name() not in new_names:
            store._remove_pack(pack)
    for sha in loose:
        store.delete_loose_object(sha)
    store._update_pack_cache()
    return GcReport(before_packs, pack_count(store), len(keep), len(everything - set(keep)),
                    before_bytes, _pack_bytes(store) + _loose_bytes(store))


def consolidate(store: Any, *, limit: int = AUTO_PACK_LIMIT, merge: int = AUTO_PACK_MERGE) -> bool:
    """Merge the smallest packs when there are more than ``limit``; nothing is dropped."""
    if not isinstance(store, DiskObjectStore) or pack_count(store) <= limit:
        return False
    packs = sorted(store.packs, key=lambda p: os.path.getsize(p._data_path))[:merge]
    seen: set[bytes] = set()
    objects: list[tuple[ShaFile, bytes | None]] = []
    for pack in packs:
        for sha in pack:
            if sha not in seen:
                seen.add(sha)
                obj = read_object(store, sha, "consolidate")
                objects.append((obj, _hint(obj)))
    _write_deltified(store, objects)
    store._update_pack_cache()
    for pack in packs:
        store._remove_pack(pack)
    store._update_pack_cache()
    return True


def _hint(obj: ShaFile) -> bytes | None:
    # Without a path, group blobs by their first bytes: shards of one map start alike.
    if isinstance(obj, Blob):
        return obj.as_raw_string()[:24]
    return None
