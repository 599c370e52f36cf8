"""Kinds: how one value of a live object is stored in a state, and what type it comes back as.

A :class:`Kind` has ``to_state(value, path)`` (a JSON-like value, or a numpy
array, for the core to store) and ``restore(data, path, current)`` (a new
value; ``current`` is what the target object holds there now, so a restore can
keep what the spec leaves open, such as a deque's ``maxlen``). Kinds convert on
purpose what the canonical encoder refuses: ``deque``, ``defaultdict`` (factory
from a small allow-list), ``Counter``, ``set`` (a sorted list), ``tuple``,
``datetime`` (ISO 8601 text) and numpy arrays (tensors). Nothing read from a
repository is ever imported or called: the type that comes back is the one the
kind names. Errors are :class:`~brainvcs.errors.InvalidStateError` naming the
state path. Kinds for whole objects (dataclasses, plain objects) and the
choice of a kind from a type annotation are in :mod:`.object_kinds`.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brainvcs.snapshot.canonical import encode, join_path
from brainvcs.errors import InvalidStateError, UsageError
from brainvcs.snapshot.tensors import is_array

__all__ = [
    "PLAIN", "Array", "CounterOf", "DateTime", "DefaultDictOf", "DequeOf", "DictOf", "Kind", "ListOf", "Nullable",
    "Plain", "Record", "SequenceOf", "SetOf", "TupleOf",
]

SPEC_HINT = "the adapter's spec does not fit this value: fix the spec or the object"
RESTORE_HINT = "this commit was not written with this adapter (or the spec changed since)"
#: defaultdict factories a spec may name (code chooses them; never names read from data).
DEFAULT_FACTORIES: tuple[type, ...] = (int, float, list, dict, set)


def kind_name(value: Any) -> str:
    """A value's type as messages name it (``int``, ``collections.deque``)."""
    return f"{type(value).__module__}.{type(value).__qualname__}" if type(value).__module__ != "builtins" \
        else type(value).__name__


def expect(ok: bool, path: str, what: str, value: Any, *, restoring: bool = False) -> None:
    """Refuse (InvalidStateError at ``path``) a value that is not ``what`` the kind expects."""
    if not ok:
        raise InvalidStateError(path, f"expected {what}, found {kind_name(value)}",
                                RESTORE_HINT if restoring else SPEC_HINT)


class Kind:
    """How one value is stored (``to_state``) and what it comes back as (``restore``)."""

    def to_state(self, value: Any, path: str) -> Any:
        """The JSON-like value to store for ``value`` (``path`` names it in errors)."""
        raise NotImplementedError

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A new value from stored ``data``; ``current`` is what the target holds now (or None)."""
        raise NotImplementedError


class Plain(Kind):
    """Stored as it is (dict, list, str, int, float, bool, None, numpy arrays) and returned as read."""

    def to_state(self, value: Any, path: str) -> Any:
        """``value`` unchanged: the core refuses what it cannot store, naming the path."""
        return value

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """``data`` unchanged."""
        return data


#: The default kind: plain JSON data.
PLAIN = Plain()


@dataclass(frozen=True)
class Nullable(Kind):
    """``None`` or a value of ``kind``."""

    kind: Kind

    def to_state(self, value: Any, path: str) -> Any:
        """None stays None; anything else goes through ``kind``."""
        return None if value is None else self.kind.to_state(value, path)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """None stays None; anything else goes through ``kind``."""
        return None if data is None else self.kind.restore(data, path, current)


def _items_in(value: Any, path: str, item: Kind, what: str, types: tuple[type, ...]) -> list[Any]:
    expect(isinstance(value, types), path, what, value)
    if item is PLAIN:
        return list(value)
    return [item.to_state(v, join_path(path, i)) for i, v in enumerate(value)]


def _items_out(data: Any, path: str, item: Kind, current: Any) -> list[Any]:
    expect(isinstance(data, list), path, "a list", data, restoring=True)
    if item is PLAIN:
        return list(data)
    olds = list(current) if isinstance(current, (list, tuple, deque)) else []
    return [item.restore(v, join_path(path, i), olds[i] if i < len(olds) else None) for i, v in enumerate(data)]


_SEQUENCES = (list, tuple, deque)


@dataclass(frozen=True)
class ListOf(Kind):
    """A list whose items are of ``item``."""

    item: Kind = PLAIN

    def to_state(self, value: Any, path: str) -> Any:
        """A list."""
        return _items_in(value, path, self.item, "a list", _SEQUENCES)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A list."""
        return _items_out(data, path, self.item, current)


