"""The verified git tree reader: one snapshot's directories and files, as every reader above sees them.

:class:`GitTreeReader` parses trees and reads blobs through the fast pack
reader, refusing what never appears in a snapshot (symlinks, submodules,
unsafe names, oversized objects). A map stored as base plus deltas (format
version 2) is served as the directory it stands for (:mod:`.deltaview`).
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from typing import Any

from dulwich.objects import Blob, Tree, hex_to_sha, parse_tree
from dulwich.object_store import BaseObjectStore

from ..errors import CorruptObjectError
from ..snapshot import deltas
from ..snapshot.names import DELTA_DIR, DIGESTS, MAP_MARKER
from . import deltaview
from .objects import (_DIR_MODE, _TENSOR_PREFIX, MAX_BLOB_BYTES, MAX_JSON_BLOB_BYTES, MAX_TENSOR_CHUNK_BLOB,
                      MAX_TREE_BYTES, ObjectId, git_id, oid, read_object)
from .packformat import ObjectTooLargeError
from .packs import PackReader


def _check_entry_name(name: bytes, where: str) -> str:
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptObjectError(f"{where}: entry name is not UTF-8") from None
    if text in ("", ".", "..") or "/" in text or "\\" in text or "\0" in text or text.startswith(".git"):
        raise CorruptObjectError(f"{where}: refusing entry name {text!r}")
    return text


class GitTreeReader:
    """Read-only view of one snapshot tree (implements layout.TreeReader)."""

    def __init__(self, store: BaseObjectStore, tree_id: bytes | str, packs: PackReader | None = None) -> None:
        self._store = store
        self._packs = packs
        self._root = tree_id.encode("ascii") if isinstance(tree_id, str) else tree_id
        self._dirs: dict[str, dict[str, tuple[bool, bytes]]] = {}
        #: Objects of format version 2's logical map directories, rebuilt from deltas (see :mod:`.deltaview`).
        self._virtual: dict[bytes, tuple[int, bytes]] = {}
        self._decoded: dict[bytes, Any] = {}
        self._trees: dict[bytes, dict[str, tuple[bool, bytes]]] = {}  # tree id -> its stored entries
        #: Stored blobs read by id (:meth:`read_blob`: deltas, and base shards a rebuild starts from).
        self.stored_reads = 0
        self.blobs_read = 0
        self.bytes_read = 0
        #: The snapshot was verified once in this repository (:mod:`.verified`): blobs are not re-hashed.
        self.trusted = False

    @property
    def tree_id(self) -> str:
        """The git id of the snapshot's root tree (hex)."""
        return self._root.decode("ascii")

    def _listing(self, path: str) -> dict[str, tuple[bool, bytes]]:
        cached = self._dirs.get(path)
        if cached is not None:
            return cached
        if path == "":
            sha = self._root
        else:
            parent, _, name = path.rpartition("/")
            entry = self._listing(parent).get(name)
            if entry is None or not entry[0]:
                raise KeyError(path)
            sha = entry[1]
        listing = self.parse_tree(sha, path)
        if DELTA_DIR in listing:
            listing = deltaview.logical_map(self, path, listing)
        self._dirs[path] = listing
        return listing

    def parse_tree(self, sha: bytes, path: str) -> dict[str, tuple[bool, bytes]]:
        """The entries of the stored tree ``sha`` (found at ``path``): name -> (is_directory, id).

        Parsed once per reader (a tree's id names its content): a map stored with deltas is met
        both as stored and as rebuilt. The listing is shared: callers never change it.
        """
        parsed = self._trees.get(sha)
        if parsed is None:
            parsed = self._trees[sha] = self._parse_tree(sha, path)
        return parsed

    def _parse_tree(self, sha: bytes, path: str) -> dict[str, tuple[bool, bytes]]:
        try:
            type_num, raw = self._raw(sha, path or "snapshot root", MAX_TREE_BYTES)
        except ObjectTooLargeError as exc:
            raise CorruptObjectError(f"{path or 'snapshot root'}: {exc.message}", exc.hint) from None
        if type_num != Tree.type_num:
            raise CorruptObjectError(f"{path or 'snapshot root'}: expected a tree")
        try:
            items = parse_tree(raw, 20)
        except Exception as exc:
            raise CorruptObjectError(f"{path or 'snapshot root'}: malformed tree ({exc})") from None
        listing: dict[str, tuple[bool, bytes]] = {}
        for item_path, mode, item_sha in items:
            name = _check_entry_name(item_path, path or "snapshot root")
            if mode == _DIR_MODE:
                listing[name] = (True, item_sha)
            elif stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
                listing[name] = (False, item_sha)
            else:
                raise CorruptObjectError(f"{path}/{name}: entry mode {mode:o} (symlink or submodule) "
                                         "never appears in a brainvcs snapshot; refusing it")
        return listing

    def add_virtual(self, type_num: int, raw: bytes, value: Any = None) -> bytes:
        """Serve a git object (a directory or file rebuilt from deltas) as if it were stored; return its id.

        ``value`` is what the file decodes to, handed once to :meth:`take_decoded` (not parsed again).
        """
        kind = b"blob" if type_num == Blob.type_num else b"tree"
        sha = hashlib.sha1(b"%s %d\x00" % (kind, len(raw)) + raw).hexdigest().encode("ascii")
        self._virtual[sha] = (type_num, raw)
        if value is not None:
            self._decoded[sha] = value
        return sha

    def delta_chain(self, path: str) -> tuple[object, tuple[object, ...]] | None:
        """For a map directory at ``path``: the identity of its stored base and the ids of its deltas.

        Read from the stored tree without rebuilding the map (format version 2); a map
        stored whole is the base of a chain that continues from it.
        """
        stored = self._stored_dir(path)
        if stored is None or MAP_MARKER not in stored:
            return None
        base = frozenset((n, e) for n, e in stored.items() if n not in (DIGESTS, MAP_MARKER, DELTA_DIR))
        if DELTA_DIR not in stored:
            return base, ()
        files = self.parse_tree(stored[DELTA_DIR][1], f"{path}/{DELTA_DIR}")
        names = deltas.check_names({n: is_dir for n, (is_dir, _) in files.items()}, path)
        return base, tuple(files[n][1] for n in names)

    def base_file(self, path: str, relative: str) -> tuple[bytes, bytes] | None:
        """The id and bytes of file ``relative`` (slash-separated) in the directory stored at ``path``.

        For a map stored with deltas this is its base, as the rollup wrote it (None if absent).
        """
        listing = self._stored_dir(path)
        if listing is None:
            return None
        *dirs, leaf = relative.split("/")
        for part in dirs:
            sub = listing.get(part)
            if sub is None or not sub[0]:
                return None
            listing = self.parse_tree(sub[1], f"{path}/{part}")
        found = listing.get(leaf)
        if found is None or found[0]:
            return None
        return found[1], self.read_blob(found[1], f"{path}/{relative}")

    def rebuilt_shards(self, path: str) -> tuple[int, list[tuple[str, dict[str, Any], bool]]] | None:
        """For a snapshot verified once here, a map stored with deltas read without rebuilding its files.

        The count its ``_map.json`` records and every shard in stored order (see
        :func:`.deltaview.map_shards`); None when the map at ``path`` is not stored with deltas or
        this reader is not trusted (then the map is read as the directory it stands for, every
        rebuilt file checked against its digest).
        """
        stored = self._stored_dir(path) if self.trusted else None
        if stored is None or DELTA_DIR not in stored:
            return None
        return deltaview.map_shards(self, path, stored)

    def _stored_dir(self, path: str) -> dict[str, tuple[bool, bytes]] | None:
        """The entries of the directory at ``path`` as stored (for a map with deltas: not the rebuilt ones)."""
        if not path:
            return None
        parent, _, name = path.rpartition("/")
        entry = self._listing(parent).get(name)
        if entry is None or not entry[0]:
            return None
        return self.parse_tree(entry[1], path)

    def delta_bytes(self, path: str, identity: object) -> bytes:
        """The delta blob ``identity`` (an id :meth:`delta_chain` gave) of the map at ``path``."""
        assert isinstance(identity, bytes)
        return self.read_blob(identity, f"{path}/{DELTA_DIR}")

    def take_decoded(self, path: str) -> Any:
        """The value of the rebuilt file at ``path`` if it is still held (once), else None."""
        if not self._decoded:
            return None
        parent, _, name = path.rpartition("/")
        entry = self._listing(parent).get(name)
        return None if entry is None else self._decoded.pop(entry[1], None)

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entry names of a directory -> whether each is a directory."""
        return {name: is_dir for name, (is_dir, _) in self._listing(path).items()}

    def entry_id(self, path: str) -> ObjectId:
        """Git object id of the blob or tree at ``path``."""
        if path == "":
            return oid(self._root)
        parent, _, name = path.rpartition("/")
        entry = self._listing(parent).get(name)
        if entry is None:
            raise KeyError(path)
        return oid(entry[1])

    def read_file(self, path: str) -> bytes:
        """Bytes of the blob at ``path`` (KeyError if there is none)."""
        parent, _, name = path.rpartition("/")
        entry = self._listing(parent).get(name)
        if entry is None or entry[0]:
            raise KeyError(path)
        limit = MAX_TENSOR_CHUNK_BLOB if path.startswith(_TENSOR_PREFIX) else MAX_JSON_BLOB_BYTES
        try:
            type_num, data = self._raw(entry[1], path, limit)
        except ObjectTooLargeError as exc:
            raise CorruptObjectError(f"{path}: {exc.message}", exc.hint) from None
        if type_num != Blob.type_num:
            raise CorruptObjectError(f"{path}: expected a blob")
        if len(data) > limit:
            raise CorruptObjectError(f"{path}: blob of {len(data)} bytes exceeds the {limit}-byte limit")
        self.blobs_read += 1
        self.bytes_read += len(data)
        return data

    def is_rebuilt(self, path: str) -> bool:
        """Whether the file at ``path`` was rebuilt from deltas (format version 2) rather than stored."""
        parent, _, name = path.rpartition("/")
        entry = self._listing(parent).get(name)
        return entry is not None and entry[1] in self._virtual

    def read_blob(self, sha: bytes, path: str) -> bytes:
        """The bytes of blob ``sha`` (found at ``path``), refusing another object type."""
        self.stored_reads += 1
        type_num, data = self._raw(sha, path, MAX_JSON_BLOB_BYTES)
        if type_num != Blob.type_num:
            raise CorruptObjectError(f"{path}: expected a blob")
        return data

    def _raw(self, sha: bytes, what: str, limit: int = MAX_BLOB_BYTES) -> tuple[int, bytes]:
        virtual = self._virtual.get(sha)
        if virtual is not None:
            return virtual
        if self._packs is not None:
            found = self._packs.read(hex_to_sha(git_id(sha)), limit)
            if found is not None:
                return found
        obj = read_object(self._store, sha, what, limit)
        return obj.type_num, obj.as_raw_string()

    def walk_files(self, path: str = "") -> Iterator[str]:
        """Every blob path below ``path``."""
        for name, is_dir in sorted(self.list_dir(path).items()):
            full = f"{path}/{name}" if path else name
            if is_dir:
                yield from self.walk_files(full)
            else:
                yield full
