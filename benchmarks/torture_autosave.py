"""Torture test: SIGKILL an autosaving process at random instants, then check nothing was lost.

Usage::

    python benchmarks/torture_autosave.py --kills 200 --seed 1

Each round starts a child process that loads the reference brain from
``autosave/main`` (a fresh brain the first time), learns sentences in a loop
under an :class:`~brainvcs.autosave.Autosaver` saving after every change, and
prints ``ACK <commit id>`` (one atomic write) from ``on_save``, i.e. after the
commit call returned. The parent waits a random delay, kills the child with
SIGKILL, and checks:

* ``git fsck --strict`` exits 0 and reports no error;
* ``Repository.verify()`` (``brainvcs verify``) finds no problem;
* every commit any child ever ACKed is reachable from ``autosave/main``, and
  the ACKs of this round check out (every digest verified) into a brain.

It also counts what the kill left behind: a lock record of a holder that died
(the kill landed inside a write), stale ref ``.lock`` files, temporary packs.
Every ``--gc-every`` rounds, and at the end, it collects garbage (pruning,
removing every leftover file) and checks again. That gc skips the delta
search, which costs minutes on dulwich 1.2.21 and is not what is tested here.
Exit status 0 when every check held.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from brainvcs import Repository
from brainvcs.errors import RevisionNotFoundError

BRANCH = "autosave/main"
CHILD_NEURONS = 24
_ACK = re.compile(r"^ACK ([0-9a-f]{40})$")
_FSCK_BAD = re.compile(r"^(error|fatal|missing|broken|bad|corrupt)", re.IGNORECASE | re.MULTILINE)


@dataclass
class TortureReport:
    """Counts of one torture run; ``failures`` lists every violated check."""

    kills: int = 0
    acked_commits: int = 0
    rounds_with_acks: int = 0
    killed_holding_lock: int = 0
    stale_ref_locks_seen: int = 0
    temp_packs_seen: int = 0
    child_errors_logged: int = 0
    fsck_runs: int = 0
    verify_runs: int = 0
    checkouts: int = 0
    gc_runs: int = 0
    temp_files_removed_by_gc: int = 0
    final_commits: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check held."""
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "ok": self.ok}


# The child ------------------------------------------------------------------------------------


def _ack(line: str) -> None:
    os.write(1, (line + "\n").encode())  # one write(2): a kill cannot tear the line


def child_main(repo_path: str, seed: int) -> None:
    """Learn forever under an Autosaver, printing READY and then ACK <id> after each save."""
    from brainvcs.autosave import Autosaver
    from brainvcs.brains import ReferenceBrain, bundled_texts
    from brainvcs.brains.language import split_inputs

    with Repository.open(repo_path) as repo:
        with repo.writing():  # taking the lock clears what a killed holder left
            assert repo.lock is not None
            for name in repo.lock.recovered:
                _ack(f"RECOVERED {name}")
        try:
            brain = ReferenceBrain.from_state(repo.checkout(BRANCH))
        except RevisionNotFoundError:
            brain = ReferenceBrain(n_neurons=CHILD_NEURONS)
    sentences = [s for text in bundled_texts().values() for s in split_inputs(text)]
    rng = random.Random(seed)
    # No overhead budget: save back to back, so that most kills land inside a write.
    saver = Autosaver(repo_path, brain, every_seconds=0.05, every_changes=1, branch="main", copy=False,
                      on_save=lambda saved: _ack(f"ACK {saved.commit.id}"), save_at_exit=False,
                      max_overhead=None)
    saver.hook(brain, "learn")
    _ack("READY")
    with saver:
        while True:
            brain.learn(rng.choice(sentences))
            time.sleep(rng.uniform(0.0, 0.004))


# The parent -----------------------------------------------------------------------------------


def _debris(gitdir: Path) -> tuple[bool, int, int]:
    from brainvcs.storage.lock import LOCK_NAME, read_holder

    holder = read_holder(gitdir / LOCK_NAME) is not None
    ref_locks = len(list((gitdir / "refs").rglob("*.lock"))) + (gitdir / "HEAD.lock").exists()
    pack_dir = gitdir / "objects" / "pack"
    names = {p.name for p in pack_dir.iterdir()}
    temp = sum(1 for n in names if n.startswith(("tmp", ".tmp"))
               or (n.endswith(".pack") and n[:-5] + ".idx" not in names))
    return holder, ref_locks, temp


