"""A live object graph -> a brainvcs state plus a per-module type table (docs/format.md §7).

The root object's attributes become modules. Each value is stored as the
plain JSON value closest to it (a tuple as a list, a ``datetime`` as ISO text,
an object as an object of its attributes, a numpy array as a tensor), and the
module's *type table* (in the ``@types`` module) records, per path, what the
value was: ``"tuple"``, ``"datetime"``, ``"obj pkg.mod:Neuron"``... A path that
holds plain JSON of the obvious type has no entry, so a large dict of words to
counts costs nothing extra. The table also records every dict's key order
where it is not sorted, and the paths other places refer to (``"ref"``
entries): the graph comes back with its insertion orders, shared objects and
cycles.

Nothing here calls ``__reduce__``; a class's ``__getstate__`` is honoured.
Values that are not state (locks, threads, files, loggers, functions...) are
refused with the path and how to exclude them.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import decimal
import enum
import random
from collections.abc import Callable
from typing import Any

from ..errors import InvalidStateError
from ..snapshot.canonical import INT_MAX, INT_MIN, MAX_DEPTH
from ..snapshot.orders import share_orders
from ..snapshot.names import TYPES_MODULE  # the module of the type tables (no attribute name starts with @)
from .graph_records import PERMUTATION_MAX_KEYS, Path, float_text, order_record, plain, rel_path
from .graph_bulk import BULK_MIN, Group, plain_children, plain_objects, plain_rows
from .graph_orders import OrderMemo, memo_for
from .graph_objects import NOT_STATE, NotStateError, heap_class, object_parts, plain_class
from .trust import class_name

__all__ = ["ROOT_MODULE", "TYPES_MODULE", "GraphEncoder", "encode_graph"]

#: The module name refs use for the root object.
ROOT_MODULE = ""
#: Deepest object nesting stored (the canonical format allows MAX_DEPTH levels; keep room for the layout).
MAX_GRAPH_DEPTH = MAX_DEPTH - 8

class GraphEncoder:
    """One commit's walk over a live object graph (see the module docstring)."""

    def __init__(self, orders: OrderMemo | None = None, *, fresh: bool = False) -> None:
        #: Order records of maps of records, remembered between commits of one brain (:mod:`.graph_orders`).
        self.orders = orders if orders is not None else OrderMemo()
        #: Copy the brain's plain containers and arrays, so the state shares none with it (see encode_graph).
        self.fresh = fresh
        self.memo: dict[int, Any] = {}  # id -> (module, path) where first met, or the Group of a bulk map
        self.keep: list[Any] = []  # objects memoised by id stay alive for the whole walk
        self.stack: set[int] = set()  # immutable containers being encoded (a tuple that holds itself)
        self.module = ROOT_MODULE
        self.tables: dict[str, dict[str, Any]] = {}
        self.table: dict[str, Any] = {}
        self.owner = "its class"
        self.class_keys: dict[tuple[str, str], list[str]] = {}
        self._dispatch: dict[type, Callable[[Any, Path, int], Any]] = {
            tuple: self._tuple, set: self._set, frozenset: self._set, collections.deque: self._deque,
            collections.defaultdict: self._dictlike, collections.OrderedDict: self._dictlike,
            collections.Counter: self._dictlike, bytes: self._bytes, bytearray: self._bytes,
            dt.datetime: self._datetime, dt.date: self._date, dt.time: self._time, dt.timedelta: self._timedelta,
            decimal.Decimal: self._decimal, complex: self._complex, random.Random: self._random,
        }

    def where(self, path: Path) -> str:
        """The full dotted path of ``path`` in the current module, for messages."""
        rel = rel_path(path)
        if not rel:
            return self.module
        return self.module + (rel if rel.startswith("[") else "." + rel)

    # Tables -------------------------------------------------------------------------------------------
    def tag(self, path: Path, tag: str) -> None:
        """Record ``tag`` for the value at ``path`` (outer tags first when several describe one value)."""
        at = self.table.setdefault("at", {})
        key = rel_path(path)
        have = at.get(key)
        at[key] = tag if have is None else ([have, tag] if isinstance(have, str) else [*have, tag])

    def _order(self, path: Path, keys: list[str], cls: str | None = None) -> None:
        """Record a map's key order where the decoder could not infer it.

        Objects of one class usually share an attribute order: the first
        instance's order is recorded once per class (``classes``) and an
        instance records its own only where it differs.
        """
        recorded = False
        if cls is not None:
            first = self.class_keys.setdefault((self.module, cls), keys)
            recorded = cls in self.table.get("classes", {})
            if first is keys:
                if keys != sorted(keys):
                    self.table.setdefault("classes", {})[cls] = keys
                return
            if keys == first:
                return
        record = order_record(keys)
        if record is None and recorded:  # sorted, but the class order the decoder would use is not
            record = " ".join(map(str, range(len(keys)))) if len(keys) <= PERMUTATION_MAX_KEYS else keys
        if record is not None:
            self.table.setdefault("order", {})[rel_path(path)] = record

    def _seen(self, value: Any, path: Path) -> bool:
        """Memoise a mutable value; True (and a ``ref`` recorded) if it was met before."""
        first = self.memo.get(id(value))
        if first is None:
            self.memo[id(value)] = (self.module, path)
            self.keep.append(value)
            return False
        module, target = self._first(value)
        target_text = rel_path(target)
        if module != ROOT_MODULE:
            self.tables.setdefault(module, {}).setdefault("shared", set()).add(target_text)
        self.tag(path, "ref")
        return True

    def _first(self, value: Any) -> tuple[str, Path]:
        """Where ``value`` was first met: ``(module, path)``."""
        first = self.memo[id(value)]
        if type(first) is Group:
            first = self.memo[id(value)] = first.locate(id(value))
        module, path = first
        return module, path

    def _ref_value(self, value: Any) -> list[str]:
        module, target = self._first(value)
        return [module, rel_path(target)]

    # The walk -----------------------------------------------------------------------------------------
    def value(self, v: Any, path: Path, depth: int) -> Any:
        """The stored form of ``v`` (its tags recorded in the current module's table)."""
        t = type(v)
        if t is str or t is bool or v is None:
            return v
        if t is int:
            if INT_MIN <= v <= INT_MAX:
                return v
            self.tag(path, "int")
            return str(v)
        if t is float:
            if v - v == 0.0:
                return v
            self.tag(path, "float")
            return float_text(v)
        if depth > MAX_GRAPH_DEPTH:
            raise InvalidStateError(self.where(path), f"nested deeper than {MAX_GRAPH_DEPTH} levels",
                                    "store long chains (linked lists) as lists")
        if t is dict:
            return self._dict(v, path, depth)
        if t is list:
            return self._list(v, path, depth)
        handler = self._dispatch.get(t)
        if handler is not None:
            return handler(v, path, depth)
        return self._other(v, t, path, depth)

    def _dict(self, v: dict[Any, Any], path: Path, depth: int, kind: str = "dict", cls: str | None = None) -> Any:
        if self._seen(v, path):
            return self._ref_value(v)
        keys = list(v)
        key_types = set(map(type, keys))
        if key_types <= {str}:
            if kind != "dict":
                self.tag(path, kind)
            self._order(path, keys, cls)
            if plain(v.values()):
                return v if type(v) is dict and not self.fresh else dict(v)
            if len(keys) >= BULK_MIN and depth + 2 <= MAX_GRAPH_DEPTH:  # (children one level down, attributes two)
                records = plain_children(self, v, path)
                if records is None:
                    records = plain_objects(self, v, path, depth)
                if records is not None:
                    return records
            return {k: self.value(x, (path, k), depth + 1) for k, x in v.items()}
        if key_types == {int} and INT_MIN <= min(keys) and max(keys) <= INT_MAX:
            self.tag(path, f"{kind} int")
            texts = [str(k) for k in keys]
            self._order(path, texts)
            if plain(v.values()):
                return dict(zip(texts, v.values()))
            return {s: self.value(x, (path, s), depth + 1) for s, x in zip(texts, v.values())}
        self.tag(path, f"{kind} items")
        return [[self.value(k, ((path, i), 0), depth + 2), self.value(x, ((path, i), 1), depth + 2)]
                for i, (k, x) in enumerate(v.items())]

    def _dictlike(self, v: Any, path: Path, depth: int) -> Any:
        t = type(v)
        if t is collections.defaultdict:
            factory = v.default_factory
            if factory is None:
                kind = "defaultdict none"
            elif isinstance(factory, type):
                kind = f"defaultdict {class_name(factory)}"
            else:
                raise InvalidStateError(self.where(path), f"a defaultdict whose factory is {factory!r} cannot be "
                                        "stored (only a class can be named on checkout)",
                                        "use a class as the factory (int, list, dict, a class of yours)")
        else:
            kind = t.__name__  # OrderedDict, Counter
        return self._dict(v, path, depth, kind)

    def _list(self, v: list[Any], path: Path, depth: int) -> Any:
        if self._seen(v, path):
            return self._ref_value(v)
        if plain(v):
            return v.copy() if self.fresh else v
        if len(v) >= BULK_MIN and depth + 3 <= MAX_GRAPH_DEPTH:  # (records, their records, lists in those)
            rows = plain_rows(self, v, path)
            if rows is not None:
                return rows
        return [self.value(x, (path, i), depth + 1) for i, x in enumerate(v)]

    def _tuple(self, v: tuple[Any, ...], path: Path, depth: int, tag: str = "tuple") -> Any:
        self.tag(path, tag)
        if plain(v):
            return list(v)
        if id(v) in self.stack:
            raise InvalidStateError(self.where(path), "a tuple that contains itself cannot be stored")
        self.stack.add(id(v))
        try:
            return [self.value(x, (path, i), depth + 1) for i, x in enumerate(v)]
        finally:
            self.stack.discard(id(v))

    def _set(self, v: Any, path: Path, depth: int) -> Any:
        mutable = type(v) is set
        if mutable and self._seen(v, path):
            return self._ref_value(v)
        self.tag(path, type(v).__name__)
        items = list(v)
        if plain(items) and len({type(x) for x in items}) <= 1:
            items.sort()
        else:  # sort by each element's stored bytes, so equal sets are equal bytes
            from ..snapshot.canonical import encode

            items.sort(key=lambda x: encode(GraphEncoder().value(x, None, depth), default=repr))
        return [self.value(x, (path, i), depth + 1) for i, x in enumerate(items)]

    def _deque(self, v: collections.deque[Any], path: Path, depth: int) -> Any:
        if self._seen(v, path):
            return self._ref_value(v)
        self.tag(path, "deque" if v.maxlen is None else f"deque {v.maxlen}")
        items = list(v)
        return items if plain(items) else [self.value(x, (path, i), depth + 1) for i, x in enumerate(items)]

    def _bytes(self, v: Any, path: Path, depth: int) -> Any:
        if type(v) is bytearray and self._seen(v, path):
            return self._ref_value(v)
        self.tag(path, type(v).__name__)
        return base64.b64encode(bytes(v)).decode("ascii")

    def _datetime(self, v: dt.datetime, path: Path, depth: int) -> Any:
        self._check_tz(v.tzinfo, path)
        self.tag(path, "datetime fold" if v.fold else "datetime")
        return v.isoformat()

    def _date(self, v: dt.date, path: Path, depth: int) -> Any:
        self.tag(path, "date")
        return v.isoformat()

    def _time(self, v: dt.time, path: Path, depth: int) -> Any:
        self._check_tz(v.tzinfo, path)
        self.tag(path, "time fold" if v.fold else "time")
        return v.isoformat()

    def _check_tz(self, tz: Any, path: Path) -> None:
        if tz is not None and type(tz) is not dt.timezone:
            raise InvalidStateError(self.where(path), f"a time zone of type {type(tz).__name__} cannot be stored",
                                    "store aware times with a fixed offset (datetime.timezone), e.g. UTC")

    def _timedelta(self, v: dt.timedelta, path: Path, depth: int) -> Any:
        self.tag(path, "timedelta")
        return [v.days, v.seconds, v.microseconds]

    def _decimal(self, v: decimal.Decimal, path: Path, depth: int) -> Any:
        self.tag(path, "decimal")
        return str(v)

    def _complex(self, v: complex, path: Path, depth: int) -> Any:
        self.tag(path, "complex")
        return [self.value(v.real, (path, 0), depth + 1), self.value(v.imag, (path, 1), depth + 1)]

    def _random(self, v: random.Random, path: Path, depth: int) -> Any:
        if self._seen(v, path):
            return self._ref_value(v)
        self.tag(path, "random")
        version, internal, gauss = v.getstate()
        return [version, list(internal), self.value(gauss, (path, 2), depth + 1)]

    def _other(self, v: Any, t: type, path: Path, depth: int) -> Any:
        if t.__module__ == "numpy" or t.__module__.startswith("numpy."):
            from .graph_numpy import encode_numpy

            return encode_numpy(self, v, path, depth)
        if isinstance(v, enum.Enum):
            self.tag(path, f"enum {class_name(t)}")
            return v.name
        if isinstance(v, tuple) and hasattr(t, "_fields"):
            return self._tuple(v, path, depth, f"namedtuple {class_name(t)}")
        if isinstance(v, NOT_STATE):
            raise NotStateError(self.where(path), f"a {t.__module__}.{t.__qualname__}", self.owner)
        if not plain_class(v, t):
            raise InvalidStateError(self.where(path), f"a value of type {t.__module__}.{t.__qualname__} cannot be "
                                    "stored", "register an adapter for it with brainvcs.adapters.register, or "
                                    "convert it to a supported type (docs/adapters.md lists them)")
        return self.obj(v, path, depth)

    def obj(self, v: Any, path: Path, depth: int) -> Any:
        """An instance of a Python class: its attributes (or ``__getstate__``) under an ``obj``/``state`` tag."""
        if self._seen(v, path):
            return self._ref_value(v)
        t = type(v)
        kind, parts = object_parts(v)
        name = class_name(t)
        self.tag(path, f"{kind} {name}")
        if kind == "state":
            if type(parts) is dict and all(type(k) is str for k in parts):
                return self._dict(parts, path, depth, cls=name)
            return self.value(parts, path, depth)
        self._order(path, list(parts), name)
        owner, self.owner = self.owner, t.__qualname__
        try:
            return {k: self.value(x, (path, k), depth + 1) for k, x in parts.items()}
        finally:
            self.owner = owner


