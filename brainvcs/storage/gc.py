"""Pack consolidation (with deltas) and pruning of unreachable objects.

Each commit writes one pack; many packs slow every lookup, so packs are
consolidated: :func:`consolidate` merges the smallest packs when there are
too many (run after commits), and :func:`collect_garbage` rewrites everything
reachable into one deltified pack and drops the rest (``brainvcs gc``).

:func:`consolidate` runs inside a commit, holding the repository lock, so it
writes a plain pack: dulwich's delta search costs 5-50 ms per pair of JSON
blobs (measured on dulwich 1.2.21), which made a consolidation of 12 packs
stall a commit (and every other writer) for minutes. Deltas are gc's job.

Objects are handed to dulwich's delta search sorted by their path in the
snapshot, so successive versions of the same shard sit next to each other and
delta against each other — dulwich's own ``repack`` does not deltify.

Crash safety: a new pack is complete (and fsynced) before any old pack is
removed, and a rewritten pack may come out as the very file of one it replaces
(same object set), which is then kept. Commits named by reflog entries stay
alive, as in git (a reflog naming a pruned object fails ``git fsck``). Files
an interrupted writer leaves (temporary packs, a pack without its index) are
removed by :func:`collect_garbage` once older than :data:`TEMP_FILE_GRACE_SECONDS`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dulwich.object_store import DiskObjectStore
from dulwich.objects import Blob, ShaFile, hex_to_sha
from dulwich.pack import deltify_pack_objects, write_pack_data

from ..errors import CorruptObjectError
from .packs import PackReader, write_pack
from .graph import CommitGraph
from .objects import _fsync_dir, find_objects, git_id, oid, pack_count, read_object

#: Consolidate once a repository has more packs than this.
AUTO_PACK_LIMIT = 32
#: How many of the smallest packs an automatic consolidation merges.
AUTO_PACK_MERGE = 24
#: A temporary pack file untouched for this long has no live writer (a live one keeps writing).
TEMP_FILE_GRACE_SECONDS = 60.0
_REFLOG_LINE = re.compile(rb"^([0-9a-f]{40}) ([0-9a-f]{40}) ")


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection did."""

    packs_before: int
    packs_after: int
    objects_kept: int
    objects_dropped: int
    bytes_before: int
    bytes_after: int
    temporary_files_removed: int = 0

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return dict(self.__dict__)


def _pack_bytes(store: DiskObjectStore) -> int:
    total = 0
    for name in os.listdir(store.pack_dir):
        if name.endswith((".pack", ".idx")):
            total += os.path.getsize(os.path.join(store.pack_dir, name))
    return total


def _loose_bytes(store: DiskObjectStore) -> int:
    total = 0
    for sha in store._iter_loose_objects():
        path = store._get_shafile_path(sha)
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total


def _write_deltified(store: DiskObjectStore, objects: list[tuple[ShaFile, bytes | None]], *,
                     deltify: bool = True) -> str | None:
    """Write one pack; return its file's base name (``pack-<hex>``), possibly an existing pack's.

    Callers delete the packs it replaces by comparing file names, never
    dulwich's ``Pack.name()``: our writer names a pack after its checksum,
    dulwich after its object ids, and a rewrite byte-identical to an old pack
    lands on that pack's very file (deleting it as "old" would lose the data).
    """
    if not objects:
        return None
    if not deltify:
        # Our own writer: dulwich's add_objects re-inflates every object to index the pack.
        base = write_pack(str(store.pack_dir), [obj for obj, _ in objects])
        return os.path.basename(base)
    f, commit, abort = store.add_pack()
    try:
        # dulwich sorts by (type, path): a None path beside a bytes path of the same type
        # (unreachable objects kept by --no-prune) would make that sort raise TypeError.
        records: Iterator[Any] = deltify_pack_objects(iter([(obj, path or b"") for obj, path in objects]))
        write_pack_data(f.write, records, num_records=len(objects), object_format=store.object_format)
    except BaseException:
        abort()
        raise
    pack = commit()
    # The rename into place must be durable before the packs it replaces are deleted.
    _fsync_dir(str(store.pack_dir))
    return _file_name(pack) if pack is not None else None


def _file_name(pack: Any) -> str:
    """``pack-<hex>``: the base name of a pack's files."""
    return os.path.basename(str(pack._basename))


