"""A tensor-heavy live brain: commits after a learning step against ``pickle.dump``.

    python benchmarks/bench_tensors.py [--neurons 1000] [--steps 3]

The brain holds what the issue's real brain held: a ``neurons`` x ``neurons``
float64 association matrix that every step updates (a row and a column, so
every 1 MiB chunk changes), a numpy backend (potentials, thresholds, a random
weight matrix that does not change) with its own random generator, and a
small vocabulary that gains a word per step. Nothing is declared: each commit
is ``repo.commit(brain, ...)``. Prints a table and writes
``benchmarks/results/tensors.json``; the goal (issue 17) is a commit after
one learning step within 2 x ``pickle.dump`` of the same brain.
"""

from __future__ import annotations

import argparse
import io
import pickle  # the alternative measured; brainvcs never uses it
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/bench_tensors.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import brainvcs.adapters  # noqa: F401  (installs the object hook on Repository.commit)
from benchmarks.measure import best_of, print_ratios, timed, write_results
from brainvcs.repo import Repository

RESULTS = Path(__file__).resolve().parent / "results" / "tensors.json"
AUTHOR = "bench <bench@example.org>"


class Backend:
    """A numpy neuron backend: potentials, thresholds, weights and its generator."""

    def __init__(self, neurons: int) -> None:
        self.rng = np.random.default_rng(0)
        self.potentials = self.rng.random(neurons)
        self.thresholds = np.full(neurons, 0.5)
        self.weights = self.rng.random((neurons, neurons)) * 0.01


class TensorBrain:
    """An association matrix over a numpy backend, and a vocabulary."""

    def __init__(self, neurons: int) -> None:
        self.vocabulary = {f"w{i}": i for i in range(2 * neurons)}
        self.association = np.zeros((neurons, neurons))
        self.backend = Backend(neurons)
        self.step = 0

    def learn(self) -> None:
        """One learning step: a row and a column of associations, decayed potentials, a new word."""
        self.step += 1
        i = self.step % self.association.shape[0]
        self.association[i, :] += 0.1
        self.association[:, i] += 0.1
        self.backend.potentials *= 0.9
        self.backend.potentials[self.backend.rng.integers(0, len(self.backend.potentials))] = 1.0
        self.vocabulary[f"new{self.step}"] = self.step


def run(neurons: int = 1000, steps: int = 3) -> dict[str, Any]:
    """Measure; return the figures (seconds)."""
    brain = TensorBrain(neurons)
    dump = best_of(5, lambda buffer: pickle.dump(brain, buffer, protocol=pickle.HIGHEST_PROTOCOL), io.BytesIO)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(Path(tmp) / "repo")
        first, _ = timed(lambda: repo.commit(brain, "first", author=AUTHOR))
        step_times = []
        for n in range(steps):
            brain.learn()
            seconds, result = timed(lambda: repo.commit(brain, f"step {n + 1}", author=AUTHOR))
            step_times.append(seconds)
            assert result.changed
        noop = best_of(3, lambda _: repo.commit(brain, "nothing", author=AUTHOR), lambda: None)
        restored = repo.checkout(factory=TensorBrain)
        assert np.array_equal(restored.association, brain.association)
        repo.close()
    return {"neurons": neurons, "pickle_dump": dump, "first_commit": first, "step_commit": min(step_times),
            "noop_commit": noop, "step_vs_pickle_dump": min(step_times) / dump}


def main(argv: list[str] | None = None) -> int:
    """Print the table; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    r = run(args.neurons, args.steps)
    print_ratios(f"tensor brain, {r['neurons']} x {r['neurons']} float64 association + backend, nothing declared",
                 r, [("pickle.dump", "pickle_dump"), ("first commit", "first_commit"),
                     ("commit after one learning step (best)", "step_commit"), ("no-op commit", "noop_commit")],
                 "pickle_dump", "pickle.dump")
    write_results(RESULTS, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
