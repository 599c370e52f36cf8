"""The merge driver C git runs on brainvcs snapshot files, and its installer.

git merges file by file, but a snapshot's files are not independent: a map
reshards as it grows, list chunks are renumbered when a window drops its head,
and every merged file changes its directory's ``_b3.json`` and the root
``brain.json``. So the driver never merges a file on its own when it can avoid
it. During ``git merge`` git names the other commit in ``GITHEAD_<id>``; the
first call plans the semantic merge of ``HEAD`` and that commit (exactly what
``brainvcs merge`` would commit) and caches, under ``.git/brainvcs/merge/``,
the merged bytes of every file that differs between the two sides. Later calls
of the same merge are a POSIX shell script copying one cached file, so a merge
touching thousands of shards does not start Python thousands of times.

The first call also works out what git will put in the files it merges
*without* the driver (those changed on one side only). When that plus the
driver's output is exactly the merged snapshot, every call exits 0 and git
commits a snapshot ``brainvcs verify`` accepts. Otherwise (the layout moved,
criss-cross bases) the call for ``brain.json`` exits 1, so git stops before
committing, with valid JSON and no conflict markers in every file, and
``brainvcs reseal`` writes the whole merged snapshot and stages it for
``git commit``. When the merge has conflicts every call exits 1 and leaves our
version of the file.

Outside ``git merge`` (cherry-pick, rebase, stash) the driver merges the one
file's JSON with the default strategies, keeps ours for digest and marker
files, and exits 1 so that ``brainvcs reseal`` re-derives them before anything
is committed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from dulwich.config import ConfigFile
from dulwich.object_store import BaseObjectStore, iter_tree_contents
from dulwich.objects import Blob

from ..snapshot import canonical, layout
from ..snapshot.canonical import TENSOR_KEY
from ..diff.gitdriver import driver_program
from ..errors import BrainVCSError, NotARepositoryError, UsageError
from ..files import atomic_write
from ..storage.objects import ObjectId, read_commit
from .api import Repository, plan_commits
from .outcomes import ABSENT, iter_conflict_lines
from .plan import plan_merge
from .strategies import MergeRules

#: Name of the driver in git config (``merge.brainvcs.driver``) and attributes.
DRIVER_NAME = "brainvcs"
#: Attribute lines that route snapshot files to the driver.
ATTRIBUTE_LINES: tuple[str, ...] = (f"*.json merge={DRIVER_NAME}",)
#: The driver script and the merge cache, relative to the git directory.
SCRIPT_PATH = "brainvcs/merge-driver.sh"
CACHE_DIR = "brainvcs/merge"
#: What a cached merge says about every file: all merged by git, stop for a reseal, or conflicts.
COMPLETE, RESEAL, CONFLICT = "complete", "reseal", "conflict"
_GITHEAD = re.compile(r"^GITHEAD_([0-9a-f]{40})$")
#: Files that describe other files: never merged on their own.
_DESCRIPTIVE = frozenset({layout.DIGESTS, layout.MANIFEST, layout.MAP_MARKER, layout.LIST_MARKER})

Say = Callable[[str], None]

# Fast path first; anything it does not recognise goes to Python. The key file
# is written last by Python, so a half-written cache is never trusted.
_SCRIPT = r"""#!/bin/sh
# brainvcs merge driver, written by `brainvcs` (brainvcs.merge.gitdriver); git runs it
# as: sh .git/{script} %O %A %B %P   (see docs/merge.md)
cache="$(git rev-parse --git-dir)/{cache}"
theirs=$(env | sed -n 's/^GITHEAD_\([0-9a-f]\{{40\}}\)=.*/\1/p')
head=$(git rev-parse -q --verify HEAD)
if [ -n "$theirs" ] && [ -f "$cache/key" ] && [ "$(cat "$cache/key")" = "$head $theirs" ]; then
    status=$(cat "$cache/status")
    if [ "$status" = {conflict} ]; then exit 1; fi
    if [ -f "$cache/files/$4" ]; then cp "$cache/files/$4" "$2" || exit 1; fi
    if [ "$status" = {complete} ]; then exit 0; fi
    if [ "$4" = {manifest} ]; then exit 1; fi
    exit 0
