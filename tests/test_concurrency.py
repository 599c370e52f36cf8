"""Concurrent writers on one branch: every commit lands or fails with RefConflict; none is lost.

Also tests brainvcs.concurrency.commit_with_retry (rebase and merge).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.cli._common import EXIT_CODES_HELP
from brainvcs.concurrency import commit_with_retry
from brainvcs.errors import RefConflict, UsageError
from tests.conftest import git

WORKERS = 4
COMMITS = 50

# One worker: COMMITS read-modify-write commits on main, each expecting the tip it read.
# It prints "ACK <id>" once a commit call returned, "CONFLICT <message>" when it raised RefConflict.
_WORKER = """
import sys, time
from brainvcs import Repository
from brainvcs.errors import RefConflict
path, name, commits, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
while time.time() < start:
    time.sleep(0.001)
with Repository.open(path) as repo:
    for n in range(commits):
        tip = repo.refs.get("refs/heads/main")
        state = repo.checkout(tip)
        state["counters"][name] = state["counters"].get(name, 0) + 1
        try:
            result = repo.commit(state, f"{name} step {n}", branch="main", expected_head=tip)
        except RefConflict as exc:
            print("CONFLICT", exc.message, "|", exc.hint, flush=True)
        else:
            print("ACK", result.commit.id, flush=True)
"""

# The same with commit_with_retry: every commit must land, and no increment may be lost.
_RETRY_WORKER = """
import sys, time
from brainvcs import Repository
from brainvcs.concurrency import commit_with_retry
path, name, commits, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def bump(state):
    counters = dict(state["counters"])
    counters[name] = counters.get(name, 0) + 1
    return {**state, "counters": counters}
while time.time() < start:
    time.sleep(0.001)
with Repository.open(path) as repo:
    for n in range(commits):
        done = commit_with_retry(repo, bump, f"{name} step {n}", branch="main", attempts=500, backoff=0.002)
        print("ACK", done.result.commit.id, done.attempts, flush=True)
"""


def run_workers(path: Path, script: str, commits: int) -> list[list[str]]:
    """Start WORKERS processes at the same instant; return each one's output lines."""
    start = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"w{i}", str(commits), str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(WORKERS)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        outputs.append(out.splitlines())
    return outputs


