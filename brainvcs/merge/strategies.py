"""Merge strategies and the per-path rules a repository keeps in its history.

A rule names a path pattern and a strategy::

    {"floats": "mean",
     "rules": [{"path": "language_module.neurons.*.connections.*", "strategy": "max"},
               {"path": "cognitive_metrics.attention_focus", "strategy": "theirs"}]}

The rules live in the state itself, in the reserved module :data:`RULES_MODULE`
(``brainvcs_merge``), so they are committed, diffed, cloned and merged like any
other module: every clone merges the same way, as with ``.gitattributes``.

Paths use the dotted notation every brainvcs message uses
(:func:`brainvcs.snapshot.canonical.join_path`): ``language_module.word_frequency.hello``,
``language_module.word_frequency["don't"]``. In a pattern, a bare segment may
hold the globs ``*`` and ``?`` (one key), ``**`` matches any number of keys,
and a quoted segment ``["..."]`` matches that key literally.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..snapshot.canonical import join_path
from ..snapshot.paths import split_path
from ..errors import InvalidStateError, UsageError

#: The reserved module holding a repository's merge rules.
RULES_MODULE = "brainvcs_merge"

#: What a float changed on both sides can become (``--strategy``).
FLOAT_STRATEGIES: tuple[str, ...] = ("mean", "max", "min", "ours", "theirs", "conflict")
#: Every strategy a rule may name.
STRATEGIES: tuple[str, ...] = (*FLOAT_STRATEGIES, "sum", "append", "union", "latest")
#: The documented default for floats changed on both sides.
DEFAULT_FLOAT_STRATEGY = "mean"

#: Kinds of value a strategy is chosen for (see :func:`value_kind` in ``plan``).
KINDS: tuple[str, ...] = ("dict", "list", "int", "float", "tensor", "value")
_NUMERIC = frozenset({"int", "float", "tensor"})
_APPLIES: dict[str, frozenset[str]] = {
    "mean": _NUMERIC, "max": _NUMERIC, "min": _NUMERIC, "sum": _NUMERIC,
    "append": frozenset({"list"}), "union": frozenset({"dict"}), "latest": frozenset({"int", "float", "value"}),
    "ours": frozenset(KINDS), "theirs": frozenset(KINDS), "conflict": frozenset(KINDS),
}


def applies(strategy: str, kind: str) -> bool:
    """Whether ``strategy`` can merge a value of ``kind``."""
    return kind in _APPLIES.get(strategy, frozenset())


# --------------------------------------------------------------------------
# Paths and patterns

#: One parsed pattern segment: ("key", text) literal, ("glob", text), or ("any", "") for ``**``.
Segment = tuple[str, str]


def parse_pattern(text: str) -> tuple[Segment, ...]:
    """Parse a rule pattern into segments (UsageError on bad syntax)."""
    segments: list[Segment] = []
    for key, quoted in split_path(text.strip(), what="pattern", indices=False):
        assert isinstance(key, str)
        if quoted:
            segments.append(("key", key))
        elif key == "**":
            segments.append(("any", ""))
        elif "**" in key:
            raise UsageError(f"pattern {text!r}: '**' must be a whole segment")
        elif "*" in key or "?" in key:
            segments.append(("glob", key))
        else:
            segments.append(("key", key))
    return tuple(segments)


def match_pattern(segments: Sequence[Segment], keys: Sequence[str]) -> bool:
    """Whether a parsed pattern matches a key sequence exactly."""
    # Small dynamic programme over (segment, key) positions: patterns are short.
    reachable = {0}
    for segment in segments:
        nxt: set[int] = set()
        for pos in reachable:
            if segment[0] == "any":
                nxt.update(range(pos, len(keys) + 1))
            elif pos < len(keys) and (keys[pos] == segment[1] if segment[0] == "key"
                                      else fnmatch.fnmatchcase(keys[pos], segment[1])):
                nxt.add(pos + 1)
        if not nxt:
            return False
        reachable = nxt
    return len(keys) in reachable


# --------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    """One line of the rules module: a path pattern and the strategy for it."""

    path: str
    strategy: str
    segments: tuple[Segment, ...]

    def matches(self, keys: Sequence[str]) -> bool:
        """Whether this rule's pattern names ``keys``."""
        return match_pattern(self.segments, keys)

    def to_json(self) -> dict[str, str]:
        """The rule as it is stored."""
        return {"path": self.path, "strategy": self.strategy}


