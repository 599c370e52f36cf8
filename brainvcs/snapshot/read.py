"""Reading a snapshot back (docs/format.md §5): the manifest, every digest verified, the state rebuilt.

:class:`Loader` is the one verified reader: checkout, diff, history queries
and the git drivers read snapshots through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from . import canonical, tensors
from .collector import collector_paused
from .canonical import TENSOR_KEY, blake3_hex
from .names import (DIGESTS, FORMATS, INLINE, LIST_MARKER, MANIFEST, MAP_MARKER, MAX_TREE_DEPTH, TENSOR_DIR, Entry,
                    SnapshotTree, escape_name, unescape_name)
from ..errors import CorruptObjectError, IntegrityError, UnsupportedFormatError, UsageError




class TreeReader(Protocol):
    """Read access to one snapshot's directories (implemented by the store)."""

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entry names of the directory at ``path`` ('' is the root) -> is_directory."""

    def read_file(self, path: str) -> bytes:
        """Bytes of the blob at ``path``."""


class MemoryTreeReader:
    """A :class:`TreeReader` over an in-memory :class:`SnapshotTree` (e.g. one not yet committed)."""

    def __init__(self, tree: SnapshotTree) -> None:
        self._tree = tree

    def _node(self, path: str) -> Entry:
        node = self._tree.find(path)
        if node is None:
            raise KeyError(path)
        return node

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entry names of a directory -> whether each is a directory."""
        node = self._node(path)
        if not isinstance(node, SnapshotTree):
            raise KeyError(path)
        return {name: isinstance(entry, SnapshotTree) for name, entry in node.entries.items()}

    def delta_chain(self, path: str) -> tuple[object, tuple[object, ...]] | None:
        """For a map directory at ``path``: the identity of its base and of its deltas (format version 2).

        A map written whole is the base of the next commit's chain: its identity is its own.
        """
        try:
            node = self._node(path)
        except KeyError:
            return None
        if not isinstance(node, SnapshotTree) or MAP_MARKER not in node.entries:
            return None
        if node.chain is None:
            return ("tree", id(node)), ()
        chain = node.chain
        origin = chain.origin() if chain.origin is not None else None
        # While the directory the chain started from lives, it names the base (a diff against it
        # reads the deltas); afterwards the chain's own token does (a diff within the chain).
        return (("tree", id(origin)) if origin is not None else ("chain", id(chain.token))), tuple(chain.deltas)

    def delta_bytes(self, path: str, identity: object) -> bytes:
        """A delta of :meth:`delta_chain` (in memory, its identity is its bytes)."""
        assert isinstance(identity, bytes)
        return identity

    def read_file(self, path: str) -> bytes:
        """Bytes of the blob at ``path`` (KeyError if there is none)."""
        node = self._node(path)
        if isinstance(node, SnapshotTree):
            raise KeyError(path)
        return node


def read_manifest(reader: TreeReader) -> dict[str, Any]:
    """Read and check ``brain.json``: format version and fingerprint consistency."""
    try:
        data = reader.read_file(MANIFEST)
    except KeyError:
        raise CorruptObjectError(f"snapshot has no {MANIFEST}; this commit is not a brainvcs snapshot") from None
    manifest = canonical.decode_stored(data, what=MANIFEST)
    if (not isinstance(manifest, dict) or not isinstance(manifest.get("digests"), dict)
            or not isinstance(manifest.get("modules"), dict)):
        raise CorruptObjectError(f"{MANIFEST} is malformed")
    if manifest.get("format") not in FORMATS:
        raise UnsupportedFormatError(f"snapshot format {manifest.get('format')!r} is not supported "
                                     f"(this brainvcs reads {' and '.join(FORMATS)})",
                                     "upgrade brainvcs")
    _check_digests(manifest["digests"], MANIFEST)
    computed = blake3_hex(canonical.encode(manifest["digests"]))
    if computed != manifest.get("fingerprint"):
        raise IntegrityError(f"{MANIFEST} fingerprint", str(manifest.get("fingerprint")), computed)
    _check_module_table(manifest)
    return manifest


