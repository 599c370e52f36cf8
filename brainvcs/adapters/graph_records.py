"""What the object-graph format records beside plain JSON values (docs/format.md §8).

The dotted paths type tables are keyed by, the text of floats JSON cannot
hold, which collections are plain JSON already, and a map's insertion order:
written by :mod:`.graph_encode`, read back by :mod:`.graph_decode`.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..snapshot.canonical import INT_MAX, INT_MIN, join_path
from ..snapshot.paths import split_path

#: A path inside one module: None (the module's value) or ``(parent, key)``.
Path = Any


def rel_path(path: Path) -> str:
    """The dotted path (docs/format.md §5 grammar) of a chain ``(parent, key)`` inside a module."""
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out = join_path(out, key)
    return out


def child_paths(base: str, keys: list[str]) -> list[str]:
    """``[join_path(base, key) for key in keys]``, by C-level passes when every key needs no quoting (the usual case)."""
    if all(keys) and "".join(keys).replace("_", "a").replace("-", "a").isalnum():  # (join_path's test, at once)
        return list(map((base + ".").__add__, keys)) if base else list(keys)
    return [join_path(base, key) for key in keys]


def float_text(x: float) -> str:
    """How a NaN (with its payload) or an infinity is stored as text."""
    if math.isnan(x):
        bits = struct.unpack("<Q", struct.pack("<d", x))[0]
        return "nan" if bits == 0x7FF8000000000000 else f"nan:{bits:016x}"
    return "inf" if x > 0 else "-inf"


_TEXTY = frozenset({str, bool, type(None)})
_NUMERIC = frozenset({int, float, bool})


def plain(values: Any) -> bool:
    """Whether every value is a JSON scalar stored as itself (the fast path for big maps and lists).

    Type sets, ranges and finiteness are checked with C-level passes (``set(map(type))``,
    ``min``/``max``/``sum``); only mixed or borderline collections take the per-item loop.
    """
    types = set(map(type, values))
    if types <= _TEXTY:
        return True
    if types <= _NUMERIC:
        if int in types and (min(values) < INT_MIN or max(values) > INT_MAX):
            return _plain_slow(values)
        if float in types and not math.isfinite(sum(values)):  # NaN or inf (or an overflowing sum)
            return _plain_slow(values)
        return True
    if types <= _TEXTY | _NUMERIC:
        return _plain_slow(values)
    return False


def _plain_slow(values: Any) -> bool:
    for v in values:
        t = type(v)
        if t is int:
            if not INT_MIN <= v <= INT_MAX:
                return False
        elif t is float:
            if v - v != 0.0:
                return False
    return True


#: Maps with at most this many keys record an unsorted order as a permutation of the sorted keys.
PERMUTATION_MAX_KEYS = 64


def order_record(keys: list[str]) -> str | list[str] | None:
    """How a map's insertion order ``keys`` is stored: None when it is the sorted order.

    Small maps: for each key in sorted order, its position in insertion order,
    as text (``"1 2 0"``: a few bytes per key, computed by a C-level sort).
    Large maps: the keys themselves, a list that the layout chunks, so
    appending keys rewrites only the last chunk.
    """
    if len(keys) > PERMUTATION_MAX_KEYS:
        return None if keys == sorted(keys) else keys
    positions = sorted(_POSITIONS[len(keys)], key=keys.__getitem__)
    if positions == _POSITIONS[len(keys)]:
        return None
    small = len(keys) <= _TEXTS_MAX_KEYS
    text = _TEXTS.get(tuple(positions)) if small else None
    if text is None:
        text = " ".join(map(_NUMERALS.__getitem__, positions))
        if small:
            _TEXTS[tuple(positions)] = text
    return text


_POSITIONS = [list(range(n)) for n in range(PERMUTATION_MAX_KEYS + 1)]
_NUMERALS = [str(n) for n in range(PERMUTATION_MAX_KEYS)]
#: The text of each permutation of up to this many keys, made once (at most 6! + 5! + ... = 872 of them):
#: a brain's small records share few orders, and the join was a third of an order record's cost.
_TEXTS_MAX_KEYS = 6
_TEXTS: dict[tuple[int, ...], str] = {}


def keys_from_record(record: str, stored: dict[str, Any]) -> list[str]:
    """Keys in insertion order from a small map's :func:`order_record` (``"1 2 0"``); ValueError if it does not fit."""
    ordered = list(stored)  # decoded canonical JSON: sorted by code point
    inverse = _INVERSES.get(record)
    if inverse is None:
        try:
            positions = [int(p) for p in record.split(" ")] if record else []
        except ValueError:
            raise ValueError("recorded key order is malformed") from None
        if sorted(positions) != list(range(len(positions))):
            raise ValueError("recorded key order does not match the stored keys")
        inverse = sorted(range(len(positions)), key=positions.__getitem__)  # sorted index of each inserted key
        if len(_INVERSES) >= _INVERSES_MAX:
            _INVERSES.clear()
        _INVERSES[record] = inverse
    if len(inverse) != len(ordered):
        raise ValueError("recorded key order does not match the stored keys")
    return list(map(ordered.__getitem__, inverse))


#: Parsed permutation records (few distinct ones recur: 120 orders of five keys), bounded.
_INVERSES: dict[str, list[int]] = {}
_INVERSES_MAX = 100_000


def table_ancestors(paths: list[str]) -> set[str]:
    """Every proper prefix of the type-table ``paths`` (the paths below which a decoder must look).

    ValueError names a path that is not in canonical form. Dotted paths of
    plain names (nearly all of them) are handled with string operations; the
    others go through the path grammar.
    """
    ancestors: set[str] = set()
    plain_paths: list[str] = []
    for path in paths:
        if not path:
            continue
        if _plain_path(path):
            plain_paths.append(path)
            continue
        prefix = ""
        try:
            segments = split_path(path, what="type table path")
        except Exception:
            raise ValueError(f"type table path {path!r} is malformed") from None
        for segment, _ in segments:
            ancestors.add(prefix)
            prefix = join_path(prefix, segment)
        if prefix != path:
            raise ValueError(f"type table path {path!r} is not in canonical form")
    parents = {path.rpartition(".")[0] for path in plain_paths}
    while parents:
        parent = parents.pop()
        if parent not in ancestors:
            ancestors.add(parent)
            if parent:
                parents.add(parent.rpartition(".")[0])
    return ancestors


def _plain_path(path: str) -> bool:
    """Whether ``path`` is dotted plain names (each alnum, ``_`` or ``-``): canonical as it stands."""
    return (path.replace("_", "a").replace("-", "a").replace(".", "a").isalnum()
            and ".." not in path and path[0] != "." and path[-1] != ".")
