"""Value-level diffing: two decoded JSON values in, records out.

:class:`Collector` compares values that the tree walk (``engine.py``) has
already read and files every difference in the record for its kind and path
pattern: integers are counters, floats are continuous quantities, objects
yield added/removed keys and recurse, lists are compared as sequences (so a
rolling window reads as "appended at the tail, dropped from the head"), and
tensor descriptors are compared chunk by chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any, TypeVar

import orjson

from ..snapshot.canonical import TENSOR_KEY, join_path
from ..errors import CorruptObjectError
from .model import (Change, CounterRecord, FloatRecord, KeyItem, KeysRecord, ListItem, ListRecord, Record,
                    TensorRecord, ValueRecord)

#: Fetches a tensor chunk's bytes by its BLAKE3 digest (verified by the caller).
ChunkFetcher = Callable[[str], bytes]

_MISSING: Any = object()
#: A module that is itself an object of numbers is a map from this many keys on.
TOP_MAP_MIN_KEYS = 8
R = TypeVar("R", bound=Record)


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a stored tensor descriptor ``{"$tensor": {...}}``."""
    return type(value) is dict and len(value) == 1 and TENSOR_KEY in value


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def category(value: Any) -> str:
    """The kind of a decoded value: number, dict, tensor, list, str, bool or NoneType."""
    kind = type(value)
    if kind is int or kind is float:
        return "number"
    if kind is dict:
        return "tensor" if is_tensor(value) else "dict"
    return kind.__name__


def map_like(value: Any, *, top: bool = False) -> bool:
    """Whether an object's keys are data (words, neuron ids) rather than field names.

    Objects whose values are all numbers are counter/weight maps (at a
    module's top level only with :data:`TOP_MAP_MIN_KEYS` keys or more); below a
    module's top level, an object with at least two keys whose values all have
    one kind (all objects, all lists, all booleans...) is a map too.
    """
    if type(value) is not dict or not value or is_tensor(value):
        return False
    kinds = {category(item) for item in value.values()}
    if kinds == {"number"}:
        # a module's own few numbers are fields (step, load); many are a counter/weight map
        return not top or len(value) >= TOP_MAP_MIN_KEYS
    return not top and len(value) >= 2 and len(kinds) == 1


def wildcard(pattern: str) -> str:
    """The pattern of the members of a map-like object at ``pattern``."""
    return f"{pattern}.*" if pattern else "*"


