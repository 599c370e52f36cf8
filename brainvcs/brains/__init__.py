"""Brains bundled with brainvcs: the reference brain and a synthetic brain generator.

``ReferenceBrain`` is a small deterministic language learner with the seed's state
layout, used by ``brainvcs demo``, the docs and the tests; ``bundled_texts`` are
the short texts it learns from out of the box. ``synthetic_state``,
``learning_step`` and ``change_fraction`` build and mutate brains of any size
(presets in ``SIZES``) for benchmarks and scale tests.

Every state here is a plain ``dict`` of JSON values (dict, list, str, int,
finite float, bool, None) with the modules ``language_module``,
``memory_module``, ``response_generator``, ``brain_history`` and
``cognitive_metrics``.
"""

from __future__ import annotations

from brainvcs.brains.language import bundled_texts
from brainvcs.brains.reference import LearnReport, ReferenceBrain
from brainvcs.brains.synthetic import SIZES, change_fraction, learning_step, synthetic_state

__all__ = [
    "SIZES",
    "LearnReport",
    "ReferenceBrain",
    "bundled_texts",
    "change_fraction",
    "learning_step",
    "synthetic_state",
]