def _fsck(gitdir: Path) -> str | None:
    done = subprocess.run(["git", "--git-dir", str(gitdir), "fsck", "--strict", "--no-progress"],
                          capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode != 0 or _FSCK_BAD.search(output):
        return f"git fsck --strict exit {done.returncode}: {output.strip()[:500]}"
    return None


def _check(gitdir: Path, acked: list[str], new: list[str], report: TortureReport, where: str) -> None:
    from brainvcs.brains import ReferenceBrain

    problem = _fsck(gitdir)
    report.fsck_runs += 1
    if problem:
        report.failures.append(f"{where}: {problem}")
    with Repository.open(gitdir) as repo:
        verified = repo.verify()
        report.verify_runs += 1
        if not verified.ok:
            report.failures.append(f"{where}: verify: {'; '.join(verified.problems[:3])}")
        tip = repo.refs.get("refs/heads/" + BRANCH)
        history = {info.id for info in repo.iter_log(tip)} if tip else set()
        report.final_commits = len(history)
        for sha in acked:
            if sha not in history:
                report.failures.append(f"{where}: acknowledged commit {sha[:12]} is not reachable from {BRANCH}")
        for sha in new:
            try:
                ReferenceBrain.from_state(repo.checkout(sha))
                report.checkouts += 1
            except Exception as exc:  # any failure to read an ACKed commit back is a violation
                report.failures.append(f"{where}: acknowledged commit {sha[:12]} does not check out: {exc}")


def _gc(gitdir: Path, report: TortureReport) -> None:
    from brainvcs.storage.gc import collect_garbage

    with Repository.open(gitdir) as repo, repo.writing():
        # No grace for leftovers: no other writer runs between rounds.
        heads = [sha.encode("ascii") for sha in repo.refs.all().values()]
        done = collect_garbage(repo.objects, heads, temp_grace=0, deltify=False)
    report.temp_files_removed_by_gc += done.temporary_files_removed
    report.gc_runs += 1


def run_torture(directory: str | Path, *, kills: int = 200, seed: int = 1, max_delay: float = 1.0,
                gc_every: int = 25, echo: Any = print) -> TortureReport:
    """Run ``kills`` kill-and-check rounds in a new repository under ``directory``."""
    started = time.monotonic()
    rng = random.Random(seed)
    gitdir = Path(directory) / "torture.git"
    Repository.init(gitdir).close()
    report = TortureReport()
    acked: list[str] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for round_no in range(1, kills + 1):
        log_path = Path(directory) / "child.log"
        with open(log_path, "ab") as errors:
            child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", str(gitdir),
                                      "--seed", str(seed * 1_000_003 + round_no)],
                                     stdout=subprocess.PIPE, stderr=errors, env=env)
        assert child.stdout is not None
        first = child.stdout.readline().decode()
        while first.startswith("RECOVERED"):
            first = child.stdout.readline().decode()
        if first != "READY\n":
            child.kill()
            child.wait()
            report.failures.append(f"round {round_no}: child did not start (said {first!r}); see {log_path}")
            break
        time.sleep(rng.uniform(0.0, max_delay))
        child.send_signal(signal.SIGKILL)
        child.wait()
        report.kills += 1
        lines = child.stdout.read().decode().splitlines()
        child.stdout.close()
        new = [m.group(1) for m in map(_ACK.match, lines) if m]
        acked.extend(new)
        report.acked_commits += len(new)
        report.rounds_with_acks += bool(new)
        holder, ref_locks, temp = _debris(gitdir)
        report.killed_holding_lock += holder
        report.stale_ref_locks_seen += ref_locks
        report.temp_packs_seen += temp
        _check(gitdir, acked, new, report, f"round {round_no}")
        if gc_every and round_no % gc_every == 0:
            _gc(gitdir, report)
            _check(gitdir, acked, [], report, f"round {round_no} after gc")
        if round_no % 10 == 0 or report.failures:
            echo(f"round {round_no}: {report.acked_commits} acked, {report.killed_holding_lock} kills inside a write, "
                 f"{len(report.failures)} failure(s)")
        if report.failures:
            break
    _gc(gitdir, report)
    _check(gitdir, acked, acked, report, "final")
    holder, ref_locks, temp = _debris(gitdir)
    if temp:
        report.failures.append(f"final: {temp} temporary pack file(s) survived gc")
    report.child_errors_logged = (Path(directory) / "child.log").read_text(errors="replace").count("autosave to ")
    report.seconds = round(time.monotonic() - started, 1)
    return report


#: Kills per round of the benchmark suite's ``run(size)``.
SUITE_KILLS: dict[str, int] = {"S": 20, "M": 50, "L": 200}


def run(size: str = "S") -> dict[str, Any]:
    """The benchmark suite's entry point: a torture run of ``SUITE_KILLS[size]`` kills in a temporary directory."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="brainvcs-torture-") as tmp:
        return run_torture(tmp, kills=SUITE_KILLS.get(size, 20), seed=1, echo=lambda line: None).to_json()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=1.0, help="longest random wait before a kill (s)")
    parser.add_argument("--gc-every", type=int, default=25)
    parser.add_argument("--dir", default=None, help="work directory (default: a new temporary one, kept)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", metavar="REPO", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.seed)
        return 0
    import tempfile

    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="brainvcs-torture-"))
    directory.mkdir(parents=True, exist_ok=True)
    report = run_torture(directory, kills=args.kills, seed=args.seed, max_delay=args.max_delay,
                         gc_every=args.gc_every, echo=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for key, value in report.to_json().items():
            if key != "failures":
                print(f"{key:<26} {value}")
        for failure in report.failures:
            print(f"FAILURE {failure}")
        print(f"work directory: {directory}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
