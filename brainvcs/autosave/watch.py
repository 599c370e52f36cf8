"""``watch``: autosave for a brain that lives in another process, through its state file."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..snapshot import statefile
from ..snapshot.canonical import blake3_hex
from ..errors import BrainVCSError, InputFileError, InvalidStateError, UsageError
from ..repo import Repository
from ..storage.commits import CommitInfo
from .target import AutosaveTarget

log = logging.getLogger("brainvcs.autosave")


@dataclass
class WatchEvent:
    """Something :func:`watch` did with one version of the file."""

    #: "invalid": skipped; "error": retried at the next poll.
    kind: Literal["commit", "unchanged", "invalid", "error"]
    path: str
    commit: CommitInfo | None = None
    error: BrainVCSError | None = None

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"kind": self.kind, "path": self.path, "commit": self.commit.to_json() if self.commit else None,
                "error": self.error.message if self.error else None}


@dataclass
class WatchReport:
    """What a :func:`watch` run committed and skipped."""

    branch: str
    commits: list[CommitInfo] = field(default_factory=list)
    invalid: int = 0
    unchanged: int = 0
    errors: int = 0
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"branch": self.branch, "commits": [c.to_json() for c in self.commits], "invalid": self.invalid,
                "unchanged": self.unchanged, "errors": self.errors, "interrupted": self.interrupted}


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def watch(repo: Repository, state_file: str | Path, *, branch: str | None = None, on_branch: bool = False,
          debounce: float = 1.0, interval: float = 0.5, once: bool = False, max_commits: int | None = None,
          message: str = "autosave", on_event: Callable[[WatchEvent], None] | None = None,
          stop: threading.Event | None = None) -> WatchReport:
    """Commit ``state_file`` whenever it changes and then stays unchanged for ``debounce`` seconds.

    Polls every ``interval`` seconds (mtime, size, inode, then a content hash).
    A version that is not a valid state (half-written, NaN...) is reported
    through ``on_event`` and skipped, never committed; a later valid version is
    committed. Commits land like an :class:`Autosaver`'s: on
    ``autosave/<branch>`` unless ``on_branch``. ``once`` commits the current
    version (raising if it is invalid) and returns. Stops after ``max_commits``
    commits, when ``stop`` is set, or on Ctrl-C (``interrupted`` in the report).
    """
    path = Path(state_file)
    if path.is_dir():
        raise UsageError(f"{path} is a directory", "watch a state file (one JSON object of modules)")
    if debounce < 0 or interval <= 0:
        raise UsageError("--debounce must be >= 0 and --interval > 0")
    current = branch or repo.current_branch
    if current is None:
        raise UsageError("HEAD is detached: watch needs a branch", "pass --branch NAME")
    target = AutosaveTarget(current, on_branch=on_branch)
    report = WatchReport(target.autosave_branch)
    emit = on_event or (lambda event: None)
    seen: tuple[int, int, int] | None = None
    seen_at = time.monotonic()
    handled: tuple[int, int, int] | None = None
    handled_digest: str | None = None
    try:
        while True:
            signature = _signature(path)
            now = time.monotonic()
            if signature != seen:
                seen, seen_at = signature, now
            ready = signature is not None and signature != handled and (once or now - seen_at >= debounce)
            if ready:
                assert signature is not None
                handled = signature
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    data = None
                digest = blake3_hex(data) if data is not None else None
                if data is not None and digest != handled_digest:
                    handled_digest = digest
                    if not _watch_commit(repo, target, path, data, message, report, emit, raise_errors=once):
                        handled = handled_digest = None  # a failed commit is retried at the next poll
            if once:
                if signature is None:
                    raise InputFileError(f"{path}: no such file")
                return report
            if max_commits is not None and len(report.commits) >= max_commits:
                return report
            if stop is not None:
                if stop.wait(interval):
                    return report
            else:
                time.sleep(interval)
    except KeyboardInterrupt:
        report.interrupted = True
        return report


def _watch_commit(repo: Repository, target: AutosaveTarget, path: Path, data: bytes, message: str,
                  report: WatchReport, emit: Callable[[WatchEvent], None], *, raise_errors: bool) -> bool:
    """Commit one version; False when it should be tried again (a failure not caused by the file)."""
    try:
        state = statefile.parse_state(data, str(path))
        result, _ = target.commit(repo, state, message, summary=f"watched {path.name}")
    except (InputFileError, InvalidStateError) as exc:
        if raise_errors:
            raise
        report.invalid += 1
        log.warning("watch: skipped an invalid version of %s: %s", path, exc.message)
        emit(WatchEvent("invalid", str(path), error=exc))
        return True
    except BrainVCSError as exc:  # a ref conflict, a lock held too long...: the file is fine
        if raise_errors:
            raise
        report.errors += 1
        log.error("watch: committing %s failed: %s", path, exc.message)
        emit(WatchEvent("error", str(path), error=exc))
        return False
    if result.changed:
        assert result.commit is not None
        report.commits.append(result.commit)
        emit(WatchEvent("commit", str(path), commit=result.commit))
    else:
        report.unchanged += 1
        emit(WatchEvent("unchanged", str(path), commit=result.commit))
    return True