def reflog_commits(gitdir: str | os.PathLike[str]) -> set[bytes]:
    """Every object id named by a reflog entry (torn or malformed lines are skipped)."""
    found: set[bytes] = set()
    logs = os.path.join(gitdir, "logs")
    for directory, _, files in os.walk(logs):
        for name in files:
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    lines = handle.read().splitlines()
            except OSError:
                continue
            for line in lines:
                match = _REFLOG_LINE.match(line)
                if match:
                    found.update(sha for sha in match.groups() if sha != b"0" * 40)
    return found


def remove_temporary_files(store: DiskObjectStore, grace: float = TEMP_FILE_GRACE_SECONDS) -> list[str]:
    """Delete what interrupted pack writers leave: ``tmp*`` packs, packs without an index, lone indexes.

    Only files untouched for ``grace`` seconds go, so a concurrent C git still
    writing one is not disturbed. Call with the repository lock held.
    """
    removed: list[str] = []
    now = time.time()
    candidates: list[str] = []
    pack_dir = str(store.pack_dir)
    names = set(os.listdir(pack_dir))
    for name in names:
        base, ext = os.path.splitext(name)
        if name.startswith(("tmp", ".tmp")) or name.endswith(".lock"):
            candidates.append(os.path.join(pack_dir, name))
        elif ext == ".pack" and base + ".idx" not in names:
            candidates.append(os.path.join(pack_dir, name))
        elif ext == ".idx" and base + ".pack" not in names:
            candidates.append(os.path.join(pack_dir, name))
    objects_dir = str(store.path)
    candidates.extend(os.path.join(objects_dir, name) for name in os.listdir(objects_dir)
                      if name.startswith("tmp_pack_"))
    for path in candidates:
        try:
            if now - os.path.getmtime(path) >= grace:
                os.remove(path)
                removed.append(os.path.relpath(path, objects_dir))
        except FileNotFoundError:
            continue
    return sorted(removed)


def _ids_in(pack: Any) -> list[bytes]:
    """Every object id in a pack; a damaged index is refused before gc has changed anything."""
    try:
        return list(pack)
    except Exception as exc:  # dulwich parses indexes with assertions and struct
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    raise CorruptObjectError(f"gc: the index of {pack.name()} cannot be read ({problem}); nothing was changed")


def collect_garbage(store: Any, heads: Iterable[bytes], *, prune: bool = True,
                    temp_grace: float = TEMP_FILE_GRACE_SECONDS, deltify: bool = True,
                    aggressive: bool = False, graph: CommitGraph | None = None) -> GcReport:
    """Rewrite every object reachable from ``heads`` (or from a reflog entry) into one deltified pack.

    With ``prune``, unreachable objects (left by interrupted writes or deleted
    branches) are dropped; otherwise they are kept in the new pack too.
    Temporary files of interrupted writers older than ``temp_grace`` seconds
    are removed. ``deltify=False`` skips the (slow) delta search;
    ``aggressive`` searches a wider delta window when C git does the repack
    (git's ``gc --aggressive`` window, 250 instead of 50: smaller, slower).
    ``graph`` walks history (a shallow clone's cut respected; default: the whole store).
    Call with the repository lock held.
    """
    if not isinstance(store, DiskObjectStore):
        return GcReport(0, 0, 0, 0, 0, 0)
    temporary = remove_temporary_files(store, temp_grace)
    before_packs = pack_count(store)
    before_bytes = _pack_bytes(store) + _loose_bytes(store)
    old_packs = list(store.packs)
    loose = list(store._iter_loose_objects())
    # Reflog entries are roots, as in git: C git's fsck fails on a reflog naming a missing object.
    logged = [sha for sha in reflog_commits(os.path.dirname(os.path.abspath(store.path)))
              if find_objects(store, sha.decode("ascii"), "gc: a reflog entry")]
    keep = (graph or CommitGraph(store)).reachable_objects([oid(sha) for sha in [*heads, *logged]])
    if not prune:
        for pack in old_packs:
            for sha in _ids_in(pack):
                keep.setdefault(sha, None)
        for sha in loose:
            keep.setdefault(sha, None)
    everything = {sha for pack in old_packs for sha in _ids_in(pack)} | set(loose)
    if prune and deltify and _git_repack(store, aggressive=aggressive):
        # C git's delta search is orders of magnitude faster than dulwich's
        # (which costs 5-50 ms per pair of blobs) and packs tighter; it keeps
        # exactly what we keep: everything reachable from refs, HEAD and reflogs.
        store._update_pack_cache()
        return GcReport(before_packs, pack_count(store), len(keep), len(everything - set(keep)),
                        before_bytes, _pack_bytes(store) + _loose_bytes(store), len(temporary))
    objects = [(read_object(store, sha, "gc"), path) for sha, path in keep.items()]
    written = _write_deltified(store, objects, deltify=deltify)
    store._update_pack_cache()
    for pack in old_packs:
        if _file_name(pack) != written:  # the same file: that pack is the result
            store._remove_pack(pack)
    for sha in loose:
        store.delete_loose_object(sha)
    store._update_pack_cache()
    return GcReport(before_packs, pack_count(store), len(keep), len(everything - set(keep)),
                    before_bytes, _pack_bytes(store) + _loose_bytes(store), len(temporary))


