"""``Repository``: open/init, commit, checkout, log, branches, tags, status, verify, gc.

Every mutation runs under the repository lock and ends with a compare-and-swap
ref move, after the pack holding its objects has been fsynced (see
:mod:`brainvcs.storage.transaction`). Readers take no lock.
"""

from __future__ import annotations

from ..storage.commits import CommitInfo
from .repository import DEFAULT_BRANCH, DEFAULT_IDENTITY, Repository
from .results import BranchInfo, CommitResult, Status

__all__ = ["DEFAULT_BRANCH", "DEFAULT_IDENTITY", "BranchInfo", "CommitInfo", "CommitResult", "Repository", "Status"]
