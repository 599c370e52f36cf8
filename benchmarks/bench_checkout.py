"""Full checkout, verified (the first read of a snapshot in a repository) and trusted (every later one).

    python benchmarks/bench_checkout.py [--size M] [--runs 3]

Commits the synthetic state of ``--size``, clones the repository with C git
(so the clone has never verified the snapshot), then times, best of
``--runs``: ``pickle.loads`` of the same state; the clone's checkout with the
verification every first read does (the record of verified snapshots is
emptied before each run); and the clone's checkout once the snapshot is
recorded. Prints a table and writes ``benchmarks/results/checkout.json``.
"""

from __future__ import annotations

import argparse
import pickle  # the alternative measured; brainvcs never uses it
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/bench_checkout.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import best_of, print_ratios, write_results
from benchmarks.workloads import build_state
from brainvcs.repo import Repository
from brainvcs.storage.verified import FILE_NAME

RESULTS = Path(__file__).resolve().parent / "results" / "checkout.json"


def run(size: str = "M", runs: int = 3) -> dict[str, Any]:
    """Measure; return the figures (seconds)."""
    state = build_state(size)
    data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    with tempfile.TemporaryDirectory() as tmp:
        origin, clone_path = Path(tmp) / "origin", Path(tmp) / "clone"
        with Repository.init(origin) as repo:
            repo.commit(state, "state")
        subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(clone_path)], check=True)
        record = clone_path / FILE_NAME

        def forget() -> None:
            record.unlink(missing_ok=True)

        def checkout() -> None:
            with Repository.open(clone_path) as clone:
                clone.checkout("main")

        loads = best_of(runs, lambda _: pickle.loads(data), lambda: None)
        verified = best_of(runs, lambda _: checkout(), forget)
        checkout()  # records it
        trusted = best_of(runs, lambda _: checkout(), lambda: None)
    return {"size": size, "pickle_loads": loads, "verified_checkout": verified, "trusted_checkout": trusted}


def main(argv: list[str] | None = None) -> int:
    """Print the table; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    r = run(args.size, args.runs)
    print_ratios(f"full checkout of synthetic {r['size']}, best of {args.runs}", r,
                 [("pickle.loads", "pickle_loads"), ("checkout, first read (verified)", "verified_checkout"),
                  ("checkout, later reads (verified once)", "trusted_checkout")], "pickle_loads", "pickle.loads")
    write_results(RESULTS, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
