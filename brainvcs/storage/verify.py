"""Verification of snapshots: every digest, every byte, every fingerprint.

For each commit reachable from the given heads, :func:`verify_commits` checks

* the commit, its trees and blobs can be read and hash to their git ids;
* ``brain.json`` is well-formed, of a known format, and its fingerprint is the
  BLAKE3 of its digest map — and equals the commit's ``Brain-Fingerprint``;
* every directory's ``_b3.json`` lists exactly the directory's entries, and
  each entry's BLAKE3 digest matches (files by content, directories by their
  own ``_b3.json``), down to the leaves;
* every JSON blob is in canonical form, every map shard holds only keys that
  hash to it, and every tensor chunk's content matches the digest it is named by.

Work is shared across commits: a git tree or blob verified once is not
verified again, so verifying a long history costs about the size of the
distinct objects, not commits × brain size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dulwich.objects import Blob, Commit, ShaFile, Tag
from dulwich.object_store import BaseObjectStore, DiskObjectStore

from ..snapshot import canonical, layout, tensors
from ..errors import BrainVCSError
from .graph import CommitGraph
from .objects import FINGERPRINT_TRAILER, ObjectId, parse_trailers, read_object
from .treereader import GitTreeReader


@dataclass
class VerifyReport:
    """Outcome of a verification: counts and every problem found."""

    commits: int = 0
    snapshots: int = 0
    objects: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was wrong."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"ok": self.ok, "commits": self.commits, "snapshots": self.snapshots,
                "objects": self.objects, "problems": list(self.problems)}


_TENSOR_CHUNK_PATH = re.compile(re.escape(layout.TENSOR_DIR) + r"/([0-9a-f]{2})/([0-9a-f]{64})\.bin")


#: An object verified in one context: (git id, recorded BLAKE3 digest, map bits, shard prefix).
_Verified = tuple[str, str, "int | None", str]


class _Verifier:
    def __init__(self, store: BaseObjectStore) -> None:
        self.store = store
        self.report = VerifyReport()
        self.good_trees: set[_Verified] = set()
        self.good_blobs: set[_Verified] = set()

    def problem(self, text: str) -> None:
        if len(self.report.problems) < 1000:
            self.report.problems.append(text)

    def read(self, sha: bytes, what: str) -> ShaFile | None:
        try:
            obj = read_object(self.store, sha, what)
        except BrainVCSError as exc:
            self.problem(exc.message)
            return None
        self.report.objects += 1
        if obj.id != sha:
            self.problem(f"{what}: object content hashes to {obj.id.decode()[:12]}, not {sha.decode()[:12]}")
            return None
        return obj

    def commit(self, sha: bytes) -> Commit | None:
        obj = self.read(sha, f"commit {sha.decode()[:12]}")
        for _ in range(16):  # annotated tags (possibly nested) point at the commit
            if not isinstance(obj, Tag):
                break
            obj = self.read(obj.object[1], f"tag target {obj.object[1].decode()[:12]}")
        if obj is not None and not isinstance(obj, Commit):
            self.problem(f"{sha.decode()[:12]}: expected a commit")
            return None
        return obj

    def snapshot(self, commit: Commit) -> None:
        where = f"commit {commit.id.decode()[:12]}"
        self.report.snapshots += 1
        reader = GitTreeReader(self.store, commit.tree)
        try:
            manifest = layout.read_manifest(reader)
        except BrainVCSError as exc:
            self.problem(f"{where}: {exc.message}")
            return
        recorded = parse_trailers(commit.message.decode("utf-8", "replace")).get(FINGERPRINT_TRAILER)
        if recorded is not None and recorded != manifest["fingerprint"]:
            self.problem(f"{where}: Brain-Fingerprint trailer {recorded[:16]}… does not match the snapshot's "
                         f"{manifest['fingerprint'][:16]}…")
        root = reader.list_dir("")
        try:
            layout.check_root(manifest, root)
        except BrainVCSError as exc:
            self.problem(f"{where}: {exc.message}")
        for name, digest in sorted(manifest["digests"].items()):
            if name not in root:
                self.problem(f"{where}: module entry {name} is missing")
                continue
            self.entry(reader, name, root[name], digest, where)
        if layout.TENSOR_DIR in root:
            for path in reader.walk_files(layout.TENSOR_DIR):
                self.tensor_chunk(reader, path, where)
        if layout.MANIFEST in root:
            self.canonical_blob(reader, layout.MANIFEST, where)
        self.report.objects += reader.stored_reads  # deltas and base shards, read to rebuild maps

    def entry(self, reader: GitTreeReader, path: str, is_dir: bool, digest: str, where: str,
              map_bits: int | None = None, map_prefix: str = "") -> None:
        """Verify one entry; ``map_bits``/``map_prefix`` are set inside a sharded map."""
        # The same git object can be recorded under another digest, or sit in a map at
        # another shard, in another commit: what was verified is the object in its context.
        entry_id = (reader.entry_id(path), digest, map_bits, map_prefix)
        if entry_id in (self.good_trees if is_dir else self.good_blobs):
            return
        before = len(self.report.problems)
        if is_dir:
            self.directory(reader, path, digest, where, map_bits, map_prefix)
        else:
            data = self.blob(reader, path, digest, where)
            if data is not None and path.endswith(".json"):
                if not canonical.is_canonical(data):
                    self.problem(f"{where}: {path} is not in canonical form")
                elif tensors.NEEDLE in data:
                    self.tensor_descriptors(reader, data, path, where)
                if map_bits is not None and not path.endswith(layout.MAP_MARKER):
                    self.shard_keys(data, path, map_bits, map_prefix, where)
        if len(self.report.problems) == before:
            (self.good_trees if is_dir else self.good_blobs).add(entry_id)

    def directory(self, reader: GitTreeReader, path: str, digest: str, where: str,
                  map_bits: int | None, map_prefix: str) -> None:
        if path.count("/") > layout.MAX_TREE_DEPTH + 8:  # checkout refuses these; walking them would overflow the stack
            self.problem(f"{where}: {path[:60]}...: directories nest deeper than {layout.MAX_TREE_DEPTH} levels")
            return
        digests_path = f"{path}/{layout.DIGESTS}"
        data = self.blob(reader, digests_path, digest, where)
        if data is None:
            return
        try:
            digests = canonical.decode(data, what=digests_path)
            listing = reader.list_dir(path)
        except BrainVCSError as exc:
            self.problem(f"{where}: {exc.message}")
            return
        if not isinstance(digests, dict) or set(digests) != set(listing) - {layout.DIGESTS}:
            self.problem(f"{where}: {digests_path} does not list exactly the entries of {path}")
            return
        if layout.MAP_MARKER in digests:
            marker = self.blob(reader, f"{path}/{layout.MAP_MARKER}", str(digests[layout.MAP_MARKER]), where)
            try:
                map_bits = int(canonical.decode(marker or b"{}")["bits"])
            except (BrainVCSError, KeyError, TypeError, ValueError):
                self.problem(f"{where}: {path}/{layout.MAP_MARKER} is malformed")
                return
            map_prefix = ""
        for name in sorted(digests):
            child_prefix = map_prefix + name if (map_bits is not None and listing[name]) else map_prefix
            self.entry(reader, f"{path}/{name}", listing[name], str(digests[name]), where, map_bits, child_prefix)

    def blob(self, reader: GitTreeReader, path: str, digest: str, where: str) -> bytes | None:
        try:
            data = reader.read_file(path)
        except KeyError:
            self.problem(f"{where}: {path} is missing")
            return None
        except BrainVCSError as exc:
            self.problem(f"{where}: {exc.message}")
            return None
        if not reader.is_rebuilt(path):  # (a file rebuilt from deltas is counted by what it was read from)
            self.report.objects += 1
        if Blob.from_string(data).id != reader.entry_id(path).encode("ascii"):
            self.problem(f"{where}: {path}: content does not hash to its git object id")
            return None
        actual = canonical.blake3_hex(data)
        if actual != digest:
            self.problem(f"{where}: {path}: BLAKE3 digest mismatch (recorded {digest[:16]}…, computed {actual[:16]}…)")
            return None
        return data

    def shard_keys(self, data: bytes, path: str, bits: int, prefix: str, where: str) -> None:
        shard = canonical.decode(data, what=path)
        expected = prefix + path.rsplit("/", 1)[-1][:-5]
        if not isinstance(shard, dict):
            self.problem(f"{where}: {path}: map shard is not an object")
            return
        for key in shard:
            if layout.shard_name(layout.key_hash(key) >> (64 - bits), bits)[:-5].replace("/", "") != expected:
                self.problem(f"{where}: {path}: key {key!r} does not belong in this shard")
                return

    def tensor_descriptors(self, reader: GitTreeReader, data: bytes, path: str, where: str) -> None:
        """Every tensor descriptor in a JSON blob is well-formed and its chunks are in the snapshot."""
        try:
            value = canonical.decode(data, what=path)
        except BrainVCSError as exc:
            self.problem(f"{where}: {exc.message}")
            return
        for descriptor in tensors.descriptors(value):
            try:
                spec = tensors.validate(descriptor, path)
            except BrainVCSError as exc:
                self.problem(f"{where}: {exc.message}")
                continue
            for digest in spec.chunks:
                try:
                    reader.entry_id(f"{layout.TENSOR_DIR}/{digest[:2]}/{digest}.bin")
                except KeyError:
                    self.problem(f"{where}: {path}: tensor chunk {digest[:16]}… is missing")
                    break

    def tensor_chunk(self, reader: GitTreeReader, path: str, where: str) -> None:
        match = _TENSOR_CHUNK_PATH.fullmatch(path)
        if match is None or match.group(2)[:2] != match.group(1):
            self.problem(f"{where}: {path}: not a tensor chunk (chunks are {layout.TENSOR_DIR}/xx/<BLAKE3>.bin)")
            return
        self.blob(reader, path, match.group(2), where)

    def canonical_blob(self, reader: GitTreeReader, path: str, where: str) -> None:
        try:
            data = reader.read_file(path)
        except (KeyError, BrainVCSError):
            return
        if not canonical.is_canonical(data):
            self.problem(f"{where}: {path} is not in canonical form")


def check_pack_files(store: BaseObjectStore) -> list[str]:
    """Problems with the pack files of a disk store: a pack or index whose SHA-1 checksum does not match.

    A flipped bit can leave every object decodable (and equal) while the file is
    damaged; C git's fsck refuses such a pack, so verify must too.
    """
    if not isinstance(store, DiskObjectStore):
        return []
    problems = []
    for pack in list(store.packs):
        name = os.path.basename(pack._data_path)
        try:
            pack.index.check()
            pack.data.check()
            pack.check_length_and_checksum()
        except Exception as exc:  # dulwich raises ChecksumMismatch, AssertionError, OSError...
            problems.append(f"pack {name}: damaged ({type(exc).__name__}: {exc})")
    return problems


def verify_commits(store: BaseObjectStore, heads: Iterable[ObjectId], graph: CommitGraph | None = None) -> VerifyReport:
    """Verify the pack files, every commit reachable from ``heads`` and the snapshot of each.

    History is followed through ``graph`` (default: the whole store's), so a
    shallow clone's cut is where verification stops.
    """
    graph = graph or CommitGraph(store)
    verifier = _Verifier(store)
    for problem in check_pack_files(store):
        verifier.problem(problem)
    stack = [h.encode("ascii") for h in heads]
    seen: set[bytes] = set()
    while stack:
        sha = stack.pop()
        if sha in seen:
            continue
        seen.add(sha)
        commit = verifier.commit(sha)
        if commit is None:
            continue
        if commit.id != sha:  # reached through an annotated tag: the commit may be seen already
            if commit.id in seen:
                continue
            seen.add(commit.id)
        verifier.report.commits += 1
        verifier.snapshot(commit)
        stack.extend(p.encode("ascii") for p in graph.record(commit))
    return verifier.report


def verify_snapshot(store: BaseObjectStore, commit: ObjectId) -> VerifyReport:
    """Verify one commit and its snapshot, not its history: what a branch may be moved to."""
    verifier = _Verifier(store)
    found = verifier.commit(commit.encode("ascii"))
    if found is not None:
        verifier.report.commits = 1
        verifier.snapshot(found)
    return verifier.report
