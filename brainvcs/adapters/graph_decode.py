"""A brainvcs state with an ``@types`` module -> the live object graph it was made from.

The inverse of :mod:`.graph_encode`. Classes come only from a
:class:`~.trust.TypeResolver` (never an import); subtrees the type table says
nothing about are used as decoded, without a per-value walk. Objects are made
without calling ``__init__`` (as pickle does) and registered before their
contents are decoded, so cycles and back-references come back as the same
objects. Nothing is assigned to the object restored ``into`` until every
module has decoded.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import decimal
import enum
import random
import struct
from collections.abc import Callable
from typing import Any

from ..errors import CorruptObjectError
from ..snapshot.canonical import join_path
from .graph_encode import ROOT_MODULE, TYPES_MODULE
from ..snapshot.orders import expand_orders
from .graph_records import child_paths, keys_from_record, table_ancestors
from .graph_objects import FreshValues, apply_state, excluded, new_instance, set_attrs, slot_names, transplant
from .trust import TypeResolver

__all__ = ["GraphDecoder", "decode_graph"]

#: Maps with fewer children are rebuilt child by child (the set checks of the bulk loop would cost more).
BULK_MIN = 16

_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_DICT_KINDS: dict[str, Callable[[], dict[Any, Any]]] = {
    "dict": dict, "OrderedDict": collections.OrderedDict, "Counter": collections.Counter}


def _corrupt(where: str, problem: str) -> CorruptObjectError:
    return CorruptObjectError(f"{where or 'the brain'}: {problem}")


class GraphDecoder:
    """One checkout's rebuild of an object graph (see the module docstring)."""

    def __init__(self, tables: dict[str, Any], resolver: TypeResolver, version: int = 1) -> None:
        self.tables = tables
        self.version = version  # 2: order records may be {"as": path} references
        self.resolver = resolver
        self.objects: dict[tuple[str, str], Any] = {}
        self.fresh = FreshValues()
        self.module = ROOT_MODULE
        self.at: dict[str, Any] = {}
        self.order: dict[str, Any] = {}
        self.classes: dict[str, Any] = {}
        self.shared: set[str] = set()
        self.ancestors: set[str] = set()

    def set_module(self, name: str) -> None:
        """Decode values of module ``name`` next (loads and checks its type table)."""
        table = self.tables.get(name, {})
        if not isinstance(table, dict):
            raise _corrupt(name, "type table is not an object")
        self.module = name
        self.at = _typed(table.get("at", {}), dict, name)
        self.order = _typed(table.get("order", {}), dict, name)
        try:
            self.order = expand_orders(self.order) if self.version == 2 else self.order
        except ValueError as exc:
            raise _corrupt(name, str(exc)) from None
        self.classes = _typed(table.get("classes", {}), dict, name)
        self.shared = set(_typed(table.get("shared", []), list, name))
        paths = [*self.at, *self.order, *self.shared]
        if not all(isinstance(path, str) for path in paths):
            raise _corrupt(name, "type table path is not text")
        try:
            self.ancestors = table_ancestors(paths)
        except ValueError as exc:
            raise _corrupt(name, str(exc)) from None

    def where(self, path: str) -> str:
        """A path for messages: module and path inside it."""
        if not path:
            return self.module
        return self.module + (path if path.startswith("[") else "." + path)

    # The walk -----------------------------------------------------------------------------------------
    def node(self, stored: Any, path: str) -> Any:
        """The live value for ``stored`` at ``path`` of the current module."""
        tags = self.at.get(path)
        if tags is None:
            if path not in self.ancestors and path not in self.order and path not in self.shared:
                return stored
            value = self._plain(stored, path)
        else:
            if isinstance(tags, str):
                tags = [tags]
            elif not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
                raise _corrupt(self.where(path), f"malformed type entry {tags!r}")
            value = self._tagged(stored, path, tags, 0)
        if path in self.shared:  # containers registered themselves before their contents; this adds arrays
            self._register(path, value)
        return value

    def _register(self, path: str, obj: Any) -> None:
        if path in self.shared:  # (the encoder lists every path a ref points to; nothing else is looked up)
            self.objects.setdefault((self.module, path), obj)

    def _children(self, stored: Any, path: str) -> bool:
        return path in self.ancestors

    def _plain(self, stored: Any, path: str) -> Any:
        if type(stored) is dict:
            return self._fill_map({}, stored, path, None)
        if type(stored) is list:
            out: list[Any] = []
            self._register(path, out)
            out.extend(self._items(stored, path))
            return out
        if path in self.order:
            raise _corrupt(self.where(path), "a key order is recorded for a value that is not a map")
        return stored

    def _items(self, stored: list[Any], path: str) -> list[Any]:
        if not self._children(stored, path):
            return stored
        return [self.node(x, join_path(path, i)) for i, x in enumerate(stored)]

    def _keys(self, stored: dict[str, Any], path: str, cls: str | None) -> list[str]:
        keys = self.order.get(path)
        if keys is None and cls is not None:
            keys = self.classes.get(cls)
        if keys is None:
            return list(stored)
        if isinstance(keys, str):
            try:
                return keys_from_record(keys, stored)
            except ValueError as exc:
                raise _corrupt(self.where(path), str(exc)) from None
        if (not isinstance(keys, list) or len(keys) != len(stored) or not set(map(type, keys)) <= {str}
                or set(keys) != stored.keys()):
            raise _corrupt(self.where(path), "recorded key order does not match the stored keys")
        return keys

    def _fill_map(self, out: Any, stored: Any, path: str, convert: Callable[[str], Any] | None,
                  cls: str | None = None) -> Any:
        if type(stored) is not dict:
            raise _corrupt(self.where(path), f"expected a stored object, found {type(stored).__name__}")
        self._register(path, out)
        keys = self._keys(stored, path, cls)
        if not self._children(stored, path):
            if type(out) is dict:  # (a Counter's update would count the pairs; set items one by one there)
                out.update(zip(map(convert, keys) if convert else keys, map(stored.__getitem__, keys)))
            else:
                for k in keys:
                    out[convert(k) if convert else k] = stored[k]
            return out
        paths = child_paths(path, keys)
        if (len(paths) >= BULK_MIN and self.at.keys().isdisjoint(paths) and self.ancestors.isdisjoint(paths)
                and self.shared.isdisjoint(paths)):
            # Children with nothing typed at or below them (a vocabulary of records): a plain value as
            # stored, a record with an order entry rebuilt in that order. What node() does, without its calls.
            for k, child, record in zip(keys, paths, map(self.order.get, paths)):
                value = stored[k]
                if record is not None:
                    if type(value) is not dict:
                        raise _corrupt(self.where(child), "a key order is recorded for a value that is not a map")
                    order = self._keys(value, child, None)
                    value = dict(zip(order, map(value.__getitem__, order)))
                out[convert(k) if convert else k] = value
            return out
        for k, child in zip(keys, paths):
            out[convert(k) if convert else k] = self.node(stored[k], child)
        return out

    def _tagged(self, stored: Any, path: str, tags: list[str], i: int) -> Any:
        if i == len(tags):
            return self._plain(stored, path)
        kind, _, arg = tags[i].partition(" ")
        where = self.where(path)
        try:
            handler = _HANDLERS[kind]
        except KeyError:
            raise _corrupt(where, f"unknown stored type {tags[i]!r}") from None
        try:
            return handler(self, stored, path, arg, tags, i)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
                decimal.InvalidOperation, binascii.Error, struct.error) as exc:
            raise _corrupt(where, f"stored {kind} is malformed ({type(exc).__name__}: {exc})") from None

    def inner(self, stored: Any, path: str, tags: list[str], i: int) -> Any:
        """Decode what the tags after ``tags[i]`` describe at the same path."""
        return self._tagged(stored, path, tags, i + 1)

    def _dict(self, stored: Any, path: str, arg: str, tags: list[str], i: int, kind: str) -> Any:
        words = arg.split(" ") if arg else []
        if kind == "defaultdict":
            factory_name = words.pop(0)
            factory = None if factory_name == "none" else self.resolver.factory(factory_name, self.where(path))
            out: Any = collections.defaultdict(factory)
        else:
            out = _DICT_KINDS[kind]()
        mode = words.pop(0) if words else ""
        if words or mode not in ("", "int", "items") or i + 1 != len(tags):
            raise _corrupt(self.where(path), f"malformed map type {tags[i]!r}")
        if mode == "items":
            if type(stored) is not list:
                raise _corrupt(self.where(path), "stored map items are not a list")
            self._register(path, out)
            for n, pair in enumerate(stored):
                if type(pair) is not list or len(pair) != 2:
                    raise _corrupt(self.where(path), "stored map item is not a [key, value] pair")
                item = join_path(path, n)
                key = self.node(pair[0], join_path(item, 0))
                out[key] = self.node(pair[1], join_path(item, 1))
            return out
        return self._fill_map(out, stored, path, _int_key if mode == "int" else None)

    def _object(self, stored: Any, path: str, arg: str, tags: list[str], i: int, protocol: bool) -> Any:
        cls = self.resolver.resolve(arg, self.where(path))
        obj = new_instance(cls, self.where(path))
        self._register(path, obj)
        if protocol:
            if i + 1 == len(tags) and type(stored) is dict:
                state = self._fill_map({}, stored, path, None, arg)
            else:
                state = self.inner(stored, path, tags, i)
            apply_state(obj, state, self.where(path))
            return obj
        attrs = self._fill_map({}, stored, path, None, arg) if i + 1 == len(tags) else None
        if attrs is None:
            raise _corrupt(self.where(path), "an object's attributes carry a type of their own")
        skip = excluded(cls)
        if skip:
            attrs.update({k: v for k, v in self.fresh.values(cls, skip, self.where(path)).items()
                          if k not in attrs})
        set_attrs(obj, attrs, frozenset(slot_names(cls)))
        return obj


