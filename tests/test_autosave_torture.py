"""Crash safety of autosave: a reduced kill -9 torture run, and what a killed writer leaves behind.

The full run is ``python benchmarks/torture_autosave.py --kills 200 --seed 1``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.torture_autosave import run_torture
from brainvcs import Repository
from brainvcs.snapshot import layout
from brainvcs.errors import LockHeldError
from brainvcs.storage.gc import TEMP_FILE_GRACE_SECONDS, collect_garbage, consolidate
from brainvcs.storage.lock import LOCK_NAME, RepositoryLock, read_holder
from brainvcs.storage.objects import ObjectWriter
from tests.conftest import git, sample_state

# Takes the repository lock, starts a ref update the way git does (a .lock file), and waits to be killed.
_DIES_MID_UPDATE = """
import sys, time
from pathlib import Path
from brainvcs.storage.lock import RepositoryLock
lock = RepositoryLock(sys.argv[1])
lock.acquire()
(Path(sys.argv[1]) / "refs" / "heads" / "main.lock").write_text("f" * 40 + "\\n")
print("writing", flush=True)
time.sleep(120)
"""

# Takes the lock, forks a child that inherits the descriptor, and exits: the lock stays held.
_FORKS_AND_EXITS = """
import os, sys, time
from brainvcs.storage.lock import RepositoryLock
lock = RepositoryLock(sys.argv[1])
lock.acquire()
child = os.fork()
if child == 0:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # let the parent's pipes close
        os.dup2(devnull, fd)
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
os._exit(0)
"""


def backdate(path: Path, seconds: float) -> None:
    """Set a file's mtime ``seconds`` into the past."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def assert_fsck_clean(repo: Repository) -> None:
    """C git's fsck --strict finds nothing wrong."""
    assert repo.gitdir is not None
    fsck = git("--git-dir", repo.gitdir, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert not re.search(r"^(error|missing|broken|bad)", fsck.stdout + fsck.stderr, re.MULTILINE)


def test_reduced_torture_kills_an_autosaving_process_fifteen_times(tmp_path: Path) -> None:
    report = run_torture(tmp_path, kills=15, seed=1, gc_every=5, echo=lambda line: None)
    assert report.failures == []
    assert report.kills == 15
    assert report.acked_commits >= 1  # the run exercised something: at least one acknowledged commit
    assert report.fsck_runs == 15 + 3 + 1 and report.verify_runs == 15 + 3 + 1
    assert report.gc_runs == 3 + 1
    assert report.final_commits >= report.acked_commits


# -- the repository lock after a crash ---------------------------------------------------------------


def test_a_writer_killed_mid_update_is_detected_and_its_ref_lock_cleared_at_once(repo: Repository) -> None:
    first = repo.commit(sample_state(0), "first").commit
    assert first is not None and repo.gitdir is not None
    proc = subprocess.Popen([sys.executable, "-c", _DIES_MID_UPDATE, str(repo.gitdir)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    holder = read_holder(repo.gitdir / LOCK_NAME)
    assert holder is not None and holder.pid == proc.pid and holder.alive() is False
    assert "which is no longer running" in holder.describe()
    lock = RepositoryLock(repo.gitdir, timeout=0)
    with lock:
        assert lock.recovered == ["refs/heads/main.lock"]
    assert not (repo.gitdir / "refs" / "heads" / "main.lock").exists()
    assert read_holder(repo.gitdir / LOCK_NAME) is None  # released cleanly this time
    second = repo.commit(sample_state(1), "second").commit  # no grace period to wait out
    assert second is not None and second.parents == (first.id,)
    assert_fsck_clean(repo)


def test_a_clean_release_leaves_no_holder_record(repo: Repository) -> None:
    assert repo.gitdir is not None
    with RepositoryLock(repo.gitdir) as lock:
        holder = read_holder(lock.path)
        assert holder is not None and holder.pid == os.getpid()
    assert read_holder(lock.path) is None
    assert lock.recovered == []


def test_ref_locks_are_left_alone_when_the_recorded_holder_still_runs(repo: Repository) -> None:
    assert repo.gitdir is not None
    busy = repo.gitdir / "refs" / "heads" / "main.lock"
    busy.write_text("")
    # A record naming a live process (a reused pid, or an old brainvcs that did not clear it).
    (repo.gitdir / LOCK_NAME).write_text(f'{{"pid": {os.getppid()}, "host": "{os.uname().nodename}", "since": 0}}')
    with RepositoryLock(repo.gitdir) as lock:
        assert lock.recovered == []
    assert busy.exists()


def test_a_lock_held_by_a_live_process_names_it_and_says_what_to_do(repo: Repository) -> None:
    assert repo.gitdir is not None
    with RepositoryLock(repo.gitdir):
        with pytest.raises(LockHeldError) as info:
            RepositoryLock(repo.gitdir, timeout=0.05).acquire()
    assert f"(pid {os.getpid()} on " in info.value.message
    assert "this process, through another Repository instance or thread" in info.value.message
    assert info.value.hint is not None and "released automatically when its process exits" in info.value.hint


def test_a_lock_kept_by_an_inherited_descriptor_is_explained(repo: Repository) -> None:
    assert repo.gitdir is not None
    done = subprocess.run([sys.executable, "-c", _FORKS_AND_EXITS, str(repo.gitdir)], capture_output=True,
                          text=True, timeout=60)
    child = int(done.stdout)
    try:
        with pytest.raises(LockHeldError) as info:
            RepositoryLock(repo.gitdir, timeout=0.05).acquire()
        assert "which is no longer running: a process that inherited its descriptor still holds it" \
            in info.value.message
    finally:
        os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:  # the kernel drops the lock once the last descriptor closes
        try:
            with RepositoryLock(repo.gitdir, timeout=0):
                break
        except LockHeldError:
            assert time.monotonic() < deadline
            time.sleep(0.01)


# -- what gc cleans up --------------------------------------------------------------------------------


def test_gc_removes_stale_temporary_pack_files_only(repo: Repository) -> None:
    repo.commit(sample_state(0), "first")
    assert repo.gitdir is not None
    pack_dir = repo.gitdir / "objects" / "pack"
    stale = [pack_dir / "tmpab12cd.pack", pack_dir / ".tmp-brainvcs-x1.pack-part", pack_dir / "pack-1234.pack",
             pack_dir / "pack-5678.idx", repo.gitdir / "objects" / "tmp_pack_Zz9"]
    fresh = pack_dir / ".tmp-brainvcs-x2.pack-part"
    for path in [*stale, fresh]:
        path.write_bytes(b"half a pack")
    for path in stale:
        backdate(path, TEMP_FILE_GRACE_SECONDS + 5)
    report = repo.gc()
    assert report.temporary_files_removed == 5
    assert [path.exists() for path in stale] == [False] * 5
    assert fresh.exists()
    fresh.unlink()
    assert repo.checkout("main") == sample_state(0)
    assert_fsck_clean(repo)


def test_objects_of_an_interrupted_commit_are_unreachable_and_gc_drops_them(repo: Repository) -> None:
    repo.commit(sample_state(0), "first")
    writer = ObjectWriter(repo.objects)
    writer.add_tree(layout.build(sample_state(7)).tree)
    written = writer.flush()  # a commit killed here has written its pack but moved no ref
    assert written.objects > 0
    assert repo.verify().ok
    report = repo.gc()
    assert report.objects_dropped == written.objects
    assert repo.checkout("main") == sample_state(0)
    assert_fsck_clean(repo)


@pytest.mark.parametrize("deltify", [False, True])
def test_a_rewrite_that_reproduces_an_existing_pack_file_keeps_it(repo: Repository, deltify: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The second gc writes byte for byte the pack the first one wrote: that file is the result, not an old pack.
    monkeypatch.setenv("BRAINVCS_GC_NO_GIT", "1")  # dulwich's path (C git's repack is tested elsewhere)
    for step in range(3):
        repo.commit(sample_state(step), f"step {step}")
    heads = [sha.encode("ascii") for sha in repo.refs.all().values()]
    for _ in range(3):
        with repo.writing():
            report = collect_garbage(repo.objects, heads, deltify=deltify)
        assert report.packs_after == 1
    assert [repo.checkout(f"main~{n}") for n in (2, 1, 0)] == [sample_state(s) for s in range(3)]
    assert repo.verify().ok
    assert_fsck_clean(repo)


def test_consolidating_the_same_pack_twice_keeps_its_objects(repo: Repository) -> None:
    repo.commit(sample_state(0), "first")
    for _ in range(2):  # the second pass rewrites exactly the file the first one wrote
        with repo.writing():
            assert consolidate(repo.objects, limit=0, merge=1)
    assert repo.checkout("main") == sample_state(0)
    assert repo.verify().ok
    assert_fsck_clean(repo)


def test_gc_keeps_what_a_reflog_names_and_never_loses_a_pack_it_rewrites(repo: Repository) -> None:
    first = repo.commit(sample_state(0), "first").commit
    second = repo.commit(sample_state(1), "second").commit
    assert first is not None and second is not None and repo.gitdir is not None
    repo.refs.move("refs/heads/main", second.id, first.id, "test: rewind")
    repo.gc()
    assert repo.checkout(second.id) == sample_state(1)  # named by the reflog, so kept (as git does)
    assert_fsck_clean(repo)
    for log in (repo.gitdir / "logs").rglob("*"):
        if log.is_file():
            log.unlink()
    # Now only the first commit is reachable, and its objects are exactly one existing pack.
    report = repo.gc()
    assert report.packs_after == 1 and report.objects_dropped > 0
    assert repo.checkout("main") == sample_state(0)
    assert repo.verify().ok
    assert_fsck_clean(repo)
