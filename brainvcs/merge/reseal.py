"""``reseal``: make a git working tree a valid snapshot again.

A snapshot's ``_b3.json`` digest files, ``brain.json`` manifest and list/map
markers describe the other files. When C git puts a working tree together
file by file (a merge, a cherry-pick, an edit in a host's web editor) they go
stale, and so may the layout itself (which shard holds a key, where list
chunks are cut). :func:`reseal` rewrites the whole tree from its meaning:

* during a ``git merge`` (``.git/MERGE_HEAD`` exists) it writes the semantic
  merge of ``HEAD`` and ``MERGE_HEAD`` — exactly the tree ``brainvcs merge``
  would commit — and puts a summary and ``Brain-Fingerprint`` in ``MERGE_MSG``;
* otherwise it reads the files as they are (:class:`WorktreeReader` recomputes
  every digest and marker instead of trusting them) and lays the state out again.

Either way it stages the result; ``git commit`` then records a snapshot that
``brainvcs verify`` accepts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..snapshot import canonical, deltas, layout
from ..errors import BrainVCSError, CorruptObjectError, MergeConflictError, UsageError
from ..files import atomic_write, check_no_symlinks
from ..storage.objects import FINGERPRINT_TRAILER, ObjectId
from .api import Repository, plan_commits
from .outcomes import MergePlan, Resolution


class WorktreeReader:
    """A :class:`~brainvcs.snapshot.layout.TreeReader` over files on disk that recomputes what describes them.

    ``_b3.json``, ``brain.json``, ``_map.json`` counts and ``_list.json``
    counts are derived from the other files, so a tree whose digests are stale
    loads as what its data files say. Entries whose names start with ``.``
    (``.git``, ``.gitattributes``) are never part of a snapshot and are skipped.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, bytes] = {}

    def _disk(self, path: str) -> Path:
        return self.root / path if path else self.root

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entries of a directory (digest files and the manifest always listed)."""
        directory = self._disk(path)
        if not directory.is_dir():
            raise KeyError(path)
        out = {entry.name: entry.is_dir() for entry in directory.iterdir()
               if not entry.name.startswith(".") and not entry.is_symlink()}
        if path:
            out[layout.DIGESTS] = False
        else:
            out[layout.MANIFEST] = False
            out.pop(layout.DIGESTS, None)
        return out

    def read_file(self, path: str) -> bytes:
        """File bytes, with digest files, the manifest and markers recomputed."""
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        parent, _, name = path.rpartition("/")
        if path == layout.MANIFEST:
            data = self._manifest()
        elif name == layout.DIGESTS and parent:
            data = canonical.encode({entry: self._digest(f"{parent}/{entry}", is_dir)
                                     for entry, is_dir in self.list_dir(parent).items() if entry != layout.DIGESTS})
        elif name == layout.MAP_MARKER and parent:
            data = self._map_marker(parent)
        elif name == layout.LIST_MARKER and parent:
            data = self._list_marker(parent)
        else:
            disk = self._disk(path)
            if not disk.is_file():
                raise KeyError(path)
            data = disk.read_bytes()
        self._cache[path] = data
        return data

    def _digest(self, path: str, is_dir: bool) -> str:
        return canonical.blake3_hex(self.read_file(f"{path}/{layout.DIGESTS}" if is_dir else path))

    def _json_files(self, path: str) -> list[str]:
        """Data files below a map or list directory, in name order."""
        out = []
        for name, is_dir in sorted(self.list_dir(path).items()):
            if name.startswith("_"):
                continue
            if is_dir:
                out.extend(self._json_files(f"{path}/{name}"))
            elif name.endswith(".json"):
                out.append(f"{path}/{name}")
        return out

    def _map_marker(self, path: str) -> bytes:
        keys: set[str] = set()
        for shard in self._json_files(path):
            value = canonical.decode(self.read_file(shard), what=shard)
            if not isinstance(value, dict):
                raise CorruptObjectError(f"{shard}: map shard is not an object")
            keys.update(value)
        try:
            bits = canonical.decode(self._disk(f"{path}/{layout.MAP_MARKER}").read_bytes())["bits"]
        except (OSError, BrainVCSError, KeyError, TypeError):
            bits = 1
        return canonical.encode({"bits": bits, "count": len(keys)})

    def _list_marker(self, path: str) -> bytes:
        chunks = self._json_files(path)
        count = 0
        for chunk in chunks:
            value = canonical.decode(self.read_file(chunk), what=chunk)
            if not isinstance(value, list):
                raise CorruptObjectError(f"{chunk}: list chunk is not an array")
            count += len(value)
        return canonical.encode({"chunks": len(chunks), "count": count})

    def _manifest(self) -> bytes:
        digests: dict[str, str] = {}
        modules: dict[str, Any] = {}
        for name, is_dir in sorted(self.list_dir("").items()):
            if name in (layout.MANIFEST, layout.TENSOR_DIR):
                continue
            if is_dir:
                inside = self.list_dir(name)
                kind = ("map" if layout.MAP_MARKER in inside else "list" if layout.LIST_MARKER in inside
                        else "dict")
                module = layout.unescape_name(name)
            elif name.endswith(".json"):
                kind, module = "value", layout.unescape_name(name[:-5])
            else:
                raise CorruptObjectError(f"{name}: unexpected file at the top of the snapshot")
            digests[name] = self._digest(name, is_dir)
            modules[module] = {"digest": digests[name], "entry": name, "kind": kind}
        return canonical.encode({"digests": digests, "fingerprint": canonical.blake3_hex(canonical.encode(digests)),
                                 "format": layout.FORMAT, "modules": modules, "stats": {}})


# --------------------------------------------------------------------------
# Writing a snapshot tree into a working tree


def worktree_of(repo: Repository) -> Path:
    """The working tree of a non-bare repository (UsageError for a bare one)."""
    gitdir = repo.gitdir
    if gitdir is None or gitdir.name != ".git" or not gitdir.is_dir():
        raise UsageError("this command needs a git working tree (a `git clone` without --bare)",
                         "brainvcs repositories are bare; clone one with `git clone` to get a working tree")
    return gitdir.parent


def _snapshot_files(root: Path) -> set[str]:
    out: set[str] = set()
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(directory).relative_to(root)
        out.update((rel / f).as_posix() for f in files if not f.startswith("."))
    return out


def fold_deltas(root: Path) -> list[str]:
    """Apply every map's ``_delta/`` (format version 2) to its shard files on disk; returns the maps folded.

    A working tree holds what git checked out: for a map stored as base plus
    deltas, the shard files are the base. Folding writes the shards the deltas
    change (the logical map, docs/format.md §9) and removes ``_delta/``, so the
    files say what the snapshot meant before :class:`WorktreeReader` reads them.
    """
    folded = []
    for directory, subdirs, _ in sorted(os.walk(root)):
        here = Path(directory)
        if layout.DELTA_DIR not in subdirs or here == root or here.name.startswith("."):
            continue
        where = here.relative_to(root).as_posix()
        check_no_symlinks(here / layout.MAP_MARKER, root)
        try:
            bits = canonical.decode((here / layout.MAP_MARKER).read_bytes(), what=f"{where}/{layout.MAP_MARKER}")["bits"]
        except (OSError, KeyError, TypeError):
            raise CorruptObjectError(f"{where}: holds {layout.DELTA_DIR}/ but no readable {layout.MAP_MARKER}") from None
        delta_dir = here / layout.DELTA_DIR
        names = deltas.check_names({entry.name: entry.is_dir() for entry in delta_dir.iterdir()}, where)
        chain = deltas.read_chain(((f"{where}/{layout.DELTA_DIR}/{name}", (delta_dir / name).read_bytes())
                               for name in names), trusted=False)

        def base(name: str) -> dict[str, Any] | None:
            shard = here / name
            if not shard.is_file():
                return None
            value = canonical.decode(shard.read_bytes(), what=f"{where}/{name}")
            if not isinstance(value, dict):
                raise CorruptObjectError(f"{where}/{name}: map shard is not an object")
            return value

        for name, shard in deltas.logical_shards(chain, bits, base, where, check=True).items():
            if shard is None:
                (here / name).unlink(missing_ok=True)
            else:
                atomic_write(here / name, shard[0], root=root, durable=False)
        shutil.rmtree(delta_dir)
        folded.append(where)
    return folded


def write_tree(root: Path, tree: layout.SnapshotTree) -> tuple[list[str], list[str]]:
    """Make the files under ``root`` exactly ``tree``; returns (written, removed) paths.

    A symlink anywhere on the way to a file is refused (:class:`UnsafePathError`),
    before anything is written.
    """
    wanted = dict(tree.walk())
    for path in wanted:  # a clone may hold symlinks where snapshot files belong: refuse before writing
        check_no_symlinks(root / path, root)
    removed = sorted(_snapshot_files(root) - wanted.keys())
    for path in removed:
        (root / path).unlink()
        parent = (root / path).parent
        while parent != root and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    written = []
    for path, data in sorted(wanted.items()):
        target = root / path
        if target.is_file() and target.read_bytes() == data:
            continue
        atomic_write(target, data, root=root, durable=False)
        written.append(path)
    return written, removed


def stage_all(root: Path) -> None:
    """``git add -A`` the snapshot (every top-level dot entry left out)."""
    proc = subprocess.run(["git", "add", "-A", "--", ".", ":(exclude).*"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrainVCSError(f"git add failed: {proc.stderr.strip()}", "is C git installed and on PATH?")


# --------------------------------------------------------------------------
# reseal


@dataclass(frozen=True)
class ResealResult:
    """What :func:`reseal` wrote: the merge it completed (if any) and the files it changed."""

    merging: bool
    theirs: ObjectId | None
    fingerprint: str
    written: list[str]
    removed: list[str]
    plan: MergePlan | None = None

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"merging": self.merging, "theirs": self.theirs, "fingerprint": self.fingerprint,
                "written": self.written, "removed": self.removed,
                "plan": self.plan.to_json() if self.plan else None}


def reseal(repo: Repository, *, strategy: str | None = None,
           resolutions: Mapping[str, Resolution | str] | None = None) -> ResealResult:
    """Rewrite and stage the working tree as a valid snapshot (the semantic merge during a git merge)."""
    root = worktree_of(repo)
    assert repo.gitdir is not None
    merge_head = repo.gitdir / "MERGE_HEAD"
    plan: MergePlan | None = None
    theirs: ObjectId | None = None
    if merge_head.exists():
        theirs = ObjectId(merge_head.read_text().split()[0])
        ours = repo.head()
        if ours is None:
            raise UsageError("HEAD has no commit; nothing to merge into")
        plan, _ = plan_commits(repo, ours, theirs, strategy=strategy, resolutions=resolutions)
        if plan.conflicts:
            raise MergeConflictError(plan.conflicts, "settle them with `brainvcs reseal --resolve PATH=ours|theirs|"
                                                     "base|JSON` (or --strategy ours|theirs), or `git merge --abort`")
        snapshot = layout.build(plan.apply())
    else:
        if strategy is not None or resolutions:
            raise UsageError("--strategy and --resolve only apply while a `git merge` is in progress")
        fold_deltas(root)
        snapshot = layout.build(layout.load(WorktreeReader(root)))
    written, removed = write_tree(root, snapshot.tree)
    stage_all(root)
    if plan is not None:
        _write_merge_message(repo.gitdir / "MERGE_MSG", plan, snapshot.fingerprint)
    return ResealResult(theirs is not None, theirs, snapshot.fingerprint, written, removed, plan)


def _write_merge_message(path: Path, plan: MergePlan, fingerprint: str) -> None:
    """Keep git's subject line; add what came from each side and the fingerprint trailer."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    subject = next((line for line in lines if line.strip() and not line.startswith("#")), "Merge")
    path.write_text(f"{subject}\n\n{plan.summary('HEAD', 'MERGE_HEAD')}\n\n{FINGERPRINT_TRAILER}: {fingerprint}\n",
                    encoding="utf-8")
