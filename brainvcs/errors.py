"""Every error a brainvcs user can meet.

This module imports nothing from brainvcs: it is the bottom layer. Each error
carries a message a user can act on and an optional ``hint``; the CLI maps the
classes to exit codes in exactly one place (``brainvcs.cli._exit_code_for``).
"""

from __future__ import annotations

import errno
from typing import Any


class BrainVCSError(Exception):
    """Root of every error brainvcs raises on purpose."""

    #: Exit code used by the CLI for this class of error (see ``brainvcs --help``).
    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(BrainVCSError):
    """The caller asked for something that does not make sense."""

    exit_code = 2


class InvalidStateError(BrainVCSError):
    """A brain state cannot be stored exactly (NaN, a set, a non-string key...).

    ``path`` is the dotted path of the offending value, e.g.
    ``language.neurons.n7.threshold``.
    """

    exit_code = 3

    def __init__(self, path: str, problem: str, hint: str | None = None) -> None:
        shown = path if path else "<state>"
        super().__init__(f"{shown}: {problem}", hint)
        self.path = path
        self.problem = problem


class InputFileError(BrainVCSError):
    """A file given by the user cannot be read as what it should be."""

    exit_code = 3


class UnsafePathError(InputFileError):
    """A path brainvcs was asked to write goes through a symlink, or is not a regular file."""


class NotARepositoryError(BrainVCSError):
    """No brainvcs/git repository at (or above) the given path."""

    exit_code = 4


class RepositoryExistsError(BrainVCSError):
    """``init`` was asked to create a repository where one already exists."""

    exit_code = 4


class RevisionNotFoundError(BrainVCSError):
    """A revision (branch, tag, commit id, ``HEAD~2``...) does not resolve."""

    exit_code = 5


class PathNotFoundError(BrainVCSError):
    """A path into a state that no commit of the asked range holds."""

    exit_code = 5


class RefExistsError(BrainVCSError):
    """A branch or tag of that name already exists."""

    exit_code = 5


class InvalidRefNameError(BrainVCSError):
    """A branch or tag name that git would refuse."""

    exit_code = 2


class EmptyRepositoryError(RevisionNotFoundError):
    """The repository (or branch) has no commits yet."""


class NotABrainCommitError(BrainVCSError):
    """A commit exists but its tree is not a brainvcs snapshot."""

    exit_code = 6


class RefConflict(BrainVCSError):
    """A ref moved between reading it and updating it (compare-and-swap failed)."""

    exit_code = 7

    def __init__(self, ref: str, expected: str | None, actual: str | None) -> None:
        super().__init__(
            f"{ref} moved while this operation ran "
            f"(expected {_short(expected)}, found {_short(actual)}); nothing was changed",
            "another writer committed first: check out the new tip, redo the step, and commit again",
        )
        self.ref = ref
        self.expected = expected
        self.actual = actual


class LockHeldError(BrainVCSError):
    """Another live process holds the repository lock."""

    exit_code = 8


class CorruptObjectError(BrainVCSError):
    """An object is missing, unreadable, or does not match its recorded digest.

    Without a specific hint, the message comes with the general one: what to run and what to do.
    """

    exit_code = 9

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint or "run `brainvcs verify` for a full report; restore the repository "
                                          "(or fetch the damaged objects again) from a clone you trust")


class IntegrityError(CorruptObjectError):
    """A BLAKE3 digest or fingerprint does not match what the snapshot records."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{what}: BLAKE3 digest mismatch (recorded {expected[:16]}…, computed {actual[:16]}…)",
            "the repository is corrupt; run `brainvcs verify` and restore the object from a clone",
        )
        self.what = what
        self.expected = expected
        self.actual = actual


class UnsupportedFormatError(BrainVCSError):
    """A snapshot written by a newer (or unknown) brainvcs format version."""

    exit_code = 6


class RemoteError(BrainVCSError):
    """A remote cannot be reached or used: network error, unknown host, missing repository.

    Messages show URLs with any password redacted (``https://user:***@host/...``).
    """

    exit_code = 10


class AuthenticationError(RemoteError):
    """A remote refused the credentials (or none were found); no secret is ever in the message."""

    exit_code = 11


class PushRejectedError(RemoteError):
    """A push was refused for at least one ref; no remote-tracking ref moved for a refused one.

    ``rejected`` maps each refused remote ref to its reason (``non-fast-forward``,
    ``fetch first``, or the server's words such as ``pre-receive hook declined``);
    ``result`` is the full per-ref ``PushResult`` (refs accepted in the same push included).
    """

    exit_code = 12

    def __init__(self, message: str, hint: str | None = None, *, rejected: dict[str, str] | None = None,
                 result: object = None) -> None:
        super().__init__(message, hint)
        self.rejected = dict(rejected or {})
        self.result = result


class MergeConflictError(BrainVCSError):
    """A merge stopped on values both sides changed in ways no strategy settles; no ref moved.

    ``conflicts`` holds the ``brainvcs.merge.Conflict`` records (path, base,
    ours, theirs, reason) so callers can show or resolve them. Exit code 13:
    10-12 belong to the remote errors.
    """

    exit_code = 13

    def __init__(self, conflicts: list[Any], hint: str | None = None) -> None:
        paths = [str(getattr(c, "path", c)) for c in conflicts]
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        super().__init__(
            f"merge stopped by {len(paths)} conflict(s): {shown}; no branch was changed",
            hint or "settle each with --resolve PATH=ours|theirs|base|JSON (or --strategy ours|theirs "
                    "for all of them) and run the merge again; docs/merge.md explains the strategies",
        )
        self.conflicts = list(conflicts)


class StorageFullError(BrainVCSError):
    """The disk refused a write (no space, quota, file size limit, read-only); nothing was changed.

    Objects are written to a temporary pack that is removed on failure, before any ref moves.
    """

    exit_code = 14


def _short(oid: str | None) -> str:
    return oid[:12] if oid else "nothing"


#: errno values that mean the disk refused a write rather than a path being wrong.
_DISK_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def os_error(exc: OSError) -> BrainVCSError:
    """The error a user sees for an operating-system failure: the file, what the system said, what to do."""
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    if exc.errno in _DISK_REFUSALS:
        return StorageFullError(f"cannot write {where}: {reason}; nothing was committed",
                                "free disk space (or fix the file system) and run the command again")
    return BrainVCSError(f"{where}: {reason}",
                         "check that the path exists and is what it should be (a file or a directory), "
                         "and its permissions; a repository's internal files must not be changed by hand")
