"""Continuous team sync from the Autosaver (brainvcs.autosave.teamsync): two machines' live brains, each
autosaving and syncing with one remote while learning, end as one brain holding both machines' learning;
an unreachable remote backs off and is reported, and learning never waits for the network."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from brainvcs import Repository
from brainvcs.autosave import Autosaver
from brainvcs.errors import BrainVCSError
from brainvcs.remote import ops

sys.path.insert(0, str(Path(__file__).parent))
from brain_zoo import SeedStyleBrain, sentence  # noqa: E402
from teamsync import bare_remote  # noqa: E402


def _remote(tmp_path: Path) -> str:
    brain = SeedStyleBrain()
    brain.step(0)
    return bare_remote(tmp_path, brain)


def test_two_autosaving_machines_stay_one_brain(tmp_path: Path) -> None:
    url = _remote(tmp_path)
    machines = []
    for name in ("laptop", "desktop"):
        repo = Repository.clone(url, tmp_path / name)
        brain = repo.checkout("HEAD", factory=SeedStyleBrain)
        saver = Autosaver(repo, brain, on_branch=True, every_seconds=0.05, max_overhead=None,
                          sync_remote="origin", sync_every_seconds=0.1, save_at_exit=False)
        machines.append((repo, brain, saver))
    steps = {0: [], 1: []}
    for saver in (m[2] for m in machines):
        saver.start()
    try:
        for round_ in range(600):  # at least 40 rounds, and until both brains took in the other's learning
            if round_ >= 40 and all(s.team is not None and s.team.adoptions > 0 for _, _, s in machines):
                break
            for index, (_, brain, saver) in enumerate(machines):
                with saver.lock:  # what a hooked learning method does
                    step = 1000 * (index + 1) + round_
                    brain.step(step)
                    steps[index].append(step)
                saver.notify_change()
            time.sleep(0.02)
    finally:
        for _, _, saver in machines:
            saver.stop()
    assert all(saver.team is not None and saver.team.syncs > 0 for _, _, saver in machines)
    for _ in range(3):  # the last saves reach everybody (settled the way the savers settle: the shared value)
        for repo, brain, saver in machines:
            ops.sync(repo, on_conflict="theirs")
    heads = {repo.resolve("main") for repo, _, _ in machines}
    assert len(heads) == 1
    final = machines[0][0].checkout("HEAD", factory=SeedStyleBrain)
    # Every word of every step on both machines counted exactly once: nothing lost to a sync, nothing added
    # twice by a merge or by the live brains taking in each other's learning.
    seen = sum(final.language_module.word_frequency.values())
    assert seen == len(sentence(0)) + sum(len(sentence(step)) for step in steps[0] + steps[1])
    # each live brain took in the other's learning while it ran: it counts more words than it saw itself
    for index, (_, brain, _) in enumerate(machines):
        own = len(sentence(0)) + sum(len(sentence(step)) for step in steps[index])
        assert sum(brain.language_module.word_frequency.values()) > own
    for repo, _, _ in machines:
        repo.close()


def test_an_unreachable_remote_backs_off_and_is_reported(tmp_path: Path) -> None:
    url = _remote(tmp_path)
    repo = Repository.clone(url, tmp_path / "solo")
    ops.remote_add(repo, "gone", str(tmp_path / "nowhere.git"))
    brain = repo.checkout("HEAD", factory=SeedStyleBrain)
    errors: list[BaseException] = []
    saver = Autosaver(repo, brain, on_branch=True, every_seconds=0.02, max_overhead=None, sync_remote="gone",
                      sync_every_seconds=0.05, save_at_exit=False, on_error=errors.append)
    with saver:
        for step in range(1, 30):
            started = time.monotonic()
            with saver.lock:
                brain.step(step)
            saver.notify_change()
            assert time.monotonic() - started < 1.0  # learning never waits for the network
            time.sleep(0.01)
    assert saver.saves > 0 and errors and all(isinstance(e, BrainVCSError) for e in errors)
    assert saver.team is not None and saver.team.failures >= 1 and saver.team.next_at > time.monotonic() - 1
    assert len(errors) < 10  # backed off, not retried on every save
    repo.close()
