"""Object storage on dulwich: snapshot trees in, verified snapshot trees out.

Writes go through :class:`ObjectWriter`, which turns a
:class:`~brainvcs.snapshot.layout.SnapshotTree` into git blobs and trees, keeps only the
objects the repository does not have yet, and writes them (plus the commit)
as **one pack**, fsynced before any ref moves. Reads go through
:class:`~.treereader.GitTreeReader`, which refuses anything a snapshot never
contains (symlinks, submodules, odd names) so a hostile tree cannot smuggle data in.

Both a disk repository and dulwich's in-memory repository satisfy the small
:class:`ObjectStorage` protocol, so tests can run either.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass
from typing import Any, NewType, Protocol

from dulwich.objects import Blob, Commit, ObjectID, RawObjectID, ShaFile, Tree, hex_to_sha
from dulwich.object_store import BaseObjectStore, DiskObjectStore

from ..errors import BrainVCSError, CorruptObjectError, InvalidStateError, StorageFullError
from ..snapshot import deltas
from ..snapshot.layout import TENSOR_CHUNK, TENSOR_DIR, SnapshotTree
from .packformat import check_entry_sizes
from .packs import PackReader, fsync_dir, write_pack

_fsync_dir = fsync_dir  # used by gc

#: A git object id: 40 lowercase hex characters of SHA-1. Never a BLAKE3 digest.
ObjectId = NewType("ObjectId", str)

#: Commit trailer carrying the snapshot's state fingerprint.
FINGERPRINT_TRAILER = "Brain-Fingerprint"
_FILE_MODE = 0o100644
_DIR_MODE = 0o040000
#: Refuse a single snapshot blob larger than this on read (hostile repositories).
MAX_BLOB_BYTES = 1 << 31
#: Largest JSON file of a snapshot, written or read: a 1 GiB blob of zeros in a 1 MB pack is refused
#: by its header before anything is inflated (a legitimate file is a shard or chunk of a few KiB,
#: or one large value).
MAX_JSON_BLOB_BYTES = 256 << 20
#: Largest tensor chunk file: chunks are cut at exactly ``layout.TENSOR_CHUNK`` bytes.
MAX_TENSOR_CHUNK_BLOB = TENSOR_CHUNK
_TENSOR_PREFIX = TENSOR_DIR + "/"
#: Largest tree object of a snapshot (a list of a million chunks needs about 60 MB).
MAX_TREE_BYTES = 64 << 20


def git_id(sha: bytes | str) -> ObjectID:
    """An id as dulwich types it (40 hex digits as bytes); the bridge from :data:`ObjectId`."""
    return ObjectID(sha.encode("ascii") if isinstance(sha, str) else sha)


def oid(raw: bytes | str) -> ObjectId:
    """Normalise a dulwich hex id (bytes) to an :data:`ObjectId`."""
    return ObjectId(raw.decode("ascii") if isinstance(raw, bytes) else raw)


class ObjectStorage(Protocol):
    """What brainvcs needs from an object store (disk or memory)."""

    def __contains__(self, sha: bytes) -> bool: ...

    def __getitem__(self, sha: bytes) -> ShaFile: ...

    def add_objects(self, objects: Any, progress: Any = None) -> Any:
        """Add ``(object, path)`` pairs (as one pack in a disk store)."""


@dataclass(frozen=True)
class WriteStats:
    """What one write added: object count and their uncompressed sizes."""

    objects: int
    bytes: int
    blobs: int
    trees: int


class ObjectWriter:
    """Collects new objects for one pack; nothing is visible until :meth:`flush`."""

    def __init__(self, store: BaseObjectStore, packs: PackReader | None = None) -> None:
        self._store = store
        self._packs = packs
        self._named: list[tuple[SnapshotTree, bytes, dict[str, tuple[bytes, bytes]]]] = []
        self._pending: dict[bytes, ShaFile] = {}
        self._loose: dict[str, frozenset[str]] | None = None  # loose-object fan-out directory -> its names
        self._fanout: set[str] = set()
        self._blobs = 0
        self._trees = 0
        self._bytes = 0

    def _exists(self, sha: bytes) -> bool:
        packs = self._packs
        if packs is not None:
            # The pack index dict answers in O(1); only a miss needs a look at loose objects.
            if hex_to_sha(git_id(sha)) in packs:
                return True
            return self._loose_exists(sha)
        return git_id(sha) in self._store

    def _loose_exists(self, sha: bytes) -> bool:
        """Whether ``sha`` is a loose object, from each fan-out directory listed once (not a stat per object).

        A loose object written by another process after the listing is
        written again into this pack: a duplicate git tolerates.
        """
        root = str(getattr(self._store, "path", ""))  # packs exist only for a store on disk
        if self._loose is None:
            try:
                self._fanout = {name for name in os.listdir(root) if len(name) == 2}
            except OSError:
                self._fanout = set()
            self._loose = {}
        prefix = sha[:2].decode()
        if prefix not in self._fanout:
            return False
        names = self._loose.get(prefix)
        if names is None:
            try:
                names = self._loose[prefix] = frozenset(os.listdir(os.path.join(root, prefix)))
            except OSError:
                names = self._loose[prefix] = frozenset()
        return sha[2:].decode() in names

    def _add(self, obj: ShaFile) -> bytes:
        sha = obj.id
        if sha not in self._pending and not self._exists(sha):
            self._pending[sha] = obj
            size = obj.raw_length()
            self._bytes += size
            if isinstance(obj, Blob):
                self._blobs += 1
            elif isinstance(obj, Tree):
                self._trees += 1
        return sha

    def add_tree(self, tree: SnapshotTree) -> ObjectId:
        """Add every blob and directory of ``tree``; return the root tree id."""
        return oid(self._tree(tree, ""))

    def _tree(self, tree: SnapshotTree, path: str) -> bytes:
        if tree.git_id is not None:
            # Shared with a snapshot already written: all of it exists.
            return tree.git_id
        if tree.chain is not None:
            # Format version 2: the map is stored as its base plus deltas; the logical directory
            # (whose digests the parents hold) is what a reader rebuilds from them.
            sha = self._tree(deltas.stored_form(tree), path)
            self._named.append((tree, sha, {}))
            return sha
        git_tree = Tree()
        known = tree.blob_ids
        blobs: dict[str, tuple[bytes, bytes]] = {}
        for name, entry in tree.entries.items():
            if isinstance(entry, SnapshotTree):
                git_tree.add(name.encode("utf-8"), _DIR_MODE, git_id(self._tree(entry, f"{path}{name}/")))
                continue
            written = known.get(name)
            if written is not None and written[0] is entry:
                blob_sha = written[1]  # the same bytes, already written by an earlier commit: it exists
            else:
                if len(entry) > MAX_JSON_BLOB_BYTES:  # what every reader would refuse is never written
                    raise InvalidStateError(f"{path}{name}", f"one stored file would hold {len(entry):,} bytes, "
                                            f"over the {MAX_JSON_BLOB_BYTES:,}-byte limit of a snapshot file",
                                            "store a value this large as a numpy array, or split it")
                blob_sha = self._add(Blob.from_string(entry))
            blobs[name] = (entry, blob_sha)
            git_tree.add(name.encode("utf-8"), _FILE_MODE, git_id(blob_sha))
        sha = self._add(git_tree)
        self._named.append((tree, sha, blobs))
        return sha

    def add_commit(self, commit: Commit) -> ObjectId:
        """Add a commit object (written in the same pack as its tree)."""
        return oid(self._add(commit))

    def add_object(self, obj: ShaFile) -> ObjectId:
        """Add any git object."""
        return oid(self._add(obj))

    @property
    def stats(self) -> WriteStats:
        """Counts of what is pending (what :meth:`flush` will write)."""
        return WriteStats(len(self._pending), self._bytes, self._blobs, self._trees)

    def flush(self) -> WriteStats:
        """Write all pending objects as one pack and make it durable."""
        stats = self.stats
        if self._pending:
            if isinstance(self._store, DiskObjectStore):
                try:
                    write_pack(str(self._store.pack_dir), list(self._pending.values()))
                except OSError as exc:  # write_pack has removed its temporary files; no ref moved
                    raise _storage_error(exc, str(self._store.pack_dir)) from None
                self._store._update_pack_cache()
                if self._packs is not None:
                    self._packs.refresh()
            else:
                self._store.add_objects([(obj, None) for obj in self._pending.values()])
            self._pending.clear()
        # Only now do these trees exist in the store: later snapshots sharing them can skip them.
        for tree, sha, blobs in self._named:
            tree.git_id = sha
            tree.blob_ids = blobs
        self._named.clear()
        # The counters describe what is pending: a reused writer starts from zero.
        self._blobs = self._trees = self._bytes = 0
        return stats


def _storage_error(exc: OSError, where: str) -> BrainVCSError:
    """A clear error for a failed write: a full disk is not a bug."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageFullError(f"cannot write to {where}: {exc.strerror}; nothing was committed",
                                "free disk space (or fix permissions) and run the command again")
    return BrainVCSError(f"cannot write to {where}: {exc.strerror or exc}; nothing was committed")


