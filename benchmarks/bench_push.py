"""What a push costs: the first full push of a synthetic brain, then one incremental learning step.

    python benchmarks/bench_push.py --size M     # 100,000 words, 10,000 neurons
    python -m benchmarks.bench_push --size S

Pushes over a real ``git daemon`` on 127.0.0.1 (started for the run) and
reports the pack bytes brainvcs sent (counted exactly as they go on the wire,
see ``brainvcs.remote.push``), next to the objects the incremental commit
wrote locally: an incremental push should send only those new objects. The
figures are printed and written to ``benchmarks/results/push.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/bench_push.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainvcs.brains import SIZES, learning_step, synthetic_state
from brainvcs.remote import ops
from brainvcs.repo import Repository
from tests.compat.gitservers import GitDaemonServer

RESULTS = Path(__file__).resolve().parent / "results" / "push.json"


def run(size: str = "M") -> dict[str, Any]:
    """Push a ``size`` synthetic brain, then one learning step; the bytes and objects each push sent."""
    params = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp, GitDaemonServer(parent=Path(tmp)) as server:
        url = server.create_repo("brain.git")
        state = synthetic_state(**params)
        with Repository.init(Path(tmp) / "brain") as repo:
            first_commit = repo.commit(state, "initial brain")
            ops.remote_add(repo, "origin", url)
            began = time.perf_counter()
            full = ops.push(repo)
            full_seconds = time.perf_counter() - began

            learning_step(state, step=1)
            step_commit = repo.commit(state, "one learning step")
            began = time.perf_counter()
            incremental = ops.push(repo)
            incremental_seconds = time.perf_counter() - began
            assert ops.ls_remote(url).refs["refs/heads/main"] == repo.head()
    return {
        "size": size,
        "params": params,
        "full_push": {"objects": full.objects_sent, "bytes": full.bytes_sent, "seconds": round(full_seconds, 3),
                      "commit_objects": first_commit.written.objects,
                      "commit_bytes_uncompressed": first_commit.written.bytes},
        "incremental_push": {"objects": incremental.objects_sent, "bytes": incremental.bytes_sent,
                             "seconds": round(incremental_seconds, 3),
                             "commit_objects": step_commit.written.objects,
                             "commit_bytes_uncompressed": step_commit.written.bytes},
        "incremental_sends_only_new_objects": incremental.objects_sent == step_commit.written.objects,
        "incremental_share_of_full": round(incremental.bytes_sent / full.bytes_sent, 6) if full.bytes_sent else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them to benchmarks/results/push.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M", choices=sorted(SIZES), help="synthetic brain size (default M)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    result = run(args.size)
    full, step = result["full_push"], result["incremental_push"]
    print(f"push over git daemon, synthetic brain {args.size} ({result['params']['words']:,} words)")
    print(f"  first push:        {full['objects']:>7,} objects {full['bytes']:>13,} bytes  {full['seconds']:.2f} s")
    print(f"  incremental push:  {step['objects']:>7,} objects {step['bytes']:>13,} bytes  {step['seconds']:.2f} s"
          f"  (the commit wrote {step['commit_objects']} objects; "
          f"{'only those were sent' if result['incremental_sends_only_new_objects'] else 'MORE were sent'})")
    print(f"  incremental / full: {result['incremental_share_of_full']:.4%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if result["incremental_sends_only_new_objects"] else 1


if __name__ == "__main__":
    sys.exit(main())
