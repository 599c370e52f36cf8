"""The semantic diff engine: two snapshots in, a :class:`BrainDiff` out.

Pure: it reads only through :class:`~brainvcs.snapshot.layout.TreeReader` and never
imports the repository layer (``Repository.commit`` calls it for the learning
summary). The walk follows the snapshot's Merkle tree: two entries with the
same identity (their BLAKE3 digest from ``_b3.json``, or their git object id
when both sides are git trees) hold the same value and are skipped unread, so
the cost of a diff follows the change, not the brain. Where entries differ:

* map shards are decoded on both sides and compared key by key (a key always
  hashes to the same shard, so unchanged shards hide no change);
* list chunks are aligned by identity; only the unmatched runs are decoded,
  which turns a rolling window into "appended at the tail, dropped from the head";
* dict directories compare their inline members and recurse into the rest;
* anything else (or a value whose layout changed kind) is decoded whole and
  compared as values by :class:`~brainvcs.diff.values.Collector`.

Every blob read is verified against the identity it was looked up by.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from ..snapshot import canonical, deltas, layout
from ..snapshot.members import changed_members
from ..snapshot.canonical import join_path
from ..errors import CorruptObjectError, UsageError
from ..snapshot.layout import (DIGESTS, INLINE, LIST_MARKER, MAP_MARKER, TreeReader, key_hash, read_manifest,
                               shard_name, unescape_name)
from .model import BrainDiff, ModuleDiff
from .values import Collector, PathFilter, category, wildcard


@dataclass(frozen=True)
class _Entry:
    """A tree entry: directory or file, and its identity (a BLAKE3 digest or a git object id)."""

    is_dir: bool
    token: str


class _Side:
    """One snapshot, read lazily and verified on the way."""

    def __init__(self, reader: TreeReader, git_ids: bool) -> None:
        self.reader = reader
        self.loader = layout.Loader(reader)
        self.manifest = read_manifest(reader)
        self.git_ids = git_ids
        self._root = reader.list_dir("")
        self._entries: dict[str, dict[str, _Entry]] = {}
        #: Built by this process, or verified once in this repository: format version 2's deltas agree
        #: with the digests, so a diff may read them alone.
        self.trusted = isinstance(reader, layout.MemoryTreeReader) or bool(getattr(reader, "trusted", False))

    def module(self, name: str) -> tuple[str, _Entry] | None:
        """The root entry name and entry of module ``name`` (None when absent)."""
        info = self.manifest["modules"].get(name)
        if info is None:
            return None
        entry = info.get("entry") if isinstance(info, dict) else None
        if not isinstance(entry, str) or entry not in self._root or entry not in self.manifest["digests"]:
            raise CorruptObjectError(f"module {name!r}: manifest entry is missing or malformed")
        token = self.reader.entry_id(entry) if self.git_ids else self.manifest["digests"][entry]  # type: ignore[attr-defined]
        return entry, _Entry(self._root[entry], str(token))

    def entries(self, path: str, entry: _Entry) -> dict[str, _Entry]:
        """The entries of directory ``path`` (without ``_b3.json``)."""
        cached = self._entries.get(path)
        if cached is not None:
            return cached
        listing = self.reader.list_dir(path)
        if self.git_ids:
            out = {name: _Entry(is_dir, str(self.reader.entry_id(f"{path}/{name}")))  # type: ignore[attr-defined]
                   for name, is_dir in listing.items() if name != DIGESTS}
        else:  # the verified reader's own check of a directory's digest file against its listing
            digests = self.loader.dir_digests(path, entry.token)
            out = {name: _Entry(listing[name], digest) for name, digest in digests.items()}
        self._entries[path] = out
        return out

    def read(self, path: str, entry: _Entry) -> bytes:
        """The bytes of a file, checked against the identity it was found by (git id, or BLAKE3 digest)."""
        if self.git_ids:
            try:
                data = self.reader.read_file(path)
            except KeyError:
                raise CorruptObjectError(f"{path}: listed in the snapshot but missing") from None
            actual = hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
            if actual != entry.token:
                raise CorruptObjectError(f"{path}: git object {entry.token[:12]} reads back as {actual[:12]}",
                                         "the repository is corrupt; run `brainvcs verify`")
            return data
        return layout.read_verified(self.reader, path, entry.token)

    def json(self, path: str, entry: _Entry) -> Any:
        """A file decoded (tensor descriptors stay descriptors)."""
        return canonical.decode(self.read(path, entry), what=path)

    def delta_chain(self, path: str) -> tuple[object, tuple[object, ...]] | None:
        """The base identity and delta identities of the map at ``path`` (format version 2), if trusted."""
        if not self.trusted:
            return None
        chain = getattr(self.reader, "delta_chain", None)
        return None if chain is None else chain(path)

    def delta_bytes(self, path: str, identity: object) -> bytes:
        """One delta of the map at ``path``, by the identity :meth:`delta_chain` gave."""
        return self.reader.delta_bytes(path, identity)  # type: ignore[attr-defined, no-any-return]

    def tensor_chunk(self, digest: str) -> bytes:
        """One tensor chunk by its BLAKE3 digest, verified."""
        return layout.read_tensor_chunk(self.reader, digest)

    def load(self, path: str, entry: _Entry) -> Any:
        """The whole value at ``path``, whatever its layout."""
        if not entry.is_dir:
            return self.json(path, entry)
        entries = self.entries(path, entry)
        kind = _kind(entries, path)
        if kind == "map":
            out: dict[str, Any] = {}
            self.load_shards(path, entries, out)
            return out
        if kind == "list":
            items: list[Any] = []
            for name in sorted(n for n in entries if n != LIST_MARKER):
                items.extend(_chunk(self.json(f"{path}/{name}", entries[name]), f"{path}/{name}"))
            return items
        value = self.json(f"{path}/{INLINE}", entries[INLINE])
        if not isinstance(value, dict):
            raise CorruptObjectError(f"{path}/{INLINE} is not an object")
        for name, member in entries.items():
            if name != INLINE:
                value[_member_key(name, member, path)] = self.load(f"{path}/{name}", member)
        return value

    def load_shards(self, path: str, entries: dict[str, _Entry], out: dict[str, Any]) -> None:
        """Every key of the map shards below directory ``path`` into ``out``."""
        for name, entry in entries.items():
            if name == MAP_MARKER:
                continue
            sub = f"{path}/{name}"
            if entry.is_dir:
                self.load_shards(sub, self.entries(sub, entry), out)
            else:
                out.update(_shard(self.json(sub, entry), sub))


def _kind(entries: dict[str, _Entry], path: str) -> str:
    if MAP_MARKER in entries:
        return "map"
    if LIST_MARKER in entries:
        return "list"
    if INLINE in entries:
        return "dict"
    raise CorruptObjectError(f"{path}: directory has no {INLINE}, {MAP_MARKER} or {LIST_MARKER}")


def _member_key(name: str, entry: _Entry, path: str) -> str:
    if not entry.is_dir:
        if not name.endswith(".json"):
            raise CorruptObjectError(f"{path}/{name}: unexpected file in snapshot")
        name = name[:-5]
    return unescape_name(name)


def _shard(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CorruptObjectError(f"{path}: map shard is not an object")
    return value


def _chunk(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise CorruptObjectError(f"{path}: list chunk is not an array")
    return value


def _count(marker: Any, path: str) -> int:
    if not isinstance(marker, dict) or type(marker.get("count")) is not int:
        raise CorruptObjectError(f"{path}: malformed {LIST_MARKER}")
    return int(marker["count"])


def _bits(marker: Any, path: str) -> int:
    bits = marker.get("bits") if isinstance(marker, dict) else None
    if type(bits) is not int or not 1 <= bits <= 64:
        raise CorruptObjectError(f"{path}: malformed {MAP_MARKER}")
    return int(bits)


Located = tuple[str, _Entry]


class _Walker:
    """Walks two snapshots side by side, descending only where identities differ."""

    def __init__(self, old: _Side, new: _Side, collector: Collector) -> None:
        self.old = old
        self.new = new
        self.out = collector

    def node(self, old: Located, new: Located, path: str, pattern: str, *, top: bool = False) -> None:
        """Compare one value laid out at ``old`` and ``new`` (tree path, entry)."""
        (old_path, old_entry), (new_path, new_entry) = old, new
        if old_entry.token == new_entry.token or not self.out.filter.relevant(path):
            return
        if old_entry.is_dir and new_entry.is_dir:
            if self._delta_step(old_path, new_path, path, pattern):
                return
            old_entries = self.old.entries(old_path, old_entry)
            new_entries = self.new.entries(new_path, new_entry)
            kind = _kind(old_entries, old_path)
            if kind == _kind(new_entries, new_path):
                if kind == "map" and self._map(old_path, old_entries, new_path, new_entries, path, pattern):
                    return
                if kind == "list":
                    self._list(old_path, old_entries, new_path, new_entries, path, pattern)
                    return
                if kind == "dict":
                    self._dict(old_path, old_entries, new_path, new_entries, path, pattern, top=top)
                    return
        self.out.value(self.old.load(old_path, old_entry), self.new.load(new_path, new_entry), path, pattern,
                       top=top)

    def _delta_step(self, old_path: str, new_path: str, path: str, pattern: str) -> bool:
        """Format version 2: a map whose new chain extends the old one differs by the added deltas alone.

        Their ``"was"`` values are the old side: nothing else is read. Only for snapshots built or
        verified here (the deltas then agree with the digests); False when this does not apply.
        """
        old_chain, new_chain = self.old.delta_chain(old_path), self.new.delta_chain(new_path)
        if (old_chain is None or new_chain is None or old_chain[0] != new_chain[0]
                or len(new_chain[1]) <= len(old_chain[1]) or new_chain[1][:len(old_chain[1])] != old_chain[1]):
            return False
        added = [deltas.read_delta(self.new.delta_bytes(new_path, identity), f"{new_path}/{layout.DELTA_DIR}",
                                   trusted=True) for identity in new_chain[1][len(old_chain[1]):]]
        before, after = deltas.step(added)
        key = self.out.filter.next_key(path)
        if key is not None:  # --path names one key
            before = {key: before[key]} if key in before else {}
            after = {key: after[key]} if key in after else {}
        self.out.dict_items(before, after, path, wildcard(pattern), pattern)
        return True

    def _map(self, old_path: str, old_entries: dict[str, _Entry], new_path: str, new_entries: dict[str, _Entry],
             path: str, pattern: str) -> bool:
        """Compare changed shards only; False when the shard layouts differ (then compare whole values)."""
        old_bits = _bits(self.old.json(f"{old_path}/{MAP_MARKER}", old_entries[MAP_MARKER]), old_path)
        new_bits = _bits(self.new.json(f"{new_path}/{MAP_MARKER}", new_entries[MAP_MARKER]), new_path)
        if old_bits != new_bits:
            return False
        only: list[str] | None = None
        key = self.out.filter.next_key(path)
        if key is not None:  # --path names one key: only its shard can hold it
            only = shard_name(key_hash(key) >> (64 - old_bits), old_bits).split("/")
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        self._shards(old_path, old_entries, new_path, new_entries, before, after, only)
        self.out.dict_items(before, after, path, wildcard(pattern), pattern)
        return True

    def _shards(self, old_path: str, old_entries: dict[str, _Entry], new_path: str, new_entries: dict[str, _Entry],
                before: dict[str, Any], after: dict[str, Any], only: list[str] | None) -> None:
        names: Iterable[str] = (set(old_entries) | set(new_entries)) - {MAP_MARKER}
        if only:
            names = [name for name in names if name == only[0]]
        for name in sorted(names):
            old = old_entries.get(name)
            new = new_entries.get(name)
            if old is not None and new is not None and old.token == new.token:
                continue
            old_sub, new_sub = f"{old_path}/{name}", f"{new_path}/{name}"
            if (old is None or old.is_dir) and (new is None or new.is_dir):
                self._shards(old_sub, self.old.entries(old_sub, old) if old else {},
                             new_sub, self.new.entries(new_sub, new) if new else {},
                             before, after, only[1:] if only else None)
                continue
            if old is not None and new is not None and not old.is_dir and not new.is_dir:
                changed_members(self.old.read(old_sub, old), self.new.read(new_sub, new), before, after, new_sub)
                continue
            for side, entry, sub, target in ((self.old, old, old_sub, before), (self.new, new, new_sub, after)):
                if entry is None:
                    continue
                if entry.is_dir:
                    side.load_shards(sub, side.entries(sub, entry), target)
                else:
                    target.update(_shard(side.json(sub, entry), sub))

    def _list(self, old_path: str, old_entries: dict[str, _Entry], new_path: str, new_entries: dict[str, _Entry],
              path: str, pattern: str) -> None:
        """Align chunks by identity; decode and compare only the runs that differ."""
        old_count = _count(self.old.json(f"{old_path}/{LIST_MARKER}", old_entries[LIST_MARKER]), old_path)
        new_count = _count(self.new.json(f"{new_path}/{LIST_MARKER}", new_entries[LIST_MARKER]), new_path)
        self.out.list_begin(pattern, old_count, new_count)
        old_names = sorted(n for n in old_entries if n != LIST_MARKER)
        new_names = sorted(n for n in new_entries if n != LIST_MARKER)
        a = [old_entries[n].token for n in old_names]
        b = [new_entries[n].token for n in new_names]
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            old_items = [x for n in old_names[i1:i2]
                         for x in _chunk(self.old.json(f"{old_path}/{n}", old_entries[n]), f"{old_path}/{n}")]
            new_items = [x for n in new_names[j1:j2]
                         for x in _chunk(self.new.json(f"{new_path}/{n}", new_entries[n]), f"{new_path}/{n}")]
            self.out.list_region(old_items, new_items, path, pattern, head=i1 == 0 and j1 == 0,
                                 tail=i2 == len(a) and j2 == len(b))

    def _dict(self, old_path: str, old_entries: dict[str, _Entry], new_path: str, new_entries: dict[str, _Entry],
              path: str, pattern: str, *, top: bool) -> None:
        """Inline members compared as values; members with their own entry compared by identity, then walked."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        inline_changed = old_entries[INLINE].token != new_entries[INLINE].token
        if inline_changed or not top:
            after = _object(self.new.json(f"{new_path}/{INLINE}", new_entries[INLINE]), new_path)
        if inline_changed:
            before = _object(self.old.json(f"{old_path}/{INLINE}", old_entries[INLINE]), old_path)
        old_members = {_member_key(n, e, old_path): n for n, e in old_entries.items() if n != INLINE}
        new_members = {_member_key(n, e, new_path): n for n, e in new_entries.items() if n != INLINE}
        # Members big enough for their own entry are objects or lists: a directory whose inline
        # values are too (or that has none) is a map of big values, such as 50 large neurons.
        kinds = {category(value) for value in after.values()}
        like = not top and len(after) + len(new_members) >= 2 and (kinds <= {"dict"} or kinds <= {"list"})
        member_pattern = wildcard(pattern) if like else None
        if not inline_changed:
            after = {}
        for key in sorted(set(old_members) | set(new_members)):
            old_name, new_name = old_members.get(key), new_members.get(key)
            if old_name is not None and new_name is not None:
                self.node((f"{old_path}/{old_name}", old_entries[old_name]),
                          (f"{new_path}/{new_name}", new_entries[new_name]), join_path(path, key),
                          member_pattern or join_path(pattern, key))
                continue
            if not self.out.filter.relevant(join_path(path, key)):
                continue
            # A member that grew into (or shrank out of) its own entry: compare it as a value.
            if old_name is not None:
                before[key] = self.old.load(f"{old_path}/{old_name}", old_entries[old_name])
            if new_name is not None:
                after[key] = self.new.load(f"{new_path}/{new_name}", new_entries[new_name])
        self.out.dict_items(before, after, path, member_pattern, pattern)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CorruptObjectError(f"{path}/{INLINE} is not an object")
    return value


