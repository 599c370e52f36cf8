"""A declarative adapter: which attributes of a live object form which module, and their types.

>>> spec = Spec(name="my-brain", modules={
...     "language_module": {
...         "vocabulary": Attr("language.vocabulary"),
...         "word_frequency": Attr("language.word_frequency", DefaultDictOf(int)),
...         "context_associations": Attr("language.contexts", DefaultDictOf(list)),
...     },
...     "brain_history": Attr("history", DequeOf(Record({"at": DateTime()}), maxlen=50)),
... })

An :class:`Attr` names an attribute path (``a.b.c``; a segment reads an item
when the object there is a mapping, an attribute otherwise) and a *kind*: how
the value is stored and what type it comes back as. Kinds convert on purpose
what the canonical encoder refuses: ``deque`` (with its ``maxlen``),
``defaultdict`` (with a factory from a small allow-list), ``Counter``, ``set``
(stored as a sorted list), ``tuple``, dataclasses and plain objects (stored as
dicts, rebuilt by the class named *in the spec*), ``datetime`` (ISO 8601 text)
and numpy arrays (stored as tensors by the core). The type information used on
checkout comes only from the spec — that is, from code; nothing read from a
repository is ever imported or called.

Restoring is all-or-nothing: every value is converted first, and the target
object is touched only once all conversions succeeded. Restoring *into* an
existing object keeps what the spec leaves open (a deque's ``maxlen``, a
defaultdict's factory, attributes of objects the spec does not list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from brainvcs.snapshot.canonical import join_path
from brainvcs.errors import InvalidStateError, UsageError

from .base import State
from .kinds import (PLAIN, Array, CounterOf, DateTime, DefaultDictOf, DequeOf, DictOf, Kind, ListOf, Nullable, Plain,
                    Record, SequenceOf, SetOf, TupleOf)
from .object_kinds import Dataclass, Object, kind_for

__all__ = [
    "PLAIN", "Array", "Attr", "AttributeSpec", "CounterOf", "Dataclass", "DateTime", "DefaultDictOf", "DequeOf",
    "DictOf", "Kind", "ListOf", "ModuleSpec", "Nullable", "Object", "Plain", "Record", "SequenceOf", "SetOf", "Spec",
    "SpecAdapter", "TupleOf", "kind_for",
]

_SPEC_HINT = "the adapter's spec does not fit this object: fix the spec or the object"
_RESTORE_HINT = "this commit was not written with this adapter (or the spec changed since)"


# --------------------------------------------------------------------------
# Attributes and modules


@dataclass(frozen=True)
class Attr:
    """One attribute path of the live object (``a.b.c``) and the kind of its value."""

    path: str
    type: Kind = PLAIN

    def __post_init__(self) -> None:
        if not self.path or any(not part for part in self.path.split(".")):
            raise UsageError(f"invalid attribute path {self.path!r}", "write it like 'language_module.vocabulary'")


#: A module is one attribute, or a dict of member name -> attribute (nested as deep as needed).
ModuleSpec = Union[Attr, Mapping[str, "ModuleSpec"]]
#: The name the issue uses for a single attribute entry.
AttributeSpec = Attr


@dataclass(frozen=True)
class Spec:
    """Which attributes form which module; ``factory`` makes an empty object for ``checkout(factory=None)``."""

    modules: Mapping[str, ModuleSpec]
    name: str = "spec"
    factory: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        if not self.modules:
            raise UsageError("a Spec needs at least one module")

        def check(node: Any, where: str) -> None:
            if isinstance(node, Attr):
                return
            if not isinstance(node, Mapping) or not node:
                raise UsageError(f"{where}: expected an Attr or a non-empty dict of them, not {node!r}")
            for key, sub in node.items():
                check(sub, join_path(where, key))

        for module, node in self.modules.items():
            check(node, module)


def _step(obj: Any, part: str) -> Any:
    if isinstance(obj, Mapping):
        return obj[part]
    return getattr(obj, part)


def _get(obj: Any, attr: str, where: str) -> Any:
    value = obj
    for part in attr.split("."):
        try:
            value = _step(value, part)
        except (KeyError, AttributeError):
            raise InvalidStateError(where, f"the {type(obj).__name__} has no {attr!r} (no {part!r})",
                                    _SPEC_HINT) from None
    return value


def _attrs(node: ModuleSpec, where: str) -> Iterable[tuple[str, tuple[str, ...], Attr]]:
    """``(state path, member keys below the module, Attr)`` for every attribute of a module."""
    if isinstance(node, Attr):
        yield where, (), node
        return
    for key, sub in node.items():
        for path, keys, attr in _attrs(sub, join_path(where, key)):
            yield path, (key, *keys), attr


class SpecAdapter:
    """An :class:`~brainvcs.adapters.base.Adapter` driven by a :class:`Spec`."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.name = spec.name

    @property
    def modules(self) -> list[str]:
        """The modules this adapter reads and writes."""
        return sorted(self.spec.modules)

    def to_state(self, obj: Any) -> State:
        """The state of ``obj`` as the spec lays it out."""
        state: State = {}
        for module, node in self.spec.modules.items():
            for path, keys, attr in _attrs(node, module):
                value = attr.type.to_state(_get(obj, attr.path, path), path)
                if not keys:
                    state[module] = value
                    continue
                holder = state.setdefault(module, {})
                for key in keys[:-1]:
                    holder = holder.setdefault(key, {})
                holder[keys[-1]] = value
        return state

    def restore(self, state: Mapping[str, Any], into: Any = None, factory: Any = None) -> Any:
        """``into`` (or a new object from ``factory`` / the spec's factory) holding ``state``."""
        if into is not None and factory is not None:
            raise UsageError("give into= or factory=, not both")
        target = into
        if target is None:
            make = factory or self.spec.factory
            if make is None:
                raise UsageError(f"restoring with the {self.name!r} adapter needs into=OBJECT or factory=CLASS")
            target = make()
        # Convert everything first: the target changes only once nothing can fail.
        assignments: list[tuple[Any, str, Any]] = []
        for module, node in self.spec.modules.items():
            if module not in state:
                raise InvalidStateError(module, "module is missing from the stored state", _RESTORE_HINT)
            for path, keys, attr in _attrs(node, module):
                data: Any = state[module]
                for depth, key in enumerate(keys):
                    if not isinstance(data, dict) or key not in data:
                        raise InvalidStateError(join_path(module, ".".join(keys[:depth + 1])),
                                                "is missing from the stored state", _RESTORE_HINT)
                    data = data[key]
                *parents, last = attr.path.split(".")
                holder = _get(target, ".".join(parents), path) if parents else target
                current = _current(holder, last)
                assignments.append((holder, last, attr.type.restore(data, path, current)))
        for holder, last, value in assignments:
            if isinstance(holder, Mapping):
                holder[last] = value  # type: ignore[index]
            else:
                setattr(holder, last, value)
        return target


def _current(holder: Any, name: str) -> Any:
    try:
        return _step(holder, name)
    except (KeyError, AttributeError):
        return None
