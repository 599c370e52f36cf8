"""State <-> tree of blobs (docs/format.md §3-§5): the public face of :mod:`brainvcs.snapshot`.

A *state* maps module names to JSON-like values (numpy arrays allowed). The
layout turns it into a :class:`SnapshotTree` — nested directories of named
blobs — and back, without touching storage:

* a value whose canonical encoding is small is one ``<name>.json`` file;
* a large dict with many keys is a *map*: entries sharded by BLAKE3 of the key;
* a large dict with few keys is a *dict directory*: big members become their
  own entries, the rest stay inline in ``_.json``;
* a large list is *chunked* at content-defined boundaries, so appending at the
  tail or dropping from the head rewrites O(1) chunks;
* numpy arrays become ``{"$tensor": ...}`` descriptors whose raw bytes live in
  ``_tensors/`` in fixed 1 MiB chunks named by their BLAKE3 digest.

Every directory holds ``_b3.json`` with the BLAKE3 digest of each entry (a
subdirectory's digest is that of its own ``_b3.json``), so the root digests
form a Merkle tree over the whole state; the state fingerprint is the digest
of the root's digest map.

The work is split by concept: :mod:`.names` (file names, shard names, the
tree types), :mod:`.encode` (values into blobs), :mod:`.build` (a whole
state, fully or incrementally), :mod:`.deltas` (format version 2: a changed
map stored as a delta on its last rollup), :mod:`.read` (the verified reader). This
module only gathers their public names, so callers write ``layout.build``,
``layout.load``, ``layout.MANIFEST``.
"""

from __future__ import annotations

from .build import build
from .encode import is_chunk_boundary
from .names import (CHUNK_MAX, CHUNK_TARGET, DELTA_DIR, DIGESTS, FORMAT, FORMAT_DELTAS, FORMATS, INLINE, LIST_MARKER, MANIFEST, MAP_MARKER, MAP_MIN_KEYS,
                    MAX_NAME, MAX_TREE_DEPTH, MEMBER_LIMIT, SHARD_TARGET, SPLIT_LIMIT, TENSOR_CHUNK, TENSOR_DIR, Entry,
                    NodeInfo, Snapshot, SnapshotTree, check_module_name, chunk_name, escape_name, key_hash,
                    shard_bits, shard_name, unescape_name)
from .read import (Loader, MemoryTreeReader, TreeReader, check_root, load, read_manifest, read_tensor_chunk,
                   read_verified)

__all__ = [
    "CHUNK_MAX", "CHUNK_TARGET", "DELTA_DIR", "DIGESTS", "FORMAT", "FORMAT_DELTAS", "FORMATS", "INLINE", "LIST_MARKER", "MANIFEST", "MAP_MARKER",
    "MAP_MIN_KEYS", "MAX_NAME", "MAX_TREE_DEPTH", "MEMBER_LIMIT", "SHARD_TARGET", "SPLIT_LIMIT", "TENSOR_CHUNK",
    "TENSOR_DIR", "Entry", "Loader", "MemoryTreeReader", "NodeInfo", "Snapshot", "SnapshotTree", "TreeReader",
    "build", "check_module_name", "check_root", "chunk_name", "escape_name", "is_chunk_boundary", "key_hash",
    "load", "read_manifest", "read_tensor_chunk", "read_verified", "shard_bits", "shard_name", "unescape_name",
]