def _check_module_table(manifest: dict[str, Any]) -> None:
    """The fingerprint covers the digests of entries, not the module -> entry table: tie the table to them.

    Each module must point at the entry named after it, with that entry's digest, and
    every entry must belong to a module; otherwise swapping, dropping or aliasing
    modules in ``brain.json`` would load a different state under the same fingerprint.
    """
    digests = manifest["digests"]
    entries = set()
    for module, info in manifest["modules"].items():
        entry = info.get("entry") if isinstance(info, dict) else None
        if (not isinstance(entry, str) or entry not in (escape_name(module), escape_name(module) + ".json")
                or entry not in digests or info.get("digest") != digests[entry]):
            raise CorruptObjectError(f"{MANIFEST}: the entry of module {module!r} is missing, malformed or another module's")
        entries.add(entry)
    if entries != set(digests):
        raise CorruptObjectError(f"{MANIFEST}: entries {sorted(set(digests) - entries)[:3]} belong to no module")


def check_root(manifest: dict[str, Any], root: Mapping[str, bool]) -> None:
    """Every entry at the top of a snapshot must be the manifest, a module it lists, or the tensor store.

    Anything else is refused: a checkout never shows it, so it can only be
    there to be found by another program working in a clone (a planted
    ``brainvcs/__main__.py`` for ``python -m``, a ``.gitattributes``).
    """
    allowed = {MANIFEST, TENSOR_DIR, *manifest["digests"]}
    extra = sorted(set(root) - allowed)
    if extra:
        raise CorruptObjectError(f"snapshot holds {len(extra)} top-level entr{'y' if len(extra) == 1 else 'ies'} "
                                 f"that {MANIFEST} does not account for: {', '.join(map(repr, extra[:3]))}",
                                 "files committed beside a brain (by git, or a host's web editor) are refused: "
                                 "they could be run by programs working in a clone; `git rm` them in a new commit "
                                 "if you added them, and do not trust this commit otherwise")
    if root.get(MANIFEST, False) or root.get(TENSOR_DIR, True) is False:
        raise CorruptObjectError(f"snapshot: {MANIFEST} must be a file and {TENSOR_DIR} a directory")


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _check_digests(digests: dict[str, Any], where: str) -> None:
    for name, digest in digests.items():
        if type(digest) is not str or not _DIGEST.fullmatch(digest):
            raise CorruptObjectError(f"{where}: the digest of {name!r} is malformed")