fi
exec {program} merge-driver "$@"
"""


def driver_command() -> str:
    """The command git runs for a file (from the top of the working tree)."""
    return f"sh .git/{SCRIPT_PATH} %O %A %B %P"


def install_merge_driver(worktree: Path, *, program: str | None = None) -> dict[str, str]:
    """Route ``*.json`` in a git working tree through the brainvcs merge driver; returns the config it set.

    The attribute goes to ``.git/info/attributes``, not a committed
    ``.gitattributes``: a snapshot tree cannot hold ``.git*`` names (readers
    refuse them), and an untracked one would be swept into the next commit.
    Rename detection is turned off for this clone (``merge.renames=false``):
    shard and chunk files change names as data moves between them, and a
    guessed rename would hand the driver two unrelated files. ``worktree``
    may also be the git directory itself (what ``git-setup`` holds).
    ``program`` is how the driver script starts brainvcs (default:
    :func:`brainvcs.diff.gitdriver.driver_program`, never ``python -m`` from
    the working tree, which a hostile clone could fill with its own ``brainvcs``).
    """
    gitdir = Path(worktree) / ".git"
    if not (gitdir / "HEAD").is_file():
        gitdir = Path(worktree)
        if not ((gitdir / "HEAD").is_file() and (gitdir / "objects").is_dir()):
            raise NotARepositoryError(f"{worktree}: not a git working tree or git directory",
                                      "clone the brain with `git clone URL DIR` first")
    attributes = gitdir / "info" / "attributes"
    existing = attributes.read_text(encoding="utf-8").splitlines() if attributes.is_file() else []
    missing = [line for line in ATTRIBUTE_LINES if line not in existing]
    if missing:
        atomic_write(attributes, ("\n".join([*existing, *missing]) + "\n").encode("utf-8"), root=gitdir)
    script = _SCRIPT.format(script=SCRIPT_PATH, cache=CACHE_DIR, conflict=CONFLICT, complete=COMPLETE,
                            manifest=layout.MANIFEST, program=program or driver_program())
    atomic_write(gitdir / SCRIPT_PATH, script.encode("utf-8"), root=gitdir, mode=0o755)
    config_path = gitdir / "config"
    config = ConfigFile.from_path(str(config_path))
    settings = {f"merge.{DRIVER_NAME}.name": "brainvcs semantic brain merge",
                f"merge.{DRIVER_NAME}.driver": driver_command(),
                "merge.renames": "false"}
    for key, value in settings.items():
        *section, name = key.split(".")
        config.set(tuple(part.encode() for part in section), name.encode(), value.encode())
    config.write_to_path(str(config_path))
    return settings


def run_merge_driver(repo: Repository, base_file: str, ours_file: str, theirs_file: str, path: str, *,
                     environ: Mapping[str, str] | None = None, say: Say | None = None) -> int:
    """Merge one snapshot file of ``repo``'s working tree for git into ``ours_file``; 0 = merged, 1 = stop.

    git runs the driver in the working tree's root; the CLI opens the
    repository there and passes it in.
    """
    env = os.environ if environ is None else environ
    say = say or (lambda text: print(text, file=sys.stderr))
    try:
        theirs = theirs_from_env(env)
        if theirs is not None:
            return _from_whole_merge(repo, theirs, Path(ours_file), path, say)
        return _merge_one_file(Path(base_file), Path(ours_file), Path(theirs_file), path, say)
    except BrainVCSError as exc:
        say(f"brainvcs merge-driver: {path}: {exc.message} (kept ours)")
        return 1


def theirs_from_env(env: Mapping[str, str]) -> ObjectId | None:
    """The commit ``git merge`` is merging in (its ``GITHEAD_<id>`` variable), if exactly one."""
    found = [m.group(1) for m in (_GITHEAD.match(k) for k in env) if m]
    return ObjectId(found[0]) if len(found) == 1 else None


def _from_whole_merge(repo: Repository, theirs: ObjectId, ours_file: Path, path: str, say: Say) -> int:
    ours = repo.head()
    if ours is None:
        raise UsageError("HEAD has no commit; there is nothing to merge into")
    status = cached_merge(repo, ours, theirs, say)
    if status == CONFLICT:
        return 1
    assert repo.gitdir is not None
    merged = repo.gitdir / CACHE_DIR / "files" / path
    if merged.is_file():
        # Calls made while git builds a virtual base of criss-cross bases get
        # these bytes too; harmless, as such merges always stop for a reseal.
        shutil.copyfile(merged, ours_file)
    if status == COMPLETE:
        return 0
    # One stopped file is enough to keep git from committing; brain.json changes
    # on both sides in every real merge, so it is the one, and git's report
    # names a single file instead of every shard.
    return 1 if path == layout.MANIFEST else 0


def cached_merge(repo: Repository, ours: ObjectId, theirs: ObjectId, say: Say) -> str:
    """Plan the merge of ``theirs`` into ``ours`` once and cache its files; returns its status.

    The status is :data:`COMPLETE` (git's file merge plus the cached files give
    exactly the merged snapshot), :data:`RESEAL` (they do not: stop for
    ``brainvcs reseal``) or :data:`CONFLICT`.
    """
    assert repo.gitdir is not None
    cache = repo.gitdir / CACHE_DIR
    key = f"{ours} {theirs}"
    try:
        if (cache / "key").read_text(encoding="utf-8").strip() == key:
            return (cache / "status").read_text(encoding="utf-8").strip()
    except OSError:
        pass
    plan, bases = plan_commits(repo, ours, theirs)
    shutil.rmtree(cache, ignore_errors=True)
    (cache / "files").mkdir(parents=True)
    if plan.conflicts:
        for line in iter_conflict_lines(plan.conflicts):
            say(line)
        say("brainvcs: the merge has conflicts; settle them with `brainvcs reseal --resolve PATH=ours|theirs|base|JSON`"
            " (files keep our version meanwhile), or `git merge --abort`")
        status = CONFLICT
    else:
        merged = dict(layout.build(plan.apply()).tree.walk())
        o, t = _flatten(repo.objects, ours), _flatten(repo.objects, theirs)
        # git calls the driver only for files whose two sides differ.
        for path in sorted(o.keys() & t.keys()):
            if o[path] != t[path] and path in merged:
                target = cache / "files" / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(merged[path])
        complete = len(bases) == 1 and git_result_matches(repo.objects, bases[0], ours, theirs, merged)
        status = COMPLETE if complete else RESEAL
        if not complete:
            say("brainvcs: merged semantically, but the snapshot's layout moved (or the history is criss-cross), "
                "so git cannot assemble it file by file: run `brainvcs reseal`, then `git commit`")
    (cache / "status").write_text(status + "\n", encoding="utf-8")
    (cache / "key").write_text(key + "\n", encoding="utf-8")  # last: marks the cache complete
    return status


def _flatten(store: BaseObjectStore, commit: ObjectId) -> dict[str, bytes]:
    tree = read_commit(store, commit).tree
    return {entry.path.decode("utf-8"): entry.sha for entry in iter_tree_contents(store, tree)}


def git_result_matches(store: BaseObjectStore, base: ObjectId, ours: ObjectId, theirs: ObjectId,
                       merged: Mapping[str, bytes]) -> bool:
    """Whether git's per-file merge, with the driver writing merged files, yields exactly ``merged``.

    git takes a file changed on one side from that side, and calls the driver
    only for files changed differently on both; a file deleted on one side and
    changed on the other stops the merge. Renames are off (see install).
    """
    b, o, t = _flatten(store, base), _flatten(store, ours), _flatten(store, theirs)
    m = {path: Blob.from_string(data).id for path, data in merged.items()}
    for path in b.keys() | o.keys() | t.keys() | m.keys():
        in_base, in_ours, in_theirs = b.get(path), o.get(path), t.get(path)
        if in_ours == in_theirs:
            result = in_ours
        elif in_base == in_ours:
            result = in_theirs
        elif in_base == in_theirs:
            result = in_ours
        elif in_ours is None or in_theirs is None or path not in m:
            return False
        else:
            result = m[path]
        if result != m.get(path):
            return False
    return True


def _merge_one_file(base_file: Path, ours_file: Path, theirs_file: Path, path: str, say: Say) -> int:
    """Outside ``git merge``: merge this file's JSON alone; always ask for a reseal."""
    name = path.rsplit("/", 1)[-1]
    raw = [f.read_bytes() for f in (base_file, ours_file, theirs_file)]
    if name in _DESCRIPTIVE or not name.endswith(".json") or any(f'"{TENSOR_KEY}"'.encode() in r for r in raw):
        say(f"brainvcs: {path} describes other files; kept ours. Run `brainvcs reseal` before committing")
        return 1
    base, ours, theirs = (canonical.decode(r, what=path) if r.strip() else ABSENT for r in raw)
    plan = plan_merge({} if base is ABSENT else {"value": base}, {"value": ours}, {"value": theirs},
                      strategies=MergeRules())
    if plan.conflicts:
        for line in iter_conflict_lines(plan.conflicts):
            say(f"{path}: {line}")
        return 1
    ours_file.write_bytes(canonical.encode(plan.apply()["value"]))
    say(f"brainvcs: merged {path} on its own (the commits being merged are unknown here); "
        "run `brainvcs reseal`, check the result, then continue")
    return 1