@dataclass(frozen=True)
class TupleOf(Kind):
    """A tuple (of any length) whose items are of ``item``; stored as a list."""

    item: Kind = PLAIN

    def to_state(self, value: Any, path: str) -> Any:
        """A list."""
        return _items_in(value, path, self.item, "a tuple", _SEQUENCES)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A tuple."""
        return tuple(_items_out(data, path, self.item, current))


@dataclass(frozen=True)
class DequeOf(Kind):
    """A ``deque``; ``maxlen`` None keeps the target's own maxlen when restoring into one.

    As with any deque, restoring more items than ``maxlen`` keeps the newest.
    """

    item: Kind = PLAIN
    maxlen: int | None = None

    def to_state(self, value: Any, path: str) -> Any:
        """A list, oldest item first."""
        return _items_in(value, path, self.item, "a deque", _SEQUENCES)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A deque with the spec's maxlen, else the current deque's."""
        maxlen = self.maxlen if self.maxlen is not None else getattr(current, "maxlen", None)
        return deque(_items_out(data, path, self.item, current), maxlen=maxlen)


@dataclass(frozen=True)
class SequenceOf(Kind):
    """A list or deque, restored as the type the target holds now (a deque keeps its maxlen)."""

    item: Kind = PLAIN

    def to_state(self, value: Any, path: str) -> Any:
        """A list."""
        return _items_in(value, path, self.item, "a list or deque", _SEQUENCES)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A deque like ``current`` if it is one, else a list."""
        items = _items_out(data, path, self.item, current)
        if isinstance(current, deque):
            return deque(items, maxlen=current.maxlen)
        return items


def _sorted_items(items: list[Any]) -> list[Any]:
    """A set's items in a fixed order: natural for all-text or all-number sets, else by canonical bytes."""
    if all(type(x) is str for x in items) or all(type(x) in (int, float) for x in items):
        return sorted(items)
    return sorted(items, key=lambda x: encode(x))


@dataclass(frozen=True)
class SetOf(Kind):
    """A ``set`` (``frozen``: ``frozenset``); stored as a sorted list so equal sets store equal bytes."""

    item: Kind = PLAIN
    frozen: bool = False

    def to_state(self, value: Any, path: str) -> Any:
        """A sorted list."""
        expect(isinstance(value, (set, frozenset)), path, "a set", value)
        return _sorted_items([self.item.to_state(v, path) for v in value])

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A set (or frozenset)."""
        items = _items_out(data, path, self.item, None)
        try:
            return frozenset(items) if self.frozen else set(items)
        except TypeError:
            raise InvalidStateError(path, "a set item is not hashable", RESTORE_HINT) from None


def _key_out(key: Any, key_type: type, path: str) -> str:
    if key_type is int:
        expect(type(key) is int, join_path(path, repr(key)), "an integer key", key)
        return str(key)
    expect(type(key) is str, join_path(path, repr(key)), "a string key", key)
    return str(key)


def _key_in(key: str, key_type: type, path: str) -> Any:
    if key_type is int:
        try:
            number = int(key)
        except ValueError:
            number = None
        if number is None or str(number) != key:
            raise InvalidStateError(join_path(path, key), "key is not an integer written canonically", RESTORE_HINT)
        return number
    return key


def _check_key_type(key: type) -> None:
    if key not in (str, int):
        raise UsageError(f"dict keys may be str or int in a spec, not {key!r}")


def _map_in(value: Any, path: str, kind: Kind, key: type, what: str) -> dict[str, Any]:
    expect(isinstance(value, Mapping), path, what, value)
    return {_key_out(k, key, path): kind.to_state(v, join_path(path, str(k))) for k, v in value.items()}


def _map_out(data: Any, path: str, kind: Kind, key: type, current: Any) -> dict[Any, Any]:
    expect(isinstance(data, dict), path, "an object", data, restoring=True)
    olds = current if isinstance(current, Mapping) else {}
    out: dict[Any, Any] = {}
    for k, v in data.items():
        real = _key_in(k, key, path)
        out[real] = kind.restore(v, join_path(path, k), olds.get(real))
    return out


@dataclass(frozen=True)
class DictOf(Kind):
    """A dict whose values are of ``value``; ``key`` is str or int (int keys are stored as text)."""

    value: Kind = PLAIN
    key: type = str

    def __post_init__(self) -> None:
        _check_key_type(self.key)

    def to_state(self, value: Any, path: str) -> Any:
        """A dict with string keys."""
        return _map_in(value, path, self.value, self.key, "a mapping")

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A dict."""
        return _map_out(data, path, self.value, self.key, current)


