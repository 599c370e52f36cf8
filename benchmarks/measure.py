"""Timing and memory measurement.

* time: best of N runs of ``time.perf_counter`` (the minimum is the figure least
  disturbed by other work on the machine);
* Python-side peak memory: ``tracemalloc`` peak above what was allocated before;
* whole-process peak memory: each measured operation runs in a fresh Python
  subprocess (``python -m benchmarks.measure TASK WORKLOAD``) that builds the
  state, resets the kernel's peak-RSS mark, then runs the operation. The peak
  is the child's ``VmHWM`` (/proc/self/status). The kernel's rusage maximum
  (``os.wait4``, the per-child form of ``getrusage(RUSAGE_CHILDREN)``) is
  recorded too, but it is not the figure: Linux charges a child with the RSS
  of the forked copy of its parent before ``exec``, so a suite holding an M
  state in memory would lift every child to its own size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import signal
import subprocess
import threading
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
C = TypeVar("C")

_ROOT = Path(__file__).resolve().parent.parent


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Run ``fn`` once; return (seconds, result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_of(repeat: int, fn: Callable[[C], object], setup: Callable[[], C]) -> float:
    """Minimum time of ``fn(setup())`` over ``repeat`` runs; ``setup`` is not timed."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        context = setup()
        gc.collect()
        start = time.perf_counter()
        fn(context)
        best = min(best, time.perf_counter() - start)
    return best


def traced_peak(fn: Callable[[], T]) -> tuple[int, T]:
    """Peak bytes Python allocated while ``fn`` ran, above what was live before; and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(0, peak - base), result


class BudgetExhausted(BaseException):
    """A :class:`Budget` ran out while guarded code ran.

    A BaseException, like KeyboardInterrupt, so code under measurement that
    catches ``Exception`` cannot swallow it, and code that cleans up on
    ``BaseException`` (brainvcs aborts a half-written pack) still does.
    """


class Budget:
    """A wall-clock allowance for one group of measurements.

    Some operations (pack consolidation, gc) can take far longer than the
    suite can wait; :meth:`guard` interrupts them with SIGALRM when the budget
    is spent, so the suite reports how far it got instead of hanging. Only in
    the main thread (elsewhere the budget is checked, not enforced).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds
        self.exhausted = False

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.deadline - time.perf_counter())

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block; raise :class:`BudgetExhausted` if the budget runs out first."""
        left = self.remaining()
        if left <= 0:
            self.exhausted = True
            raise BudgetExhausted(f"budget of {self.seconds:g} s spent")
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def expire(signum: int, frame: object) -> None:
            self.exhausted = True
            raise BudgetExhausted(f"budget of {self.seconds:g} s spent")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, left)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class ProcessPeak:
    """Peak resident memory of one subprocess run, in bytes."""

    task: str
    workload: str
    peak_rss: int
    before_task: int
    rusage_maxrss: int = 0

    @property
    def task_rss(self) -> int:
        """Growth of the peak caused by the task itself (above the built state)."""
        return max(0, self.peak_rss - self.before_task)


def process_peak(task: str, workload: str) -> ProcessPeak:
    """Run ``task`` on ``workload`` in a fresh interpreter and return its peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.measure", task, workload],
                                 stdout=out, stderr=err, env=env, cwd=str(_ROOT))
        # Reap the child ourselves to get its own rusage (KiB on Linux; see the module doc).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise RuntimeError(f"memory probe {task} {workload} failed: {stderr.decode(errors='replace').strip()}")
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    return ProcessPeak(task, workload, int(report["peak_rss"]), int(report["before_task"]), usage.ru_maxrss * 1024)


def _rss_now_peak() -> int:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _rss_now() -> int:
    return _status("VmRSS") or _rss_now_peak()


def _reset_peak() -> bool:
    # Linux resets the peak-RSS mark on "5" (proc(5), clear_refs), so the peak
    # the parent reads covers the task on the built state, not the temporaries
    # of building it.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


TASKS = ("baseline", "pickle_dumps", "commit")


def _child(task: str, workload: str) -> dict[str, Any]:
    from benchmarks.workloads import build_state

    state = build_state(workload)
    gc.collect()
    reset = _reset_peak()
    before = _rss_now() if reset else _rss_now_peak()
    if task == "pickle_dumps":
        from benchmarks.alternatives import PICKLE_PROTOCOL
        import pickle

        data = pickle.dumps(state, protocol=PICKLE_PROTOCOL)
        del data
    elif task == "commit":
        from brainvcs.repo import Repository

        with tempfile.TemporaryDirectory(prefix="brainvcs-bench-") as tmp:
            with Repository.init(Path(tmp) / "repo") as repo:
                repo.commit(state, "first commit")
    elif task != "baseline":
        raise SystemExit(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    peak = _status("VmHWM") if reset else None
    return {"task": task, "workload": workload, "before_task": before, "peak_rss": peak or _rss_now_peak(),
            "peak_reset": reset}


def main(argv: list[str] | None = None) -> None:
    """Child entry point: ``python -m benchmarks.measure TASK WORKLOAD`` prints one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("workload")
    args = parser.parse_args(argv)
    print(json.dumps(_child(args.task, args.workload)))


if __name__ == "__main__":
    main()


def size_runs_arguments(doc: str, results: Path, argv: list[str] | None = None) -> argparse.Namespace:
    """``--size``, ``--runs`` and ``--out`` parsed for a one-brain benchmark (``doc``: the module docstring)."""
    from brainvcs.brains.synthetic import SIZES

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--size", default="M", choices=sorted(SIZES), help="synthetic brain size (default M)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each operation (best is kept)")
    parser.add_argument("--out", type=Path, default=results, help="where to write the JSON results")
    return parser.parse_args(argv)


def write_results(path: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's results as indented JSON (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def print_ratios(title: str, figures: dict[str, Any], rows: list[tuple[str, str]], base: str, base_label: str) -> None:
    """Print ``title`` and one line per ``(label, key)`` of ``figures`` (seconds): ms and the ratio to ``base``."""
    width = max(len(label) for label, _ in rows) + 2
    print(title)
    print(f"  {'operation':{width}} {'ms':>8} {'x ' + base_label:>16}")
    for label, key in rows:
        print(f"  {label:{width}} {figures[key] * 1000:8.1f} {figures[key] / figures[base]:16.2f}")
