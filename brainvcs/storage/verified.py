"""Snapshots verified once in this repository: checkout reads them without re-checking every digest.

Every snapshot is verified the first time it is read whole here — each blob
against the BLAKE3 digest its directory records, each blob in canonical form
— or is trusted from the start because this repository's own commit built
it. Its git tree id is then recorded in ``<gitdir>/brainvcs.verified-trees``
(a hex id and its tag per line, appended), like git's ``transfer.fsckObjects``: what
entered the repository was checked once. Later checkouts of that tree parse
without re-hashing; git's own checks still run on every read (zlib's
checksum of each object's data). ``brainvcs verify`` checks everything, always.

Objects from a fetch, a clone or a foreign ``git push`` are not recorded until
a full checkout has verified them, or the check every fast-forward to a
fetched commit runs (``Repository.check_snapshot``: merge, pull, sync). Each line carries a keyed BLAKE3 tag of
the tree id under a key private to the user (``~/.config/brainvcs/trust-key``,
made on first use, mode 0600): a repository copied from someone else, record
and all, is verified again, since its tags do not match this user's key.
Where no key can be kept (a read-only home), trust lasts for the process.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import blake3

FILE_NAME = "brainvcs.verified-trees"
#: Ids kept at most; past it, new snapshots are verified on every read (the record never grows unbounded).
MAX_RECORDED = 200_000
_TREE_ID = re.compile(r"[0-9a-f]{40}")
_KEY_BYTES = 32
_process_key: bytes | None = None
#: False when the key could not be kept on disk: then nothing is written (tags would not outlive the process).
_key_kept = False


def _key() -> bytes:
    """This user's trust key (made on first use), or one for this process only where none can be kept."""
    global _process_key, _key_kept
    if _process_key is not None:
        return _process_key
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = Path(base) / "brainvcs" / "trust-key"
    kept = True
    try:
        key = path.read_bytes()
        if len(key) != _KEY_BYTES:
            raise OSError("malformed trust key")
    except OSError:
        key = secrets.token_bytes(_KEY_BYTES)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key)
        except FileExistsError:  # another process made it first (use theirs), or it is malformed
            try:
                theirs = path.read_bytes()
            except OSError:
                theirs = b""
            if len(theirs) == _KEY_BYTES:
                key = theirs
            else:
                kept = False
        except OSError:
            kept = False  # no place to keep it: trust lasts for this process
    _process_key, _key_kept = key, kept
    return key


def _tag(tree_id: str) -> str:
    return blake3.blake3(tree_id.encode("ascii"), key=_key()).hexdigest()[:32]


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
                for line in text.splitlines():
                    tree_id, _, tag = line.partition(" ")
                    if _TREE_ID.fullmatch(tree_id) and secrets.compare_digest(tag, _tag(tree_id)):
                        ids.add(tree_id)
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
        tag = _tag(tree_id)
        if self.path is None or not _key_kept:
            return
        try:
            # One short append: atomic for concurrent writers on a local file system.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{tree_id} {tag}\n".encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass  # a read-only repository: every checkout verifies, as before
