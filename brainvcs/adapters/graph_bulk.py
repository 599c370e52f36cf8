"""Maps of many similar children, walked in C-level passes: the bulk of a brain.

Two shapes make up most of a large brain: a map of plain records or plain
lists (word -> {neuron: flag}, word -> [contexts]), and a map of objects of
one class whose attributes are plain values, plain records, plain lists or
deques (neuron id -> Neuron). The general walk
(:class:`~.graph_encode.GraphEncoder`) visits them child by child; the
functions here give exactly what it would give — the same values, tags, key
orders and memo entries, so the same bytes — with the checks and the
bookkeeping done over all children at once. A map not quite of such a shape
(a child met before, a value that needs a tag, a class with its own state
protocol) makes them return None before anything is recorded, and the general
walk takes it.
"""

from __future__ import annotations

import collections
import enum
from itertools import chain, repeat
from typing import Any

from ..snapshot.canonical import join_path
from .graph_objects import NOT_STATE, excluded, object_parts, plain_class, slot_names
from .graph_records import Path, child_paths, order_record, plain, rel_path
from .trust import class_name

__all__ = ["Group", "plain_children", "plain_objects", "plain_rows"]

#: Maps and lists with fewer children are walked child by child: the bulk checks would cost more than they
#: save. (A record with this many keys or more counts as a map: a list of such records is not taken as rows.)
BULK_MIN = 16

_DEQUE = collections.deque


class Group:
    """Where a bulk map's children are, for the encoder's memo: one entry shared by all of them.

    The memo maps ``id(child)`` to this group instead of a ``(module, path)``
    pair per child (two tuples fewer per child); :meth:`locate` gives the pair
    for the rare child met again (a shared reference).
    """

    __slots__ = ("module", "path", "ids", "keys", "attr", "_where")

    def __init__(self, module: str, path: Path, ids: list[int], keys: list[str], attr: str | None = None) -> None:
        self.module, self.path, self.ids, self.keys, self.attr = module, path, ids, keys, attr
        self._where: dict[int, str] | None = None

    def locate(self, ident: int) -> tuple[str, Path]:
        """``(module, path)`` of the child whose id is ``ident``."""
        if self._where is None:
            self._where = dict(zip(self.ids, self.keys))
        child = (self.path, self._where[ident])
        return self.module, child if self.attr is None else (child, self.attr)


def _fresh(memo: dict[int, Any], ids: list[int]) -> bool:
    """Whether ``ids`` are distinct and none was met before."""
    return len(set(ids)) == len(ids) and memo.keys().isdisjoint(ids)


def _plain_records(values: Any) -> list[str] | None:
    """Every record's keys end to end if every value is a dict of str keys to plain values; else None.

    (The key list goes on to :meth:`~.graph_orders.OrderMemo.child_orders`, which would build it again.)
    """
    flat = list(chain.from_iterable(values))
    if set(map(type, flat)) <= {str} and plain(list(chain.from_iterable(map(dict.values, values)))):
        return flat
    return None


