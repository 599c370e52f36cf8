"""Semantic three-way merge of brain states (docs/merge.md).

* :mod:`.plan` — the pure planner: :func:`plan_merge` -> :class:`MergePlan`;
* :mod:`.strategies` — strategies and the per-path rules module ``brainvcs_merge``;
* :mod:`.api` — :func:`~.api.merge` on a repository (fast-forward or merge commit);
* :mod:`.gitdriver` — the merge driver C git runs, and its installer;
* :mod:`.reseal` — ``reseal``: make a git working tree a valid snapshot again.

Only the pure parts are imported here (merge bases come from
:mod:`brainvcs.storage.graph`); the repository-level names live in
:mod:`.api` (``from brainvcs.merge.api import merge``), so importing the
planner never imports :mod:`brainvcs.repo`.
"""

from __future__ import annotations

from ..storage.graph import merge_bases
from .outcomes import ABSENT, Conflict, MergePlan, Outcome, Resolution, parse_resolve_option
from .plan import plan_merge
from .strategies import (DEFAULT_FLOAT_STRATEGY, FLOAT_STRATEGIES, RULES_MODULE, STRATEGIES, MergeRules, Rule,
                         rules_from_state)

__all__ = [
    "ABSENT", "DEFAULT_FLOAT_STRATEGY", "FLOAT_STRATEGIES", "RULES_MODULE", "STRATEGIES", "Conflict",
    "MergePlan", "MergeRules", "Outcome", "Resolution", "Rule", "merge_bases", "parse_resolve_option",
    "plan_merge", "rules_from_state",
]