class Loader:
    """The verified reader of one snapshot: every blob is checked against the digest its directory records."""

    def __init__(self, reader: TreeReader) -> None:
        self.reader = reader
        #: Set by a reader of a snapshot verified once before (brainvcs.storage.verified): digests and the
        #: canonical form are not checked again; the structure still is.
        self.trusted = bool(getattr(reader, "trusted", False))
        self._take = getattr(reader, "take_decoded", None)
        self._rebuilt = getattr(reader, "rebuilt_shards", None) if self.trusted else None

    def verified(self, path: str, expected: str) -> bytes:
        """The bytes at ``path``, which must have BLAKE3 digest ``expected``."""
        return read_verified(self.reader, path, expected)

    def json(self, path: str, expected: str, depth: int = 0) -> Any:
        """The canonical JSON value at ``path`` (tensors restored); ``depth`` is its nesting level."""
        data = self.verified(path, expected)
        value = self._take(path) if self._take is not None else None
        if value is None:  # (a shard rebuilt from format version 2's deltas comes decoded: see storage.deltaview)
            value = canonical.decode_stored(data, what=path, depth_budget=canonical.MAX_DEPTH - depth,
                                            trusted=self.trusted)
        if tensors.NEEDLE in data:  # descriptors are rare: walk only when present
            value = self.restore_tensors(value, path)
        return value

    def dir_digests(self, path: str, expected: str) -> dict[str, str]:
        """A directory's ``_b3.json``, which must list exactly its entries."""
        digests = canonical.decode_stored(self.verified(f"{path}/{DIGESTS}", expected), what=f"{path}/{DIGESTS}")
        if not isinstance(digests, dict):
            raise CorruptObjectError(f"{path}/{DIGESTS} is malformed")
        _check_digests(digests, f"{path}/{DIGESTS}")
        listed = set(self.reader.list_dir(path)) - {DIGESTS}
        if listed != set(digests):
            raise CorruptObjectError(f"{path}: entries do not match {DIGESTS} "
                                     f"(extra: {sorted(listed - set(digests))[:3]}, missing: {sorted(set(digests) - listed)[:3]})")
        return digests

    def node(self, path: str, is_dir: bool, expected: str, depth: int) -> Any:
        """The value stored at ``path``, of any kind (file, dict directory, map, list)."""
        if not is_dir:
            return self.json(path, expected, depth)
        if depth > MAX_TREE_DEPTH:
            raise CorruptObjectError(f"{path}: directories nest deeper than {MAX_TREE_DEPTH} levels")
        if self._rebuilt is not None:  # format version 2, verified once here: no rebuilt files
            found = self._rebuilt(path)
            if found is not None:
                return self._shards_map(path, *found)
        digests = self.dir_digests(path, expected)
        if MAP_MARKER in digests:
            return self.map(path, digests, depth)
        if LIST_MARKER in digests:
            return self.list(path, digests, depth)
        if INLINE in digests:
            return self.dict_dir(path, digests, depth)
        raise CorruptObjectError(f"{path}: directory has no {INLINE}, {MAP_MARKER} or {LIST_MARKER}")

    def dict_dir(self, path: str, digests: dict[str, str], depth: int) -> dict[str, Any]:
        """A dict directory: ``_.json`` plus one entry per large member."""
        value = self.json(f"{path}/{INLINE}", digests[INLINE], depth)
        if not isinstance(value, dict):
            raise CorruptObjectError(f"{path}/{INLINE} is not an object")
        listing = self.reader.list_dir(path)
        for name in sorted(digests):
            if name == INLINE:
                continue
            is_dir = listing[name]
            key = unescape_name(name if is_dir else _strip_json(name, path))
            if key in value:
                raise CorruptObjectError(f"{path}/{name}: member {key!r} is stored twice (inline and as an entry)")
            value[key] = self.node(f"{path}/{name}", is_dir, digests[name], depth + 1)
        return value

    def map(self, path: str, digests: dict[str, str], depth: int) -> dict[str, Any]:
        """A sharded map: every shard merged, each key in exactly one shard."""
        marker = self.json(f"{path}/{MAP_MARKER}", digests[MAP_MARKER])
        out: dict[str, Any] = {}
        entries = self._collect_shards(path, digests, out, depth)
        if entries != len(out):
            # Which copy would win depends on shard order: refuse rather than guess.
            raise CorruptObjectError(f"{path}: {entries - len(out)} key(s) appear in more than one shard")
        if not isinstance(marker, dict) or marker.get("count") != len(out):
            raise CorruptObjectError(f"{path}: map holds {len(out)} entries, {MAP_MARKER} says {marker!r}")
        return out

    def _shards_map(self, path: str, count: int, shards: list[tuple[str, dict[str, Any], bool]]) -> dict[str, Any]:
        """A map from its shards' values (a trusted map stored with deltas, see storage.treereader)."""
        out: dict[str, Any] = {}
        entries = 0
        for name, shard, has_tensors in shards:
            if has_tensors:
                shard = self.restore_tensors(shard, f"{path}/{name}")
            entries += len(shard)
            out.update(shard)
        if entries != len(out):
            raise CorruptObjectError(f"{path}: {entries - len(out)} key(s) appear in more than one shard")
        if count != len(out):
            raise CorruptObjectError(f"{path}: map holds {len(out)} entries, {MAP_MARKER} says {count}")
        return out

    def _collect_shards(self, path: str, digests: dict[str, str], out: dict[str, Any], depth: int,
                        level: int = 0) -> int:
        """Merge every shard below ``path`` into ``out`` (shard directories nest for large maps)."""
        if level > _MAX_SHARD_LEVELS:
            raise CorruptObjectError(f"{path}: map shard directories nest deeper than {_MAX_SHARD_LEVELS} levels")
        entries = 0
        listing = self.reader.list_dir(path)
        for name in sorted(digests):
            if name == MAP_MARKER:
                continue
            if listing[name]:
                sub = self.dir_digests(f"{path}/{name}", digests[name])
                entries += self._collect_shards(f"{path}/{name}", sub, out, depth, level + 1)
            else:
                shard = self._shard(f"{path}/{name}", digests[name], depth)
                entries += len(shard)
                out.update(shard)
        return entries

    def _shard(self, path: str, expected: str, depth: int) -> dict[str, Any]:
        shard = self.json(path, expected, depth)
        if not isinstance(shard, dict):
            raise CorruptObjectError(f"{path}: map shard is not an object")
        return shard

    def list(self, path: str, digests: dict[str, str], depth: int) -> list[Any]:
        """A chunked list: its chunks in order, checked against ``_list.json``."""
        marker = self.json(f"{path}/{LIST_MARKER}", digests[LIST_MARKER])
        out: list[Any] = []
        names = sorted(n for n in digests if n != LIST_MARKER)
        listing = self.reader.list_dir(path)
        for name in names:
            if listing[name]:
                raise CorruptObjectError(f"{path}/{name}: a list chunk is a directory")
            chunk = self.json(f"{path}/{name}", digests[name], depth)
            if not isinstance(chunk, list):
                raise CorruptObjectError(f"{path}/{name}: list chunk is not an array")
            out.extend(chunk)
        if not isinstance(marker, dict) or marker.get("count") != len(out) or marker.get("chunks") != len(names):
            raise CorruptObjectError(f"{path}: list holds {len(out)} items in {len(names)} chunks, {LIST_MARKER} says {marker!r}")
        return out

    def restore_tensors(self, value: Any, path: str) -> Any:
        """``value`` with every ``$tensor`` descriptor replaced by its numpy array."""
        def walk(node: Any) -> Any:
            if isinstance(node, dict):
                if TENSOR_KEY in node:
                    if len(node) != 1:
                        raise CorruptObjectError(f"{path}: the reserved key {TENSOR_KEY!r} appears beside other keys")
                    return tensors.restore(node[TENSOR_KEY], self._tensor_chunk, path)
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        return walk(value)

    def _tensor_chunk(self, digest: Any) -> bytes:
        return read_tensor_chunk(self.reader, digest)