def plain_children(enc: Any, v: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """A map of plain records or plain lists as ``enc.value`` would store it; None if it is not one.

    Each child is memoised and a record's key order recorded (through the
    encoder's :class:`~.graph_orders.OrderMemo`), as the general walk does.
    """
    kids = list(v.values())
    kinds = set(map(type, kids))
    flat: list[str] | None = None
    if kinds == {dict}:
        flat = _plain_records(kids)
        if flat is None:
            return None
    elif kinds == {list}:
        if not plain(list(chain.from_iterable(kids))):
            return None
    else:
        return None
    ids = list(map(id, kids))
    if not _fresh(enc.memo, ids):
        return None
    keys = list(v)
    enc.memo.update(dict.fromkeys(ids, Group(enc.module, path, ids, keys)))
    enc.keep.extend(kids)
    if flat is not None:  # each record's key order (what _order does for a dict that is no object's)
        entries = enc.orders.child_orders(enc.module, rel_path(path), keys, kids, flat)
        if entries:
            enc.table.setdefault("order", {}).update(entries)
    if enc.fresh:  # copies (in C) of the brain's records or lists: the state shares no container with it
        return dict(zip(keys, map(dict.copy if flat is not None else list.copy, kids)))
    return dict(v)


def _bulk_class(cls: type, first: Any) -> bool:
    """Whether every instance of ``cls`` takes the general walk's plain-object path (attributes in ``__dict__`` only)."""
    module = cls.__module__
    return (plain_class(first, cls) and not issubclass(cls, enum.Enum) and not isinstance(first, NOT_STATE)
            and module != "numpy" and not module.startswith("numpy.") and object_parts(first)[0] == "obj"
            and not slot_names(cls) and not excluded(cls))


def plain_objects(enc: Any, v: dict[str, Any], path: Path, depth: int) -> dict[str, Any] | None:
    """A map of objects of one class, as ``enc.value`` would store it; None if it is not such a map.

    Every object must have the first one's attributes in the same order, and
    each attribute must hold, across the objects, plain values, or plain
    records, plain lists or deques of plain values, none of them met before.
    """
    kids = list(v.values())
    if not kids:
        return None
    cls = type(kids[0])
    if set(map(type, kids)) != {cls} or not _bulk_class(cls, kids[0]):
        return None
    try:
        attrs: list[dict[str, Any]] = list(map(vars, kids))
    except TypeError:
        return None
    names = list(attrs[0])
    if not all(type(name) is str for name in names) or list(chain.from_iterable(attrs)) != names * len(kids):
        return None
    columns = list(zip(*map(dict.values, attrs)))
    kinds: list[type | None] = []  # per attribute: None (plain values) or the container type
    flats: dict[int, list[str]] = {}  # per attribute of records: their keys end to end
    ids = list(map(id, kids))
    for i, column in enumerate(columns):
        types = set(map(type, column))
        if plain(column):
            kinds.append(None)
            continue
        if types == {dict}:
            flat = _plain_records(column)
            if flat is None:
                return None
            flats[i] = flat
        elif types == {list} or types == {_DEQUE}:
            if not plain(list(chain.from_iterable(column))):
                return None
        else:
            return None
        kinds.append(types.pop())
        ids.extend(map(id, column))
    memo = enc.memo
    if not _fresh(memo, ids):
        return None
    module, table = enc.module, enc.table
    name = class_name(cls)
    prior = enc.class_keys.get((module, name))
    if prior is not None and prior != names:
        return None  # instances of this class met earlier in the module had another attribute order
    keys = list(v)
    base = rel_path(path)
    paths = child_paths(base, keys)
    at = table.get("at")
    if at and any(map(at.__contains__, paths)):
        return None
    # Nothing was recorded above: from here on, record what the general walk would.
    kid_ids = ids[:len(kids)]
    memo.update(dict.fromkeys(kid_ids, Group(module, path, kid_ids, keys)))
    enc.keep.extend(kids)
    tags = table.setdefault("at", {})
    tags.update(zip(paths, repeat(f"obj {name}")))
    enc._order((path, keys[0]), names, name)  # the class's attribute order, recorded once as the first instance does
    stored: list[Any] = list(columns)
    for i, (attr, kind) in enumerate(zip(names, kinds)):
        if kind is None:
            continue
        column = columns[i]
        column_ids = list(map(id, column))
        memo.update(dict.fromkeys(column_ids, Group(module, path, column_ids, keys, attr)))
        enc.keep.extend(column)
        suffix = join_path("-", attr)[1:]  # ".attr" (or '["odd name"]') after each object's path
        if kind is dict:
            entries = enc.orders.child_orders(module, base, keys, list(column), flats[i], suffix)
            if entries:
                table.setdefault("order", {}).update(entries)
            if enc.fresh:  # (copies: the state shares no container with the brain)
                stored[i] = list(map(dict.copy, column))
        elif kind is list:
            if enc.fresh:
                stored[i] = list(map(list.copy, column))
        elif kind is _DEQUE:
            tags.update(zip(map(str.__add__, paths, repeat(suffix)),
                            ["deque" if d.maxlen is None else f"deque {d.maxlen}" for d in column]))
            stored[i] = list(map(list, column))
    if not names:
        return {key: {} for key in keys}
    return {key: dict(zip(names, row)) for key, row in zip(keys, zip(*stored))}


def _shape(rows: list[dict[str, Any]], nested: bool) -> tuple[list[str], list[tuple[Any, ...]], list[Any]] | None:
    """The keys, columns and per-column kinds of records that all have the first one's keys, in order.

    A kind is None (plain values), ``list`` (plain lists) or, where ``nested``, the
    ``(keys, columns, kinds)`` of a column of such records one level down; None if a column is none of these.
    """
    names = list(rows[0])
    if (len(names) >= BULK_MIN or not all(type(name) is str for name in names)
            or list(chain.from_iterable(rows)) != names * len(rows)):
        return None
    columns: list[tuple[Any, ...]] = list(zip(*map(dict.values, rows))) if names else []
    kinds: list[Any] = []
    for column in columns:
        if plain(column):
            kinds.append(None)
            continue
        types = set(map(type, column))
        if types == {list} and plain(list(chain.from_iterable(column))):
            kinds.append(list)
        elif types == {dict} and nested:
            inner = _shape(list(column), False)
            if inner is None:
                return None
            kinds.append(inner)
        else:
            return None
    return names, columns, kinds


def plain_rows(enc: Any, v: list[Any], path: Path) -> list[Any] | None:
    """A list of records of one shape (an episodic memory, a history) as ``enc.value`` would store it, or None.

    Every item is a dict with the first one's keys in the same order (fewer than
    BULK_MIN of them), each key holding, across the items, plain values, plain
    lists, or records of one shape whose keys hold plain values or plain lists;
    no container met before. The memo gets each container's place, and each
    record its key order, as the general walk records them one by one.
    """
    if not v or set(map(type, v)) != {dict}:
        return None
    shape = _shape(v, True)
    if shape is None:
        return None
    # Every container with its place (a path chain), found before anything is recorded.
    places: list[tuple[list[Any], list[Any], list[str] | None]] = []  # (containers, paths, keys if records)

    def collect(rows: list[Any], paths: list[Any], names: list[str], columns: list[Any], kinds: list[Any]) -> None:
        places.append((rows, paths, names))
        for name, column, kind in zip(names, columns, kinds):
            if kind is None:
                continue
            inner = list(zip(paths, repeat(name)))
            if kind is list:
                places.append((list(column), inner, None))
            else:
                collect(list(column), inner, *kind)
    collect(v, list(zip(repeat(path), range(len(v)))), *shape)
    ids = list(chain.from_iterable(map(id, rows) for rows, _, _ in places))
    if not _fresh(enc.memo, ids):
        return None
    # Nothing was recorded above: from here on, record what the general walk would.
    module = enc.module
    orders = None
    for rows, paths, names in places:
        enc.memo.update(zip(map(id, rows), zip(repeat(module), paths)))
        enc.keep.extend(rows)
        record = None if names is None else order_record(names)
        if record is not None:
            orders = enc.table.setdefault("order", {}) if orders is None else orders
            orders.update(zip(map(rel_path, paths), repeat(record)))
    return _stored(v, *shape, enc.fresh)


def _stored(rows: list[dict[str, Any]], names: list[str], columns: list[Any], kinds: list[Any],
            fresh: bool) -> list[Any]:
    """The records as the general walk returns them: a record of plain values as it is (a copy when
    ``fresh``), any other a new dict of its stored values."""
    if all(kind is None for kind in kinds):
        return list(map(dict.copy, rows)) if fresh else list(rows)
    stored: list[Any] = list(columns)
    for i, kind in enumerate(kinds):
        if kind is list:
            if fresh:
                stored[i] = list(map(list.copy, columns[i]))
        elif kind is not None:
            inner_names, inner_columns, inner_kinds = kind
            stored[i] = _stored(list(columns[i]), inner_names, inner_columns, inner_kinds, fresh)
    return list(map(dict, map(zip, repeat(names), zip(*stored))))
