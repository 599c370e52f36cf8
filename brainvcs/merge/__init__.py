"""Semantic three-way merge of brain states (docs/merge.md).

* :mod:`.plan` — the pure planner: :func:`plan_merge` -> :class:`MergePlan`;
* :mod:`.strategies` — strategies and the per-path rules module ``brainvcs_merge``;
* :mod:`.base` — merge bases on the commit graph;
* :mod:`.api` — :func:`merge` on a repository (fast-forward or merge commit);
* :mod:`.gitdriver` — the merge driver C git runs, and its installer;
* :mod:`.reseal` — ``reseal``: make a git working tree a valid snapshot again.

The pure parts are imported here; the repository-level names (``merge``,
``MergeResult``, ``abort_merge``) load on first use, so importing the planner
never imports :mod:`brainvcs.repo`.
"""

from __future__ import annotations

from typing import Any

from .base import merge_bases
from .plan import ABSENT, Conflict, MergePlan, Outcome, Resolution, parse_resolve_option, plan_merge
from .strategies import (DEFAULT_FLOAT_STRATEGY, FLOAT_STRATEGIES, RULES_MODULE, STRATEGIES, MergeRules, Rule,
                         rules_from_state)

__all__ = [
    "ABSENT", "DEFAULT_FLOAT_STRATEGY", "FLOAT_STRATEGIES", "RULES_MODULE", "STRATEGIES", "Conflict",
    "MergePlan", "MergeResult", "MergeRules", "Outcome", "Resolution", "Rule", "abort_merge", "merge",
    "merge_bases", "parse_resolve_option", "plan_merge", "rules_from_state",
]

_API = ("merge", "MergeResult", "abort_merge")


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
