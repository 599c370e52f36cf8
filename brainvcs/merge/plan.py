"""Three-way merge of brain states as a pure plan: no I/O, no repository.

:func:`plan_merge` walks base, ours and theirs together and records, for every
path that changed, where the merged value comes from (an :class:`Outcome`) or
why it cannot be decided (a :class:`Conflict`). :meth:`MergePlan.apply` then
builds the merged state. Defaults (docs/merge.md):

* a value changed on one side only takes that side; the same change on both
  sides is taken once;
* dicts merge key by key (union); a key removed on one side and untouched on the
  other is removed; removed on one side and changed on the other is a conflict;
* integers are counters: ``base + (ours - base) + (theirs - base)``;
* floats use the float strategy (``mean`` unless configured);
* lists are append-only logs or rolling windows: base's surviving items, then
  ours' new items, then theirs' new items not already added by ours, trimmed
  from the head to the longest length seen when a side dropped items;
* anything else changed differently on both sides is a conflict.

Paths are the dotted paths of :func:`brainvcs.snapshot.canonical.join_path`. Merges
never look inside lists: a list is decided as a whole.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..snapshot import canonical, tensors
from ..snapshot.canonical import join_path
from ..errors import InvalidStateError, MergeConflictError, UsageError
from ..snapshot.paths import format_path, parse_keys
from .strategies import FLOAT_STRATEGIES, MergeRules, rules_from_state


class _Absent:
    """The value of a key that a side does not have."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


#: Stands for "no such key" in base, ours, theirs or a merged value (a removal).
ABSENT: Any = _Absent()

#: Where a merged value comes from.
SOURCES: tuple[str, ...] = ("ours", "theirs", "both", "merged", "resolved")


