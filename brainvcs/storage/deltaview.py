"""Reading format version 2: a map stored as base plus deltas, served as the directory it stands for.

When :class:`~.treereader.GitTreeReader` lists a map directory holding
``_delta/``, :func:`logical_map` rebuilds the logical (version 1) directory:
the shards the deltas change are re-encoded, the shard directories holding
them get their ``_b3.json`` recomputed, and each rebuilt object is served by
its real git id (as if a full commit of the state had stored it). Every
reader above — checkout, diff, verify, history, stats, the review page — then
reads one layout, and a state's digests and fingerprint are checked exactly as
in version 1: a wrong base or delta shows as a digest mismatch, unless the
snapshot was verified once before (then only the structure is checked).
"""

from __future__ import annotations

import binascii
from typing import Any, Protocol

from dulwich.objects import Blob, Tree

from ..errors import CorruptObjectError
from ..snapshot import canonical, deltas, tensors
from ..snapshot.canonical import blake3_hex
from ..snapshot.names import DELTA_DIR, DIGESTS, MAP_MARKER

_BLOB = Blob.type_num
_TREE = Tree.type_num

Listing = dict[str, tuple[bool, bytes]]


class _Physical(Protocol):
    trusted: bool

    def parse_tree(self, sha: bytes, path: str) -> Listing: ...

    def read_blob(self, sha: bytes, path: str) -> bytes: ...

    def add_virtual(self, type_num: int, raw: bytes, value: Any = None) -> bytes: ...


def read_stored(reader: _Physical, path: str, stored: Listing) -> tuple[int, int, list[deltas.Delta]]:
    """The ``bits`` and ``count`` of the logical ``_map.json``, and the checked chain, of a stored map."""
    marker = stored.get(MAP_MARKER)
    delta_dir = stored[DELTA_DIR]
    if marker is None or marker[0] or not delta_dir[0] or DIGESTS not in stored:
        raise CorruptObjectError(f"{path}: a directory with {DELTA_DIR}/ must be a map "
                                 f"(with {MAP_MARKER} and {DIGESTS})")
    info = canonical.decode_stored(reader.read_blob(marker[1], f"{path}/{MAP_MARKER}"), what=f"{path}/{MAP_MARKER}",
                                   trusted=reader.trusted)
    bits, count = (info.get("bits"), info.get("count")) if isinstance(info, dict) else (None, None)
    if type(bits) is not int or not 1 <= bits <= 24 or type(count) is not int:
        raise CorruptObjectError(f"{path}/{MAP_MARKER} is malformed")
    files = reader.parse_tree(delta_dir[1], f"{path}/{DELTA_DIR}")
    names = deltas.check_names({name: is_dir for name, (is_dir, _) in files.items()}, path)
    where = f"{path}/{DELTA_DIR}"
    chain = deltas.read_chain(((f"{where}/{name}", reader.read_blob(files[name][1], f"{where}/{name}"))
                               for name in names), trusted=reader.trusted)
    return bits, count, chain


def logical_map(reader: _Physical, path: str, stored: Listing) -> Listing:
    """The listing of the logical map directory that ``stored`` (a version 2 map at ``path``) stands for."""
    bits, _, chain = read_stored(reader, path, stored)
    view = _View(reader, path, {name: entry for name, entry in stored.items() if name != DELTA_DIR})
    for name, data in deltas.logical_shards(chain, bits, view.base_shard, path, check=not reader.trusted).items():
        view.put(name, data)
    top, _ = view.rebuild("")
    assert top is not None  # the top keeps _map.json and _b3.json
    return top


def map_shards(reader: _Physical, path: str, stored: Listing) -> tuple[int, list[tuple[str, dict[str, Any], bool]]]:
    """A stored map's recorded count and every logical shard, in stored order, without rebuilding files.

    Each shard is (its path in the map, its value, whether tensor descriptors are inside). For a
    snapshot verified once here (nothing is checked against digests: they were, when it entered).
    """
    bits, count, chain = read_stored(reader, path, stored)
    view = _View(reader, path, {name: entry for name, entry in stored.items() if name != DELTA_DIR})
    changed = deltas.apply_chain(chain, bits, view.base_shard, path, check=False)
    out = []
    for name in sorted(view.shard_paths("") | changed.keys()):
        value = changed[name] if name in changed else view.base_shard(name)
        if value is not None:
            out.append((name, value, tensors.NEEDLE in view.raw.get(name, b"")))
    return count, out


