"""Format version 2 (docs/format.md §9): a large map stored as base shards plus a chain of deltas.

A 1% change spread at random over a map of 100,000 keys touches most of its
shards, so rewriting shards makes a commit cost the map, not the change. In
version 2 a commit that changes a map it committed before may store that map
as the directory of its last *rollup* (the base, shared with the commit that
wrote it) plus ``_delta/000001.json``, ``000002.json``, ...: canonical objects
``{key: {"now": value, "was": old value}}`` (``now`` alone for a key added,
``was`` alone for one removed), one per commit, applied in order.
The map's ``_map.json`` and ``_b3.json`` stay those of the logical (version 1)
directory, so digests, the fingerprint and every reader see the same state
whatever the history; only the git tree differs between rollups. A chain is
rolled up (the map written whole again) once it holds :data:`MAX_DELTAS`
deltas or its deltas add up to more than 1/:data:`ROLLUP_SHARE` of the map.

This module is pure: the writer side extends a chain from the keys a commit
touched (:func:`extend`) and gives the tree to store (:func:`stored_form`); the
reader side turns delta blobs back into the logical shards they change
(:func:`read_chain`, :func:`logical_shards`; :func:`step` gives what
consecutive deltas changed, for a diff that reads nothing else), which the storage layer serves as
if they were stored (so checkout, diff, verify, history all read version 1).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import canonical, tensors
from .names import DELTA_DIR, DIGESTS, MAP_MARKER, DeltaChain, SnapshotTree, key_hash, shard_name
from ..errors import CorruptObjectError

#: A chain is rolled up when a commit would make it longer than this.
MAX_DELTAS = 16
#: A reader refuses longer chains (room for writers with other thresholds, not for a chain without end).
MAX_DELTAS_READ = 1024
#: ... or when its deltas would add up to more than 1/ROLLUP_SHARE of the map's encoded size.
ROLLUP_SHARE = 4


def delta_name(number: int) -> str:
    """File name of the ``number``-th delta of a chain (``000001.json`` first)."""
    return f"{number:06d}.json"


def extend(chain: DeltaChain | None, previous: SnapshotTree, delta: bytes, size: int) -> DeltaChain | None:
    """The chain after one more commit adds ``delta``, or None when the map is to be written whole.

    ``chain`` is the previous commit's chain (None if that commit wrote the map
    whole: then ``previous``, its directory as written, is the base); ``size``
    is the map's encoded size now.
    """
    deltas: tuple[bytes, ...]
    if chain is None:
        if previous.git_id is None or any(isinstance(entry, SnapshotTree) and entry.git_id is None
                                          for entry in previous.entries.values()):
            return None  # the previous directory was never written (whole): nothing to build on
        # The base is kept as its written entries only: every subdirectory by its git id, so a chain
        # does not keep a second copy of the map's shards in memory.
        base = SnapshotTree({name: SnapshotTree(git_id=entry.git_id) if isinstance(entry, SnapshotTree) else entry
                             for name, entry in previous.entries.items()}, blob_ids=previous.blob_ids)
        deltas, tree = (delta,), SnapshotTree()
        origin: weakref.ref[SnapshotTree] | None = weakref.ref(previous)
        token = object()
    else:
        base, deltas, origin, token = chain.base, (*chain.deltas, delta), chain.origin, chain.token
        tree = SnapshotTree(dict(chain.tree.entries), blob_ids=chain.tree.blob_ids)
    if len(deltas) > MAX_DELTAS or sum(map(len, deltas)) * ROLLUP_SHARE > size:
        return None
    tree.entries[delta_name(len(deltas))] = delta
    return DeltaChain(base, deltas, tree, origin, token)


def delta_blob(value: Mapping[str, Any], touched: Iterable[str], removed: Iterable[str], old: Mapping[str, Any],
               encode: Callable[[Any], bytes]) -> bytes | None:
    """The canonical delta that sets every ``touched`` key still in ``value`` and removes ``removed``.

    ``old`` holds the previous value (decoded from its shard) of every touched key that existed:
    it goes beside the new one (``"was"``, ``"now"``), so a diff of adjacent commits reads the
    delta alone, and the two compress against each other. ``encode`` is the layout's encoder
    (live values, numpy scalars). None when a value holds a tensor
    (its chunks live beside the shards: such a map is written whole) or nothing changed.
    """
    now = {key: value[key] for key in touched if key in value}
    changes: dict[str, dict[str, Any]] = {}
    for key in {*now, *removed}:
        change = changes[key] = {}
        if key in now:
            change["now"] = now[key]
        if key in old:
            change["was"] = old[key]
    if not changes:
        return None
    data = encode(changes)  # old values came from a shard: plain JSON, and a tensor descriptor shows below
    return None if tensors.NEEDLE in data else data


def stored_form(tree: SnapshotTree) -> SnapshotTree:
    """The directory to store for a sealed logical map directory that has a chain.

    The base's shards and shard directories (shared with the commit that wrote
    them), ``_delta/``, and the logical ``_map.json`` and ``_b3.json``.
    """
    chain = tree.chain
    assert chain is not None and DIGESTS in tree.entries
    out = SnapshotTree({name: entry for name, entry in chain.base.entries.items() if name not in (DIGESTS, MAP_MARKER)},
                       blob_ids=chain.base.blob_ids)
    out.entries[MAP_MARKER] = tree.entries[MAP_MARKER]
    out.entries[DIGESTS] = tree.entries[DIGESTS]
    out.entries[DELTA_DIR] = chain.tree
    return out


# Reading ---------------------------------------------------------------------

def check_names(names: Mapping[str, bool], where: str) -> list[str]:
    """The delta file names of a ``_delta/`` listing in order; anything else there is corrupt."""
    ordered = sorted(names)
    if len(ordered) > MAX_DELTAS_READ:
        raise CorruptObjectError(f"{where}/{DELTA_DIR}: {len(ordered)} deltas; a reader follows at most "
                                 f"{MAX_DELTAS_READ} (brainvcs writes at most {MAX_DELTAS})")
    expected = [delta_name(n) for n in range(1, len(ordered) + 1)]
    if not ordered or ordered != expected or any(names[name] for name in ordered):
        raise CorruptObjectError(f"{where}/{DELTA_DIR}: must hold the files 000001.json, 000002.json, ... "
                                 f"and nothing else (found {ordered[:3]})")
    return ordered


@dataclass(frozen=True)
class Delta:
    """One decoded delta: keys removed, keys set (``now``), and the previous value of each key that existed."""

    removed: list[str]
    set: dict[str, Any]
    was: dict[str, Any]

    def keys(self) -> Iterator[str]:
        """Every key the delta changes."""
        yield from self.removed
        yield from self.set


def read_delta(data: bytes, where: str, *, trusted: bool) -> Delta:
    """Decode and check one delta blob: ``{key: {"now": value, "was": old value}}``, one or both per key."""
    value = canonical.decode_stored(data, what=where, trusted=trusted)
    if not isinstance(value, dict) or not value:
        raise CorruptObjectError(f"{where}: a delta must be a non-empty object of changed keys")
    removed: list[str] = []
    changed: dict[str, Any] = {}
    was: dict[str, Any] = {}
    for key, change in value.items():
        if not isinstance(change, dict) or not change or not set(change) <= {"now", "was"}:
            raise CorruptObjectError(f"{where}: the change of {key!r} must be {{\"now\": value, \"was\": old value}} "
                                     "(either one alone for a key added or removed)")
        if "now" in change:
            changed[key] = change["now"]
        else:
            removed.append(key)
        if "was" in change:
            was[key] = change["was"]
    return Delta(removed, changed, was)


def read_chain(blobs: Iterable[tuple[str, bytes]], *, trusted: bool) -> list[Delta]:
    """Decode and check the deltas of a chain, given as ``(path, bytes)`` in order."""
    return [read_delta(data, where, trusted=trusted) for where, data in blobs]


def step(chain: Iterable[Delta]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What consecutive deltas changed: (the changed keys' values before, after); absent keys did not exist."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    seen: set[str] = set()
    for delta in chain:
        for key in delta.keys():
            if key not in seen:
                seen.add(key)
                if key in delta.was:
                    before[key] = delta.was[key]
            if key in delta.set:
                after[key] = delta.set[key]
            else:
                after.pop(key, None)
    for key in [key for key in after if key in before and _same(before[key], after[key])]:
        del before[key], after[key]
    return before, after


def apply_chain(chain: list[Delta], bits: int, base: Callable[[str], dict[str, Any] | None],
                where: str, *, check: bool) -> dict[str, dict[str, Any] | None]:
    """Shard path -> its logical value (None: no longer exists) for every shard the deltas change.

    ``base(name)`` is the decoded base shard at that path (a fresh value: it is changed in place),
    or None if the base has none. The deltas are applied in order; each must find what it says
    it changes (a key it calls new absent, a key with a ``"was"`` present, with that very value
    when ``check``). A value's keys are in stored (sorted) order, as a reader of its bytes would give.
    """
    shift = 64 - bits
    by_shard: dict[int, list[tuple[Delta, str]]] = {}
    for delta in chain:
        for key in delta.keys():
            index = key_hash(key) >> shift
            changes = by_shard.get(index)
            if changes is None:
                by_shard[index] = [(delta, key)]
            else:
                changes.append((delta, key))
    out: dict[str, dict[str, Any] | None] = {}
    for index, changes in by_shard.items():
        name = shard_name(index, bits)
        found = base(name)
        shard = {} if found is None else found
        added = False
        for delta, key in changes:
            if key in delta.was:
                if key not in shard or check and not _same(shard[key], delta.was[key]):
                    raise CorruptObjectError(f"{where}/{DELTA_DIR}: a delta's old value of {key!r} is not the "
                                             "map's (the chain does not apply to its base)")
            elif key in shard:
                raise CorruptObjectError(f"{where}/{DELTA_DIR}: a delta adds {key!r}, which the map already holds")
            else:
                added = True
            if key in delta.set:
                shard[key] = delta.set[key]
            else:
                del shard[key]
        if added and shard:  # a key set anew went last; the stored order is sorted
            shard = dict(sorted(shard.items()))
        out[name] = shard or None
    return out


def logical_shards(chain: list[Delta], bits: int, base: Callable[[str], dict[str, Any] | None],
                   where: str, *, check: bool) -> dict[str, tuple[bytes, dict[str, Any]] | None]:
    """:func:`apply_chain`, with each changed shard's canonical bytes beside its value."""
    return {name: None if shard is None else (canonical.encode_decoded(shard), shard)
            for name, shard in apply_chain(chain, bits, base, where, check=check).items()}


def _same(a: Any, b: Any) -> bool:
    """Equal as stored (``1`` and ``1.0`` differ)."""
    return a == b and canonical.encode_decoded(a) == canonical.encode_decoded(b)
