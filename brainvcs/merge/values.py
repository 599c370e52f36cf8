"""How the merge combines one value: exact comparison, counters, floats, tensors, append-mostly lists.

Pure functions of base, ours and theirs; :mod:`.plan` decides which applies
where. Each ``merge_*`` returns the merged value, or None and the reason it
cannot be merged.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any

import orjson

from ..errors import InvalidStateError
from ..snapshot import canonical, tensors


# --------------------------------------------------------------------------
# Comparing values exactly


def _identity_default(obj: Any) -> Any:
    if tensors.is_array(obj):
        return {"$array": [obj.dtype.str, list(obj.shape), obj.tobytes().hex()]}
    raise TypeError(f"unsupported type {type(obj).__name__}")


def identity(value: Any) -> bytes:
    """Bytes equal exactly when two values store identically (1, 1.0, True and -0.0 all differ)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=_identity_default)
    except (TypeError, orjson.JSONEncodeError):
        canonical.check(value)
        raise InvalidStateError("", f"a value of type {type(value).__name__} cannot be merged") from None


def same(a: Any, b: Any) -> bool:
    """Exact equality of stored values (stricter than ``==``: int, float and bool differ)."""
    if a is b:
        return True
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)) \
            and not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))):
        return False
    try:
        if a != b:
            return False
    except (ValueError, TypeError):  # numpy arrays refuse a truth value; compare bytes below
        pass
    return identity(a) == identity(b)


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays replaced by a short description (for reports)."""
    if tensors.is_array(value):
        return {"$tensor": {"dtype": value.dtype.str, "shape": list(value.shape)}}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def value_kind(ours: Any, theirs: Any) -> str:
    """The kind a both-sides change is merged as: dict, list, int, float, tensor or value."""
    to, tt = type(ours), type(theirs)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return "dict"
    if isinstance(ours, (list, tuple)) and isinstance(theirs, (list, tuple)):
        return "list"
    if to in (int, float) and tt in (int, float):
        return "int" if to is int and tt is int else "float"
    if tensors.is_array(ours) and tensors.is_array(theirs):
        return "tensor"
    return "value"


# --------------------------------------------------------------------------
# Strategies on values (each returns (value, None) or (None, reason))


def _number(value: Any) -> float | int:
    return value if type(value) in (int, float) else 0


def _checked(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, float) and not math.isfinite(value):
        return None, "the merged number overflows"
    if isinstance(value, int) and not canonical.INT_MIN <= value <= canonical.INT_MAX:
        return None, "the merged integer is outside the storable range"
    return value, None


def merge_numbers(strategy: str, base: Any, ours: Any, theirs: Any) -> tuple[Any, str | None]:
    """Combine two numbers both sides changed: sum, mean, max or min."""
    if strategy == "sum":
        # o + t - b: each side's delta added to the base; a key new on both sides counts from 0.
        return _checked(ours + theirs - _number(base))
    if strategy == "max":
        return max(ours, theirs), None
    if strategy == "min":
        return min(ours, theirs), None
    if type(ours) is int and type(theirs) is int:
        return (ours + theirs) // 2, None  # mean of counters stays an integer (rounded down)
    mean = (ours + theirs) / 2
    return _checked(mean if math.isfinite(mean) else ours / 2 + theirs / 2)


def merge_tensors(strategy: str, base: Any, ours: Any, theirs: Any) -> tuple[Any, str | None]:
    """Element-wise sum, mean, max or min of two float arrays of one shape and dtype."""
    import numpy as np

    if ours.shape != theirs.shape or ours.dtype != theirs.dtype or ours.dtype.kind != "f":
        return None, f"tensors of different shapes or dtypes, or not float ({ours.dtype}{list(ours.shape)} " \
                     f"vs {theirs.dtype}{list(theirs.shape)})"
    if strategy == "sum":
        if not (tensors.is_array(base) and base.shape == ours.shape):
            return None, "sum needs a base tensor of the same shape"
        value = ours + theirs - base
    elif strategy == "max":
        value = np.maximum(ours, theirs)
    elif strategy == "min":
        value = np.minimum(ours, theirs)
    else:
        value = ours / 2 + theirs / 2
    if not np.all(np.isfinite(value)):
        return None, "the merged tensor overflows"
    return value.astype(ours.dtype), None


def _item_keys(items: list[Any], ids: dict[bytes, int]) -> list[int]:
    return [ids.setdefault(identity(item), len(ids)) for item in items]


def _overlap(base: list[int], side: list[int]) -> int:
    """Length of the longest suffix of ``base`` that is a prefix of ``side`` (KMP, linear)."""
    n = min(len(base), len(side))
    if n == 0:
        return 0
    if side[:len(base)] == base:
        return len(base)
    pattern, text = side[:n], base[len(base) - n:]
    fail = [0] * n
    k = 0
    for i in range(1, n):
        while k and pattern[i] != pattern[k]:
            k = fail[k - 1]
        if pattern[i] == pattern[k]:
            k += 1
        fail[i] = k
    k = 0
    for item in text:
        while k and (k == n or item != pattern[k]):
            k = fail[k - 1]
        if item == pattern[k]:
            k += 1
    return k


def _edit(base: list[int], side: list[int]) -> tuple[int, int] | None:
    """How a side edited base as ``(dropped from the head, overlap)``, or None if it did something else."""
    overlap = _overlap(base, side)
    if overlap == 0 and base:
        # Nothing of base survives at the head: a window that turned over
        # completely, unless the list shrank or was edited in place.
        agree = sum(1 for b, s in zip(base, side) if b == s)
        if len(side) < len(base) or 2 * agree > len(base):
            return None
    return len(base) - overlap, overlap


def _side_edit(base: list[int], side: list[int]) -> tuple[set[int], list[int]] | None:
    """How a side changed base, read as an event log: ``(dropped base positions, positions of its new items)``.

    Items are matched per occurrence, wherever they stand in the side: a
    history that went through merges holds the other side's items where that
    merge put them, so the order of kept items says nothing. Of an item base
    holds ``n`` times and the side ``m < n`` times, the first ``n - m`` count as
    dropped. Drops from base's head are a rolling window. Drops elsewhere are
    a window too when the side's new items all follow its kept ones (a
    window another merge trimmed in its own order); otherwise, or when
    nothing was added, the side edited the list: None.
    """
    have = Counter(side)
    wanted = Counter(base)
    surplus = {key: max(0, wanted[key] - have[key]) for key in wanted}
    dropped: set[int] = set()
    for position, key in enumerate(base):
        if surplus[key]:
            surplus[key] -= 1
            dropped.add(position)
    if base and len(dropped) == len(base) and len(side) < len(base):
        return None  # nothing kept and shorter: a rewrite, not a window that turned over
    budget = Counter(key for position, key in enumerate(base) if position not in dropped)
    new: list[int] = []
    kept_last = -1
    for position, key in enumerate(side):
        if budget[key]:
            budget[key] -= 1
            kept_last = position
        else:
            new.append(position)
    from_head = dropped == set(range(len(dropped)))
    if not from_head and (not new or new[0] < kept_last):
        return None  # removed from the middle or the tail: an edit in place
    return dropped, new


def merge_lists(base: Any, ours: list[Any], theirs: list[Any]) -> tuple[Any, str | None]:
    """Event-log / rolling-window merge of two lists both sides changed (docs/merge.md, "Lists").

    The merge is base's items that neither side dropped (in base's order),
    then ours' new items, then theirs' new items that ours does not also have
    (per occurrence); trimmed from the head to the longest length seen when a
    side dropped items.
    """
    base_items = list(base) if isinstance(base, (list, tuple)) else []
    ours, theirs = list(ours), list(theirs)
    ids: dict[bytes, int] = {}
    kb, ko, kt = _item_keys(base_items, ids), _item_keys(ours, ids), _item_keys(theirs, ids)
    edits = []
    for name, keys in (("ours", ko), ("theirs", kt)):
        edit = _side_edit(kb, keys)
        if edit is None:
            # Read in order instead: base's tail, then new items (a window whose new items repeat old ones).
            window = _edit(kb, keys)
            if window is None:
                return None, f"{name} rewrote the list (removed items other than from the head)"
            edit = (set(range(window[0])), list(range(window[1], len(keys))))
        edits.append(edit)
    (drop_o, new_o), (drop_t, new_t) = edits
    pending = Counter(ko[i] for i in new_o)
    extra = []
    for i in new_t:
        if pending[kt[i]]:
            pending[kt[i]] -= 1  # ours has the same new item (appended too, or merged in earlier): keep it once
            continue
        extra.append(theirs[i])
    dropped = drop_o | drop_t
    merged = [item for i, item in enumerate(base_items) if i not in dropped] + [ours[i] for i in new_o] + extra
    if dropped:
        cap = max(len(base_items), len(ours), len(theirs))
        merged = merged[max(0, len(merged) - cap):]
    return merged, None

# --------------------------------------------------------------------------
# Kinds that need a look at the values: datetimes, timestamps, records with an identity

#: Keys whose numbers are points in time (``timestamp``, ``last_update``, ``created_at``, ``t_time``...).
_TIME_KEY = re.compile(r"(?:^|_)(?:time|timestamp|date|updated?|at|seen)$", re.IGNORECASE)
#: Smallest int read as epoch seconds under a time-like key (2001-09-09).
EPOCH_INT_MIN = 10**9
#: Keys that name a record's identity inside a list of records.
IDENTITY_KEYS = ("id", "key", "uuid", "name")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_time(key: str | None, ours: Any, theirs: Any) -> bool:
    """Whether both values are points in time: ISO 8601 text, or numbers under a time-like key."""
    if isinstance(ours, str) and isinstance(theirs, str):
        a, b = _when(ours), _when(theirs)
        return a is not None and b is not None and (a.tzinfo is None) == (b.tzinfo is None)
    # Numbers: epoch times under a time-like key (a float, or an int of at least 10**9 seconds), so that a
    # counter of the word "time" still adds up.
    return (key is not None and bool(_TIME_KEY.search(key))
            and all(type(v) is float or (type(v) is int and v >= EPOCH_INT_MIN) for v in (ours, theirs)))


def latest(ours: Any, theirs: Any) -> Any:
    """The later of two points in time (see :func:`is_time`); ours on a tie."""
    a, b = (_when(ours), _when(theirs)) if isinstance(ours, str) else (ours, theirs)
    return theirs if b > a else ours  # type: ignore[operator]


def record_identity(items: Any) -> str | None:
    """The key that identifies every item of a list of records (dicts), unique within it; None if none does."""
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in IDENTITY_KEYS:
        ids = [item.get(key, ABSENT_ID) for item in items]
        if all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids) and len(set(map(str, ids))) == len(ids):
            return key
    return None


ABSENT_ID = object()


def records_by_id(items: Any, key: str) -> dict[str, Any]:
    """A list of records as a dict keyed by their identity (as text)."""
    return {str(item[key]): item for item in items} if isinstance(items, list) else {}


def records_in_order(merged: dict[str, Any], ours: list[Any], theirs: list[Any], key: str) -> list[Any]:
    """Merged records as a list: ours' order, then theirs' new records in theirs' order."""
    order = [str(item[key]) for item in ours] + [str(item[key]) for item in theirs]
    seen: set[str] = set()
    out = []
    for ident in order:
        if ident in merged and ident not in seen:
            seen.add(ident)
            out.append(merged[ident])
    return out