@dataclass(frozen=True)
class DefaultDictOf(Kind):
    """A ``defaultdict(factory)``; ``factory`` is one of int, float, list, dict, set.

    ``value`` defaults to :class:`SetOf` for ``set`` and to plain data otherwise.
    """

    factory: type
    value: Kind | None = None
    key: type = str

    def __post_init__(self) -> None:
        if self.factory not in DEFAULT_FACTORIES:
            raise UsageError(f"defaultdict factory {self.factory!r} is not allowed",
                             "use one of int, float, list, dict, set")
        _check_key_type(self.key)

    @property
    def value_kind(self) -> Kind:
        """The kind of the values."""
        if self.value is not None:
            return self.value
        return SetOf() if self.factory is set else PLAIN

    def to_state(self, value: Any, path: str) -> Any:
        """A dict with string keys."""
        return _map_in(value, path, self.value_kind, self.key, "a defaultdict")

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A defaultdict with the spec's factory."""
        return defaultdict(self.factory, _map_out(data, path, self.value_kind, self.key, current))


@dataclass(frozen=True)
class CounterOf(Kind):
    """A ``collections.Counter`` (keys str or int)."""

    key: type = str

    def __post_init__(self) -> None:
        _check_key_type(self.key)

    def to_state(self, value: Any, path: str) -> Any:
        """A dict of counts."""
        return _map_in(value, path, PLAIN, self.key, "a Counter")

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A Counter."""
        return Counter(_map_out(data, path, PLAIN, self.key, None))


@dataclass(frozen=True)
class Record(Kind):
    """A dict with some known keys of given kinds; other keys are of ``rest`` (plain by default)."""

    fields: Mapping[str, Kind] = field(default_factory=dict)
    rest: Kind = PLAIN

    def to_state(self, value: Any, path: str) -> Any:
        """A dict."""
        expect(isinstance(value, Mapping), path, "a mapping", value)
        out: dict[Any, Any] = {}
        for k, v in value.items():
            out[k] = self.fields.get(k, self.rest).to_state(v, join_path(path, str(k)))
        return out

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A dict."""
        expect(isinstance(data, dict), path, "an object", data, restoring=True)
        olds = current if isinstance(current, Mapping) else {}
        return {k: self.fields.get(k, self.rest).restore(v, join_path(path, k), olds.get(k)) for k, v in data.items()}


@dataclass(frozen=True)
class DateTime(Kind):
    """A ``datetime`` stored as ISO 8601 text (offset kept); epoch numbers pass through as numbers."""

    def to_state(self, value: Any, path: str) -> Any:
        """ISO text, or the number itself."""
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        expect(type(value) in (int, float), path, "a datetime or an epoch number", value)
        return value

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A datetime (or the number)."""
        if type(data) in (int, float):
            return data
        expect(isinstance(data, str), path, "an ISO 8601 text or a number", data, restoring=True)
        try:
            return _dt.datetime.fromisoformat(data)
        except ValueError:
            raise InvalidStateError(path, f"{data!r} is not an ISO 8601 timestamp", RESTORE_HINT) from None


@dataclass(frozen=True)
class Array(Kind):
    """A numpy array (stored by the core as a tensor: exact dtype, shape and bytes)."""

    dtype: str | None = None

    def _check(self, value: Any, path: str, restoring: bool) -> Any:
        expect(is_array(value), path, "a numpy array", value, restoring=restoring)
        if self.dtype is not None:
            import numpy as np

            if value.dtype != np.dtype(self.dtype):
                raise InvalidStateError(path, f"expected dtype {self.dtype}, found {value.dtype}",
                                        RESTORE_HINT if restoring else SPEC_HINT)
        return value

    def to_state(self, value: Any, path: str) -> Any:
        """The array itself."""
        return self._check(value, path, False)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """The array read back."""
        return self._check(data, path, True)