def encode_graph(root: Any, *, fresh: bool = False) -> dict[str, Any]:
    """The state of a live brain object: one module per attribute, plus ``@types``.

    With ``fresh`` the state is the caller's own: no dict, list or array in it is
    one the brain holds (plain containers and arrays are copied in C, everything
    else is built afresh), so the brain may go on learning without changing it,
    and a repository keeps it as its first baseline uncopied. Without, plain
    containers are handed over as they are (cheaper when nothing keeps the state).
    """
    encoder = GraphEncoder(memo_for(root), fresh=fresh)
    cls = type(root)
    if not heap_class(cls) or isinstance(root, NOT_STATE):
        raise InvalidStateError("", f"a {cls.__module__}.{cls.__qualname__} cannot be committed as a brain",
                                "commit a dict of modules or an instance of a class of yours")
    encoder.memo[id(root)] = (ROOT_MODULE, None)
    kind, parts = object_parts(root)
    if not isinstance(parts, dict) or not all(type(k) is str for k in parts):
        raise InvalidStateError("", f"{cls.__qualname__}.__getstate__() must return a dict of attributes to be "
                                "committed as a brain", "return a dict from __getstate__")
    state: dict[str, Any] = {}
    encoder.owner = cls.__qualname__
    for name, value in parts.items():
        if not name or name.startswith("@"):
            raise InvalidStateError(name, "attribute names starting with '@' (or empty) are reserved")
        encoder.module = name
        encoder.table = encoder.tables.setdefault(name, {})
        state[name] = encoder.value(value, None, 1)
    brain: dict[str, Any] = {"class": class_name(cls), "kind": kind}
    names = list(parts)
    if names != sorted(names):
        brain["order"] = names
    modules = {}
    version = 1
    for name, table in encoder.tables.items():
        if "shared" in table:
            table["shared"] = sorted(table["shared"])
        if share_orders(table):
            version = 2  # (a version 1 reader would not know the "as" records)
        if table:
            modules[name] = table
    state[TYPES_MODULE] = {"brain": brain, "modules": modules, "version": version}
    encoder.orders.finish_walk()
    return state
