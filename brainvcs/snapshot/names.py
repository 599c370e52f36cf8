"""Names and shapes of a snapshot (docs/format.md §3): file names, shard and chunk names, the tree types.

Everything both directions of the layout share: what the format's own files
are called, how keys become entry names, which shard a key hashes to, and the
in-memory :class:`SnapshotTree` / :class:`Snapshot`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union

import blake3

from . import canonical
from .canonical import Blake3Digest
from ..errors import CorruptObjectError, InvalidStateError

FORMAT = "brainvcs-snapshot/1"
#: The manifest's format when some map is stored as base shards plus deltas (docs/format.md §9).
FORMAT_DELTAS = "brainvcs-snapshot/2"
#: Formats this brainvcs reads.
FORMATS = (FORMAT, FORMAT_DELTAS)
MANIFEST = "brain.json"
DIGESTS = "_b3.json"
INLINE = "_.json"
MAP_MARKER = "_map.json"
LIST_MARKER = "_list.json"
#: The directory of a map's deltas in format version 2 (§9).
DELTA_DIR = "_delta"
TENSOR_DIR = "_tensors"
#: The module of an object-graph state that holds its type tables (docs/format.md §8).
TYPES_MODULE = "@types"

#: A value whose canonical encoding is longer than this is split (§3.2).
SPLIT_LIMIT = 16 * 1024
#: Members of a dict directory at least this large get their own entry.
MEMBER_LIMIT = 1024
#: Dicts with at least this many keys are sharded as maps when split.
MAP_MIN_KEYS = 64
#: Target size of a map shard and of a list chunk.
SHARD_TARGET = 4 * 1024
CHUNK_TARGET = 4 * 1024
#: A list chunk is always cut once it reaches this size.
CHUNK_MAX = 64 * 1024
#: Tensors are split into byte ranges of this size.
TENSOR_CHUNK = 1024 * 1024
#: Escaped member names longer than this stay inline (filesystem limits).
MAX_NAME = 200

Blob = bytes
Entry = Union[Blob, "SnapshotTree"]


@dataclass
class SnapshotTree:
    """A directory of a snapshot: entry name -> blob bytes or subdirectory."""

    entries: dict[str, Entry] = field(default_factory=dict)
    #: BLAKE3 digest of this directory's ``_b3.json`` once sealed; a directory
    #: shared with an earlier snapshot is not re-hashed.
    sealed: str | None = field(default=None, compare=False, repr=False)
    #: git tree id once written (set by the store); shared directories are not re-hashed.
    git_id: bytes | None = field(default=None, compare=False, repr=False)
    #: name -> (the blob, its git id) for blobs already written (set by the store; carried into a copy):
    #: a blob still held by the very same bytes object is not hashed again.
    blob_ids: dict[str, tuple[bytes, bytes]] = field(default_factory=dict, compare=False, repr=False)
    #: Format version 2: this map directory is stored as the base it was rolled up from plus deltas
    #: (:mod:`.deltas`); the entries above stay the logical (version 1) directory its digests describe.
    chain: DeltaChain | None = field(default=None, compare=False, repr=False)
    #: Set by ``seal``: some directory at or below this one is stored with deltas.
    has_deltas: bool = field(default=False, compare=False, repr=False)

    def find(self, path: str) -> Entry | None:
        """The entry at ``path`` (slash-separated; '' is this directory), or None."""
        node: Entry | None = self
        for part in path.split("/") if path else []:
            node = node.entries.get(part) if isinstance(node, SnapshotTree) else None
        return node

    def walk(self, prefix: str = "") -> Iterator[tuple[str, bytes]]:
        """Yield ``(path, blob)`` for every blob below this directory."""
        for name in sorted(self.entries):
            entry = self.entries[name]
            if isinstance(entry, SnapshotTree):
                yield from entry.walk(f"{prefix}{name}/")
            else:
                yield f"{prefix}{name}", entry


@dataclass(frozen=True)
class DeltaChain:
    """How a map directory is stored in format version 2: its base directory and the deltas since."""

    #: The map's logical directory at its last rollup, as written then (its subtrees carry git ids).
    base: SnapshotTree
    #: The canonical delta blobs, oldest first (``_delta/000001.json``, ...).
    deltas: tuple[bytes, ...]
    #: The delta directory as written (grows by one file per commit).
    tree: SnapshotTree
    #: The logical directory the chain started from (the rollup), while something else keeps it alive:
    #: lets a diff in memory tell that a chain continues that directory.
    origin: weakref.ref[SnapshotTree] | None = None
    #: Shared by every commit of the chain: tells the same chain apart once the origin is gone.
    token: object = field(default_factory=object)


@dataclass
class NodeInfo:
    """How one split value was laid out, kept so the next commit can reuse what did not change."""

    kind: str
    size: int
    tree: SnapshotTree
    members: dict[str, tuple[Entry, str, int]] = field(default_factory=dict)
    bits: int = 0
    groups: dict[int, list[str]] = field(default_factory=dict)
    shard_sizes: dict[int, int] = field(default_factory=dict)
    #: A map stored with deltas (format version 2): the chain to extend on the next commit.
    chain: DeltaChain | None = None


@dataclass(frozen=True)
class Snapshot:
    """The result of laying out a state: the tree, its fingerprint and manifest."""

    tree: SnapshotTree
    fingerprint: Blake3Digest
    manifest: dict[str, Any]
    #: Layout of each split value by path (for incremental builds); empty when unknown.
    infos: dict[str, NodeInfo] = field(default_factory=dict, compare=False, repr=False)
    #: Module name -> (entry name, entry, kind, digest) (for incremental builds).
    modules: dict[str, tuple[str, Entry, str, str]] = field(default_factory=dict, compare=False, repr=False)
    #: Module name -> digests of the tensor chunks its blobs reference (for incremental builds).
    chunks: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_tensors(self) -> bool:
        """True if any module references a tensor chunk."""
        return any(self.chunks.values())





def escape_name(key: str) -> str:
    """Turn a dict key into a safe, reversible file name (docs/format.md §3.1)."""
    if key == "":
        return "%"
    out = []
    for i, byte in enumerate(key.encode("utf-8")):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch == "-" or (ch == "_" and i > 0) or (ch == "." and i > 0)):
            out.append(ch)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def unescape_name(name: str) -> str:
    """Inverse of :func:`escape_name`; raises CorruptObjectError on a malformed name."""
    if name == "%":
        return ""
    raw = bytearray()
    i = 0
    try:
        while i < len(name):
            if name[i] == "%":
                raw.append(int(name[i + 1:i + 3], 16))
                i += 3
            else:
                raw.append(ord(name[i]))
                i += 1
        key = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise CorruptObjectError(f"malformed entry name {name!r} in snapshot") from None
    if escape_name(key) != name:
        raise CorruptObjectError(f"entry name {name!r} is not in canonical escaped form")
    return key


_HASH_CACHE: dict[str, int] = {}
_HASH_CACHE_MAX = 2_000_000


def key_hash(key: str) -> int:
    """First 8 bytes of BLAKE3(key) as a big-endian integer (memoised: keys recur)."""
    value = _HASH_CACHE.get(key)
    if value is None:
        value = int.from_bytes(blake3.blake3(key.encode("utf-8")).digest(8), "big")
        if len(_HASH_CACHE) >= _HASH_CACHE_MAX:
            _HASH_CACHE.clear()
        _HASH_CACHE[key] = value
    return value


def shard_bits(encoded_size: int) -> int:
    """How many hash bits select a shard for a map whose encoding has this size."""
    bits = 1
    while (encoded_size >> bits) > SHARD_TARGET and bits < 24:
        bits += 1
    return bits


def shard_name(index: int, bits: int) -> str:
    """File path of shard ``index`` of a map sharded on ``bits`` bits.

    The index is written left-aligned in hex (as the leading hex digits of the
    key hash would be), split into two-digit directory levels, so every level
    but the last has up to 256 entries and the last holds the remainder.
    """
    width = (bits + 3) // 4
    digits = f"{index << (4 * width - bits):0{width}x}"
    parts = [digits[i:i + 2] for i in range(0, width, 2)]
    return "/".join(parts) + ".json"


def chunk_name(index: int, count: int) -> str:
    """File name of chunk ``index`` of a list split into ``count`` chunks."""
    width = max(6, len(str(count - 1)))
    return f"{index:0{width}d}.json"



def check_module_name(name: Any) -> None:
    """Module names are non-empty strings."""
    if type(name) is not str or not name:
        raise InvalidStateError(repr(name), "module names must be non-empty strings",
                                "name each top-level part of the state, e.g. {\"language_module\": {...}}")
    canonical.check_str(name, name)


#: Deepest directory a snapshot may nest (the layout never nests values deeper than canonical.MAX_DEPTH).
MAX_TREE_DEPTH = canonical.MAX_DEPTH