#: Modules whose names start with this hold metadata about the others (``@types``), not learning.
METADATA_PREFIX = "@"


def diff_snapshots(old: TreeReader | None, new: TreeReader | None, *, modules: list[str] | None = None,
                   path: str | None = None, tolerance: float = 0.0) -> BrainDiff:
    """The semantic difference from snapshot ``old`` to snapshot ``new`` (None = the empty brain).

    ``modules`` restricts the diff to those modules, ``path`` to one dotted
    path (``language_module.word_frequency``); float changes smaller than
    ``tolerance`` are counted as ignored instead of listed.
    """
    if tolerance < 0 or tolerance != tolerance:
        raise UsageError(f"tolerance must be a non-negative number, not {tolerance}")
    git_ids = all(reader is not None and callable(getattr(reader, "entry_id", None)) for reader in (old, new))
    old_side = _Side(old, git_ids) if old is not None else None
    new_side = _Side(new, git_ids) if new is not None else None
    old_modules = old_side.manifest["modules"] if old_side else {}
    new_modules = new_side.manifest["modules"] if new_side else {}
    names = sorted(set(old_modules) | set(new_modules))
    if modules is not None:
        unknown = [m for m in modules if m not in old_modules and m not in new_modules]
        if unknown:
            raise UsageError(f"no module named {unknown[0]!r} in either snapshot",
                             f"modules here: {', '.join(names) or '(none)'}")
        names = [m for m in names if m in modules]
    elif path is None or not path.lstrip('["').startswith(METADATA_PREFIX):
        # Type tables of object-graph brains (docs/format.md §8) say how values come back, not what was
        # learned: a diff shows them only when asked for by module or path.
        names = [m for m in names if not m.startswith(METADATA_PREFIX)]
    path_filter = PathFilter(path)
    result = BrainDiff(tolerance=tolerance, path=path_filter.path, initial=not old_modules)
    for name in names:
        module_path = join_path("", name)
        if not path_filter.relevant(module_path):
            continue
        before = old_side.module(name) if old_side else None
        after = new_side.module(name) if new_side else None
        if before is None or after is None:
            result.modules.append(ModuleDiff(name, "added" if before is None else "removed"))
            continue
        if old_modules[name].get("digest") == new_modules[name].get("digest"):
            continue
        assert old_side is not None and new_side is not None
        collector = Collector(tolerance=tolerance, path_filter=path_filter,
                              old_chunks=old_side.tensor_chunk, new_chunks=new_side.tensor_chunk)
        _Walker(old_side, new_side, collector).node(before, after, module_path, module_path, top=True)
        records = collector.records()
        if records or path_filter.path is None:
            result.modules.append(ModuleDiff(name, "modified", records))
    return result
