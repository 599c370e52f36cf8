"""Fast pack-file I/O for the hot paths (commit and checkout).

dulwich writes a pack and then re-reads and re-inflates every object to index
it, and its per-object read path costs ~100 µs in Python. A snapshot of a large
brain is tens of thousands of small blobs, so both dominate commit and
checkout. This module writes a pack and its v2 index in one pass (we already
know every object's id, offset and CRC) and reads objects straight from an
mmap of the pack by offset, resolving deltas with dulwich's C ``apply_delta``.
The files are standard git packs: C git and dulwich read them as usual.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from dulwich.errors import ApplyDeltaError
from dulwich.objects import ShaFile
from dulwich.object_format import SHA1
from dulwich.pack import apply_delta, load_pack_index, write_pack_index

from ..errors import CorruptObjectError
from .packformat import (_MAX_CHAIN, _OFS_DELTA, _REF_DELTA, MAX_OBJECT_BYTES, ObjectTooLargeError, delta_sizes,
                         entry_header, inflate, object_header, _ofs_distance)

#: zlib level for per-commit packs: fast; `gc` recompresses with deltas.
COMMIT_COMPRESSION = 1
#: Objects at least this large are sampled first: raw bytes that do not compress (float tensors)
#: are stored at level 0, since zlib level 1 costs ~30 ms per MiB of random floats to save ~5%.
SAMPLE_ABOVE = 64 * 1024
_SAMPLE = 16 * 1024
_INCOMPRESSIBLE = 0.9
#: Delta bases kept inflated while reading (delta chains share bases).
_BASE_CACHE = 512


def compression_level(raw: bytes, level: int) -> int:
    """``level``, or 0 for a large object whose sample does not compress (``gc`` recompresses later)."""
    if level == 0 or len(raw) < SAMPLE_ABOVE:
        return level
    sample = raw[:_SAMPLE]
    return 0 if len(zlib.compress(sample, 1)) > _INCOMPRESSIBLE * len(sample) else level


def write_pack(pack_dir: str, objects: Sequence[ShaFile], level: int = COMMIT_COMPRESSION) -> str:
    """Write ``objects`` as one pack with its index in ``pack_dir``; return the pack's base path.

    Both files are fsynced before being renamed into place (pack first, then
    index: readers discover packs by their index), then the directory is fsynced.
    """
    entries: list[tuple[bytes, int, int]] = []
    checksum = hashlib.sha1()
    fd, tmp_pack = tempfile.mkstemp(dir=pack_dir, prefix=".tmp-brainvcs-", suffix=".pack-part")
    tmp_idx = tmp_pack[: -len(".pack-part")] + ".idx-part"
    try:
        with os.fdopen(fd, "wb") as out:
            head = b"PACK" + struct.pack(">II", 2, len(objects))
            out.write(head)
            checksum.update(head)
            offset = len(head)
            for obj in objects:
                raw = obj.as_raw_string()
                record = object_header(obj.type_num, len(raw)) + zlib.compress(raw, compression_level(raw, level))
                out.write(record)
                checksum.update(record)
                entries.append((obj.sha().digest(), offset, zlib.crc32(record)))
                offset += len(record)
            trailer = checksum.digest()
            out.write(trailer)
            out.flush()
            os.fsync(out.fileno())
        entries.sort()
        with open(tmp_idx, "wb") as idx:
            write_pack_index(idx, entries, trailer, version=2)
            idx.flush()
            os.fsync(idx.fileno())
        base = os.path.join(pack_dir, "pack-" + trailer.hex())
        os.rename(tmp_pack, base + ".pack")
        os.rename(tmp_idx, base + ".idx")
    except BaseException:
        for leftover in (tmp_pack, tmp_idx):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
        raise
    fsync_dir(pack_dir)
    return base


def fsync_dir(path: str) -> None:
    """Make renames inside ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_IDX_V2 = b"\xfftOc\x00\x00\x00\x02"


def _index_table(path: str) -> dict[bytes, int]:
    """Object id -> offset for a pack index dulwich parses (a version-1 index)."""
    index = load_pack_index(path, SHA1)
    try:
        return {sha: offset for sha, offset, _ in index.iterentries()}
    finally:
        index.close()


