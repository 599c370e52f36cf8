"""Semantic diffs inside plain C git: the diff driver that ``brainvcs git-setup`` installs.

Only the manifest, ``brain.json``, gets the driver. Git hands the driver two
manifest blobs; each names exactly one snapshot, which is found by walking the
history from every ref (or, for an edited working tree, read from the files).

* ``diff.brainvcs.command`` (used by ``git diff``, and by ``git log``/``show``
  with ``--ext-diff``) prints the whole semantic diff of the two snapshots
  where git would have shown the manifest's line diff;
* ``diff.brainvcs.textconv`` (used by ``git log -p`` and ``git show``) turns a
  manifest into an overview of its snapshot (module kinds, key and item
  counts, small values), so git's line diff of two overviews reads as
  "word_frequency: map, 2500 -> 2512 keys".

Every other file keeps git's own line diff: canonical JSON is already one
value per line. Digest files (``_b3.json``) and tensor chunks are marked
``-diff`` so they show as one line each instead of screens of hex.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dulwich.config import ConfigFile
from dulwich.objects import Commit, Tag, Tree

from ..snapshot import canonical
from ..errors import BrainVCSError, UsageError
from ..files import atomic_write
from ..snapshot.layout import (DIGESTS, INLINE, LIST_MARKER, MANIFEST, MAP_MARKER, TENSOR_DIR, TreeReader,
                               read_manifest, unescape_name)
from ..storage.graph import CommitGraph
from ..storage.objects import ObjectId, oid, read_object
from .engine import diff_snapshots
from .render import render_text
from .values import is_tensor, map_like

#: The driver name used in attributes and config.
DRIVER = "brainvcs"
BEGIN = "# >>> brainvcs git-setup: semantic brain diffs (do not edit this block)"
END = "# <<< brainvcs git-setup"
ATTRIBUTES = [f"/{MANIFEST} diff={DRIVER}", f"{DIGESTS} -diff", f"/{TENSOR_DIR}/** -diff"]
#: Commits examined at most when looking for the snapshot of a manifest blob.
MAX_COMMITS = 200_000
#: Lines of the overview per module.
MAX_OVERVIEW_LINES = 60

OpenCommit = Callable[[str], TreeReader]


def driver_program() -> str:
    """The command git runs to start brainvcs as a driver: this Python, isolated from the working tree.

    git starts drivers at the top of the working tree, which a clone fills
    with someone else's files; ``python -m`` would put that directory first on
    the module path, so a cloned ``brainvcs/__main__.py`` would run. Isolated
    mode (``-I``) leaves the current directory, ``PYTHON*`` variables and the
    user's site directory out. Where brainvcs can only be imported through
    those (``PYTHONPATH``, ``pip --user``), the installed ``brainvcs`` entry
    point beside this Python is used instead, by absolute path.
    """
    isolated = f"{shlex.quote(sys.executable)} -I -m brainvcs"
    with tempfile.TemporaryDirectory() as empty:
        probe = subprocess.run([sys.executable, "-I", "-c", "import brainvcs"], cwd=empty,
                               capture_output=True, check=False)
    if probe.returncode == 0:
        return isolated
    script = Path(sys.executable).parent / "brainvcs"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    raise UsageError("brainvcs cannot be started by git safely from this installation",
                     "install it into this Python's site-packages (pip install brainvcs), "
                     "or name the command with --program")


def install(gitdir: Path, program: str) -> tuple[Path, dict[str, str]]:
    """Write the attribute block to ``gitdir/info/attributes`` and the driver to ``gitdir/config``."""
    info = gitdir / "info"
    info.mkdir(exist_ok=True)
    attributes = info / "attributes"
    kept: list[str] = []
    inside = False
    if attributes.exists():
        for line in attributes.read_text("utf-8").splitlines():
            if line == BEGIN:
                inside = True
            elif line == END:
                inside = False
            elif not inside:
                kept.append(line)
    text = "\n".join([*kept, BEGIN, *ATTRIBUTES, END]) + "\n"
    atomic_write(attributes, text.encode("utf-8"), root=gitdir)
    settings = {f"diff.{DRIVER}.command": f"{program} git-diff-driver",
                f"diff.{DRIVER}.textconv": f"{program} git-textconv"}
    config_path = gitdir / "config"
    config = ConfigFile.from_path(str(config_path))
    for key, value in settings.items():
        section, driver, name = key.split(".")
        config.set((section.encode(), driver.encode()), name.encode(), value.encode("utf-8"))
    config.write_to_path(str(config_path))
    return attributes, settings


def blob_id(data: bytes) -> str:
    """The git object id of a blob with these bytes."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def find_snapshots(graph: CommitGraph, tips: Iterable[str], manifests: set[str]) -> dict[str, str]:
    """Manifest blob id -> the newest commit whose snapshot has that ``brain.json``."""
    found: dict[str, str] = {}
    commits: list[ObjectId] = []
    for tip in tips:
        obj = read_object(graph.store, tip, "history")  # type: ignore[arg-type]
        for _ in range(16):  # a ref may name an annotated tag (of a tag)
            if not isinstance(obj, Tag):
                break
            obj = read_object(graph.store, obj.object[1], "history")  # type: ignore[arg-type]
        if isinstance(obj, Commit):
            commits.append(oid(obj.id))
    for examined, commit in enumerate(graph.walk(commits)):
        if len(found) == len(manifests) or examined >= MAX_COMMITS:
            break
        tree = read_object(graph.store, commit.tree, "snapshot root")  # type: ignore[arg-type]
        if isinstance(tree, Tree) and MANIFEST.encode() in tree:
            manifest = tree[MANIFEST.encode()][1].decode()
            if manifest in manifests and manifest not in found:
                found[manifest] = commit.id.decode()
    return found