def read_object(store: BaseObjectStore, sha: bytes | str, what: str, limit: int = MAX_BLOB_BYTES) -> ShaFile:
    """Fetch an object or raise CorruptObjectError naming what it was for.

    A packed object declaring more than ``limit`` bytes is refused before it is inflated.
    """
    key = sha.encode("ascii") if isinstance(sha, str) else sha
    try:
        _check_declared_size(store, key, limit)
        return store[git_id(key)]
    except CorruptObjectError:
        raise
    except KeyError:
        problem = None
    except Exception as exc:  # dulwich raises many types for damaged packs
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    # Raised outside the except clause on purpose: the original exception's traceback holds
    # dulwich frames with views into the pack's mmap, and while it is alive (as __context__)
    # closing the repository fails with BufferError instead of reporting this error.
    if problem is None:
        raise CorruptObjectError(f"{what}: object {key.decode()[:12]} is missing from the repository",
                                 "fetch it again from a clone, or run `brainvcs verify`")
    raise CorruptObjectError(f"{what}: object {key.decode()[:12]} cannot be read ({problem})",
                             "run `brainvcs verify`; restore the repository from a clone")


def _check_declared_size(store: BaseObjectStore, key: bytes, limit: int) -> None:
    """Refuse a packed object that declares too many bytes, before dulwich inflates it (it trusts headers)."""
    if not isinstance(store, DiskObjectStore) or len(key) != 40:
        return
    try:
        binsha = hex_to_sha(git_id(key))
        for pack in store.packs:
            index = pack.index
            try:
                offset = index.object_offset(binsha)
            except KeyError:
                continue
            buffer = pack.data._buffer()  # dulwich <1.3 maps the pack
            break
        else:
            return
    except Exception:  # a pack a concurrent gc removed, or a damaged one: dulwich's own lookup deals with it
        return

    def ref_offset(base: bytes) -> int | None:
        try:
            return int(index.object_offset(RawObjectID(base)))
        except KeyError:
            return None

    check_entry_sizes(buffer, offset, ref_offset, limit)


