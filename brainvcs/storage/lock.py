"""The repository write lock.

Writers (commit, branch moves, gc) serialise on ``<gitdir>/brainvcs.storage.lock``
with an OS advisory lock (``flock``). The kernel drops the lock when its
holder dies, so a ``kill -9`` can never leave the repository locked; the file
itself only carries the holder's pid, host and start time for the message a
waiting process prints. Readers never take it: objects are immutable and refs
move atomically.

The holder's record is emptied on every clean release, so a process that finds
a record when it takes the lock knows the previous holder died while holding
it (``kill -9``, power loss). If that pid is no longer running, the ref
``.lock`` files created during its tenure can only be its debris, and are
removed at once (:attr:`RepositoryLock.recovered`) instead of after the grace
period below.

git's own per-ref ``.lock`` files are a different matter: a process killed
between creating one and renaming it leaves it behind. :func:`clear_stale_ref_locks`
removes such files, but only while holding the repository lock (so no brainvcs
writer can be mid-update) and only when they are older than a grace period
(so a concurrent C git command is not disturbed).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ..errors import LockHeldError, UnsafePathError
from ..files import open_regular_nofollow

LOCK_NAME = "brainvcs.storage.lock"
#: A ref ``.lock`` file older than this, seen while we hold the repository lock, is stale.
STALE_REF_LOCK_SECONDS = 10.0


#: Filesystem timestamps can trail ``time.time()`` by a clock tick; widen the dead holder's window by this.
_MTIME_SLACK = 0.05
#: Bytes of a lock record read at most (a record is a short JSON object).
_MAX_RECORD = 4096


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the repository lock, as recorded in the lock file."""

    pid: int
    host: str
    since: float

    def alive(self) -> bool | None:
        """Whether the pid is running (None when it ran on another host and cannot be checked)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # running, under another user
        return True

    def describe(self) -> str:
        """``pid 12 on host, running, holding it for 3s`` (or why it cannot be running)."""
        where = f"pid {self.pid} on {self.host}"
        if self.pid == os.getpid() and self.host == socket.gethostname():
            return f"{where}: this process, through another Repository instance or thread"
        alive = self.alive()
        held = f"holding it for {max(0.0, time.time() - self.since):.0f}s"
        if alive is None:
            return f"{where} (another host: cannot check whether it runs), {held}"
        if alive:
            return f"{where}, running, {held}"
        return f"{where}, which is no longer running: a process that inherited its descriptor still holds it"


class RepositoryLock:
    """Exclusive, re-entrant (per instance) write lock on one repository."""

    def __init__(self, gitdir: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.path = Path(gitdir) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None
        self._depth = 0
        #: Ref lock files removed on the last acquire because their creator had died holding the lock.
        self.recovered: list[str] = []

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds."""
        if self._depth:
            self._depth += 1
            return
        # A lock file planted as a symlink (or a directory) must not make brainvcs truncate or create
        # a file elsewhere: O_NOFOLLOW, and only a regular file is accepted.
        fd = open_regular_nofollow(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(self.path)
                    os.close(fd)
                    shown = f" ({holder.describe()})" if holder else ""
                    stop = f"; if pid {holder.pid} is stuck, stop it" if holder and holder.alive() else ""
                    raise LockHeldError(
                        f"the repository is locked by another process{shown} and stayed locked for {self.timeout:g}s",
                        "wait for it to finish (a lock is released automatically when its process exits)"
                        f"{stop}, then run the command again") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        # A record left in the file means its writer never released the lock: it died holding it.
        previous = read_holder(self.path)
        self.recovered = _clear_dead_holder_debris(self.path.parent, previous) if previous else []
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode())
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        """Release one level of the lock."""
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.ftruncate(self._fd, 0)  # an empty record marks a clean release
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this instance holds the lock."""
        return self._depth > 0

    def __enter__(self) -> RepositoryLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def read_holder(path: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded in a lock file, or None if it is empty (released cleanly) or unreadable."""
    try:
        fd = open_regular_nofollow(path, os.O_RDONLY)
        try:
            text = os.read(fd, _MAX_RECORD).decode("utf-8", "replace")
        finally:
            os.close(fd)
        info = json.loads(text or "null")
        return LockHolder(int(info["pid"]), str(info["host"]), float(info["since"])) if info else None
    except (OSError, ValueError, KeyError, TypeError, UnsafePathError):
        return None


def _clear_dead_holder_debris(gitdir: Path, previous: LockHolder) -> list[str]:
    # Only a holder known to be dead: a live pid may be a reused one, or a
    # process that still works through an inherited descriptor.
    if previous.alive() is not False:
        return []
    return clear_stale_ref_locks(gitdir, created_after=previous.since - _MTIME_SLACK)


def clear_stale_ref_locks(gitdir: str | os.PathLike[str], grace: float = STALE_REF_LOCK_SECONDS, *,
                          created_after: float | None = None) -> list[str]:
    """Remove ref ``.lock`` files left by dead writers; call only while holding the repository lock.

    A file goes when it is older than ``grace`` seconds, or (``created_after``)
    when it was last written after that time: the tenure of a lock holder that died.
    """
    removed = []
    base = Path(gitdir)
    candidates = [base / "HEAD.lock", base / "packed-refs.lock"]
    refs_dir = base / "refs"
    if refs_dir.is_dir():
        candidates.extend(refs_dir.rglob("*.lock"))
    now = time.time()
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
            if now - mtime >= grace or (created_after is not None and mtime >= created_after):
                path.unlink()
                removed.append(str(path.relative_to(base)))
        except FileNotFoundError:
            continue
    return removed
