"""State <-> tree of blobs (docs/format.md §3-§5).

A *state* maps module names to JSON-like values (numpy arrays allowed). This
module turns it into a :class:`SnapshotTree` — nested directories of named
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
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

import blake3

from . import canonical
from .canonical import TENSOR_KEY, Blake3Digest, blake3_hex
from .errors import CorruptObjectError, IntegrityError, InvalidStateError, UnsupportedFormatError

FORMAT = "brainvcs-snapshot/1"
MANIFEST = "brain.json"
DIGESTS = "_b3.json"
INLINE = "_.json"
MAP_MARKER = "_map.json"
LIST_MARKER = "_list.json"
TENSOR_DIR = "_tensors"

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

    def walk(self, prefix: str = "") -> Iterator[tuple[str, bytes]]:
        """Yield ``(path, blob)`` for every blob below this directory."""
        for name in sorted(self.entries):
            entry = self.entries[name]
            if isinstance(entry, SnapshotTree):
                yield from entry.walk(f"{prefix}{name}/")
            else:
                yield f"{prefix}{name}", entry


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
    has_tensors: bool = False


# --------------------------------------------------------------------------
# Names


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


# --------------------------------------------------------------------------
# Encoding: state -> tree


class _Builder:
    def __init__(self) -> None:
        self.tensors: dict[str, bytes] = {}
        self.infos: dict[str, NodeInfo] = {}

    # Tensors -------------------------------------------------------------
    def tensor_hook(self, obj: Any) -> Any:
        from . import tensors

        if not tensors.is_array(obj):
            raise TypeError(f"unsupported type {type(obj).__name__}")
        descriptor, chunks = tensors.describe(obj, TENSOR_CHUNK)
        for digest, data in chunks:
            self.tensors[digest] = data
        return {TENSOR_KEY: descriptor}

    def encode(self, value: Any, path: str, depth: int) -> bytes:
        return canonical.encode(value, default=self.tensor_hook, depth_budget=canonical.MAX_DEPTH - depth, path=path)

    # Nodes ---------------------------------------------------------------
    # Every value is encoded once: sizes of split values are derived from their
    # pieces, and small containers are assembled from their members' bytes.
    def node(self, value: Any, path: str, depth: int) -> tuple[Entry, str]:
        """Lay out one value; returns the entry and its kind."""
        entry, kind, _ = self._node(value, path, depth)
        return entry, kind

    def _node(self, value: Any, path: str, depth: int) -> tuple[Entry, str, int]:
        kind = type(value)
        if kind is dict:
            if len(value) < MAP_MIN_KEYS:
                return self._small_dict(value, path, depth)
            return self._map(value, path, depth)
        if kind is list or kind is tuple:
            return self._list(value, path, depth)
        encoded = self.encode(value, path, depth)
        return encoded, "value", len(encoded)

    def _small_dict(self, value: dict[str, Any], path: str, depth: int,
                    members: dict[str, tuple[Entry, str, int]] | None = None) -> tuple[Entry, str, int]:
        if members is None:
            members = {}
            for key, item in value.items():
                if type(key) is not str or key == TENSOR_KEY:
                    canonical.check(value, path=path)
                members[key] = self._node(item, canonical.join_path(path, key), depth + 1)
        total = sum(member[2] for member in members.values())
        # The whole is longer than the sum of its members' standalone
        # encodings, so a sum above the limit decides without assembling it.
        # Either way the size reported for a split dict exceeds SPLIT_LIMIT,
        # which is all a parent's decisions need.
        size = total
        if total <= SPLIT_LIMIT:
            whole = _assemble_object([(key, members[key][0]) for key in sorted(members)])  # type: ignore[misc]
            if len(whole) <= SPLIT_LIMIT:
                return whole, "value", len(whole)
            size = len(whole)
        tree = SnapshotTree()
        inline: list[tuple[str, bytes]] = []
        for key in sorted(members):
            entry, _, member_size = members[key]
            item = value[key]
            name = escape_name(key)
            if (type(item) in (dict, list, tuple) and member_size >= MEMBER_LIMIT
                    and len(name) <= MAX_NAME):
                tree.entries[name if isinstance(entry, SnapshotTree) else name + ".json"] = entry
            else:
                if isinstance(entry, SnapshotTree):  # a big member with an over-long name stays inline
                    entry = self.encode(item, canonical.join_path(path, key), depth + 1)
                inline.append((key, entry))
        tree.entries[INLINE] = _assemble_object(inline)
        self.infos[path] = NodeInfo("dict", size, tree, members=members)
        return tree, "dict", size

    def _map(self, value: dict[str, Any], path: str, depth: int) -> tuple[Entry, str, int]:
        guess = _BITS_CACHE.get(path) or _estimate_bits(value, path, depth, self)
        encoded = self._shards(value, path, depth, guess)
        # Shards hold the map's entries at the same indentation as the whole map,
        # so the whole's length follows exactly from theirs.
        size = sum(len(data) - 3 for data in encoded.values()) + 3
        if size <= SPLIT_LIMIT:
            whole = self.encode(value, path, depth)
            return whole, "value", len(whole)
        bits = shard_bits(size)
        if bits != guess:
            encoded = self._shards(value, path, depth, bits)
        if len(_BITS_CACHE) < 4096:
            _BITS_CACHE[path] = bits
        tree = SnapshotTree()
        tree.entries[MAP_MARKER] = canonical.encode({"bits": bits, "count": len(value)})
        for index in sorted(encoded):
            _place(tree, shard_name(index, bits), encoded[index])
        self.infos[path] = NodeInfo("map", size, tree, bits=bits, groups=_group_keys(value, path, bits),
                                    shard_sizes={index: len(data) for index, data in encoded.items()})
        return tree, "map", size

    def _shards(self, value: dict[str, Any], path: str, depth: int, bits: int) -> dict[int, bytes]:
        groups = _group_keys(value, path, bits)
        out: dict[int, bytes] = {}
        for index, keys in groups.items():
            values = operator.itemgetter(*keys)(value)
            shard = dict(zip(keys, values)) if len(keys) > 1 else {keys[0]: values}
            out[index] = self.encode(shard, path, depth)
        return out

    def _list(self, items: list[Any] | tuple[Any, ...], path: str, depth: int) -> tuple[Entry, str, int]:
        if len(items) <= MAP_MIN_KEYS:
            whole = self.encode(items, path, depth)
            if len(whole) <= SPLIT_LIMIT:
                return whole, "value", len(whole)
        encoded = [self.encode(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(items)]
        whole = _assemble_array(encoded)
        size = len(whole)
        if size <= SPLIT_LIMIT:
            return whole, "value", size
        chunks: list[list[bytes]] = []
        current: list[bytes] = []
        chunk_size = 0
        for data in encoded:
            current.append(data)
            chunk_size += len(data)
            if is_chunk_boundary(data) or chunk_size >= CHUNK_MAX:
                chunks.append(current)
                current, chunk_size = [], 0
        if current:
            chunks.append(current)
        tree = SnapshotTree()
        tree.entries[LIST_MARKER] = canonical.encode({"chunks": len(chunks), "count": len(items)})
        for index, chunk in enumerate(chunks):
            tree.entries[chunk_name(index, len(chunks))] = _assemble_array(chunk)
        return tree, "list", size


#: Shard bits last used per map path: a guess that is right on every commit
#: after the first, so a map is normally encoded once (the result never depends on it).
_BITS_CACHE: dict[str, int] = {}
#: Per map path: (bits, the key set, keys grouped by shard) from the last build.
_GROUP_CACHE: dict[str, tuple[int, frozenset[str], dict[int, list[str]]]] = {}


def _estimate_bits(value: dict[str, Any], path: str, depth: int, builder: _Builder) -> int:
    """A first guess at a map's shard bits from a sample of its entries (only speed depends on it)."""
    sample = dict(itertools.islice(value.items(), 32))
    per_entry = (len(builder.encode(sample, path, depth)) - 3) / max(1, len(sample))
    return shard_bits(int(per_entry * len(value)))


