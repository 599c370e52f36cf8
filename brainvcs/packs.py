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
from collections.abc import Callable, Sequence
from typing import Any

from dulwich.errors import ApplyDeltaError
from dulwich.objects import ShaFile
from dulwich.object_format import SHA1
from dulwich.pack import apply_delta, load_pack_index, write_pack_index

from .errors import CorruptObjectError

_OFS_DELTA = 6
_REF_DELTA = 7
#: zlib level for per-commit packs: fast; `gc` recompresses with deltas.
COMMIT_COMPRESSION = 1
#: Delta bases kept inflated while reading (delta chains share bases).
_BASE_CACHE = 512
#: Deepest delta chain followed before the pack is declared corrupt. dulwich's gc bounds
#: chains only by the history (every version of a shard may delta on the one before), so
#: this is generous; chains are walked with a loop and a cycle is caught on its first repeat.
_MAX_CHAIN = 1 << 20
#: Refuse any pack entry or delta result declaring more than this many bytes, before
#: inflating it: a hostile pack can hold a tiny zlib stream that inflates to terabytes.
MAX_OBJECT_BYTES = 1 << 31


def _object_header(type_num: int, size: int) -> bytes:
    byte = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def entry_header(data: Any, offset: int) -> tuple[int, int, int]:
    """``(type, declared size, offset of what follows)`` of the pack entry at ``offset``.

    Refuses a declared size over :data:`MAX_OBJECT_BYTES` before anything is inflated.
    """
    byte = data[offset]
    type_num = (byte >> 4) & 7
    size = byte & 0x0F
    shift = 4
    pos = offset + 1
    while byte & 0x80:
        if shift > 70:
            raise CorruptObjectError(f"pack entry at offset {offset} has a malformed size")
        byte = data[pos]
        size |= (byte & 0x7F) << shift
        shift += 7
        pos += 1
    if size > MAX_OBJECT_BYTES:
        raise CorruptObjectError(f"pack entry at offset {offset} declares {size} bytes, over the "
                                 f"{MAX_OBJECT_BYTES}-byte limit; refusing to inflate it",
                                 "the pack is corrupt or hostile; restore the repository from a trusted clone")
    return type_num, size, pos


def _ofs_distance(data: Any, pos: int) -> tuple[int, int]:
    byte = data[pos]
    back = byte & 0x7F
    pos += 1
    while byte & 0x80:
        if back > 1 << 64:
            raise CorruptObjectError("pack entry has a malformed delta base offset")
        byte = data[pos]
        back = ((back + 1) << 7) | (byte & 0x7F)
        pos += 1
    return back, pos


