"""The key orders of a map's records, remembered between commits of one brain so an unchanged record costs nothing.

A map of small records (a vocabulary of word -> {neuron: flag}) records each
record's insertion order in the type table (:func:`~.graph_records.order_record`).
That is a Python call per record; on a learning step almost every record
keeps its keys, so :class:`OrderMemo` keeps, per map, the key lists it last
saw and the order records it made from them, and computes records again only
for key lists that differ (found by one C-level comparison of the lists).

It memoises a pure function of the key lists: whatever happened between two
commits (a checkout, another branch, a failed commit), a reused record is the
record those keys give. One memo belongs to one live brain object
(:func:`memo_for`) and dies with it.
"""

from __future__ import annotations

import functools
import operator
import threading
import weakref
from bisect import bisect_right
from itertools import accumulate, compress, repeat
from typing import Any

from .graph_records import child_paths, order_record

__all__ = ["OrderMemo", "memo_for"]


class _Entry:
    """What one map's records gave last time: its keys, their keys end to end and counts, path texts, table entries."""

    __slots__ = ("keys", "flat", "lengths", "paths", "entries")

    def __init__(self, keys: list[str], flat: list[str], lengths: list[int], paths: list[str],
                 entries: dict[str, Any]) -> None:
        self.keys = keys
        self.flat = flat
        self.lengths = lengths
        self.paths = paths
        self.entries = entries


class OrderMemo:
    """Per map (module and path), the order records of its records' key lists (see the module docstring)."""

    def __init__(self) -> None:
        self._maps: dict[tuple[str, str, str], _Entry] = {}
        self._used: set[tuple[str, str, str]] = set()

    def finish_walk(self) -> None:
        """Forget the maps the walk that just ended did not meet: they are no longer in the brain.

        (Without this, a brain whose maps of records move, say under keys that
        change, would keep every map it ever had.)
        """
        self._maps = {key: entry for key, entry in self._maps.items() if key in self._used}
        self._used = set()

    def __len__(self) -> int:
        return len(self._maps)

    def child_orders(self, module: str, base: str, keys: list[str], kids: list[dict[str, Any]],
                     flat: list[str], suffix: str = "") -> dict[str, Any]:
        """``{path of a record: its order record}`` for the records ``kids`` whose order is not sorted.

        The records sit at ``keys`` of the map at path ``base`` of ``module``
        (``suffix``: each at that attribute of the map's objects, ``".connections"``);
        ``flat`` is every record's keys end to end (one list, compared with the last one in C).
        The returned dict is the memo's own: copy it, never change it.
        """
        lengths = list(map(len, kids))
        last = self._maps.get((module, base, suffix))
        kept = 0 if last is None else len(last.keys)
        if last is not None and keys[:kept] == last.keys and lengths[:kept] == last.lengths:
            # The same records (perhaps with records appended, the usual growth): compared by position.
            paths = last.paths if kept == len(keys) else last.paths + self._paths(base, keys[kept:], suffix)
            size = len(last.flat)
            if (flat if size == len(flat) else flat[:size]) == last.flat:
                entries = last.entries if kept == len(keys) else dict(last.entries)
            else:
                entries = dict(last.entries)
                for i in self._differing(flat, last.flat, last.lengths):
                    self._record(entries, paths[i], list(kids[i]))
            for i in range(kept, len(keys)):
                self._record(entries, paths[i], list(kids[i]))
        else:
            paths = self._paths(base, keys, suffix)
            if last is None:
                records = list(map(order_record, map(list, kids)))
                present = list(map(operator.is_not, records, repeat(None, len(records))))
                entries = dict(zip(compress(paths, present), compress(records, present)))
            else:
                entries = self._realigned(last, keys, kids, paths, flat)
        self._maps[(module, base, suffix)] = _Entry(keys, flat, lengths, paths, entries)
        self._used.add((module, base, suffix))
        return entries

    @staticmethod
    def _paths(base: str, keys: list[str], suffix: str) -> list[str]:
        paths = child_paths(base, keys)
        return list(map(str.__add__, paths, repeat(suffix, len(paths)))) if suffix else paths

    @staticmethod
    def _record(entries: dict[str, Any], path: str, keys: list[str]) -> None:
        record = order_record(keys)
        if record is None:
            entries.pop(path, None)
        else:
            entries[path] = record

    @classmethod
    def _realigned(cls, last: _Entry, keys: list[str], kids: list[dict[str, Any]], paths: list[str],
                   flat: list[str]) -> dict[str, Any]:
        """The map's entries when its keys or record sizes changed (a word removed, a connection added):
        records kept under a key they had, with the same key list, keep their entries; the others are computed.

        Each record's key list is matched as one string (keys joined by NUL, C-level): strings are not
        tracked by the garbage collector, where 100,000 fresh lists would set off a full collection
        of the brain. A key holding a NUL would make the joins ambiguous: then every record is computed.
        """
        entries = dict(last.entries)
        gone = set(last.keys).difference(keys)
        if gone:
            where = dict(zip(last.keys, last.paths))
            for key in gone:
                entries.pop(where[key], None)
        if "\0" in "".join(flat) or "\0" in "".join(last.flat):
            differ: Any = repeat(True, len(keys))
        else:
            starts = list(accumulate(last.lengths, initial=0))
            before = dict(zip(last.keys, map("\0".join, map(last.flat.__getitem__, map(slice, starts, starts[1:])))))
            differ = map(operator.ne, map("\0".join, kids), map(before.get, keys))
        for i in compress(range(len(keys)), differ):
            cls._record(entries, paths[i], list(kids[i]))
        return entries

    @staticmethod
    def _differing(flat: list[str], last: list[str], lengths: list[int]) -> list[int]:
        """Indexes of the records whose keys differ, from the positions where the flat key lists differ."""
        starts = list(accumulate(lengths, initial=0))
        changed = compress(range(len(flat)), map(operator.ne, flat, last))
        return sorted({bisect_right(starts, at) - 1 for at in changed})


#: id(root) -> (a weak reference to root, its memo); keyed by identity, so no brain's __hash__ or __eq__ is called.
_MEMOS: dict[int, tuple[weakref.ref[Any], OrderMemo]] = {}
_LOCK = threading.RLock()  # (a weakref callback may run inside memo_for, on a collection)


def memo_for(root: Any) -> OrderMemo:
    """The memo of the brain object ``root`` (a fresh, unkept one if ``root`` cannot be weakly referenced)."""
    key = id(root)
    with _LOCK:
        held = _MEMOS.get(key)
        if held is not None and held[0]() is root:
            return held[1]
        memo = OrderMemo()
        try:
            ref = weakref.ref(root, functools.partial(_forget, key))
        except TypeError:  # a class with __slots__ and no __weakref__: nothing to keep the memo beside
            return memo
        _MEMOS[key] = (ref, memo)
        return memo


def _forget(key: int, ref: weakref.ref[Any]) -> None:
    with _LOCK:
        held = _MEMOS.get(key)
        if held is not None and held[0] is ref:
            del _MEMOS[key]
