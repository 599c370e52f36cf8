"""What a semantic diff says: records grouped by kind of value and by path pattern.

A record describes every change of one kind under one *pattern*: the dotted
path with the keys of map-like objects replaced by ``*`` (so the 120 weights
nudged in 40 neurons are one :class:`FloatRecord` at
``language_module.neurons.*.connections.*``). Items inside a record keep
their concrete paths. Records hold every item; renderers apply ``--limit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union


@dataclass(frozen=True)
class Change:
    """One value that differs: its concrete path, the old and the new value."""

    path: str
    old: Any
    new: Any

    @property
    def delta(self) -> float:
        """``new - old`` (numbers only)."""
        return self.new - self.old  # type: ignore[no-any-return]


@dataclass(frozen=True)
class KeyItem:
    """A key added to or removed from an object: the key's path, the key and its value."""

    path: str
    key: str
    value: Any


@dataclass(frozen=True)
class ListItem:
    """One list operation: ``append``/``drop`` (tail/head), ``insert``/``remove``, or ``change``."""

    path: str
    op: str
    value: Any = None
    old: Any = None


@dataclass
class KeysRecord:
    """Keys added to and removed from the objects at a pattern (words learned or forgotten)."""

    type: ClassVar[str] = "keys"
    path: str
    map_like: bool = True
    added: list[KeyItem] = field(default_factory=list)
    removed: list[KeyItem] = field(default_factory=list)


@dataclass
class CounterRecord:
    """Integers that changed at a pattern: deltas, total change, largest movers."""

    type: ClassVar[str] = "counter"
    path: str
    items: list[Change] = field(default_factory=list)

    @property
    def total_delta(self) -> int:
        """Sum of all deltas."""
        return sum(int(item.delta) for item in self.items)

    @property
    def increased(self) -> int:
        """How many went up."""
        return sum(1 for item in self.items if item.delta > 0)

    @property
    def decreased(self) -> int:
        """How many went down."""
        return sum(1 for item in self.items if item.delta < 0)

    def movers(self) -> list[Change]:
        """Items by decreasing absolute delta (ties by path)."""
        return sorted(self.items, key=lambda item: (-abs(item.delta), item.path))


@dataclass
class FloatRecord:
    """Floats (weights, thresholds, potentials) that changed at a pattern.

    ``ignored`` counts changes smaller than the diff's tolerance; they are not
    in ``items`` nor in the statistics.
    """

    type: ClassVar[str] = "float"
    path: str
    items: list[Change] = field(default_factory=list)
    ignored: int = 0

    @property
    def increased(self) -> int:
        """How many went up."""
        return sum(1 for item in self.items if item.delta > 0)

    @property
    def decreased(self) -> int:
        """How many went down."""
        return sum(1 for item in self.items if item.delta < 0)

    @property
    def mean_delta(self) -> float:
        """Mean signed change (0.0 when nothing counted)."""
        return sum(item.delta for item in self.items) / len(self.items) if self.items else 0.0

    @property
    def mean_abs_delta(self) -> float:
        """Mean absolute change."""
        return sum(abs(item.delta) for item in self.items) / len(self.items) if self.items else 0.0

    @property
    def max_abs_delta(self) -> float:
        """Largest absolute change."""
        return max((abs(item.delta) for item in self.items), default=0.0)

    def movers(self) -> list[Change]:
        """Items by decreasing absolute delta (ties by path)."""
        return sorted(self.items, key=lambda item: (-abs(item.delta), item.path))


@dataclass
class ListRecord:
    """Lists (memories, histories, windows) that changed at a pattern.

    ``appended`` items arrived at the tail, ``dropped`` ones left the head (a
    rolling window); ``inserted``/``removed``/``changed`` happened elsewhere.
    """

    type: ClassVar[str] = "list"
    path: str
    lists: int = 0
    old_count: int = 0
    new_count: int = 0
    items: list[ListItem] = field(default_factory=list)

    def count(self, op: str) -> int:
        """How many items underwent ``op``."""
        return sum(1 for item in self.items if item.op == op)


@dataclass
class TensorRecord:
    """A numpy tensor that changed: shape/dtype, elements changed, L2 norm and max of the change.

    ``changed``, ``l2`` and ``max_abs`` are None when the shapes or dtypes
    differ (or the chunks could not be read).
    """

    type: ClassVar[str] = "tensor"
    path: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    elements: int = 0
    changed: int | None = None
    l2: float | None = None
    max_abs: float | None = None
    ignored: int = 0


@dataclass
class ValueRecord:
    """Other changes at a pattern: strings, booleans, null, or a value that changed type."""

    type: ClassVar[str] = "value"
    path: str
    items: list[Change] = field(default_factory=list)


Record = Union[KeysRecord, CounterRecord, FloatRecord, ListRecord, TensorRecord, ValueRecord]

#: Order of record types within one path (and their importance in summaries).
TYPE_ORDER = {"keys": 0, "tensor": 1, "float": 2, "counter": 3, "list": 4, "value": 5}


@dataclass
class ModuleDiff:
    """The changes of one module; ``status`` is ``added``, ``removed`` or ``modified``."""

    module: str
    status: Literal["added", "removed", "modified"]
    records: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class Endpoint:
    """One side of a diff as the user named it: the revision and the commit it resolved to."""

    rev: str
    commit: str | None = None


@dataclass
class BrainDiff:
    """The semantic difference between two snapshots (either may be empty)."""

    modules: list[ModuleDiff] = field(default_factory=list)
    tolerance: float = 0.0
    path: str | None = None
    #: True when the old side is the empty brain (a first commit).
    initial: bool = False
    old: Endpoint | None = None
    new: Endpoint | None = None

    @property
    def changed(self) -> bool:
        """Whether the two snapshots differ at all (in the selected modules/path)."""
        return bool(self.modules)

    def module(self, name: str) -> ModuleDiff | None:
        """The diff of module ``name`` (None when it did not change)."""
        return next((m for m in self.modules if m.module == name), None)

    def records(self) -> list[Record]:
        """Every record of every module, in order."""
        return [record for module in self.modules for record in module.records]
