"""Kinds for whole objects: dataclasses and plain objects (their fields as dicts), and a kind from a type annotation.

The object that comes back is built by the class named in code (the spec),
never by a name read from a repository.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import typing
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union

from brainvcs.errors import InvalidStateError, UsageError
from brainvcs.snapshot.canonical import join_path

from .kinds import (PLAIN, Array, DateTime, DequeOf, DictOf, Kind, ListOf, Nullable,
                    SetOf, TupleOf, expect, RESTORE_HINT, SPEC_HINT)

__all__ = ["Dataclass", "Object", "kind_for"]


def _fields_in(obj: Any, names: Mapping[str, Kind], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in names.items():
        try:
            value = getattr(obj, name)
        except AttributeError:
            raise InvalidStateError(join_path(path, name), f"the {type(obj).__name__} has no attribute {name!r}",
                                    SPEC_HINT) from None
        out[name] = kind.to_state(value, join_path(path, name))
    return out


def _fields_out(data: Any, path: str, kinds: Mapping[str, Kind], current: Any,
                optional: Iterable[str] = ()) -> dict[str, Any]:
    expect(isinstance(data, dict), path, "an object", data, restoring=True)
    unknown = sorted(set(data) - set(kinds))
    if unknown:
        raise InvalidStateError(join_path(path, unknown[0]), "is not a field of the spec's class", RESTORE_HINT)
    missing = sorted(set(kinds) - set(data) - set(optional))
    if missing:
        raise InvalidStateError(join_path(path, missing[0]), "is missing", RESTORE_HINT)
    return {name: kinds[name].restore(data[name], join_path(path, name), getattr(current, name, None))
            for name in kinds if name in data}


class Dataclass(Kind):
    """An instance of the dataclass ``cls``, stored as a dict of its fields, rebuilt by ``cls``.

    Field kinds come from ``fields`` or else from the class's type hints
    (:func:`kind_for`): ``datetime``, ``tuple[...]``, ``set[...]``, nested
    dataclasses and so on come back with their types.
    """

    def __init__(self, cls: type, fields: Mapping[str, Kind] | None = None) -> None:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise UsageError(f"Dataclass() needs a dataclass, not {cls!r}")
        self.cls = cls
        self._given = dict(fields or {})
        self._kinds: dict[str, Kind] | None = None

    def __repr__(self) -> str:
        return f"Dataclass({self.cls.__qualname__})"

    @property
    def kinds(self) -> dict[str, Kind]:
        """Field name -> kind (computed once: type hints may name classes defined later)."""
        if self._kinds is None:
            try:
                hints = typing.get_type_hints(self.cls)
            except Exception:  # unresolvable forward references: fall back to plain data
                hints = {}
            self._kinds = {f.name: self._given.get(f.name) or kind_for(hints.get(f.name, Any))
                           for f in dataclasses.fields(self.cls)}
        return self._kinds

    def to_state(self, value: Any, path: str) -> Any:
        """A dict of the fields."""
        expect(isinstance(value, self.cls), path, f"a {self.cls.__qualname__}", value)
        return _fields_in(value, self.kinds, path)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A new instance of ``cls``."""
        defaulted = [f.name for f in dataclasses.fields(self.cls)
                     if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
        values = _fields_out(data, path, self.kinds, None, defaulted)
        init = {f.name for f in dataclasses.fields(self.cls) if f.init}
        try:
            obj = self.cls(**{k: v for k, v in values.items() if k in init})
        except (TypeError, ValueError) as exc:
            raise InvalidStateError(path, f"cannot rebuild {self.cls.__qualname__}: {exc}", RESTORE_HINT) from None
        for name, value in values.items():
            if name not in init:
                object.__setattr__(obj, name, value)  # works for frozen dataclasses too
        return obj


class Object(Kind):
    """A plain object whose listed attributes are stored as a dict.

    Restoring: when the target holds an object there already (of ``cls``, if
    given), a shallow copy of it gets the stored attributes, so attributes the
    spec does not list survive; otherwise ``init(values)`` builds one, or
    ``cls`` is instantiated without calling ``__init__`` and every listed
    attribute is set. With ``cls`` None, only existing objects can be restored.
    """

    def __init__(self, cls: type | None = None, fields: Mapping[str, Kind] | Sequence[str] = (),
                 init: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.cls = cls
        self.fields: dict[str, Kind] = dict(fields) if isinstance(fields, Mapping) \
            else {name: PLAIN for name in fields}
        self.init = init

    def __repr__(self) -> str:
        return f"Object({getattr(self.cls, '__qualname__', None)}, {list(self.fields)})"

    def to_state(self, value: Any, path: str) -> Any:
        """A dict of the listed attributes."""
        if self.cls is not None:
            expect(isinstance(value, self.cls), path, f"a {self.cls.__qualname__}", value)
        return _fields_in(value, self.fields, path)

    def restore(self, data: Any, path: str, current: Any = None) -> Any:
        """A copy of ``current`` with the stored attributes, or a new object."""
        usable = current is not None and (self.cls is None or isinstance(current, self.cls))
        values = _fields_out(data, path, self.fields, current if usable else None)
        if usable:
            obj = copy.copy(current)
        elif self.init is not None:
            return self.init(values)
        elif self.cls is not None:
            cls: Any = self.cls
            obj = cls.__new__(cls)
        else:
            raise InvalidStateError(path, "there is no object here to restore into, and the spec names no class",
                                    "give the spec's Object() a class (e.g. neuron_class=... for the seed brain)")
        for name, value in values.items():
            setattr(obj, name, value)
        return obj


def kind_for(annotation: Any) -> Kind:
    """The kind a type annotation implies (``Any`` and plain JSON types: :data:`PLAIN`)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType"):
        others = [a for a in args if a is not type(None)]
        if len(others) == 1 and len(args) == 2:
            inner = kind_for(others[0])
            return PLAIN if inner is PLAIN else Nullable(inner)
        return PLAIN
    target = origin or annotation
    item = kind_for(args[0]) if args and args[0] is not Ellipsis else PLAIN
    if target is _dt.datetime:
        return DateTime()
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        return Dataclass(target)
    if target is tuple:
        return TupleOf(item)
    if target in (set, frozenset):
        return SetOf(item, frozen=target is frozenset)
    if target is deque:
        return DequeOf(item)
    if target is list:
        return PLAIN if item is PLAIN else ListOf(item)
    if target in (dict, Mapping) and len(args) == 2:
        value = kind_for(args[1])
        key = args[0] if args[0] in (str, int) else str
        return PLAIN if value is PLAIN and key is str else DictOf(value, key)
    if isinstance(target, type) and target.__module__ == "numpy" and target.__name__ == "ndarray":
        return Array()
    return PLAIN