def read_verified(reader: TreeReader, path: str, expected: str) -> bytes:
    """The bytes of the file at ``path``, which must exist and have BLAKE3 digest ``expected``."""
    try:
        data = reader.read_file(path)
    except KeyError:
        raise CorruptObjectError(f"{path}: listed in the snapshot but missing") from None
    if getattr(reader, "trusted", False):
        return data  # verified when it entered this repository
    actual = blake3_hex(data)
    if actual != expected:
        raise IntegrityError(path, expected, actual)
    return data


def read_tensor_chunk(reader: TreeReader, digest: Any) -> bytes:
    """One tensor chunk by its BLAKE3 digest (which names it), verified."""
    if type(digest) is not str or not _DIGEST.fullmatch(digest):
        raise CorruptObjectError(f"tensor chunk digest {digest!r} is malformed")
    return read_verified(reader, f"{TENSOR_DIR}/{digest[:2]}/{digest}.bin", digest)


def _strip_json(name: str, path: str) -> str:
    if not name.endswith(".json"):
        raise CorruptObjectError(f"{path}/{name}: unexpected file in snapshot")
    return name[:-5]


#: Shard directories nest two hex digits per level; 24 hash bits need at most three.
_MAX_SHARD_LEVELS = 8


def load(reader: TreeReader, *, modules: list[str] | None = None) -> dict[str, Any]:
    """Read a state back from a snapshot, verifying every BLAKE3 digest on the way.

    ``modules`` restricts the read to those modules (others are not touched).
    """
    manifest = read_manifest(reader)
    wanted = manifest["modules"]
    if modules is not None:
        missing = [m for m in modules if m not in wanted]
        if missing:
            raise UsageError(f"no module named {missing[0]!r} in this snapshot",
                             f"modules here: {', '.join(sorted(wanted)) or '(none)'}")
        wanted = {m: wanted[m] for m in modules}
    loader = Loader(reader)
    root = reader.list_dir("")
    check_root(manifest, root)
    state: dict[str, Any] = {}
    with collector_paused():
        _load_modules(loader, manifest, wanted, root, state)
    return state


def _load_modules(loader: Loader, manifest: dict[str, Any], wanted: dict[str, Any], root: dict[str, bool],
                  state: dict[str, Any]) -> None:
    for module in sorted(wanted):
        info = wanted[module]
        name = info.get("entry") if isinstance(info, dict) else None
        if not isinstance(name, str) or name not in manifest["digests"] or name not in root:
            raise CorruptObjectError(f"module {module!r}: manifest entry is missing or malformed")
        expected = manifest["digests"][name]
        if info.get("digest") != expected:
            raise CorruptObjectError(f"module {module!r}: manifest digests disagree")
        # The fingerprint covers entries, not the module -> entry table: the entry's
        # name must be the module's own, or swapping two modules' entries would go unseen.
        if name != escape_name(module) + (".json" if not root[name] else ""):
            raise CorruptObjectError(f"module {module!r}: the manifest points it at entry {name!r}, "
                                     "which is not where that module is stored")
        state[module] = loader.node(name, root[name], expected, 1)