#: Most rules a merge policy may hold, and the longest pattern (a hostile policy must not stall a merge).
MAX_RULES = 256
MAX_RULE_PATH = 512


@dataclass(frozen=True)
class MergeRules:
    """A repository's merge configuration: per-path rules and the float default."""

    rules: tuple[Rule, ...] = ()
    floats: str = DEFAULT_FLOAT_STRATEGY

    def strategy_for(self, keys: Sequence[str], kind: str) -> str | None:
        """The strategy of the last rule that matches ``keys`` and fits ``kind``, if any.

        Later rules win, as in ``.gitattributes``. A rule whose strategy does not
        fit the value (``max`` on a dict) is passed over, so ``**: max`` reaches
        the numbers inside dicts instead of stopping at the dicts.
        """
        for rule in reversed(self.rules):
            if applies(rule.strategy, kind) and rule.matches(keys):
                return rule.strategy
        return None

    def to_value(self) -> dict[str, Any]:
        """The value to store in the :data:`RULES_MODULE` module."""
        return {"floats": self.floats, "rules": [rule.to_json() for rule in self.rules]}

    @classmethod
    def parse(cls, value: Any, where: str = RULES_MODULE) -> MergeRules:
        """Validate a stored rules value; InvalidStateError names the offending path."""
        if not isinstance(value, Mapping):
            raise InvalidStateError(where, 'must be an object like {"rules": [{"path": ..., "strategy": ...}]}')
        unknown = sorted(set(value) - {"rules", "floats"})
        if unknown:
            raise InvalidStateError(join_path(where, unknown[0]), "unknown key in the merge rules",
                                    'the rules module holds only "rules" and "floats"')
        floats = value.get("floats", DEFAULT_FLOAT_STRATEGY)
        if floats not in FLOAT_STRATEGIES:
            raise InvalidStateError(join_path(where, "floats"), f"{floats!r} is not a float strategy",
                                    f"use one of {', '.join(FLOAT_STRATEGIES)}")
        items = value.get("rules", [])
        if not isinstance(items, list):
            raise InvalidStateError(join_path(where, "rules"), "must be a list of rules")
        if len(items) > MAX_RULES:  # every rule is tried on every changed path: bound the product
            raise InvalidStateError(join_path(where, "rules"), f"{len(items):,} rules, over the limit of {MAX_RULES}",
                                    "merge rules name a few paths or patterns; combine them with wildcards")
        rules = []
        for index, item in enumerate(items):
            here = join_path(join_path(where, "rules"), index)
            if not isinstance(item, Mapping) or set(item) != {"path", "strategy"}:
                raise InvalidStateError(here, 'a rule is an object with exactly "path" and "strategy"')
            path, strategy = item["path"], item["strategy"]
            if strategy not in STRATEGIES:
                raise InvalidStateError(join_path(here, "strategy"), f"unknown strategy {strategy!r}",
                                        f"use one of {', '.join(STRATEGIES)}")
            if not isinstance(path, str) or len(path) > MAX_RULE_PATH:
                raise InvalidStateError(join_path(here, "path"), f"must be a string of at most {MAX_RULE_PATH} characters")
            try:
                segments = parse_pattern(path)
            except UsageError as exc:
                raise InvalidStateError(join_path(here, "path"), exc.message, exc.hint) from None
            rules.append(Rule(path, strategy, segments))
        return cls(tuple(rules), floats)


def rules_from_state(state: Mapping[str, Any]) -> MergeRules:
    """The merge rules a state carries in :data:`RULES_MODULE` (defaults when absent)."""
    if RULES_MODULE not in state:
        return MergeRules()
    return MergeRules.parse(state[RULES_MODULE])