def _group_keys(value: dict[str, Any], path: str, bits: int) -> dict[int, list[str]]:
    """Keys of a map grouped by shard index; reuses the last grouping when the key set is unchanged."""
    cached = _GROUP_CACHE.get(path)
    if cached is not None and cached[0] == bits and value.keys() == cached[1]:
        return cached[2]
    shift = 64 - bits
    groups: dict[int, list[str]] = {}
    get = _HASH_CACHE.get
    for key in value:
        if type(key) is not str:
            canonical.check(value, path=path)
        h = get(key)
        if h is None:
            h = key_hash(key)
        index = h >> shift
        group = groups.get(index)
        if group is None:
            groups[index] = [key]
        else:
            group.append(key)
    if len(value) >= 1024 and (path in _GROUP_CACHE or len(_GROUP_CACHE) < 64):
        _GROUP_CACHE[path] = (bits, frozenset(value), groups)
    return groups


def _key_bytes(key: str) -> bytes:
    return canonical.encode(key)[:-1]


def _indented(encoded: bytes) -> bytes:
    """A standalone encoding, one level deeper and without its final newline."""
    return encoded[:-1].replace(b"\n", b"\n  ")


def _assemble_object(members: list[tuple[str, bytes]]) -> bytes:
    """The canonical encoding of an object from its members' encodings (keys in sorted order)."""
    if not members:
        return b"{}\n"
    return b"{\n" + b",\n".join(b"  " + _key_bytes(k) + b": " + _indented(e) for k, e in members) + b"\n}\n"