def _int_key(text: str) -> int:
    value = int(text)
    if str(value) != text:
        raise ValueError(f"integer key {text!r} is not in canonical form")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise _corrupt(where, f"type table entry is not a {kind.__name__}")
    return value


def _seq(d: GraphDecoder, stored: Any, path: str) -> list[Any]:
    if type(stored) is not list:
        raise TypeError(f"expected a list, found {type(stored).__name__}")
    return d._items(stored, path)


def _ref(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    if type(stored) is not list or len(stored) != 2 or not all(isinstance(s, str) for s in stored):
        raise TypeError("a reference is [module, path]")
    try:
        return d.objects[(stored[0], stored[1])]
    except KeyError:
        raise _corrupt(d.where(path), f"refers to {stored!r}, which is not stored before it") from None


def _deque(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    out: collections.deque[Any] = collections.deque(maxlen=int(arg) if arg else None)
    d._register(path, out)
    out.extend(_seq(d, stored, path))
    return out


def _set(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    if tags[i] == "frozenset":
        return frozenset(_seq(d, stored, path))
    out: set[Any] = set()
    d._register(path, out)
    out.update(_seq(d, stored, path))
    return out


def _namedtuple(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    cls = d.resolver.resolve(arg, d.where(path))
    if not (issubclass(cls, tuple) and hasattr(cls, "_make")):
        raise TypeError(f"{arg} is not a namedtuple class")
    return cls._make(_seq(d, stored, path))


def _bytes(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    raw = base64.b64decode(stored, validate=True)
    if tags[i] == "bytearray":
        out = bytearray(raw)
        d._register(path, out)
        return out
    return raw


def _when(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    kind = tags[i].split(" ")[0]
    if not isinstance(stored, str):
        raise TypeError("a date or time is stored as text")
    parsers: dict[str, Any] = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}
    value = parsers[kind].fromisoformat(stored)
    return value.replace(fold=1) if arg == "fold" else value


def _timedelta(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    days, seconds, micro = stored
    if not all(type(x) is int for x in (days, seconds, micro)):
        raise TypeError("a timedelta is three integers")
    return dt.timedelta(days=days, seconds=seconds, microseconds=micro)


def _float(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    if stored in _FLOATS:
        return _FLOATS[stored]
    if isinstance(stored, str) and stored.startswith("nan:") and len(stored) == 20:
        return struct.unpack("<d", struct.pack("<Q", int(stored[4:], 16)))[0]
    raise ValueError(f"{stored!r} is not a stored float")


def _int(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    if not isinstance(stored, str):
        raise TypeError("a big integer is stored as text")
    return _int_key(stored)


def _complex(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    real, imag = _seq(d, stored, path)
    return complex(real, imag)


def _random(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    version, internal, gauss = _seq(d, stored, path)
    out = random.Random()
    out.setstate((version, tuple(internal), gauss))
    d._register(path, out)
    return out


def _enum(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    cls = d.resolver.resolve(arg, d.where(path))
    if not issubclass(cls, enum.Enum) or not isinstance(stored, str):
        raise TypeError(f"{arg} member {stored!r}")
    return cls[stored]


def _numpy(d: GraphDecoder, stored: Any, path: str, arg: str, tags: list[str], i: int) -> Any:
    from .graph_numpy import decode_numpy

    out = decode_numpy(d, arg, d.inner(stored, path, tags, i), d.where(path))
    d._register(path, out)
    return out


Handler = Callable[[GraphDecoder, Any, str, str, list[str], int], Any]
_HANDLERS: dict[str, Handler] = {
    "ref": _ref, "deque": _deque, "set": _set, "frozenset": _set, "namedtuple": _namedtuple,
    "bytes": _bytes, "bytearray": _bytes, "datetime": _when, "date": _when, "time": _when,
    "timedelta": _timedelta, "float": _float, "int": _int, "complex": _complex, "random": _random,
    "enum": _enum, "numpy": _numpy,
    "tuple": lambda d, stored, path, arg, tags, i: tuple(_seq(d, stored, path)),
    "decimal": lambda d, stored, path, arg, tags, i: decimal.Decimal(_text(stored)),
    "obj": lambda d, stored, path, arg, tags, i: d._object(stored, path, arg, tags, i, False),
    "state": lambda d, stored, path, arg, tags, i: d._object(stored, path, arg, tags, i, True),
    **{kind: (lambda kind: lambda d, stored, path, arg, tags, i: d._dict(stored, path, arg, tags, i, kind))(kind)
       for kind in ("dict", "OrderedDict", "Counter", "defaultdict")},
}


def decode_graph(state: dict[str, Any], root_class: type, *, into: Any = None,
                 resolver: TypeResolver | None = None) -> Any:
    """The brain ``state`` holds, as a new ``root_class`` made without ``__init__``, or restored ``into``."""
    types = state.get(TYPES_MODULE)
    if not isinstance(types, dict) or not isinstance(types.get("brain"), dict) \
            or not isinstance(types.get("modules", {}), dict):
        raise CorruptObjectError(f"the {TYPES_MODULE} module is malformed")
    if types.get("version") not in (1, 2):
        raise CorruptObjectError(f"the {TYPES_MODULE} module has version {types.get('version')!r}; "
                                 "this brainvcs reads versions 1 and 2", "upgrade brainvcs")
    brain = types["brain"]
    names = sorted(m for m in state if m != TYPES_MODULE)
    order = brain.get("order", names)
    if not isinstance(order, list) or sorted(order) != names:
        raise CorruptObjectError(f"the {TYPES_MODULE} module's module order does not match the modules")
    decoder = GraphDecoder(types.get("modules", {}), resolver or TypeResolver([root_class]), types["version"])
    root = into if into is not None else new_instance(root_class, "")
    decoder.objects[(ROOT_MODULE, "")] = root
    attrs: dict[str, Any] = {}
    for name in order:
        decoder.set_module(name)
        attrs[name] = decoder.node(state[name], "")
    if brain.get("kind") == "state":
        if into is None:
            apply_state(root, attrs, "")
            return root
        # The class's __setstate__ expects a blank object (as pickle gives it): run it on one, then move
        # the result into ``into``, whose identity the graph's back-references already hold.
        blank = new_instance(root_class, "")
        apply_state(blank, attrs, "")
        transplant(blank, into, root_class)
        return into
    skip = excluded(root_class)
    if into is not None:
        own = getattr(into, "__dict__", None)
        if isinstance(own, dict):
            kept = {k: v for k, v in own.items() if k in skip}
            own.clear()
            own.update(kept)
    elif skip:
        attrs.update({k: v for k, v in decoder.fresh.values(root_class, skip, "").items() if k not in attrs})
    set_attrs(root, attrs, frozenset(slot_names(root_class)))
    return root
