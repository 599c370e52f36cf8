"""Merging object-graph brains: the ``@types`` tables follow the merged values (docs/format.md §8).

A brain committed from a live object carries, beside its values, type tables
keyed by path: which value was a tuple, a ``datetime``, an instance of which
class, and the insertion order of every dict. Merging those tables as plain
data would conflict on every dict both sides grew (its recorded order) and
would leave the tags of list items at the indices they had on their own side.
So the values are merged first, without ``@types``, and the tables are then
rebuilt for the merged values: a subtree that equals one side's takes that
side's tags, rebased onto its merged path (a memory theirs appended keeps its
``NeuralPattern`` tag at its new index); a dict both sides changed takes each
key's tags from the side whose value it kept, and its order is ours' then
theirs' new keys; list items are matched to the side they came from by their
stored form. Values that cannot be combined (a random generator's state) are
*atomic*: the merge takes ours, never an event-log merge of its numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..snapshot.canonical import join_path
from ..snapshot.orders import expand_orders, share_orders
from ..snapshot.names import TYPES_MODULE
from ..snapshot.paths import split_path
from .values import identity

__all__ = ["ATOMIC_TAGS", "atomic_paths", "has_type_tables", "merge_type_tables"]

#: Tags whose stored value is one state that no merge may combine.
ATOMIC_TAGS = ("random", "numpy RandomState", "numpy Generator")


def has_type_tables(*states: Mapping[str, Any]) -> bool:
    """Whether any of the states is an object graph (has an ``@types`` module)."""
    return any(isinstance(state.get(TYPES_MODULE), dict) for state in states)


def _tables(state: Mapping[str, Any]) -> dict[str, Any]:
    types = state.get(TYPES_MODULE)
    modules = types.get("modules") if isinstance(types, dict) else None
    return modules if isinstance(modules, dict) else {}


def _tags(entry: Any) -> list[str]:
    return [entry] if isinstance(entry, str) else [t for t in entry if isinstance(t, str)] if isinstance(entry, list) else []


def atomic_paths(*states: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    """Key tuples (module first) of values whose tags make them atomic (:data:`ATOMIC_TAGS`)."""
    out: set[tuple[Any, ...]] = set()
    for state in states:
        for module, table in _tables(state).items():
            at = table.get("at", {}) if isinstance(table, dict) else {}
            for path, entry in at.items() if isinstance(at, dict) else ():
                if any(tag in ATOMIC_TAGS for tag in _tags(entry)):
                    segments = [seg for seg, _ in split_path(path, what="type table path")] if path else []
                    out.add((module, *segments))
    return out


class _Side:
    """One side's tables for one module, indexed by path segments for subtree copies."""

    def __init__(self, table: Any) -> None:
        table = table if isinstance(table, dict) else {}
        self.classes = dict(table.get("classes", {}))
        order = table.get("order", {})
        try:
            self.order = expand_orders(order) if isinstance(order, dict) else {}
        except ValueError:  # a malformed reference: the decoder of the merged state reports it
            self.order = dict(order)
        self.trie: dict[Any, Any] = {}
        for kind in ("at", "order"):
            entries = self.order if kind == "order" else table.get(kind, {})
            for path, value in entries.items() if isinstance(entries, dict) else ():
                node = self.trie
                for segment, _ in split_path(path, what="type table path") if path else ():
                    node = node.setdefault(("seg", segment), {})
                node[kind] = value
        self.shared = set(table.get("shared", []))

    def node(self, segments: tuple[Any, ...]) -> dict[Any, Any] | None:
        node: dict[Any, Any] | None = self.trie
        for segment in segments:
            if node is None:
                return None
            node = node.get(("seg", segment))
        return node

    def subtree(self, segments: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
        """``(relative segments, kind, value)`` of every entry at or below ``segments``."""
        start = self.node(segments)
        if start is None:
            return
        stack: list[tuple[tuple[Any, ...], dict[Any, Any]]] = [((), start)]
        while stack:
            rel, node = stack.pop()
            for key, value in node.items():
                if key in ("at", "order"):
                    yield rel, key, value
                elif isinstance(key, tuple):
                    stack.append(((*rel, key[1]), value))

    def own(self, segments: tuple[Any, ...], kind: str) -> Any:
        node = self.node(segments)
        return None if node is None else node.get(kind)


class _Builder:
    """Rebuilds one module's table for its merged value."""

    def __init__(self, ours: _Side, theirs: _Side) -> None:
        self.ours, self.theirs = ours, theirs
        self.at: dict[str, Any] = {}
        self.order: dict[str, Any] = {}

    def copy(self, side: _Side, source: tuple[Any, ...], target: tuple[Any, ...]) -> None:
        for rel, kind, value in side.subtree(source):
            path = _format((*target, *rel))
            (self.at if kind == "at" else self.order)[path] = value

    def walk(self, segments: tuple[Any, ...], merged: Any, ours: Any, theirs: Any,
             ours_at: tuple[Any, ...] | None, theirs_at: tuple[Any, ...] | None) -> None:
        """Tags for ``merged`` at ``segments``; ``*_at``: where the same value sits on each side (None: absent)."""
        if ours_at is not None and _same(merged, ours):
            self.copy(self.ours, ours_at, segments)
            return
        if theirs_at is not None and _same(merged, theirs):
            self.copy(self.theirs, theirs_at, segments)
            return
        own_side, own_at = (self.ours, ours_at) if ours_at is not None else (self.theirs, theirs_at)
        if own_at is not None:
            tag = own_side.own(own_at, "at")
            if tag is not None:
                self.at[_format(segments)] = tag
        if isinstance(merged, dict):
            o = ours if isinstance(ours, dict) else {}
            t = theirs if isinstance(theirs, dict) else {}
            for key, value in merged.items():
                self.walk((*segments, key), value, o.get(key), t.get(key),
                          (*ours_at, key) if ours_at is not None and key in o else None,
                          (*theirs_at, key) if theirs_at is not None and key in t else None)
            self._order(segments, merged, ours_at, theirs_at)
        elif isinstance(merged, list):
            self._items(segments, merged, ours, theirs, ours_at, theirs_at)

    def _items(self, segments: tuple[Any, ...], merged: list[Any], ours: Any, theirs: Any,
               ours_at: tuple[Any, ...] | None, theirs_at: tuple[Any, ...] | None) -> None:
        pools = []
        for side_list, at in ((ours, ours_at), (theirs, theirs_at)):
            pool: dict[bytes, list[int]] = {}
            if at is not None and isinstance(side_list, list):
                for index, item in enumerate(side_list):
                    pool.setdefault(identity(item), []).append(index)
            pools.append(pool)
        for index, item in enumerate(merged):
            key = identity(item)
            for pool, side, side_list, at in ((pools[0], self.ours, ours, ours_at),
                                              (pools[1], self.theirs, theirs, theirs_at)):
                if pool.get(key):
                    source = pool[key].pop(0)
                    assert at is not None
                    self.copy(side, (*at, source), (*segments, index))
                    break
            else:  # combined from both (a record merged field by field): ours' item with that identity, else theirs'
                o_item = ours[index] if isinstance(ours, list) and index < len(ours) else None
                self.walk((*segments, index), item, o_item, None,
                          (*ours_at, index) if ours_at is not None and o_item is not None else None, None)

    def _order(self, segments: tuple[Any, ...], merged: dict[str, Any], ours_at: tuple[Any, ...] | None,
               theirs_at: tuple[Any, ...] | None) -> None:
        sequence: list[str] = []
        seen: set[str] = set()
        for side, at in ((self.ours, ours_at), (self.theirs, theirs_at)):
            if at is None:
                continue
            record = side.own(at, "order")
            keys = _order_keys(record, side, at)
            for key in keys if keys is not None else []:
                if key in merged and key not in seen:
                    seen.add(key)
                    sequence.append(key)
        stored = sorted(merged)
        rest = [key for key in stored if key not in seen]
        if not sequence:
            return
        keys = sequence + rest
        if keys != stored:
            self.order[_format(segments)] = keys if len(keys) > 64 else _permutation(keys, stored)


def _order_keys(record: Any, side: _Side, at: tuple[Any, ...]) -> list[str] | None:
    """A dict's insertion order on one side, from its order record (None: sorted, nothing recorded)."""
    if isinstance(record, list):
        return [k for k in record if isinstance(k, str)]
    if not isinstance(record, str):
        return None
    node = side.node(at)
    keys = node.get("order_keys") if node is not None else None
    return list(keys) if isinstance(keys, list) else None


def _permutation(keys: list[str], stored: list[str]) -> str:
    positions = {key: i for i, key in enumerate(keys)}
    return " ".join(str(positions[key]) for key in stored)


def _format(segments: tuple[Any, ...]) -> str:
    out = ""
    for segment in segments:
        out = join_path(out, segment)
    return out


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return identity(a) == identity(b)
    except Exception:  # a value the canonical encoder refuses cannot be the same as a stored one
        return False


def _decode_permutations(side: _Side, value: Mapping[str, Any], table: Any) -> None:
    """Resolve one side's permutation records to key lists (they index that side's sorted keys)."""
    entries = table.get("order", {}) if isinstance(table, dict) else {}
    for path, record in entries.items() if isinstance(entries, dict) else ():
        if not isinstance(record, str):
            continue
        node: Any = value
        try:
            for segment, _ in split_path(path, what="type table path") if path else ():
                node = node[segment]
            stored = sorted(node)
            positions = [int(p) for p in record.split(" ")] if record else []
            keys = [""] * len(stored)
            for key, position in zip(stored, positions):
                keys[position] = key
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        segments = tuple(seg for seg, _ in split_path(path, what="type table path")) if path else ()
        owner = side.node(segments)
        if owner is not None and isinstance(owner.get("order"), str):
            owner["order_keys"] = keys


def merge_type_tables(ours: Mapping[str, Any], theirs: Mapping[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """The ``@types`` module for ``merged`` (values already merged), from ours' and theirs' tables."""
    ours_types = ours.get(TYPES_MODULE) if isinstance(ours.get(TYPES_MODULE), dict) else theirs.get(TYPES_MODULE)
    theirs_types = theirs.get(TYPES_MODULE) if isinstance(theirs.get(TYPES_MODULE), dict) else ours_types
    assert isinstance(ours_types, dict) and isinstance(theirs_types, dict)
    names = [m for m in merged if m != TYPES_MODULE]
    brain = dict(ours_types.get("brain", {}))
    order: list[str] = []
    for types in (ours_types, theirs_types):
        listed = types.get("brain", {}).get("order") or sorted(m for m in names)
        order += [m for m in listed if m in merged and m != TYPES_MODULE and m not in order]
    order += [m for m in sorted(names) if m not in order]
    brain.pop("order", None)
    if order != sorted(order):
        brain["order"] = order
    modules: dict[str, Any] = {}
    version = 1  # (2 when a key order is stored once for several maps, as the encoder does)
    ours_tables, theirs_tables = ours_types.get("modules", {}), theirs_types.get("modules", {})
    for name in names:
        o_table, t_table = ours_tables.get(name, {}), theirs_tables.get(name, {})
        o_side, t_side = _Side(o_table), _Side(t_table)
        _decode_permutations(o_side, ours.get(name, {}), o_table)
        _decode_permutations(t_side, theirs.get(name, {}), t_table)
        builder = _Builder(o_side, t_side)
        builder.walk((), merged[name], ours.get(name), theirs.get(name),
                     () if name in ours else None, () if name in theirs else None)
        table: dict[str, Any] = {}
        if builder.at:
            table["at"] = builder.at
        classes = {**t_side.classes, **o_side.classes}
        if classes:
            table["classes"] = classes
        if builder.order:
            table["order"] = builder.order
            if share_orders(table):
                version = 2
        shared = sorted(o_side.shared | t_side.shared)
        if shared:
            table["shared"] = shared
        if table:
            modules[name] = table
    return {"brain": brain, "modules": modules, "version": version}