def _assemble_array(items: list[bytes]) -> bytes:
    """The canonical encoding of an array from its items' encodings."""
    if not items:
        return b"[]\n"
    return b"[\n" + b",\n".join(b"  " + _indented(e) for e in items) + b"\n]\n"


def is_chunk_boundary(item: bytes) -> bool:
    """Whether a list chunk ends after an item with this canonical encoding.

    Content-defined: the chance is proportional to the item's size, so chunks
    average :data:`CHUNK_TARGET` bytes, and an edit only moves nearby cuts.
    """
    return zlib.crc32(item) * CHUNK_TARGET < len(item) << 32


def _place(tree: SnapshotTree, path: str, blob: bytes) -> None:
    parts = path.split("/")
    for part in parts[:-1]:
        sub = tree.entries.get(part)
        if sub is None:
            sub = tree.entries[part] = SnapshotTree()
        assert isinstance(sub, SnapshotTree)
        tree = sub
    tree.entries[parts[-1]] = blob


def _seal(tree: SnapshotTree) -> Blake3Digest:
    """Add ``_b3.json`` to every directory below ``tree``; return ``tree``'s digest.

    Directories already sealed (shared with an earlier snapshot) keep their digest.
    """
    if tree.sealed is not None:
        return Blake3Digest(tree.sealed)
    digests: dict[str, str] = {}
    for name, entry in tree.entries.items():
        if name == DIGESTS:
            continue
        digests[name] = _seal(entry) if isinstance(entry, SnapshotTree) else blake3_hex(entry)
    data = canonical.encode(digests)
    tree.entries[DIGESTS] = data
    tree.sealed = blake3_hex(data)
    return Blake3Digest(tree.sealed)


def check_module_name(name: Any) -> None:
    """Module names are non-empty strings."""
    if type(name) is not str or not name:
        raise InvalidStateError(repr(name), "module names must be non-empty strings",
                                "name each top-level part of the state, e.g. {\"language_module\": {...}}")
    canonical._check_str(name, name)


def build(state: Mapping[str, Any], *, stats: Mapping[str, Any] | None = None, base: Snapshot | None = None,
          changed: Any = None) -> Snapshot:
    """Lay out ``state`` as a snapshot tree (pure: no I/O).

    With ``base`` (the snapshot of an earlier version of this state) and
    ``changed`` (the paths that may differ from it, see
    :func:`brainvcs.incremental.parse_changed`), only those paths are
    re-encoded; the result is byte-identical to a full build as long as
    ``changed`` covers every difference.
    """
    if not isinstance(state, Mapping):
        raise InvalidStateError("", f"a state must be a mapping of module name to value, not {type(state).__name__}",
                                "wrap it: {\"module\": value}, or commit a brain object through an adapter")
    builder = _Builder()
    root = SnapshotTree()
    modules: dict[str, Any] = {}
    digests: dict[str, str] = {}
    built: dict[str, tuple[str, Entry, str, str]] = {}
    rebuild = None
    if base is not None and changed is not None and not base.has_tensors and base.modules:
        from .incremental import Rebuilder

        rebuild = Rebuilder(builder, base, changed)
    for module in sorted(state, key=lambda k: str(k)):
        check_module_name(module)
        if rebuild is not None:
            entry, kind = rebuild.module(module, state[module])
        else:
            entry, kind = builder.node(state[module], module, 1)
        name = escape_name(module)
        if isinstance(entry, SnapshotTree):
            digest = _seal(entry)
            root.entries[name] = entry
        else:
            digest = blake3_hex(entry)
            name += ".json"
            root.entries[name] = entry
        digests[name] = digest
        modules[module] = {"digest": digest, "entry": name, "kind": kind}
        built[module] = (name, entry, kind, digest)
    fingerprint = blake3_hex(canonical.encode(digests))
    if builder.tensors:
        tensor_tree = SnapshotTree()
        for digest, data in builder.tensors.items():
            _place(tensor_tree, f"{digest[:2]}/{digest}.bin", data)
        root.entries[TENSOR_DIR] = tensor_tree
    manifest: dict[str, Any] = {
        "digests": digests,
        "fingerprint": fingerprint,
        "format": FORMAT,
        "modules": modules,
        "stats": dict(stats or {}),
    }
    root.entries[MANIFEST] = canonical.encode(manifest)
    if rebuild is not None:
        rebuild.carry_infos()
    return Snapshot(root, Blake3Digest(fingerprint), manifest, builder.infos, built, bool(builder.tensors))