def assert_clean(repo: Repository) -> None:
    """C git's fsck and brainvcs verify both find nothing wrong."""
    assert repo.gitdir is not None
    fsck = git("--git-dir", repo.gitdir, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert not re.search(r"^(error|missing|broken|bad)", fsck.stdout + fsck.stderr, re.MULTILINE)
    report = repo.verify()
    assert report.ok, report.problems


def test_four_processes_commit_fifty_times_each_and_none_is_lost(repo: Repository) -> None:
    root = repo.commit({"counters": {}}, "root").commit
    assert root is not None and repo.gitdir is not None
    outputs = run_workers(repo.gitdir, _WORKER, COMMITS)
    acked = [line.split()[1] for lines in outputs for line in lines if line.startswith("ACK ")]
    conflicts = [line for lines in outputs for line in lines if line.startswith("CONFLICT ")]
    assert len(acked) + len(conflicts) == WORKERS * COMMITS
    for line in conflicts:  # each failure said what happened and what to do
        assert re.fullmatch(r"CONFLICT refs/heads/main moved while this operation ran \(expected [0-9a-f]{12}, "
                            r"found [0-9a-f]{12}\); nothing was changed \| another writer committed first: .*", line)
    # This instance's pack cache predates the packs the workers consolidated away: it must cope.
    history = repo.log("main")
    # Linear history: every acknowledged commit, in some order, on top of the root, and nothing else.
    assert sorted(info.id for info in history[:-1]) == sorted(acked)
    assert history[-1].id == root.id
    assert all(len(info.parents) == 1 for info in history[:-1])
    # Each commit added exactly one increment to the state of its parent: none was overwritten.
    counters = repo.checkout("main")["counters"]
    assert sum(counters.values()) == len(acked)
    for index, lines in enumerate(outputs):
        assert counters.get(f"w{index}", 0) == sum(1 for line in lines if line.startswith("ACK "))
    assert_clean(repo)


def test_with_retry_every_commit_of_four_processes_lands(repo: Repository) -> None:
    repo.commit({"counters": {}}, "root")
    assert repo.gitdir is not None
    commits = 25
    outputs = run_workers(repo.gitdir, _RETRY_WORKER, commits)
    acked = [line.split()[1] for lines in outputs for line in lines]
    assert len(acked) == WORKERS * commits
    assert sorted(info.id for info in repo.log("main")[:-1]) == sorted(acked)
    assert repo.checkout("main")["counters"] == {f"w{i}": commits for i in range(WORKERS)}
    assert_clean(repo)


def test_threads_with_their_own_repositories_commit_safely(repo: Repository) -> None:
    repo.commit({"counters": {}}, "root")
    assert repo.gitdir is not None
    errors: list[BaseException] = []
    attempts: list[int] = []

    def worker(name: str) -> None:
        try:
            with Repository.open(repo.gitdir) as mine:  # type: ignore[arg-type]
                for _ in range(10):
                    def bump(state: Any) -> Any:
                        return {"counters": {**state["counters"], name: state["counters"].get(name, 0) + 1}}
                    attempts.append(commit_with_retry(mine, bump, f"{name}", branch="main", attempts=500,
                                                      backoff=0.001).attempts)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(attempts) == 40
    assert repo.checkout("main")["counters"] == {f"t{i}": 10 for i in range(WORKERS)}
    assert len(repo.log("main")) == 41
    assert_clean(repo)


# -- commit_with_retry, one conflict at a time -----------------------------------------------------


def _interfering(repo: Repository, times: int) -> Any:
    """A make_state that lets another writer commit first, ``times`` times."""
    assert repo.gitdir is not None
    other = Repository.open(repo.gitdir)
    calls = {"n": 0}

    def make_state(state: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            theirs = dict(state["counters"])
            theirs["them"] = theirs.get("them", 0) + 1
            other.commit({"counters": theirs}, "them", branch="main")
        return {"counters": {**state["counters"], "us": state["counters"].get("us", 0) + 1}}

    make_state.calls = calls  # type: ignore[attr-defined]
    make_state.other = other  # type: ignore[attr-defined]
    return make_state


def test_rebase_recomputes_the_change_on_the_new_tip(repo: Repository) -> None:
    repo.commit({"counters": {}}, "root")
    make_state = _interfering(repo, 2)
    done = commit_with_retry(repo, make_state, "us", branch="main", backoff=0)
    make_state.other.close()
    assert done.attempts == 3 and len(done.conflicts) == 2
    assert make_state.calls["n"] == 3
    assert repo.checkout("main") == {"counters": {"them": 2, "us": 1}}
    assert done.result.commit is not None and len(done.result.commit.parents) == 1


def test_merge_keeps_our_commit_and_joins_it_to_theirs(repo: Repository) -> None:
    root = repo.commit({"counters": {}}, "root").commit
    assert root is not None
    make_state = _interfering(repo, 1)
    seen: list[tuple[Any, Any, Any]] = []

    def merge_states(base: Any, ours: Any, theirs: Any) -> Any:
        seen.append((base, ours, theirs))
        return {"counters": {**theirs["counters"], **ours["counters"]}}

    done = commit_with_retry(repo, make_state, "us", branch="main", strategy="merge", merge_states=merge_states,
                             backoff=0)
    make_state.other.close()
    assert done.attempts == 2
    assert make_state.calls["n"] == 1  # the change was computed once
    assert seen == [({"counters": {}}, {"counters": {"us": 1}}, {"counters": {"them": 1}})]
    merge = done.result.commit
    assert merge is not None and merge.summary == "Merge concurrent change: us"
    theirs_id, ours_id = merge.parents
    assert repo.commit_info(theirs_id).summary == "them"
    assert repo.commit_info(ours_id).parents == (root.id,)
    assert repo.checkout(ours_id) == {"counters": {"us": 1}}
    assert repo.checkout("main") == {"counters": {"them": 1, "us": 1}}
    assert_clean(repo)


def test_retry_gives_up_loudly(repo: Repository) -> None:
    repo.commit({"counters": {}}, "root")
    make_state = _interfering(repo, 10)
    with pytest.raises(RefConflict) as info:
        commit_with_retry(repo, make_state, "us", branch="main", attempts=2, backoff=0)
    make_state.other.close()
    assert info.value.exit_code == 7
    assert info.value.hint == ("gave up after 2 attempts, each beaten by another writer; "
                               "retry later or with more attempts")
    assert repo.checkout("main") == {"counters": {"them": 2}}


def test_retry_refuses_nonsense(repo: Repository) -> None:
    with pytest.raises(UsageError):
        commit_with_retry(repo, lambda s: {}, "x", attempts=0)
    with pytest.raises(UsageError):
        commit_with_retry(repo, lambda s: {}, "x", strategy="octopus")
    with pytest.raises(UsageError):
        commit_with_retry(repo, lambda s: {}, "x", strategy="merge")


def test_retry_on_a_new_branch_starts_from_nothing(repo: Repository) -> None:
    done = commit_with_retry(repo, lambda state: {"m": {"first": state is None}}, "first", branch="fresh")
    assert done.attempts == 1 and done.conflicts == ()
    assert repo.checkout("fresh") == {"m": {"first": True}}


def test_the_conflict_exit_code_is_documented() -> None:
    assert "  7    ref conflict: another writer moved the branch first (nothing changed)" in EXIT_CODES_HELP