class _Pack:
    """One pack, memory-mapped, with its index searched in place (nothing per object is loaded)."""

    __slots__ = ("path", "map", "size", "index", "fanout", "count", "ids_at", "offsets_at", "large_at", "table")

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "rb") as handle:
            self.size = os.fstat(handle.fileno()).st_size
            self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if self.size else b""
        idx_path = path[:-5] + ".idx"
        with open(idx_path, "rb") as handle:
            length = os.fstat(handle.fileno()).st_size
            index: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if length else b""
        # A foreign version-1 index (git wrote them before 1.5.2) is loaded whole, into a dict.
        self.table: dict[bytes, int] | None = None
        self.index = index
        if index[:8] != _IDX_V2:
            self.table = _index_table(idx_path)
            self.fanout: tuple[int, ...] = ()
            self.count = len(self.table)
            self.ids_at = self.offsets_at = self.large_at = 0
            return
        if length < 8 + 1024 + 40:
            raise ValueError("truncated pack index")
        self.fanout = struct.unpack_from(">256I", index, 8)
        self.count = self.fanout[255]
        if list(self.fanout) != sorted(self.fanout):
            raise ValueError("pack index fan-out table is not sorted")
        self.ids_at = 8 + 1024
        self.offsets_at = self.ids_at + 24 * self.count  # after the ids and their CRC32s
        self.large_at = self.offsets_at + 4 * self.count
        if length < self.large_at + 40:
            raise ValueError(f"pack index declares {self.count} objects but holds fewer")

    def find(self, binsha: bytes) -> int | None:
        """The offset of object ``binsha`` in this pack, or None: a binary search of the mapped index."""
        if self.table is not None:
            return self.table.get(binsha)
        first = binsha[0]
        lo = self.fanout[first - 1] if first else 0
        hi = self.fanout[first]
        index, base = self.index, self.ids_at
        while lo < hi:
            mid = (lo + hi) >> 1
            at = base + 20 * mid
            probe = index[at:at + 20]
            if probe < binsha:
                lo = mid + 1
            elif probe > binsha:
                hi = mid
            else:
                (offset,) = struct.unpack_from(">I", index, self.offsets_at + 4 * mid)
                if offset & 0x80000000:  # packs over 2 GiB: the high bit indexes the 8-byte table
                    at = self.large_at + 8 * (offset & 0x7FFFFFFF)
                    if at + 8 > len(index) - 40:
                        raise CorruptObjectError(f"the index of {os.path.basename(self.path)} names a "
                                                 "large offset it does not hold")
                    (offset,) = struct.unpack_from(">Q", index, at)
                return int(offset)
        return None

    def close(self) -> None:
        """Unmap the pack and its index."""
        for mapped in (self.map, self.index):
            if isinstance(mapped, mmap.mmap):
                mapped.close()


#: Found locations kept per reader (a checkout looks each object up once; a diff twice).
_FOUND_MAX = 1_000_000


def _deflate_bound(size: int) -> int:
    """Most bytes zlib's deflate can produce for ``size`` bytes of input (with room to spare)."""
    return size + (size >> 10) + 64


_PACK_HEADER = 12


def _inflate_at(pack: _Pack, pos: int, size: int) -> bytes:
    """Inflate the entry data starting at ``pos``: the stream ends itself, so no end offset is needed.

    The slice is bounded by what zlib can produce for ``size`` bytes; a stream
    longer than that (another deflater's) is retried up to the pack's end.
    """
    limit = pack.size - 20
    try:
        return inflate(pack.map[pos:min(limit, pos + _deflate_bound(size))], size)
    except CorruptObjectError:
        if pos + _deflate_bound(size) >= limit:
            raise
    return inflate(pack.map[pos:limit], size)