# --------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Outcome:
    """The decision for one changed path.

    ``source`` is ``ours``/``theirs`` (one side changed it, or a strategy chose
    that side), ``both`` (identical change on both sides), ``merged`` (combined
    by ``strategy``) or ``resolved`` (a resolution given by the user; its kind in
    ``strategy``). ``value`` is the merged value, :data:`ABSENT` for a removal.
    """

    path: str
    keys: tuple[str, ...]
    source: str
    change: str
    strategy: str | None
    value: Any = field(repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (without the value, which may be large)."""
        return {"path": self.path, "source": self.source, "change": self.change, "strategy": self.strategy}


@dataclass(frozen=True)
class Conflict:
    """A path both sides changed in ways no strategy settles."""

    path: str
    keys: tuple[str, ...]
    base: Any
    ours: Any
    theirs: Any
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; a side that lacks the key has no entry (``"ours"`` missing = removed)."""
        out: dict[str, Any] = {"path": self.path, "reason": self.reason}
        for name in ("base", "ours", "theirs"):
            value = getattr(self, name)
            if value is not ABSENT:
                out[name] = jsonable(value)
        return out


@dataclass(frozen=True)
class Resolution:
    """How the user settles one path: take ``ours``, ``theirs``, ``base``, or a given ``value``."""

    kind: str
    value: Any = None

    @classmethod
    def parse(cls, text: str) -> Resolution:
        """``ours``, ``theirs``, ``base``, or any JSON text (a string must be JSON-quoted)."""
        text = text.strip()
        if text in ("ours", "theirs", "base"):
            return cls(text)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise UsageError(f"resolution {text!r} is neither ours, theirs, base nor a JSON value",
                             'quote a string as JSON: PATH=\'"text"\'') from None
        canonical.check(value, path="resolution")
        return cls("value", value)


def parse_resolve_option(text: str) -> tuple[str, Resolution]:
    """Split ``PATH=VALUE`` (the ``--resolve`` syntax) at the first ``=`` outside a quoted key."""
    depth_quote = False
    escaped = False
    for index, ch in enumerate(text):
        if depth_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                depth_quote = False
        elif ch == '"':
            depth_quote = True
        elif ch == "=":
            return format_path(parse_keys(text[:index])), Resolution.parse(text[index + 1:])
    raise UsageError(f"--resolve {text!r}: expected PATH=VALUE",
                     "VALUE is ours, theirs, base or a JSON value, e.g. language_module.word_frequency.sea=12")


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


def merge_lists(base: Any, ours: list[Any], theirs: list[Any]) -> tuple[Any, str | None]:
    """Append-only / rolling-window merge of two lists both sides changed."""
    base_items = list(base) if isinstance(base, (list, tuple)) else []
    ours, theirs = list(ours), list(theirs)
    ids: dict[bytes, int] = {}
    kb, ko, kt = _item_keys(base_items, ids), _item_keys(ours, ids), _item_keys(theirs, ids)
    edit_o, edit_t = _edit(kb, ko), _edit(kb, kt)
    if edit_o is None or edit_t is None:
        side = "ours" if edit_o is None else "theirs"
        return None, f"{side} rewrote the list (not an append at the tail or a drop from the head)"
    (drop_o, start_o), (drop_t, start_t) = edit_o, edit_t
    pending = Counter(ko[start_o:])
    extra = []
    for item, key in zip(theirs[start_t:], kt[start_t:]):
        if pending[key]:
            pending[key] -= 1  # ours appended the same item: keep it once
            continue
        extra.append(item)
    merged = base_items[max(drop_o, drop_t):] + ours[start_o:] + extra
    if drop_o or drop_t:
        cap = max(len(base_items), len(ours), len(theirs))
        merged = merged[max(0, len(merged) - cap):]
    return merged, None


# --------------------------------------------------------------------------
# The plan


@dataclass
class MergePlan:
    """Every changed path's outcome and every conflict of a three-way merge."""

    ours: Mapping[str, Any] = field(repr=False)
    outcomes: list[Outcome] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rules: MergeRules = field(default_factory=MergeRules)

    @property
    def clean(self) -> bool:
        """True when nothing conflicts."""
        return not self.conflicts

    def apply(self, *, conflicts: str = "raise") -> dict[str, Any]:
        """The merged state (unchanged subtrees are shared with the inputs: do not mutate them).

        With conflicts, raises MergeConflictError, or with ``conflicts="base"``
        keeps base's value at each conflicted path (used for virtual merge bases).
        """
        if self.conflicts and conflicts == "raise":
            raise MergeConflictError(self.conflicts)
        merged: dict[str, Any] = dict(self.ours)
        copied = {id(merged)}
        settled = [(o.keys, o.value) for o in self.outcomes if o.source not in ("ours", "both")]
        settled += [(c.keys, c.base) for c in self.conflicts]
        for keys, value in settled:
            node = merged
            for key in keys[:-1]:
                child = node[key]
                if id(child) not in copied:
                    child = dict(child)
                    copied.add(id(child))
                    node[key] = child
                node = child
            if value is ABSENT:
                node.pop(keys[-1], None)
            else:
                node[keys[-1]] = value
        return merged

    def counts(self) -> dict[str, Any]:
        """How many paths came from each source, and how many were combined by each strategy."""
        sources = Counter(o.source for o in self.outcomes)
        strategies = Counter(o.strategy for o in self.outcomes if o.source == "merged")
        return {**{s: sources.get(s, 0) for s in SOURCES}, "conflicts": len(self.conflicts),
                "strategies": dict(sorted((k, v) for k, v in strategies.items() if k))}

    def summary(self, ours_label: str = "ours", theirs_label: str = "theirs") -> str:
        """A few lines saying what came from each side, overall and per module."""
        counts = self.counts()
        lines = [f"{len(self.outcomes)} changed path(s): {counts['ours']} from {ours_label}, "
                 f"{counts['theirs']} from {theirs_label}, {counts['both']} identical on both, "
                 f"{counts['merged']} combined, {counts['resolved']} resolved"]
        if counts["strategies"]:
            lines.append("combined: " + ", ".join(f"{n} by {s}" for s, n in counts["strategies"].items()))
        per_module: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            per_module.setdefault(outcome.keys[0], Counter())[outcome.source] += 1
        labels = (("ours", f"from {ours_label}"), ("theirs", f"from {theirs_label}"), ("both", "identical"),
                  ("merged", "combined"), ("resolved", "resolved"))
        for module in sorted(per_module):
            c = per_module[module]
            lines.append(f"  {module}: {', '.join(f'{c[s]} {label}' for s, label in labels if c[s])}")
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} conflict(s)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict of the whole plan."""
        return {"clean": self.clean, "counts": self.counts(), "outcomes": [o.to_json() for o in self.outcomes],
                "conflicts": [c.to_json() for c in self.conflicts], "rules": self.rules.to_value()}


class _Planner:
    def __init__(self, rules: MergeRules, strategy: str | None, resolutions: dict[str, Resolution]) -> None:
        self.rules = rules
        self.float_strategy = strategy if strategy is not None else rules.floats
        # --strategy ours|theirs also settles every conflict that remains (like git's -X ours).
        self.fallback = strategy if strategy in ("ours", "theirs") else None
        self.resolutions = resolutions
        self.used: set[str] = set()
        self.outcomes: list[Outcome] = []
        self.conflicts: list[Conflict] = []

    def record(self, keys: tuple[str, ...], path: str, source: str, strategy: str | None, base: Any,
               value: Any) -> None:
        change = "added" if base is ABSENT else "removed" if value is ABSENT else "changed"
        self.outcomes.append(Outcome(path, keys, source, change, strategy, value))

    def walk(self, keys: tuple[str, ...], path: str, b: Any, o: Any, t: Any) -> None:
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
        strategy = self.rules.strategy_for(keys, kind) or self.default(kind, o, t)
        self.settle(keys, path, b, o, t, kind, strategy)

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
               resolutions: Mapping[str, Resolution | str] | None = None) -> MergePlan:
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
    planner.walk((), "", dict(base_state), dict(ours_state), dict(theirs_state))
    unused = sorted(set(wanted) - planner.used)
    if unused:
        raise UsageError(f"--resolve {unused[0]}: no path of that name changed in this merge",
                         "list the merge's paths with `brainvcs merge --dry-run BRANCH`")
    return MergePlan(ours_state, planner.outcomes, planner.conflicts, rules)


def iter_conflict_lines(conflicts: list[Conflict], width: int = 100) -> Iterator[str]:
    """Human-readable lines for conflicts: path, reason, then base/ours/theirs values."""
    for conflict in conflicts:
        yield f"CONFLICT {conflict.path}: {conflict.reason}"
        for name in ("base", "ours", "theirs"):
            value = getattr(conflict, name)
            shown = ("(absent)" if value is ABSENT
                     else orjson.dumps(jsonable(value), option=orjson.OPT_SORT_KEYS).decode())
            if len(shown) > width:
                shown = shown[:width - 1] + "…"
            yield f"  {name + ':':<8}{shown}"
