"""Object-graph commits (the zero-configuration adapter) against the same brain committed as a dict state.

    python benchmarks/bench_objects.py --size M

The synthetic brain's state is turned into a live object the way people write
brains: a class whose attributes are the modules, ``word_frequency`` a
``defaultdict(int)``, neurons instances of a ``Neuron`` class. The table shows,
best of ``--runs``: the first commit of each form, the commit after one more
learning step of each form, ``pickle.dump`` of the object (for scale), and
the ratios issue 14 states (object first commit / dict first commit, object
next commit / object first commit). One more row commits the same brain with
every map's keys inserted in sorted order: a dict state keeps no insertion
order, an object graph keeps every one (the generator inserts record keys in
random order), and that row shows what keeping them costs. Last, the live
object's ``checkout(factory=)`` against ``pickle.loads``.
Writes benchmarks/results/objects.json.
"""

from __future__ import annotations

import collections
import io
import pickle  # the alternative being measured, on the benchmark's own objects only
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import best_of, size_runs_arguments, write_results
from brainvcs.brains.synthetic import SIZES, learning_step, synthetic_state
from brainvcs.repo import Repository
import brainvcs.adapters  # noqa: F401  (installs the object hook on Repository.commit)

RESULTS = Path(__file__).resolve().parent / "results" / "objects.json"
AUTHOR = "bench <bench@example.org>"


class Neuron:
    """A neuron as an object with attributes (threshold, connections, ...)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


class SyntheticBrain:
    """The synthetic state as a live object: modules as attributes."""

    def __init__(self, state: dict[str, Any]) -> None:
        language = dict(state["language_module"])
        language["word_frequency"] = collections.defaultdict(int, language["word_frequency"])
        language["neurons"] = {nid: Neuron(fields) for nid, fields in language["neurons"].items()}
        self.language_module = language
        self.memory_module = state["memory_module"]
        self.response_generator = state["response_generator"]
        self.brain_history = state["brain_history"]
        self.cognitive_metrics = state["cognitive_metrics"]

    def as_state(self) -> dict[str, Any]:
        """The dict view of the same brain (neurons as dicts), for the learning step to mutate."""
        language = dict(self.language_module)
        language["neurons"] = {nid: vars(n) for nid, n in language["neurons"].items()}
        return {"language_module": language, "memory_module": self.memory_module,
                "response_generator": self.response_generator, "brain_history": self.brain_history,
                "cognitive_metrics": self.cognitive_metrics}


def sorted_orders(state: dict[str, Any]) -> dict[str, Any]:
    """The same state with every map's keys (records, neurons, connections) inserted in sorted order."""
    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: ordered(value[key]) for key in sorted(value)}
        if isinstance(value, list):
            return [ordered(item) for item in value]
        return value
    return {name: ordered(module) for name, module in state.items()}


def run(size: str = "M", runs: int = 3) -> dict[str, Any]:
    """Time first and next commits of the object and of the dict state."""
    state = synthetic_state(**SIZES[size])
    brain = SyntheticBrain(state)
    view = brain.as_state()  # shares every container with brain: a learning step on it changes both
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-objects-") as tmp:
        counter = [0]

        def fresh_repo() -> Repository:
            counter[0] += 1
            return Repository.init(Path(tmp) / f"r{counter[0]}")

        rows["dict_first"] = best_of(runs, lambda r: r.commit(state, "first", author=AUTHOR), fresh_repo)
        # A first commit of each run gets a brain object this process never committed: the encoder remembers
        # order records per brain object (adapters/graph_orders.py), which a user's first commit does not have.
        def first_of(source: dict[str, Any]) -> Any:
            def setup() -> tuple[Repository, SyntheticBrain]:
                return fresh_repo(), SyntheticBrain(source)
            return best_of(runs, lambda pair: pair[0].commit(pair[1], "first", author=AUTHOR), setup)

        rows["object_first"] = first_of(state)
        rows["object_sorted_first"] = first_of(sorted_orders(state))

        def committed(obj: Any) -> Any:
            def setup() -> Repository:
                repo = fresh_repo()
                repo.commit(obj, "first", author=AUTHOR)
                learning_step(view, step=counter[0])
                return repo
            return setup

        with Repository.init(Path(tmp) / "restore") as repo:
            repo.commit(brain, "first", author=AUTHOR)
            rows["object_checkout"] = best_of(runs, lambda r: r.checkout("HEAD", factory=SyntheticBrain), lambda: repo)
        rows["dict_next"] = best_of(runs, lambda r: r.commit(state, "next", author=AUTHOR), committed(state))
        rows["object_next"] = best_of(runs, lambda r: r.commit(brain, "next", author=AUTHOR), committed(brain))
    rows["pickle_dump"] = best_of(runs, lambda buf: pickle.dump(brain, buf, protocol=pickle.HIGHEST_PROTOCOL),
                                  io.BytesIO)
    data = pickle.dumps(brain, protocol=pickle.HIGHEST_PROTOCOL)
    rows["pickle_load"] = best_of(runs, lambda _: pickle.loads(data), lambda: None)
    return {
        "size": size, "runs": runs, "seconds": {k: round(v, 4) for k, v in rows.items()},
        "object_first_vs_dict_first": round(rows["object_first"] / rows["dict_first"], 3),
        "object_sorted_first_vs_dict_first": round(rows["object_sorted_first"] / rows["dict_first"], 3),
        "object_next_vs_object_first": round(rows["object_next"] / rows["object_first"], 3),
        "dict_next_vs_dict_first": round(rows["dict_next"] / rows["dict_first"], 3),
        "object_checkout_vs_pickle_load": round(rows["object_checkout"] / rows["pickle_load"], 3),
        "targets": {"object_first_vs_dict_first": 1.3},
    }


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    args = size_runs_arguments(__doc__, RESULTS, argv)
    result = run(args.size, args.runs)
    s = result["seconds"]
    print(f"object-graph commits, synthetic brain {args.size}, best of {args.runs}")
    print(f"  {'operation':<46} {'seconds':>8} {'ratio':>8}")
    print(f"  {'commit, dict state (first)':<46} {s['dict_first']:>8.3f} {1:>8.2f}")
    print(f"  {'commit, live object (first)':<46} {s['object_first']:>8.3f} "
          f"{result['object_first_vs_dict_first']:>8.2f}  (target <= 1.3)")
    print(f"  {'the same, every map in sorted insertion order':<46} {s['object_sorted_first']:>8.3f} "
          f"{result['object_sorted_first_vs_dict_first']:>8.2f}  (no insertion orders to keep)")
    print(f"  {'commit, dict state after one learning step':<46} {s['dict_next']:>8.3f} "
          f"{result['dict_next_vs_dict_first']:>8.2f}  (of the first)")
    print(f"  {'commit, live object after one learning step':<46} {s['object_next']:>8.3f} "
          f"{result['object_next_vs_object_first']:>8.2f}  (of the first)")
    print(f"  {'pickle.dump of the live object':<46} {s['pickle_dump']:>8.3f}")
    print(f"  {'checkout(factory=) of the live object':<46} {s['object_checkout']:>8.3f} "
          f"{result['object_checkout_vs_pickle_load']:>8.2f}  (of pickle.loads)")
    print(f"  {'pickle.loads of the live object':<46} {s['pickle_load']:>8.3f}")
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