class PackReader:
    """Reads objects from a directory of packs by id, without dulwich's per-object overhead.

    Opening costs nothing per object: each pack's index is memory-mapped and
    binary-searched on lookup (the pack that last had a hit first), so a repository with a
    long history opens as fast as a new one. :meth:`refresh` picks up packs
    written since. Objects it does not find (loose objects, alternates) are
    left to the caller's fallback.
    """

    def __init__(self, pack_dir: str) -> None:
        self.pack_dir = pack_dir
        self._found: dict[bytes, tuple[_Pack, int]] = {}
        self._packs: dict[str, _Pack] = {}
        self._order: list[_Pack] = []
        self._bases: OrderedDict[tuple[str, int], tuple[int, bytes]] = OrderedDict()
        self.refresh()

    def refresh(self) -> None:
        """Open the packs that appeared since the last call (and forget vanished ones)."""
        try:
            names = {n[:-4] for n in os.listdir(self.pack_dir) if n.endswith(".idx") and n.startswith("pack-")}
        except FileNotFoundError:
            names = set()
        except NotADirectoryError:
            raise CorruptObjectError(f"{self.pack_dir}: is not a directory; this repository's object store is damaged",
                                     "restore the repository from a clone") from None
        if names == set(self._packs):
            return
        gone = [self._packs.pop(name) for name in set(self._packs) - names]
        if gone:
            self._found = {sha: loc for sha, loc in self._found.items() if loc[0] not in gone}
        for name in sorted(names - set(self._packs)):
            try:
                self._packs[name] = _Pack(self._path(name))
            except FileNotFoundError:
                continue  # removed by a concurrent gc between listdir and open
            except CorruptObjectError:
                raise
            except Exception as exc:
                raise CorruptObjectError(f"pack {name} cannot be read ({type(exc).__name__}: {exc})",
                                         "run `brainvcs verify`; restore the pack from a clone") from None
        self._order = sorted(self._packs.values(), key=lambda pack: -pack.count)

    def _locate(self, binsha: bytes) -> tuple[_Pack, int] | None:
        location = self._found.get(binsha)
        if location is not None:
            return location
        order = self._order
        for position, pack in enumerate(order):
            offset = pack.find(binsha)
            if offset is not None:
                if position:  # objects of one snapshot cluster by pack: try this one first next time
                    order.insert(0, order.pop(position))
                if len(self._found) >= _FOUND_MAX:
                    self._found.clear()
                self._found[binsha] = location = (pack, offset)
                return location
        return None

    def _path(self, name: str) -> str:
        return os.path.join(self.pack_dir, name + ".pack")

    def __contains__(self, binsha: bytes) -> bool:
        return self._locate(binsha) is not None

    def read(self, binsha: bytes, limit: int = MAX_OBJECT_BYTES) -> tuple[int, bytes] | None:
        """``(type_num, raw bytes)`` of an object, or None if no loaded pack has it.

        An object whose header (or top delta) declares more than ``limit`` bytes
        is refused before it is inflated.
        """
        location = self._locate(binsha)
        if location is None:
            return None
        pack, offset = location
        try:
            return self._read_at(pack, offset, limit)
        except CorruptObjectError:
            raise
        except (zlib.error, IndexError, KeyError, ValueError, struct.error, TypeError, ApplyDeltaError) as exc:
            raise CorruptObjectError(f"object {binsha.hex()[:12]} in {os.path.basename(pack.path)} "
                                     f"cannot be read ({type(exc).__name__}: {exc})",
                                     "run `brainvcs verify`; restore the repository from a clone") from None

    def _read_at(self, pack: _Pack, offset: int, limit: int = MAX_OBJECT_BYTES) -> tuple[int, bytes]:
        # The delta chain is walked with a loop, not recursion: dulwich's gc bounds
        # chains by nothing but the history, and a hostile pack can chain thousands.
        chain: list[tuple[_Pack, int, bytes]] = []  # (pack, offset, delta), newest first
        seen: set[tuple[str, int]] = set()
        while True:
            cached = self._bases.get((pack.path, offset)) if chain else None
            if cached is not None:
                self._bases.move_to_end((pack.path, offset))
                base_type, result = cached
                break
            if (pack.path, offset) in seen or len(chain) > _MAX_CHAIN:
                raise CorruptObjectError(f"delta chain at offset {offset} of {os.path.basename(pack.path)} "
                                         "loops back on itself or never ends")
            seen.add((pack.path, offset))
            data: Any = pack.map
            if not _PACK_HEADER <= offset < pack.size - 20:
                raise CorruptObjectError(f"offset {offset} is outside {os.path.basename(pack.path)}")
            type_num, size, pos = entry_header(data, offset)
            if not chain and 1 <= type_num <= 4 and size > limit:
                raise ObjectTooLargeError(size, limit)
            if type_num == _OFS_DELTA:
                back, pos = _ofs_distance(data, pos)
                if not 0 < back <= offset - _PACK_HEADER:
                    raise CorruptObjectError(f"delta at offset {offset} of {os.path.basename(pack.path)} "
                                             "names a base outside the pack")
                chain.append((pack, offset, _inflate_at(pack, pos, size)))
                offset -= back
            elif type_num == _REF_DELTA:
                base_sha = bytes(data[pos:pos + 20])
                location = self._locate(base_sha)
                if location is None:
                    raise CorruptObjectError(f"delta base {base_sha.hex()[:12]} is missing")
                chain.append((pack, offset, _inflate_at(pack, pos + 20, size)))
                pack, offset = location
            elif 1 <= type_num <= 4:
                base_type, result = type_num, _inflate_at(pack, pos, size)
                if chain:
                    self._remember(pack, offset, (base_type, result))
                break
            else:
                raise CorruptObjectError(f"entry at offset {offset} of {os.path.basename(pack.path)} "
                                         f"has unknown type {type_num}")
        if chain and delta_sizes(chain[0][2])[1] > limit:
            raise ObjectTooLargeError(delta_sizes(chain[0][2])[1], limit)
        for depth, (delta_pack, delta_offset, delta) in enumerate(reversed(chain)):
            result = self._apply(result, delta)
            if depth < len(chain) - 1:  # every base on the way is kept; the object itself is not
                self._remember(delta_pack, delta_offset, (base_type, result))
        return base_type, result

    def _remember(self, pack: _Pack, offset: int, value: tuple[int, bytes]) -> None:
        self._bases[(pack.path, offset)] = value
        if len(self._bases) > _BASE_CACHE:
            self._bases.popitem(last=False)

    @staticmethod
    def _apply(base: bytes, delta: bytes) -> bytes:
        _, target = delta_sizes(delta)
        if target > MAX_OBJECT_BYTES:
            raise CorruptObjectError(f"a delta declares a {target}-byte result, over the {MAX_OBJECT_BYTES}-byte limit",
                                     "the pack is corrupt or hostile; restore the repository from a trusted clone")
        out = apply_delta(base, delta)
        return b"".join(out) if isinstance(out, list) else bytes(out)

    def close(self) -> None:
        """Unmap every pack."""
        for pack in self._packs.values():
            pack.close()
        self._packs.clear()
        self._order.clear()
        self._found.clear()
        self._bases.clear()
