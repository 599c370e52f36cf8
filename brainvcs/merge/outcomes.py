"""What a three-way merge decided: outcomes, conflicts, resolutions, and the plan that applies them.

:mod:`.plan` produces a :class:`MergePlan` (a pure walk over base, ours and
theirs); this module holds what it is made of and how it becomes a state
(:meth:`MergePlan.apply`) or lines for a person (:func:`iter_conflict_lines`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import MergeConflictError, UsageError
from ..snapshot import canonical
from ..snapshot.paths import format_path, parse_keys
from .strategies import MergeRules
from .values import jsonable

__all__ = ["ABSENT", "SOURCES", "Conflict", "MergePlan", "Outcome", "Resolution", "iter_conflict_lines",
           "parse_resolve_option"]


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
# The plan


@dataclass
class MergePlan:
    """Every changed path's outcome and every conflict of a three-way merge."""

    ours: Mapping[str, Any] = field(repr=False)
    outcomes: list[Outcome] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rules: MergeRules = field(default_factory=MergeRules)
    #: Completes a merged state (rebuilds an object graph's type tables); None for plain states.
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

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
        return self.finish(merged) if self.finish is not None else merged

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

    def lines(self, ours_label: str = "ours", theirs_label: str = "theirs") -> list[str]:
        """The plan as ``merge --dry-run`` prints it: every changed path and its outcome, the summary, conflicts."""
        out = []
        for outcome in self.outcomes:
            how = outcome.source + (f" ({outcome.strategy})" if outcome.strategy and outcome.strategy != outcome.source
                                    else "")
            out.append(f"  {how:<18} {outcome.change:<8} {outcome.path}")
        out.append(self.summary(ours_label, theirs_label))
        out.extend(iter_conflict_lines(self.conflicts))
        return out

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict of the whole plan."""
        return {"clean": self.clean, "counts": self.counts(), "outcomes": [o.to_json() for o in self.outcomes],
                "conflicts": [c.to_json() for c in self.conflicts], "rules": self.rules.to_value()}


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