def inflate(compressed: bytes, size: int) -> bytes:
    """Inflate one pack entry, never producing more than the ``size`` bytes its header declares."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(compressed, size + 1)
    if len(out) != size or not inflater.eof:
        raise CorruptObjectError(f"a pack entry does not inflate to the {size} bytes its header declares")
    return out


def delta_sizes(delta: bytes) -> tuple[int, int]:
    """The source and result sizes a git delta declares in its header."""
    sizes = []
    pos = 0
    for _ in range(2):
        value = shift = 0
        while True:
            if pos >= len(delta) or shift > 70:
                raise CorruptObjectError("a delta has a malformed header")
            byte = delta[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        sizes.append(value)
    return sizes[0], sizes[1]


def check_entry_sizes(data: Any, offset: int, ref_offset: Callable[[bytes], int | None]) -> None:
    """Refuse an entry if it, its delta result, or any base on its chain declares too many bytes.

    Reads only entry headers and the first bytes of each delta, so a reader that
    inflates by declared size (dulwich) can be protected from decompression bombs.
    ``ref_offset`` maps a base object id to its offset in the same pack (None: elsewhere).
    """
    seen: set[int] = set()
    for _ in range(_MAX_CHAIN):
        if offset in seen:
            raise CorruptObjectError(f"delta chain at offset {offset} loops back on itself")
        seen.add(offset)
        type_num, size, pos = entry_header(data, offset)
        if type_num == _OFS_DELTA:
            back, pos = _ofs_distance(data, pos)
            base: int | None = offset - back if 0 < back < offset else None
        elif type_num == _REF_DELTA:
            base = ref_offset(bytes(data[pos:pos + 20]))
            pos += 20
        else:
            return
        # A dynamic Huffman header is a few hundred bytes at most: 1 KiB holds the delta's sizes.
        head = zlib.decompressobj().decompress(bytes(data[pos:pos + 1024]), 32)
        _, target = delta_sizes(head)
        if target > MAX_OBJECT_BYTES:
            raise CorruptObjectError(f"a delta at offset {offset} declares a {target}-byte result, over the "
                                     f"{MAX_OBJECT_BYTES}-byte limit; refusing to inflate it",
                                     "the pack is corrupt or hostile; restore the repository from a trusted clone")
        if base is None:
            return  # a missing or external base is reported by the reader itself
        offset = base
    raise CorruptObjectError(f"delta chain longer than {_MAX_CHAIN}")


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
                record = _object_header(obj.type_num, len(raw)) + zlib.compress(raw, level)
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


class _Pack:
    __slots__ = ("path", "map", "ends", "size")

    def __init__(self, path: str, offsets: list[int]) -> None:
        self.path = path
        with open(path, "rb") as handle:
            self.size = os.fstat(handle.fileno()).st_size
            self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if self.size else b""
        ordered = sorted(offsets)
        self.ends = dict(zip(ordered, ordered[1:] + [self.size - 20]))


class PackReader:
    """Reads objects from a directory of packs by id, without dulwich's per-object overhead.

    The index of every pack is loaded once into a dict; :meth:`refresh` picks up
    packs written since. Objects it does not find (loose objects, alternates)
    are left to the caller's fallback.
    """

    def __init__(self, pack_dir: str) -> None:
        self.pack_dir = pack_dir
        self._where: dict[bytes, tuple[_Pack, int]] = {}
        self._packs: dict[str, _Pack] = {}
        self._bases: OrderedDict[tuple[str, int], tuple[int, bytes]] = OrderedDict()
        self.refresh()

    def refresh(self) -> None:
        """Load the indexes of packs that appeared since the last call (and forget vanished ones)."""
        try:
            names = {n[:-4] for n in os.listdir(self.pack_dir) if n.endswith(".idx") and n.startswith("pack-")}
        except FileNotFoundError:
            names = set()
        if names == set(self._packs):
            return
        for gone in set(self._packs) - names:
            del self._packs[gone]
            self._where = {sha: loc for sha, loc in self._where.items() if loc[0].path != self._path(gone)}
        for name in sorted(names - set(self._packs)):
            try:
                index = load_pack_index(self._path(name)[:-5] + ".idx", SHA1)
                entries = [(sha, offset) for sha, offset, _ in index.iterentries()]
                index.close()
                pack = _Pack(self._path(name), [offset for _, offset in entries])
            except FileNotFoundError:
                continue  # removed by a concurrent gc between listdir and open
            except Exception as exc:
                raise CorruptObjectError(f"pack {name} cannot be read ({type(exc).__name__}: {exc})",
                                         "run `brainvcs verify`; restore the pack from a clone") from None
            self._packs[name] = pack
            for sha, offset in entries:
                self._where.setdefault(sha, (pack, offset))

    def _path(self, name: str) -> str:
        return os.path.join(self.pack_dir, name + ".pack")

    def __contains__(self, binsha: bytes) -> bool:
        return binsha in self._where

    def read(self, binsha: bytes) -> tuple[int, bytes] | None:
        """``(type_num, raw bytes)`` of an object, or None if no loaded pack has it."""
        location = self._where.get(binsha)
        if location is None:
            return None
        pack, offset = location
        try:
            return self._read_at(pack, offset)
        except CorruptObjectError:
            raise
        except (zlib.error, IndexError, KeyError, ValueError, struct.error, TypeError, ApplyDeltaError) as exc:
            raise CorruptObjectError(f"object {binsha.hex()[:12]} in {os.path.basename(pack.path)} "
                                     f"cannot be read ({type(exc).__name__}: {exc})",
                                     "run `brainvcs verify`; restore the repository from a clone") from None

    def _read_at(self, pack: _Pack, offset: int) -> tuple[int, bytes]:
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
            type_num, size, pos = entry_header(data, offset)
            end = pack.ends[offset]
            if type_num == _OFS_DELTA:
                back, pos = _ofs_distance(data, pos)
                if offset - back not in pack.ends:
                    raise CorruptObjectError(f"delta at offset {offset} of {os.path.basename(pack.path)} "
                                             "names a base that is not an object of the pack")
                chain.append((pack, offset, inflate(data[pos:end], size)))
                offset -= back
            elif type_num == _REF_DELTA:
                base_sha = bytes(data[pos:pos + 20])
                location = self._where.get(base_sha)
                if location is None:
                    raise CorruptObjectError(f"delta base {base_sha.hex()[:12]} is missing")
                chain.append((pack, offset, inflate(data[pos + 20:end], size)))
                pack, offset = location
            elif 1 <= type_num <= 4:
                base_type, result = type_num, inflate(data[pos:end], size)
                if chain:
                    self._remember(pack, offset, (base_type, result))
                break
            else:
                raise CorruptObjectError(f"entry at offset {offset} of {os.path.basename(pack.path)} "
                                         f"has unknown type {type_num}")
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
            if isinstance(pack.map, mmap.mmap):
                pack.map.close()
        self._packs.clear()
        self._where.clear()
        self._bases.clear()
