"""``build``: a whole state into a :class:`~.names.Snapshot` (pure: no I/O), fully or from a base snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from . import canonical, tensors
from .canonical import Blake3Digest, blake3_hex
from .encode import Builder, place, seal
from .incremental import Rebuilder
from .names import FORMAT, FORMAT_DELTAS, MANIFEST, TENSOR_DIR, Entry, Snapshot, SnapshotTree, check_module_name, escape_name
from ..errors import InvalidStateError


def build(state: Mapping[str, Any], *, stats: Mapping[str, Any] | None = None, base: Snapshot | None = None,
          changed: Any = None, deltas: bool = False) -> Snapshot:
    """Lay out ``state`` as a snapshot tree (pure: no I/O).

    With ``base`` (the snapshot of an earlier version of this state) and
    ``changed`` (the paths that may differ from it, see
    :func:`brainvcs.snapshot.incremental.parse_changed`), only those paths are
    re-encoded; the result is byte-identical to a full build as long as
    ``changed`` covers every difference. With ``deltas`` a changed map may be
    stored as deltas on its last rollup (format version 2, :mod:`.deltas`):
    the same digests and fingerprint, another git tree.
    """
    if not isinstance(state, Mapping):
        raise InvalidStateError("", f"a state must be a mapping of module name to value, not {type(state).__name__}",
                                "wrap it: {\"module\": value}, or commit a brain object through an adapter")
    builder = Builder()
    root = SnapshotTree()
    modules: dict[str, Any] = {}
    digests: dict[str, str] = {}
    built: dict[str, tuple[str, Entry, str, str]] = {}
    rebuild = None
    if base is not None and changed is not None and base.modules:
        rebuild = Rebuilder(builder, base, changed, deltas=deltas)
    chunks: dict[str, frozenset[str]] = {}
    version_2 = False
    for module in sorted(state, key=lambda k: str(k)):
        check_module_name(module)
        builder.module_chunks = set()
        if rebuild is not None:
            entry, kind = rebuild.module(module, state[module])
        else:
            entry, kind = builder.node(state[module], module, 1)
        if rebuild is not None and base is not None and base.chunks.get(module):
            # Reused whole, or partly: its unchanged members still reference the base's chunks.
            chunks[module] = (base.chunks[module] if module in rebuild.reused
                              else frozenset(referenced_chunks(entry)))
        elif builder.module_chunks:
            chunks[module] = frozenset(builder.module_chunks)
        name = escape_name(module)
        if isinstance(entry, SnapshotTree):
            digest = seal(entry)
            version_2 = version_2 or entry.has_deltas
            root.entries[name] = entry
        else:
            digest = blake3_hex(entry)
            name += ".json"
            root.entries[name] = entry
        digests[name] = digest
        modules[module] = {"digest": digest, "entry": name, "kind": kind}
        built[module] = (name, entry, kind, digest)
    fingerprint = blake3_hex(canonical.encode(digests))
    needed = frozenset().union(*chunks.values())
    if needed:
        tensor_tree = SnapshotTree()
        for chunk in sorted(needed):
            data = builder.tensors.get(chunk)
            if data is None:
                assert base is not None  # a chunk not encoded now comes from the base
                data = base_chunk(base.tree, chunk)
            place(tensor_tree, f"{chunk[:2]}/{chunk}.bin", data)
        root.entries[TENSOR_DIR] = tensor_tree
    manifest: dict[str, Any] = {
        "digests": digests,
        "fingerprint": fingerprint,
        "format": FORMAT_DELTAS if version_2 else FORMAT,
        "modules": modules,
        "stats": dict(stats or {}),
    }
    root.entries[MANIFEST] = canonical.encode(manifest)
    if rebuild is not None:
        rebuild.carry_infos()
    return Snapshot(root, Blake3Digest(fingerprint), manifest, builder.infos, built, chunks)


def referenced_chunks(entry: Entry) -> set[str]:
    """The tensor chunk digests that the blobs of ``entry`` (a blob or a directory) reference."""
    found: set[str] = set()
    blobs = entry.walk() if isinstance(entry, SnapshotTree) else [("", entry)]
    for _, blob in blobs:
        if tensors.NEEDLE in blob:
            for descriptor in tensors.descriptors(orjson.loads(blob)):
                found.update(descriptor["chunks"])  # (written by this build or its base: well-formed)
    return found


def base_chunk(tree: SnapshotTree, chunk: str) -> bytes:
    """The bytes of tensor chunk ``chunk`` held in snapshot ``tree``."""
    node = tree.find(f"{TENSOR_DIR}/{chunk[:2]}/{chunk}.bin")
    assert isinstance(node, bytes)
    return node


