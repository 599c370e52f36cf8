"""Tests for brainvcs.storage.lock: the repository write lock and stale ref-lock recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.errors import LockHeldError
from brainvcs.storage.lock import LOCK_NAME, STALE_REF_LOCK_SECONDS, RepositoryLock, clear_stale_ref_locks
from tests.conftest import sample_state

_HOLDER = """
import sys, time
from brainvcs.storage.lock import RepositoryLock
lock = RepositoryLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(repo: Repository) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the repository lock (killed at the end)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(repo.gitdir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def backdate(path: Path, seconds: float) -> None:
    """Set a file's mtime ``seconds`` into the past."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_a_lock_held_by_another_process_is_reported_with_its_pid(repo: Repository,
                                                                   holder: subprocess.Popen[str]) -> None:
    assert repo.gitdir is not None
    with pytest.raises(LockHeldError) as info:
        RepositoryLock(repo.gitdir, timeout=0.3).acquire()
    assert f"(pid {holder.pid} on " in info.value.message
    assert "stayed locked for 0.3s" in info.value.message
    assert info.value.exit_code == 8
    assert info.value.hint is not None and "released automatically when its process exits" in info.value.hint
    # A commit waits on the same lock and fails the same way, writing nothing.
    repo.lock = RepositoryLock(repo.gitdir, timeout=0.2)
    with pytest.raises(LockHeldError):
        repo.commit(sample_state(), "blocked")
    assert repo.refs.all() == {}


def test_the_lock_of_a_killed_process_can_be_taken_at_once(repo: Repository,
                                                           holder: subprocess.Popen[str]) -> None:
    assert repo.gitdir is not None
    holder.send_signal(signal.SIGKILL)
    assert holder.wait() == -signal.SIGKILL
    assert (repo.gitdir / LOCK_NAME).exists()  # the file stays; the kernel released the flock
    lock = RepositoryLock(repo.gitdir, timeout=0)
    lock.acquire()
    assert lock.held
    lock.release()
    assert not lock.held
    result = repo.commit(sample_state(), "after the crash")
    assert result.changed is True


def test_the_lock_is_re_entrant_per_instance(repo: Repository) -> None:
    assert repo.gitdir is not None
    lock = RepositoryLock(repo.gitdir, timeout=0)
    other = RepositoryLock(repo.gitdir, timeout=0)
    with lock:
        with lock:
            assert lock.held
            with pytest.raises(LockHeldError):
                other.acquire()
        assert lock.held  # the outer level still holds it
        with pytest.raises(LockHeldError):
            other.acquire()
    assert not lock.held
    other.acquire()
    assert other.held
    other.release()
    lock.release()  # releasing an unheld lock is a no-op
    assert not lock.held


def test_repository_writing_is_re_entrant(repo: Repository) -> None:
    with repo.writing():
        with repo.writing():
            result = repo.commit(sample_state(), "inside the lock")
    assert result.changed is True
    assert repo.lock is not None and not repo.lock.held


def test_the_lock_file_records_the_holder(repo: Repository) -> None:
    assert repo.gitdir is not None
    with RepositoryLock(repo.gitdir) as lock:
        text = lock.path.read_text()
    assert f'"pid": {os.getpid()}' in text


def test_clear_stale_ref_locks_removes_only_old_ones(repo: Repository) -> None:
    gitdir = repo.gitdir
    assert gitdir is not None
    old_branch = gitdir / "refs" / "heads" / "main.lock"
    old_nested = gitdir / "refs" / "heads" / "alice" / "exp.lock"
    old_head = gitdir / "HEAD.lock"
    fresh = gitdir / "refs" / "tags" / "v1.lock"
    old_nested.parent.mkdir(parents=True)
    fresh.parent.mkdir(parents=True, exist_ok=True)
    for path in (old_branch, old_nested, old_head, fresh):
        path.write_text("0" * 40 + "\n")
    for path in (old_branch, old_nested, old_head):
        backdate(path, STALE_REF_LOCK_SECONDS + 60)
    removed = clear_stale_ref_locks(gitdir)
    assert sorted(removed) == ["HEAD.lock", "refs/heads/alice/exp.lock", "refs/heads/main.lock"]
    assert not old_branch.exists() and not old_nested.exists() and not old_head.exists()
    assert fresh.exists()
    assert clear_stale_ref_locks(gitdir) == []
    assert clear_stale_ref_locks(gitdir, grace=0) == ["refs/tags/v1.lock"]


def test_a_commit_after_a_crashed_writer_left_a_ref_lock(repo: Repository) -> None:
    first = repo.commit(sample_state(0), "first").commit
    assert first is not None and repo.gitdir is not None
    stale = repo.gitdir / "refs" / "heads" / "main.lock"
    stale.write_text("f" * 40 + "\n")  # what a writer killed mid-update leaves behind
    backdate(stale, STALE_REF_LOCK_SECONDS + 60)
    second = repo.commit(sample_state(1), "second")
    assert second.changed is True and second.commit is not None
    assert second.commit.parents == (first.id,)
    assert repo.head() == second.commit.id
    assert not stale.exists()


def test_a_fresh_ref_lock_is_a_clear_error_not_a_crash(repo: Repository) -> None:
    first = repo.commit(sample_state(0), "first").commit
    assert first is not None and repo.gitdir is not None
    busy = repo.gitdir / "refs" / "heads" / "main.lock"
    busy.write_text("")  # a concurrent C git holding the ref right now
    with pytest.raises(LockHeldError) as info:
        repo.commit(sample_state(1), "second")
    assert info.value.message == "refs/heads/main is locked by another git process (main.lock exists); it was not changed"
    assert info.value.hint is not None and str(busy) in info.value.hint
    assert repo.head() == first.id
    busy.unlink()
    assert repo.commit(sample_state(1), "second").changed is True