def _item_key(value: Any) -> Any:
    """A hashable identity for sequence matching (1, 1.0 and true stay distinct)."""
    kind = type(value)
    if kind is str:
        return value
    if kind in (int, float, bool) or value is None:
        return (kind, value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class PathFilter:
    """``--path``: keep what lies at or below ``path``, and walk the ancestors leading there."""

    def __init__(self, path: str | None) -> None:
        self.path = path or None

    def within(self, path: str) -> bool:
        """``path`` is the filter path or below it."""
        f = self.path
        return f is None or path == f or path.startswith((f + ".", f + "["))

    def relevant(self, path: str) -> bool:
        """``path`` is within the filter or an ancestor of it."""
        f = self.path
        return f is None or self.within(path) or f.startswith((path + ".", path + "["))

    def next_key(self, path: str) -> str | None:
        """The object key the filter selects right below ``path`` (None: not narrowed)."""
        f = self.path
        if f is None or self.within(path) or not self.relevant(path):
            return None
        rest = f[len(path):]
        if rest.startswith("."):
            end = min((i for i in (rest.find(".", 1), rest.find("[", 1)) if i != -1), default=len(rest))
            return rest[1:end]
        if rest.startswith('["'):
            try:
                key = orjson.loads(rest[1:rest.index('"]', 2) + 1])
            except (ValueError, orjson.JSONDecodeError):
                return None
            return key if isinstance(key, str) else None
        return None


class Collector:
    """Accumulates the records of one module's diff."""

    def __init__(self, *, tolerance: float = 0.0, path_filter: PathFilter | None = None,
                 old_chunks: ChunkFetcher | None = None, new_chunks: ChunkFetcher | None = None) -> None:
        self.tolerance = tolerance
        self.filter = path_filter or PathFilter(None)
        self.old_chunks = old_chunks
        self.new_chunks = new_chunks
        self._records: dict[tuple[str, str], Record] = {}

    def records(self) -> list[Record]:
        """The records gathered so far, by pattern then kind."""
        from .model import TYPE_ORDER

        return [self._records[key] for key in sorted(self._records, key=lambda k: (k[1], TYPE_ORDER[k[0]]))]

    def _record(self, cls: type[R], pattern: str) -> R:
        key = (cls.type, pattern)
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = cls(pattern)  # type: ignore[call-arg]
        return record  # type: ignore[return-value]

    # Values ------------------------------------------------------------------
    def value(self, old: Any, new: Any, path: str, pattern: str, *, top: bool = False) -> None:
        """Record how ``new`` differs from ``old`` (both decoded values at ``path``)."""
        if not self.filter.relevant(path):
            return
        kind = type(old)
        if kind is type(new) and (kind is not dict and kind is not list) and old == new:
            return
        if kind is dict and type(new) is dict:
            if is_tensor(old) and is_tensor(new):
                if old != new:
                    self.tensor(old[TENSOR_KEY], new[TENSOR_KEY], path)
                return
            if not is_tensor(old) and not is_tensor(new):
                like = map_like(old, top=top) or map_like(new, top=top)
                self.dict_items(old, new, path, wildcard(pattern) if like else None, pattern)
                return
        elif kind is list and type(new) is list:
            if old != new:
                self.list_value(old, new, path, pattern)
            return
        elif _is_number(old) and _is_number(new):
            if kind is int and type(new) is int:
                self._record(CounterRecord, pattern).items.append(Change(path, old, new))
            else:
                self.float_change(old, new, path, pattern)
            return
        if not self.filter.within(path):
            return
        self._record(ValueRecord, pattern).items.append(Change(path, old, new))

    def float_change(self, old: float, new: float, path: str, pattern: str) -> None:
        """A continuous value moved; changes below the tolerance are only counted."""
        record = self._record(FloatRecord, pattern)
        if self.tolerance and abs(new - old) < self.tolerance:
            record.ignored += 1
        else:
            record.items.append(Change(path, old, new))

    def dict_items(self, old: dict[str, Any], new: dict[str, Any], path: str, member_pattern: str | None,
                   pattern: str) -> None:
        """Compare two objects key by key.

        ``member_pattern`` is the pattern of every member when the object is a
        map (``x.*``); None means a record whose members keep their names.
        """
        keys = self._changed_keys(old, new)
        if not keys:
            return
        keys_record: KeysRecord | None = None
        for key in sorted(keys):
            key_path = join_path(path, key)
            if not self.filter.relevant(key_path):
                continue
            before = old.get(key, _MISSING)
            after = new.get(key, _MISSING)
            if before is _MISSING or after is _MISSING:
                if keys_record is None:
                    keys_record = self._record(KeysRecord, pattern)
                    keys_record.map_like = member_pattern is not None
                target = keys_record.added if before is _MISSING else keys_record.removed
                target.append(KeyItem(key_path, key, after if before is _MISSING else before))
                continue
            self.value(before, after, key_path, member_pattern or join_path(pattern, key))

    @staticmethod
    def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        """Keys added, removed or with a different value."""
        out = [k for k, v in new.items() if old.get(k, _MISSING) != v]
        out.extend(k for k in old if k not in new)
        return out

    # Lists -------------------------------------------------------------------
    def list_value(self, old: list[Any], new: list[Any], path: str, pattern: str) -> None:
        """Two whole lists: numeric vectors compare element-wise, anything else as a sequence."""
        if (len(old) == len(new) and all(_is_number(x) for x in old) and all(_is_number(x) for x in new)
                and any(type(x) is float for x in (*old, *new))):
            for index, (before, after) in enumerate(zip(old, new)):
                if type(before) is not type(after) or before != after:
                    self.value(before, after, join_path(path, index), f"{pattern}[*]")
            return
        self.list_begin(pattern, len(old), len(new))
        self.list_region(old, new, path, pattern, head=True, tail=True)

    def list_begin(self, pattern: str, old_count: int, new_count: int) -> None:
        """Count one more changed list at ``pattern`` with these lengths."""
        record = self._record(ListRecord, pattern)
        record.lists += 1
        record.old_count += old_count
        record.new_count += new_count

    def list_region(self, old: list[Any], new: list[Any], path: str, pattern: str, *, head: bool,
                    tail: bool) -> None:
        """Compare one region of a list; ``head``/``tail`` say whether it starts/ends the list."""
        items = self._record(ListRecord, pattern).items
        a = [_item_key(x) for x in old]
        b = [_item_key(x) for x in new]
        rolled = _rolled(a, b, head=head, tail=tail)
        if rolled is not None:
            dropped, kept = rolled
            items.extend(ListItem(path, "drop", x) for x in old[:dropped])
            items.extend(ListItem(path, "append", x) for x in new[kept:])
            return
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            at_head = head and i1 == 0 and j1 == 0
            at_tail = tail and i2 == len(a) and j2 == len(b)
            extra_old = max(0, (i2 - i1) - (j2 - j1))
            extra_new = max(0, (j2 - j1) - (i2 - i1))
            start_old, start_new = i1, j1
            if extra_old and at_head:  # the surplus at the head rolled off
                items.extend(ListItem(path, "drop", x) for x in old[i1:i1 + extra_old])
                start_old += extra_old
                extra_old = 0
            pairs = min(i2 - start_old, j2 - j1)
            if extra_new and at_tail:
                pairs = min(i2 - start_old, j2 - j1 - extra_new)
            items.extend(ListItem(path, "change", new[start_new + k], old[start_old + k]) for k in range(pairs))
            start_old += pairs
            start_new += pairs
            items.extend(ListItem(path, "remove", x) for x in old[start_old:i2])
            items.extend(ListItem(path, "append" if at_tail else "insert", x) for x in new[start_new:j2])

    # Tensors -----------------------------------------------------------------
    def tensor(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        """Two tensor descriptors: shape/dtype, and the change read from differing chunks only."""
        before, after = _tensor_meta(old, path), _tensor_meta(new, path)
        shape: list[int] = after["shape"]
        record = TensorRecord(path, before, after, elements=math.prod(shape))
        self._records[(TensorRecord.type, path)] = record
        if before != after or self.old_chunks is None or self.new_chunks is None:
            return
        try:
            import numpy as np
        except ImportError:  # the shape and dtype are all we can say
            return
        dtype = np.dtype(str(before["dtype"]))
        changed = ignored = 0
        squares = 0.0
        largest = 0.0
        for index, (a, b) in enumerate(zip(old.get("chunks") or [], new.get("chunks") or [])):
            if a == b:
                continue
            x = np.frombuffer(self.old_chunks(a), dtype=dtype)
            y = np.frombuffer(self.new_chunks(b), dtype=dtype)
            if dtype.kind == "b":
                x, y = x.astype(np.int8), y.astype(np.int8)
            differs = x != y
            if dtype.kind in "fc":
                differs &= ~(np.isnan(x) & np.isnan(y))
            wide = np.complex128 if dtype.kind == "c" else np.float64
            delta = np.abs(y.astype(wide) - x.astype(wide))
            delta = np.where(np.isfinite(delta), delta, 0.0)[differs]
            if self.tolerance:
                small = delta < self.tolerance
                ignored += int(small.sum())
                delta = delta[~small]
            changed += int(delta.size)
            squares += float(np.sum(delta * delta))
            largest = max(largest, float(delta.max()) if delta.size else 0.0)
        record.changed, record.ignored = changed, ignored
        record.l2, record.max_abs = math.sqrt(squares), largest


def _tensor_meta(descriptor: Any, path: str) -> dict[str, Any]:
    """``{"dtype", "shape"}`` of a tensor descriptor, refusing a malformed one."""
    try:
        return {"dtype": str(descriptor["dtype"]), "shape": [int(n) for n in descriptor["shape"]]}
    except (KeyError, TypeError, ValueError):
        raise CorruptObjectError(f"{path}: malformed tensor descriptor") from None


def _rolled(a: list[Any], b: list[Any], *, head: bool, tail: bool) -> tuple[int, int] | None:
    """``(d, k)`` when ``b == a[d:] + more`` (d items dropped at the head, ``b[k:]`` appended).

    The fast, common case of a rolling window; None when ``b`` is not such a
    shift of ``a`` (or the region cannot drop/append where it lies).
    """
    n = len(a)
    if not b:
        return (n, 0) if head and n else None
    first = b[0]
    for d in range(n if head else min(n, 1)):  # away from the head only d = 0 fits
        if a[d] != first:
            continue
        kept = n - d
        if kept <= len(b) and a[d:] == b[:kept] and (tail or kept == len(b)):
            return d, kept
    if not n and tail:
        return 0, 0
    return None
