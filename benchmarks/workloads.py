"""Benchmark workloads: the states every alternative is measured on.

``S``, ``M`` and ``L`` are synthetic brains (``brainvcs.brains.SIZES``); ``ref``
is the reference brain after learning every bundled text. Changes between
commits are made with the generator's own mutators, so every alternative sees
exactly the same sequence of states:

* a *learning step* is ``learning_step(state, step=i, max_memories=...)`` with
  episodic memory capped at the length it had (a rolling window, as a live
  brain keeps it);
* *1% changed* is ``change_fraction(state, 0.01, step=i)``.

Step numbers continue from ``cognitive_metrics.step``, so a sequence of changes
is deterministic and never repeats a step.
"""

from __future__ import annotations

from typing import Any

from brainvcs.brains import SIZES, ReferenceBrain, bundled_texts, change_fraction, learning_step, synthetic_state

State = dict[str, Any]

#: Workload names accepted by ``--sizes``.
WORKLOADS: tuple[str, ...] = ("S", "M", "L", "ref")

_DESCRIPTIONS: dict[str, str] = {
    "ref": "reference brain trained on the bundled texts",
}


def describe(name: str) -> str:
    """One line saying what workload ``name`` is."""
    if name in SIZES:
        preset = SIZES[name]
        return (f"synthetic {name}: {preset['words']:,} words, {preset['neurons']:,} neurons x "
                f"{preset['connections']} connections, {preset['memories']:,} memories")
    return _DESCRIPTIONS[name]


def build_state(name: str) -> State:
    """A fresh state for workload ``name`` (deterministic: same name, same state)."""
    if name in SIZES:
        return synthetic_state(**SIZES[name])
    if name == "ref":
        return reference_state()
    raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")


def reference_state() -> State:
    """The reference brain after learning every bundled text, in name order."""
    brain = ReferenceBrain()
    texts = bundled_texts()
    for title in sorted(texts):
        brain.learn(texts[title])
    return brain.to_state()


def _next_step(state: State) -> int:
    return int(state["cognitive_metrics"]["step"]) + 1


def one_learning_step(state: State) -> list[tuple[str, ...]]:
    """Mutate ``state`` like one learning step (episodic memory kept at its current length); return the changed paths."""
    episodic = state["memory_module"]["episodic_memory"]
    return learning_step(state, step=_next_step(state), max_memories=len(episodic))


def one_percent(state: State) -> list[tuple[str, ...]]:
    """Change 1% of the words and neurons of ``state``; return the changed paths."""
    return change_fraction(state, 0.01, step=_next_step(state))
