"""How fast the review page's first paint is on a synthetic brain: the requests it makes, and a real browser.

    python benchmarks/bench_review.py --size M

Commits a synthetic brain and one learning step, serves ``brainvcs review``,
then times (best of ``--runs``) each request the commit page makes before it
paints (overview, log, show HEAD) and the histogram it adds after, and the
whole page in headless Chromium (``--dump-dom`` until the page is ready,
browser start-up included). Writes benchmarks/results/review.json.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import size_runs_arguments, write_results
from brainvcs.brains.synthetic import SIZES, learning_step, synthetic_state
from brainvcs.repo import Repository

RESULTS = Path(__file__).resolve().parent / "results" / "review.json"
REQUESTS = {"overview": "api/overview", "log": "api/log", "show HEAD": "api/show/HEAD",
            "histogram (after paint)": "api/histogram?b=HEAD"}


def _best(runs: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(size: str = "M", runs: int = 3) -> dict[str, Any]:
    """Time the page's requests and a browser load on a ``size`` brain."""
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        path = Path(tmp) / "brain"
        with Repository.init(path) as repo:
            state = synthetic_state(**SIZES[size])
            repo.commit(state, "base brain")
            learning_step(state, step=1)
            repo.commit(state, "one learning step")
            del state
        proc = subprocess.Popen([sys.executable, "-m", "brainvcs", "-C", str(path), "review", "--no-browser"],
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            url = proc.stderr.readline().split(" at ")[1].split()[0]
            seconds = {name: _best(runs, lambda p=p: urllib.request.urlopen(url + p, timeout=120).read())
                       for name, p in REQUESTS.items()}
            before_paint = sum(v for k, v in seconds.items() if "after" not in k)
            chromium = shutil.which("chromium")
            browser = None
            if chromium:
                browser = _best(runs, lambda: subprocess.run(
                    [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp}/profile",
                     "--virtual-time-budget=30000", "--dump-dom", url], capture_output=True, timeout=300))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"size": size, "runs": runs, "requests": {k: round(v, 4) for k, v in seconds.items()},
            "first_paint_requests": round(before_paint, 4), "browser_page_ready": browser and round(browser, 3),
            "target_first_paint_seconds": 1.0}


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    args = size_runs_arguments(__doc__, RESULTS, argv)
    result = run(args.size, args.runs)
    print(f"review page, synthetic brain {args.size}, commit page of one learning step, best of {args.runs}")
    for name, value in result["requests"].items():
        print(f"  {'GET ' + name:<36} {value:>8.3f} s")
    print(f"  {'requests before first paint':<36} {result['first_paint_requests']:>8.3f} s  (target < 1 s)")
    if result["browser_page_ready"] is not None:
        print(f"  {'headless Chromium, start to ready':<36} {result['browser_page_ready']:>8.3f} s  (browser start-up included)")
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