# --------------------------------------------------------------------------
# Decoding: tree -> state


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
        node: Entry = self._tree
        for part in path.split("/") if path else []:
            if not isinstance(node, SnapshotTree) or part not in node.entries:
                raise KeyError(path)
            node = node.entries[part]
        return node

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entry names of a directory -> whether each is a directory."""
        node = self._node(path)
        if not isinstance(node, SnapshotTree):
            raise KeyError(path)
        return {name: isinstance(entry, SnapshotTree) for name, entry in node.entries.items()}

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
    if manifest.get("format") != FORMAT:
        raise UnsupportedFormatError(f"snapshot format {manifest.get('format')!r} is not supported (this brainvcs reads {FORMAT})",
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
#: Deepest directory a snapshot may nest (the layout never nests values deeper than canonical.MAX_DEPTH).
MAX_TREE_DEPTH = canonical.MAX_DEPTH


def _check_digests(digests: dict[str, Any], where: str) -> None:
    for name, digest in digests.items():
        if type(digest) is not str or not _DIGEST.fullmatch(digest):
            raise CorruptObjectError(f"{where}: the digest of {name!r} is malformed")


class _Loader:
    def __init__(self, reader: TreeReader) -> None:
        self.reader = reader

    def verified(self, path: str, expected: str) -> bytes:
        return read_verified(self.reader, path, expected)

    def json(self, path: str, expected: str, depth: int = 0) -> Any:
        data = self.verified(path, expected)
        value = canonical.decode_stored(data, what=path, depth_budget=canonical.MAX_DEPTH - depth)
        if _TENSOR_NEEDLE in data:  # descriptors are rare: walk only when present
            value = self.restore_tensors(value, path)
        return value

    def dir_digests(self, path: str, expected: str) -> dict[str, str]:
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
        if not is_dir:
            return self.json(path, expected, depth)
        if depth > MAX_TREE_DEPTH:
            raise CorruptObjectError(f"{path}: directories nest deeper than {MAX_TREE_DEPTH} levels")
        digests = self.dir_digests(path, expected)
        if MAP_MARKER in digests:
            return self.map(path, digests, depth)
        if LIST_MARKER in digests:
            return self.list(path, digests, depth)
        if INLINE in digests:
            return self.dict_dir(path, digests, depth)
        raise CorruptObjectError(f"{path}: directory has no {INLINE}, {MAP_MARKER} or {LIST_MARKER}")

    def dict_dir(self, path: str, digests: dict[str, str], depth: int) -> dict[str, Any]:
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
        marker = self.json(f"{path}/{MAP_MARKER}", digests[MAP_MARKER])
        out: dict[str, Any] = {}
        entries = self._collect_shards(path, digests, out, depth)
        if entries != len(out):
            # Which copy would win depends on shard order: refuse rather than guess.
            raise CorruptObjectError(f"{path}: {entries - len(out)} key(s) appear in more than one shard")
        if not isinstance(marker, dict) or marker.get("count") != len(out):
            raise CorruptObjectError(f"{path}: map holds {len(out)} entries, {MAP_MARKER} says {marker!r}")
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
        from . import tensors

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


_TENSOR_NEEDLE = f'"{TENSOR_KEY}"'.encode()
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
            from .errors import UsageError

            raise UsageError(f"no module named {missing[0]!r} in this snapshot",
                             f"modules here: {', '.join(sorted(wanted)) or '(none)'}")
        wanted = {m: wanted[m] for m in modules}
    loader = _Loader(reader)
    root = reader.list_dir("")
    check_root(manifest, root)
    state: dict[str, Any] = {}
    # Decoding allocates millions of containers and none of them form cycles:
    # the cyclic collector would only rescan them over and over (2x the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _load_modules(loader, manifest, wanted, root, state)
    finally:
        if collecting:
            gc.enable()
    return state


def _load_modules(loader: _Loader, manifest: dict[str, Any], wanted: dict[str, Any], root: dict[str, bool],
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
