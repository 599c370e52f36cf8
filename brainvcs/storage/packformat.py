"""The git pack entry format, read defensively: headers, sizes, inflation and delta headers, all bounded.

Nothing here trusts a size a pack declares: an entry or a delta result over
its limit is refused before anything is inflated (a hostile pack can hold a
tiny zlib stream that inflates to terabytes), and delta chains are walked
with a loop that catches cycles.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from ..errors import CorruptObjectError

_OFS_DELTA = 6
_REF_DELTA = 7
#: Deepest delta chain followed before the pack is declared corrupt. dulwich's gc bounds
#: chains only by the history (every version of a shard may delta on the one before), so
#: this is generous; chains are walked with a loop and a cycle is caught on its first repeat.
_MAX_CHAIN = 1 << 20
#: Refuse any pack entry or delta result declaring more than this many bytes, before
#: inflating it: a hostile pack can hold a tiny zlib stream that inflates to terabytes.
MAX_OBJECT_BYTES = 1 << 31


def object_header(type_num: int, size: int) -> bytes:
    """The header of a pack entry: its type and (varint) size."""
    byte = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


class ObjectTooLargeError(CorruptObjectError):
    """An object declares more bytes than what it is read as may hold; nothing was inflated."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"an object declares {size} bytes, over the {limit}-byte limit for what it is; "
                         "refusing to inflate it",
                         "the repository is corrupt or hostile; restore it from a trusted clone")
        self.size = size
        self.limit = limit


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


def check_entry_sizes(data: Any, offset: int, ref_offset: Callable[[bytes], int | None],
                      limit: int = MAX_OBJECT_BYTES) -> None:
    """Refuse an entry if it, its delta result, or any base on its chain declares too many bytes.

    Reads only entry headers and the first bytes of each delta, so a reader that
    inflates by declared size (dulwich) can be protected from decompression bombs.
    ``ref_offset`` maps a base object id to its offset in the same pack (None: elsewhere).
    The object itself may declare at most ``limit`` bytes (:class:`ObjectTooLargeError`).
    """
    seen: set[int] = set()
    for _ in range(_MAX_CHAIN):
        if offset in seen:
            raise CorruptObjectError(f"delta chain at offset {offset} loops back on itself")
        seen.add(offset)
        type_num, size, pos = entry_header(data, offset)
        if len(seen) == 1 and 1 <= type_num <= 4 and size > limit:
            raise ObjectTooLargeError(size, limit)
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
        if len(seen) == 1 and target > limit:
            raise ObjectTooLargeError(target, limit)
        if target > MAX_OBJECT_BYTES:
            raise CorruptObjectError(f"a delta at offset {offset} declares a {target}-byte result, over the "
                                     f"{MAX_OBJECT_BYTES}-byte limit; refusing to inflate it",
                                     "the pack is corrupt or hostile; restore the repository from a trusted clone")
        if base is None:
            return  # a missing or external base is reported by the reader itself
        offset = base
    raise CorruptObjectError(f"delta chain longer than {_MAX_CHAIN}")