def find_objects(store: BaseObjectStore, hex_prefix: str, what: str) -> set[ObjectId]:
    """Ids of the objects starting with ``hex_prefix`` (a whole id: whether it exists).

    Looking up loads the pack indexes, which dulwich parses with assertions: a
    damaged index becomes a CorruptObjectError here, not an AssertionError.
    """
    try:
        if len(hex_prefix) == 40:
            return {ObjectId(hex_prefix)} if git_id(hex_prefix) in store else set()
        return {oid(sha) for sha in store.iter_prefix(hex_prefix.encode("ascii"))}
    except Exception as exc:  # AssertionError, struct.error, zlib.error, ObjectFormatException...
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    raise CorruptObjectError(f"{what}: the object database cannot be searched ({problem})")


def read_commit(store: BaseObjectStore, sha: bytes | str) -> Commit:
    """Fetch a commit, refusing other object types."""
    obj = read_object(store, sha, "commit")
    if not isinstance(obj, Commit):
        raise CorruptObjectError(f"object {oid(obj.id)[:12]} is a {obj.type_name.decode()}, not a commit")
    return obj


def pack_count(store: BaseObjectStore) -> int:
    """Number of pack files in a disk store (0 for memory stores)."""
    if isinstance(store, DiskObjectStore):
        return sum(1 for name in os.listdir(store.pack_dir) if name.endswith(".pack"))
    return 0


def parse_trailers(message: str) -> dict[str, str]:
    """``Key: value`` lines of the message's last paragraph."""
    paragraphs = message.rstrip("\n").split("\n\n")
    out: dict[str, str] = {}
    if len(paragraphs) < 2:
        return out
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", key):
            return {}
        out[key] = value.strip()
    return out


def now() -> int:
    """Seconds since the epoch, as git records them."""
    return int(time.time())