class _View:
    """The map directory being rebuilt: stored listings read on demand, changed shards recorded, then rebuilt."""

    def __init__(self, reader: _Physical, path: str, top: Listing) -> None:
        self.reader = reader
        self.path = path
        self.stored: dict[str, Listing | None] = {"": top}  # relative directory -> its stored listing
        self.files: dict[str, dict[str, tuple[bytes, Any] | None]] = {}  # directory -> file -> new bytes and value
        self.subdirs: dict[str, set[str]] = {}  # relative directory -> its subdirectories holding changes
        self._old: dict[str, dict[str, Any]] = {}  # relative directory -> its stored _b3.json
        #: Stored bytes of the base shards read, by path.
        self.raw: dict[str, bytes] = {}

    def _dir(self, rel: str) -> Listing | None:
        if rel in self.stored:
            return self.stored[rel]
        parent, _, name = rel.rpartition("/")
        above = self._dir(parent)
        entry = None if above is None else above.get(name)
        listing = None
        if entry is not None:
            if not entry[0]:
                raise CorruptObjectError(f"{self.path}/{rel}: a shard directory is stored as a file")
            listing = self.reader.parse_tree(entry[1], f"{self.path}/{rel}")
        self.stored[rel] = listing
        return listing

    def base_shard(self, name: str) -> dict[str, Any] | None:
        """The decoded base shard at ``name`` (relative to the map), or None."""
        rel, _, file = name.rpartition("/")
        listing = self._dir(rel)
        entry = None if listing is None else listing.get(file)
        if entry is None:
            return None
        where = f"{self.path}/{name}"
        if entry[0]:
            raise CorruptObjectError(f"{where}: a map shard is stored as a directory")
        data = self.raw[name] = self.reader.read_blob(entry[1], where)
        shard = canonical.decode_stored(data, what=where, trusted=self.reader.trusted)
        if not isinstance(shard, dict):
            raise CorruptObjectError(f"{where}: map shard is not an object")
        return shard

    def shard_paths(self, rel: str) -> set[str]:
        """Every stored shard file below directory ``rel``, as paths relative to the map."""
        out: set[str] = set()
        for name, (is_dir, _) in (self._dir(rel) or {}).items():
            if name in (DIGESTS, MAP_MARKER):
                continue
            full = f"{rel}/{name}" if rel else name
            if not is_dir:
                out.add(full)
            elif full.count("/") < 8:
                out |= self.shard_paths(full)
            else:
                raise CorruptObjectError(f"{self.path}/{full}: map shard directories nest too deep")
        return out

    def put(self, name: str, data: tuple[bytes, Any] | None) -> None:
        """Record the logical bytes of shard ``name`` (None: it no longer exists)."""
        rel, _, file = name.rpartition("/")
        self.files.setdefault(rel, {})[file] = data
        while rel:
            parent, _, sub = rel.rpartition("/")
            self.subdirs.setdefault(parent, set()).add(sub)
            rel = parent

    def rebuild(self, rel: str) -> tuple[Listing | None, str]:
        """The new listing of directory ``rel`` (None if it holds no shard now) and its digest."""
        listing = dict(self._dir(rel) or {})
        digests: dict[str, str] = {}
        for file, shard in self.files.get(rel, {}).items():
            if shard is None:
                listing.pop(file, None)
            else:
                data, value = shard
                listing[file] = (False, self.reader.add_virtual(_BLOB, data, value))
                digests[file] = blake3_hex(data)
        for sub in self.subdirs.get(rel, ()):
            child, digest = self.rebuild(f"{rel}/{sub}" if rel else sub)
            if child is None:
                listing.pop(sub, None)
                continue
            listing[sub] = (True, self.reader.add_virtual(_TREE, tree_bytes(child)))
            digests[sub] = digest
        if not rel:
            return listing, ""  # the top's _b3.json is stored: it is the logical directory's
        if not any(entry != DIGESTS for entry in listing):
            return None, ""
        data = canonical.encode({entry: digests[entry] if entry in digests else self._old_digest(rel, entry)
                                 for entry in listing if entry != DIGESTS})
        listing[DIGESTS] = (False, self.reader.add_virtual(_BLOB, data))
        return listing, blake3_hex(data)

    def _old_digest(self, rel: str, entry: str) -> str:
        """The digest the stored ``_b3.json`` of ``rel`` gives an unchanged entry."""
        cache = self._old.get(rel)
        if cache is None:
            stored = self._dir(rel) or {}
            where = f"{self.path}/{rel}/{DIGESTS}"
            if DIGESTS not in stored or stored[DIGESTS][0]:
                raise CorruptObjectError(f"{where} is missing")
            cache = canonical.decode_stored(self.reader.read_blob(stored[DIGESTS][1], where), what=where,
                                            trusted=self.reader.trusted)
            if not isinstance(cache, dict):
                raise CorruptObjectError(f"{where} is malformed")
            self._old[rel] = cache
        digest = cache.get(entry)
        if not isinstance(digest, str):
            raise CorruptObjectError(f"{self.path}/{rel}/{DIGESTS}: lists no digest for {entry!r}")
        return digest


def tree_bytes(listing: Listing) -> bytes:
    """The raw git tree object of a listing (entries in git's order: a directory sorts as ``name/``)."""
    items = sorted(((name + "/" if is_dir else name).encode("utf-8"), name, is_dir, sha)
                   for name, (is_dir, sha) in listing.items())
    return b"".join((b"40000 " if is_dir else b"100644 ") + name.encode("utf-8") + b"\0" + binascii.unhexlify(sha)
                    for _, name, is_dir, sha in items)
