"""Three-way merge of brain states as a pure plan: no I/O, no repository.

:func:`plan_merge` walks base, ours and theirs together and records, for every
path that changed, where the merged value comes from (an :class:`Outcome`) or
why it cannot be decided (a :class:`Conflict`). :meth:`MergePlan.apply` then
builds the merged state. Defaults (docs/merge.md):

* a value changed on one side only takes that side; the same change on both
  sides is taken once;
* dicts merge key by key (union); a key removed on one side and untouched on the
  other is removed; removed on one side and changed on the other keeps the
  change if it is a learned value (number, list, map, tensor), else conflicts;
* integers are counters: ``base + (ours - base) + (theirs - base)``;
* floats use the float strategy (``mean`` unless configured);
* lists are event logs or rolling windows (:func:`~.values.merge_lists`);
  lists of records with an identity merge record by record;
* points in time take the later value;
* anything else changed differently on both sides is a conflict.

Paths are the dotted paths of :func:`brainvcs.snapshot.canonical.join_path`.
What the plan is made of lives in :mod:`.outcomes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


from ..snapshot import tensors
from ..snapshot.canonical import join_path
from ..errors import InvalidStateError, UsageError
from ..snapshot.names import TYPES_MODULE
from ..snapshot.paths import format_path, parse_keys
from .outcomes import ABSENT, Conflict, MergePlan, Outcome, Resolution
from .strategies import FLOAT_STRATEGIES, MergeRules, rules_from_state
from .typetables import atomic_paths, has_type_tables, merge_type_tables
from .values import (is_time, latest, merge_lists, merge_numbers, merge_tensors, record_identity,
                     records_by_id, records_in_order, same, value_kind)


class _Planner:
    def __init__(self, rules: MergeRules, strategy: str | None, resolutions: dict[str, Resolution]) -> None:
        self.rules = rules
        self.float_strategy = strategy if strategy is not None else rules.floats
        # --strategy ours|theirs also settles every conflict that remains (like git's -X ours).
        self.fallback = strategy if strategy in ("ours", "theirs") else None
        self.resolutions = resolutions
        self.used: set[str] = set()
        #: Key paths whose values are atomic (object graphs: random generators); see typetables.
        self.atomic: set[tuple[Any, ...]] = set()
        self.outcomes: list[Outcome] = []
        self.conflicts: list[Conflict] = []

    def record(self, keys: tuple[str, ...], path: str, source: str, strategy: str | None, base: Any,
               value: Any) -> None:
        change = "added" if base is ABSENT else "removed" if value is ABSENT else "changed"
        self.outcomes.append(Outcome(path, keys, source, change, strategy, value))

    def walk(self, keys: tuple[str, ...], path: str, b: Any, o: Any, t: Any) -> None:
        if keys in self.atomic and not same(o, t) and not same(b, o) and not same(b, t):
            # One state no merge can combine (a random generator's): ours, like git's "ours" for a binary file.
            self.record(keys, path, "ours", "atomic", b, o)
            return
        if same(o, t):
            if same(b, o):
                return
            if path in self.resolutions:
                self.resolve(keys, path, b, o, t)
                return
            kind = value_kind(o, t)
            rule = self.rules.strategy_for(keys, kind) if keys else None
            # The same delta learned on both sides of the base is learned twice:
            # a counter adds it twice, so identical dicts are still walked for
            # the counters inside. Other kinds take an identical change once.
            if kind == "dict" and rule in (None, "union"):
                self.descend(keys, path, b, o, t)
            elif kind in ("int", "float", "tensor") and (rule or self.default(kind, o, t)) == "sum":
                self.settle(keys, path, b, o, t, kind, "sum")
            else:
                self.record(keys, path, "both", None, b, o)
            return
        if path in self.resolutions:
            self.resolve(keys, path, b, o, t)
            return
        if isinstance(o, dict) and isinstance(t, dict):
            one_side = same(b, o) or same(b, t)
            strategy = None if one_side or not keys else self.rules.strategy_for(keys, "dict")
            if strategy in (None, "union"):
                self.descend(keys, path, b, o, t)
            else:
                self.settle(keys, path, b, o, t, "dict", strategy)
            return
        if same(b, o):
            self.record(keys, path, "theirs", None, b, t)
            return
        if same(b, t):
            self.record(keys, path, "ours", None, b, o)
            return
        kind = value_kind(o, t)
        rule = self.rules.strategy_for(keys, kind) if keys else None
        if rule is None and b is not ABSENT and (o is ABSENT) != (t is ABSENT):
            changed = t if o is ABSENT else o
            if _learned(changed):
                # A learned value one side pruned and the other went on learning: the learning survives.
                self.record(keys, path, "theirs" if o is ABSENT else "ours", "keep-learned", b, changed)
                return
        if rule is None and kind in ("value", "int", "float") and is_time(keys[-1] if keys else None, o, t):
            rule = "latest"
        if rule is None and kind == "list":
            ident = record_identity(o) if record_identity(o) == record_identity(t) else None
            if ident is not None and (b is ABSENT or b == [] or record_identity(b) == ident):
                self.merge_records(keys, path, b, o, t, ident)
                return
        strategy = rule or self.default(kind, o, t)
        self.settle(keys, path, b, o, t, kind, strategy)

    def merge_records(self, keys: tuple[str, ...], path: str, b: Any, o: list[Any], t: list[Any],
                      ident: str) -> None:
        """A list of records with an identity (neurons with an ``id``...): merged record by record."""
        sub = _Planner(self.rules, self.float_strategy, {})
        sub.fallback = self.fallback
        base, ours, theirs = (records_by_id(v, ident) for v in (b, o, t))
        sub.walk((), "", {"records": base}, {"records": ours}, {"records": theirs})
        if sub.conflicts:
            first = sub.conflicts[0]
            inner = first.path[len("records"):].lstrip(".")
            self.conflicts.append(Conflict(path, keys, b, o, t, f"record {inner}: {first.reason}"))
            return
        merged = MergePlan({"records": ours}, sub.outcomes, [], self.rules).apply()["records"]
        self.record(keys, path, "merged", f"records by {ident}", b, records_in_order(merged, o, t, ident))

    def descend(self, keys: tuple[str, ...], path: str, b: Any, o: dict[str, Any], t: dict[str, Any]) -> None:
        """Merge two dicts key by key (a base that is not a dict counts as empty)."""
        base = b if isinstance(b, dict) else {}
        for key in sorted(base.keys() | o.keys() | t.keys()):
            self.walk((*keys, key), join_path(path, key), base.get(key, ABSENT), o.get(key, ABSENT),
                      t.get(key, ABSENT))

    def default(self, kind: str, o: Any, t: Any) -> str:
        if kind == "list":
            return "append"
        if kind == "int":
            return "sum"
        if kind == "float":
            return self.float_strategy
        if kind == "tensor" and o.dtype.kind == "f":
            return self.float_strategy
        return "conflict"

    def settle(self, keys: tuple[str, ...], path: str, b: Any, o: Any, t: Any, kind: str, strategy: str) -> None:
        if strategy in ("ours", "theirs"):
            self.record(keys, path, strategy, strategy, b, o if strategy == "ours" else t)
            return
        reason: str | None
        if strategy == "conflict":
            value, reason = None, _conflict_reason(b, o, t)
        elif strategy == "latest":
            value, reason = (latest(o, t), None) if is_time(None, o, t) or kind in ("int", "float") else \
                (None, "'latest' needs two points in time")
        elif kind == "list":
            value, reason = merge_lists(b, o, t)
        elif kind == "tensor":
            value, reason = merge_tensors(strategy, b, o, t)
        else:
            value, reason = merge_numbers(strategy, b, o, t)
        if reason is None:
            self.record(keys, path, "merged", strategy, b, value)
        elif self.fallback is not None:
            self.record(keys, path, self.fallback, self.fallback, b, o if self.fallback == "ours" else t)
        else:
            self.conflicts.append(Conflict(path, keys, b, o, t, reason))

    def resolve(self, keys: tuple[str, ...], path: str, b: Any, o: Any, t: Any) -> None:
        resolution = self.resolutions[path]
        self.used.add(path)
        value = {"ours": o, "theirs": t, "base": b}.get(resolution.kind, resolution.value)
        self.record(keys, path, "resolved", resolution.kind, b, value)


def _learned(value: Any) -> bool:
    """Values a brain learns (numbers, lists, maps, tensors), as opposed to labels (text, flags)."""
    return (type(value) in (int, float, list, dict) or tensors.is_array(value)) and not isinstance(value, bool)


def _conflict_reason(b: Any, o: Any, t: Any) -> str:
    if o is ABSENT or t is ABSENT:
        return f"removed by {'ours' if o is ABSENT else 'theirs'}, changed by {'theirs' if o is ABSENT else 'ours'}"
    if b is ABSENT:
        return "added on both sides with different values"
    if type(o) is not type(t):
        return f"changed to different kinds of value ({type(o).__name__} vs {type(t).__name__})"
    return "changed differently on both sides"


def plan_merge(base_state: Mapping[str, Any], ours_state: Mapping[str, Any], theirs_state: Mapping[str, Any], *,
               strategies: MergeRules | None = None, strategy: str | None = None,
               resolutions: Mapping[str, Resolution | str] | None = None,
               on_conflict: str | None = None) -> MergePlan:
    """Plan the three-way merge of ``theirs_state`` into ``ours_state`` (pure).

    ``strategies`` are the per-path rules (default: those ``ours_state`` carries
    in the ``brainvcs_merge`` module). ``strategy`` overrides the float
    strategy; ``ours``/``theirs`` also settle every remaining conflict.
    ``resolutions`` maps paths to :class:`Resolution` (or its text: ``ours``,
    ``theirs``, ``base`` or JSON) and wins over everything at that path; a
    resolution that names no path this merge changes is a UsageError.
    """
    if strategy is not None and strategy not in FLOAT_STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}", f"use one of {', '.join(FLOAT_STRATEGIES)}")
    for name, state in (("base", base_state), ("ours", ours_state), ("theirs", theirs_state)):
        if not isinstance(state, Mapping):
            raise InvalidStateError("", f"{name}: a state must be a mapping of modules, not {type(state).__name__}")
    rules = strategies if strategies is not None else rules_from_state(ours_state)
    wanted: dict[str, Resolution] = {}
    for path, resolution in (resolutions or {}).items():
        wanted[format_path(parse_keys(path))] = (resolution if isinstance(resolution, Resolution)
                                                 else Resolution.parse(resolution))
    planner = _Planner(rules, strategy, wanted)
    if on_conflict is not None:
        if on_conflict not in ("ours", "theirs"):
            raise UsageError(f"on_conflict must be ours or theirs, not {on_conflict!r}")
        planner.fallback = on_conflict  # settles what would conflict; floats keep their strategy
    finish = None
    if has_type_tables(ours_state, theirs_state):
        # An object graph: merge the values, then rebuild the type tables for the merged values.
        planner.atomic = atomic_paths(ours_state, theirs_state)
        values = [{k: v for k, v in state.items() if k != TYPES_MODULE} for state in (base_state, ours_state,
                                                                                    theirs_state)]
        planner.walk((), "", *values)

        def finish(merged: dict[str, Any]) -> dict[str, Any]:
            merged[TYPES_MODULE] = merge_type_tables(ours_state, theirs_state, merged)
            return merged
    else:
        planner.walk((), "", dict(base_state), dict(ours_state), dict(theirs_state))
    unused = sorted(set(wanted) - planner.used)
    if unused:
        raise UsageError(f"--resolve {unused[0]}: no path of that name changed in this merge",
                         "list the merge's paths with `brainvcs merge --dry-run BRANCH`")
    return MergePlan(ours_state, planner.outcomes, planner.conflicts, rules, finish)