#: Delta search window of C git's repack: ``git gc``'s pack.window is 10, we default
#: wider because successive versions of a shard delta well; 250 is ``git gc --aggressive``'s.
REPACK_WINDOW = 50
AGGRESSIVE_WINDOW = 250


def _git_repack(store: DiskObjectStore, *, aggressive: bool = False) -> bool:
    """Repack with C git when it is installed; False (nothing done) when it is not or it fails."""
    git = shutil.which("git")
    if git is None or os.environ.get("BRAINVCS_GC_NO_GIT"):
        return False
    gitdir = os.path.dirname(os.path.abspath(str(store.path)))
    env = {**os.environ, "GIT_DIR": gitdir}
    env.pop("GIT_WORK_TREE", None)
    try:
        window = AGGRESSIVE_WINDOW if aggressive else REPACK_WINDOW
        # No bitmap: packs written after it would have none, and dulwich then fails to read the
        # bitmap it expects for them (a push after gc failed that way). -F, not only -f: commits
        # write their packs fast (zlib level 1, level 0 for incompressible tensor chunks), and
        # gc is where every object is compressed properly; -f alone would reuse those bytes.
        for args in (["-c", "repack.writeBitmaps=false", "repack", "-a", "-d", "-F", "-q", f"--window={window}",
                      "--depth=50"], ["prune", "--expire=now"]):
            subprocess.run([git, "--git-dir", gitdir, *args], env=env, check=True, capture_output=True,
                           timeout=3600)
    except (OSError, subprocess.SubprocessError):
        return False
    remove_bitmaps(store)
    return True


def remove_bitmaps(store: DiskObjectStore) -> list[str]:
    """Delete reachability bitmaps (an optional cache C git may have written); returns their names.

    brainvcs writes a pack per commit and none has a bitmap; with one pack
    bitmapped and the others not, dulwich's pack generation fails.
    """
    removed = []
    pack_dir = str(store.pack_dir)
    for name in sorted(os.listdir(pack_dir)):
        if name.endswith(".bitmap"):
            os.remove(os.path.join(pack_dir, name))
            removed.append(name)
    return removed


def consolidate(store: Any, *, limit: int | None = None, merge: int | None = None) -> bool:
    """Merge the smallest packs when there are more than ``limit``; nothing is dropped.

    ``limit`` and ``merge`` default to :data:`AUTO_PACK_LIMIT` and :data:`AUTO_PACK_MERGE`
    as they are when called (so a tool or test can tune them).
    """
    limit = AUTO_PACK_LIMIT if limit is None else limit
    merge = AUTO_PACK_MERGE if merge is None else merge
    if not isinstance(store, DiskObjectStore) or pack_count(store) <= limit:
        return False
    packs = sorted(store.packs, key=lambda p: os.path.getsize(p._data_path))[:merge]
    seen: set[bytes] = set()
    objects: list[tuple[ShaFile, bytes | None]] = []
    # Read through our pack reader: dulwich's per-object path costs ~100 us, and a
    # consolidation inside a commit must stay short.
    reader = PackReader(str(store.pack_dir))
    try:
        for pack in packs:
            for sha in _ids_in(pack):
                if sha in seen:
                    continue
                seen.add(sha)
                raw = reader.read(hex_to_sha(git_id(sha)))
                obj = (ShaFile.from_raw_string(raw[0], raw[1], sha=git_id(sha)) if raw is not None
                       else read_object(store, sha, "consolidate"))
                objects.append((obj, None))
    finally:
        reader.close()
    written = _write_deltified(store, objects, deltify=False)  # see the module docstring
    store._update_pack_cache()
    for pack in packs:
        if _file_name(pack) != written:
            store._remove_pack(pack)
    store._update_pack_cache()
    return True


def _hint(obj: ShaFile) -> bytes | None:
    # Without a path, group blobs by their first bytes: shards of one map start alike.
    if isinstance(obj, Blob):
        return obj.as_raw_string()[:24]
    return None