class DirectoryTreeReader:
    """A :class:`~brainvcs.snapshot.layout.TreeReader` over a checked-out snapshot (a git working tree)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, path: str) -> Path:
        parts = path.split("/") if path else []
        if any(part in ("", ".", "..") or part.startswith(".git") for part in parts):
            raise KeyError(path)
        return self.root.joinpath(*parts)

    def list_dir(self, path: str) -> dict[str, bool]:
        """Entry names -> is_directory (``.git*`` and symlinks are not part of a snapshot)."""
        try:
            entries = list(os.scandir(self._path(path)))
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(path) from None
        return {e.name: e.is_dir(follow_symlinks=False) for e in entries
                if not e.name.startswith(".git") and not e.is_symlink()}

    def read_file(self, path: str) -> bytes:
        """The bytes of a regular file."""
        target = self._path(path)
        try:
            if not stat.S_ISREG(os.lstat(target).st_mode):
                raise KeyError(path)
            return target.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyError(path) from None


def _locate(graph: CommitGraph, tips: list[str], open_commit: OpenCommit, blobs: dict[str, bytes],
            worktree: Path) -> dict[str, tuple[TreeReader, str]]:
    """Manifest blob id -> (a reader of its snapshot, a label), from history or from the working tree."""
    found = find_snapshots(graph, tips, set(blobs))
    out = {blob: (open_commit(commit), commit[:7]) for blob, commit in found.items()}
    for blob, data in blobs.items():
        if blob not in out:
            try:
                if (worktree / MANIFEST).read_bytes() == data:
                    out[blob] = (DirectoryTreeReader(worktree), "working tree")
            except OSError:
                pass
    return out


def external_diff(graph: CommitGraph, tips: list[str], open_commit: OpenCommit, args: list[str], cwd: Path) -> str:
    """What git shows for one path (``diff.<driver>.command`` gets the 7 GIT_EXTERNAL_DIFF arguments)."""
    if len(args) == 1:
        return f"* Unmerged path {args[0]}\n"
    if len(args) < 7:
        raise UsageError(f"expected git's 7 external-diff arguments, got {len(args)}",
                         "this command is run by git; see `brainvcs git-setup`")
    path, old_file, _old_hex, _old_mode, new_file, _new_hex, _new_mode = args[:7]
    header = f"diff --brainvcs a/{path} b/{path}\n"
    sides: list[bytes | None] = []
    for file in (old_file, new_file):
        sides.append(None if file == "/dev/null" else Path(file).read_bytes())
    worktree = cwd / os.path.dirname(path)
    blobs = {blob_id(data): data for data in sides if data is not None}
    located = _locate(graph, tips, open_commit, blobs, worktree) if Path(path).name == MANIFEST else {}
    resolved = [None if data is None else located.get(blob_id(data)) for data in sides]
    if all(data is None or found is not None for data, found in zip(sides, resolved)):
        labels = [found[1] if found else "(empty)" for found in resolved]
        try:
            result = diff_snapshots(*(found[0] if found else None for found in resolved))
        except BrainVCSError as exc:
            return header + f"(brainvcs cannot compare these snapshots: {exc.message})\n"
        return header + f"semantic diff of the brain: {labels[0]} → {labels[1]}\n" + render_text(result)
    return header + _manifest_change(sides[0], sides[1])


def _manifest_change(old: bytes | None, new: bytes | None) -> str:
    """When a snapshot cannot be found: at least which modules changed, from the manifests alone."""
    def modules(data: bytes | None) -> dict[str, Any]:
        try:
            value = canonical.decode(data, what=MANIFEST) if data is not None else {}
        except BrainVCSError:
            return {}
        found = value.get("modules") if isinstance(value, dict) else None
        return found if isinstance(found, dict) else {}

    before, after = modules(old), modules(new)
    changed = sorted(m for m in set(before) | set(after)
                     if not isinstance(before.get(m), dict) or not isinstance(after.get(m), dict)
                     or before[m].get("digest") != after[m].get("digest"))
    return (f"modules changed: {', '.join(changed) or '(none)'}\n"
            "(snapshot not found in this repository's history: fetch it, then run `brainvcs diff`)\n")


def textconv(graph: CommitGraph, tips: list[str], open_commit: OpenCommit, file: Path, cwd: Path) -> str:
    """The text git diffs for one blob (``diff.<driver>.textconv``): a snapshot overview for a manifest."""
    data = file.read_bytes()
    if file.name != MANIFEST:
        return data.decode("utf-8", "replace")
    found = _locate(graph, tips, open_commit, {blob_id(data): data}, cwd).get(blob_id(data))
    if found is None:
        return data.decode("utf-8", "replace")
    try:
        return overview(found[0])
    except BrainVCSError as exc:
        return f"(brainvcs cannot read this snapshot: {exc.message})\n" + data.decode("utf-8", "replace")


def overview(reader: TreeReader) -> str:
    """One line per module and per notable value: kinds, key and item counts, small scalars."""
    manifest = read_manifest(reader)
    modules = manifest["modules"]
    lines = [f"brain {manifest['fingerprint'][:16]} ({len(modules)} modules)"]
    root = reader.list_dir("")
    for name in sorted(modules):
        entry = modules[name].get("entry") if isinstance(modules[name], dict) else None
        out: list[str] = []
        if isinstance(entry, str) and entry in root:
            _describe_entry(reader, entry, root[entry], canonical.join_path("", name), 0, out)
        lines.extend(out[:MAX_OVERVIEW_LINES])
        if len(out) > MAX_OVERVIEW_LINES:
            lines.append(f"{name}: … {len(out) - MAX_OVERVIEW_LINES} more lines")
    return "\n".join(lines) + "\n"


def _describe_entry(reader: TreeReader, tree_path: str, is_dir: bool, path: str, depth: int,
                    out: list[str]) -> None:
    if not is_dir:
        _describe_value(canonical.decode(reader.read_file(tree_path), what=tree_path), path, depth, out)
        return
    listing = reader.list_dir(tree_path)
    if MAP_MARKER in listing:
        count = canonical.decode(reader.read_file(f"{tree_path}/{MAP_MARKER}")).get("count")
        out.append(f"{path}: map, {count} keys")
    elif LIST_MARKER in listing:
        count = canonical.decode(reader.read_file(f"{tree_path}/{LIST_MARKER}")).get("count")
        out.append(f"{path}: list, {count} items")
    else:
        inline = canonical.decode(reader.read_file(f"{tree_path}/{INLINE}"), what=tree_path)
        members = {unescape_name(name if is_sub else name[:-5]): (name, is_sub)
                   for name, is_sub in listing.items() if name not in (INLINE, DIGESTS)}
        out.append(f"{path}: object, {len(inline) + len(members)} keys")
        if depth > 0:  # a module's own members are listed; deeper directories only counted
            return
        for key in sorted([*inline, *members]):
            if key in members:
                name, is_sub = members[key]
                _describe_entry(reader, f"{tree_path}/{name}", is_sub, canonical.join_path(path, key), depth + 1, out)
            else:
                _describe_value(inline[key], canonical.join_path(path, key), depth + 1, out)


def _describe_value(value: Any, path: str, depth: int, out: list[str]) -> None:
    if is_tensor(value):
        body = value["$tensor"]
        out.append(f"{path}: tensor {body.get('dtype')} {tuple(body.get('shape') or [])}")
    elif isinstance(value, dict):
        out.append(f"{path}: object, {len(value)} keys")
        if depth < 2 and not map_like(value, top=depth == 0):
            for key in sorted(value):
                _describe_value(value[key], canonical.join_path(path, key), depth + 1, out)
    elif isinstance(value, list):
        out.append(f"{path}: list, {len(value)} items")
    else:
        out.append(f"{path}: {canonical.encode(value).decode('utf-8').strip()}")
