"""Diffs by revision name: the API behind ``brainvcs diff``, ``show``, ``log --stat`` and ``git-setup``.

The engine (:mod:`brainvcs.diff`) compares snapshots; this module resolves
revisions to snapshots and installs the git diff driver in a C-git clone.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path

from . import BrainDiff, Endpoint, brain_summary, diff_snapshots
from . import gitdriver
from .render import DEFAULT_LIMIT, to_json
from ..errors import UsageError
from ..snapshot import layout, statefile
from ..merge.gitdriver import install_merge_driver
from ..repo import Repository
from ..storage.objects import ObjectId
from ..storage.treereader import GitTreeReader
from ..storage.revisions import is_range, parse_range


def _parent(repo: Repository, commit: ObjectId) -> ObjectId | None:
    parents = repo.graph.parents(commit)  # none at a shallow clone's cut: compared with an empty brain
    return parents[0] if parents else None


def _reader(repo: Repository, commit: ObjectId) -> GitTreeReader:
    repo.manifest(commit)  # a commit that is not a brainvcs snapshot is refused with a clear error
    return repo.reader(commit)


def split_range(a: str | None, b: str | None, repo: Repository | None = None) -> tuple[str | None, str]:
    """Turn ``A..B``, ``A...B`` (from their merge base to B, as git diff does), ``A`` or nothing into two revisions."""
    if a is not None and is_range(a):
        if b is not None:
            raise UsageError(f"give either a range {a!r} or two revisions, not both")
        parsed = parse_range(a)
        assert parsed.start is not None
        if not parsed.symmetric:
            return parsed.start, parsed.end
        if repo is None:
            raise UsageError("A...B needs the repository to find the merge base")
        bases = repo.graph.merge_bases([repo.resolve(parsed.start)], [repo.resolve(parsed.end)])
        if not bases:
            raise UsageError(f"{parsed.start} and {parsed.end} share no history: {a!r} has no merge base",
                             "compare them directly: brainvcs diff A B")
        return bases[0], parsed.end
    return a, (b or "HEAD")


def diff(repo: Repository, a: str | None = None, b: str = "HEAD", *, modules: list[str] | None = None,
         path: str | None = None, tolerance: float = 0.0) -> BrainDiff:
    """What changed from revision ``a`` to revision ``b``.

    ``a`` None means ``b``'s first parent (the empty brain for a root commit).
    ``modules``/``path`` restrict the diff; float changes smaller than
    ``tolerance`` are counted but not listed.
    """
    new_id = repo.resolve(b)
    if a is None:
        old_id = _parent(repo, new_id)
        old_rev = f"{b}^"
    else:
        old_id = repo.resolve(a)
        old_rev = a
    old = _reader(repo, old_id) if old_id is not None else None
    result = diff_snapshots(old, _reader(repo, new_id), modules=modules, path=path, tolerance=tolerance)
    result.old = Endpoint(old_rev, old_id) if old_id is not None else None
    result.new = Endpoint(b, new_id)
    return result


def commit_diff_json(repo: Repository, rev: str, *, limit: int | None = DEFAULT_LIMIT) -> dict[str, object]:
    """What commit ``rev`` changed against its first parent, as diff JSON (``show --json``, ``log --stat --json``)."""
    return to_json(diff(repo, None, rev), limit=limit)


def diff_file(repo: Repository, rev: str | None, file: str | os.PathLike[str], *, modules: list[str] | None = None,
              path: str | None = None, tolerance: float = 0.0) -> BrainDiff:
    """What a state file holds beyond revision ``rev`` (default HEAD): ``diff REV FILE`` / ``diff FILE``."""
    rev = rev or "HEAD"
    old_id = repo.resolve(rev)
    snapshot = layout.build(statefile.read_state(file))
    result = diff_snapshots(_reader(repo, old_id), layout.MemoryTreeReader(snapshot.tree), modules=modules, path=path,
                            tolerance=tolerance)
    result.old = Endpoint(rev, old_id)
    result.new = Endpoint(os.fspath(file))
    return result


def is_state_file(arg: str | None) -> bool:
    """Whether a ``diff`` argument names a state file (an existing file or directory) rather than a revision.

    An existing path wins (``../state.json`` is a file, not the range ``.``..``/state.json``).
    """
    return arg is not None and os.path.exists(arg)


def summarize(repo: Repository, rev: str = "HEAD") -> str:
    """The one-line learning summary of ``rev`` against its first parent."""
    return brain_summary(diff(repo, None, rev))


@dataclass(frozen=True)
class GitSetup:
    """What ``git-setup`` installed."""

    gitdir: Path
    attributes: Path
    config: dict[str, str]

    def to_json(self) -> dict[str, object]:
        """A stable JSON-ready dict."""
        return {"gitdir": str(self.gitdir), "attributes": str(self.attributes), "config": dict(self.config)}


def git_setup(repo: Repository, *, program: str | None = None) -> GitSetup:
    """Make plain ``git diff``, ``git log -p`` and ``git merge`` in this clone semantic.

    Writes the attribute lines to ``$GIT_DIR/info/attributes`` (not a tracked
    ``.gitattributes``: a snapshot may not contain ``.git*`` names), sets
    ``diff.brainvcs.command``/``textconv`` and the merge driver in the
    repository's config. ``program`` is how git starts brainvcs (default:
    :func:`brainvcs.diff.gitdriver.driver_program`, which a cloned working tree
    cannot hijack).
    """
    if repo.gitdir is None:
        raise UsageError("git-setup needs a repository on disk")
    program = program or gitdriver.driver_program()
    attributes, config = gitdriver.install(repo.gitdir, program)
    merge_settings = install_merge_driver(repo.gitdir, program=program)
    return GitSetup(repo.gitdir, attributes, {**config, **merge_settings})


def git_diff_driver(repo: Repository, args: list[str]) -> str:
    """What git shows for one file: ``diff.brainvcs.command`` gets git's 7 external-diff arguments."""
    return gitdriver.external_diff(repo.graph, _tips(repo), repo.reader, args, Path.cwd())


def git_textconv(repo: Repository, file: str) -> str:
    """The text git compares for one blob: what ``diff.brainvcs.textconv`` prints."""
    return gitdriver.textconv(repo.graph, _tips(repo), repo.reader, Path(file), Path.cwd())


def _tips(repo: Repository) -> list[str]:
    tips = set(repo.refs.all().values())
    head = repo.head()
    if head is not None:
        tips.add(head)
    return sorted(tips)
