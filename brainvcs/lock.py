"""The repository write lock.

Writers (commit, branch moves, gc) serialise on ``<gitdir>/brainvcs.lock``
with an OS advisory lock (``flock``). The kernel drops the lock when its
holder dies, so a ``kill -9`` can never leave the repository locked; the file
itself only carries the holder's pid, host and start time for the message a
waiting process prints. Readers never take it: objects are immutable and refs
move atomically.

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
from pathlib import Path
from types import TracebackType

from .errors import LockHeldError

LOCK_NAME = "brainvcs.lock"
#: A ref ``.lock`` file older than this, seen while we hold the repository lock, is stale.
STALE_REF_LOCK_SECONDS = 10.0


class RepositoryLock:
    """Exclusive, re-entrant (per instance) write lock on one repository."""

    def __init__(self, gitdir: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.path = Path(gitdir) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds."""
        if self._depth:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    os.close(fd)
                    raise LockHeldError(
                        f"the repository is locked by another process{holder} and stayed locked for {self.timeout:g}s",
                        "wait for it to finish (a lock is released automatically when its process exits), "
                        "or pass a longer --lock-timeout") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode())
        self._fd = fd
        self._depth = 1

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
            return f" (pid {int(info['pid'])} on {info['host']})"
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    def release(self) -> None:
        """Release one level of the lock."""
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
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


def clear_stale_ref_locks(gitdir: str | os.PathLike[str], grace: float = STALE_REF_LOCK_SECONDS) -> list[str]:
    """Remove ref ``.lock`` files left by dead writers; call only while holding the repository lock."""
    removed = []
    base = Path(gitdir)
    candidates = [base / "HEAD.lock", base / "packed-refs.lock"]
    refs_dir = base / "refs"
    if refs_dir.is_dir():
        candidates.extend(refs_dir.rglob("*.lock"))
    now = time.time()
    for path in candidates:
        try:
            if now - path.stat().st_mtime >= grace:
                path.unlink()
                removed.append(str(path.relative_to(base)))
        except FileNotFoundError:
            continue
    return removed
