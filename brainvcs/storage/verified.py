"""Snapshots verified once in this repository: checkout reads them without re-checking every digest.

Every snapshot is verified the first time it is read whole here — each blob
against the BLAKE3 digest its directory records, each blob in canonical form
— or is trusted from the start because this repository's own commit built
it. Its git tree id is then recorded in ``<gitdir>/brainvcs.verified-trees``
(one hex id per line, appended), like git's ``transfer.fsckObjects``: what
entered the repository was checked once. Later checkouts of that tree parse
without re-hashing; git's own checks still run on every read (zlib's
checksum of each object's data). ``brainvcs verify`` checks everything, always.

Objects from a fetch, a clone or a foreign ``git push`` are not recorded until
a full checkout has verified them. Nobody but a writer of ``.git`` itself
can add to the record, and such a writer could change anything anyway.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FILE_NAME = "brainvcs.verified-trees"
#: Ids kept at most; past it, new snapshots are verified on every read (the record never grows unbounded).
MAX_RECORDED = 200_000
_TREE_ID = re.compile(r"[0-9a-f]{40}")


class VerifiedTrees:
    """The set of verified snapshot tree ids of one repository (kept in memory for a repository in memory)."""

    def __init__(self, gitdir: Path | None) -> None:
        self.path = gitdir / FILE_NAME if gitdir is not None else None
        self._ids: set[str] | None = None

    def _load(self) -> set[str]:
        if self._ids is None:
            ids: set[str] = set()
            if self.path is not None:
                try:
                    text = self.path.read_text("ascii", errors="replace")
                except FileNotFoundError:
                    text = ""
                ids = {line for line in text.split() if _TREE_ID.fullmatch(line)}
            self._ids = ids
        return self._ids

    def __contains__(self, tree_id: object) -> bool:
        return isinstance(tree_id, str) and tree_id in self._load()

    def add(self, tree_id: str) -> None:
        """Record that the snapshot with git tree id ``tree_id`` was verified (or built) here."""
        ids = self._load()
        if tree_id in ids or len(ids) >= MAX_RECORDED or not _TREE_ID.fullmatch(tree_id):
            return
        ids.add(tree_id)
        if self.path is None:
            return
        try:
            # One short append: atomic for concurrent writers on a local file system.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (tree_id + "\n").encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass  # a read-only repository: every checkout verifies, as before
