"""brainvcs: git-style version control for the state of learning systems.

A brain's state is split into canonical JSON blobs per module (raw binary for
tensors), each hashed with BLAKE3, and committed into an ordinary git
repository with dulwich: history, branches, tags, diffs, merges and push/pull
to any git host.

>>> from brainvcs import Repository
>>> repo = Repository.memory()
>>> result = repo.commit({"language": {"word_frequency": {"hello": 3}}}, "first words")
>>> repo.checkout("HEAD")["language"]["word_frequency"]["hello"]
3
"""

from __future__ import annotations

from .errors import BrainVCSError, InvalidStateError, RefConflict
from .api import Repository
from .repo import BranchInfo, CommitResult, Status
from .storage.commits import CommitInfo
from . import adapters as _adapters  # noqa: F401,E402  (lets Repository.commit/checkout take live brains)

__all__ = [
    "BrainVCSError",
    "BranchInfo",
    "CommitInfo",
    "CommitResult",
    "InvalidStateError",
    "RefConflict",
    "Repository",
    "Status",
]
__version__ = "0.1.0"
