"""``Repository``: open/init, commit, checkout, log, branches, tags, status.

Every mutation runs under the repository lock (``brainvcs.storage.lock``) and ends
with a compare-and-swap ref move, after the pack holding its objects has been
fsynced. Readers take no lock.
"""

from __future__ import annotations

import atexit
import os
import weakref
from contextlib import contextmanager
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from dulwich.object_store import DiskObjectStore
from dulwich.refs import Ref
from dulwich.repo import MemoryRepo, Repo

from ..snapshot import layout
from ..snapshot.collector import collector_paused
from ..diff import summarize_snapshots
from ..errors import (BrainVCSError, CorruptObjectError, IntegrityError, NotABrainCommitError,
                     NotARepositoryError, RefConflict, RepositoryExistsError, UsageError)
from ..storage.gc import GcReport, collect_garbage
from ..storage.graph import CommitGraph
from ..storage.lock import RepositoryLock
from ..storage.refs import BRANCH_PREFIX, HEAD, RefStore, check_ref_name
from ..storage.packs import PackReader
from ..storage.objects import FINGERPRINT_TRAILER, ObjectId, WriteStats, oid, read_commit
from ..storage.treereader import GitTreeReader
from ..storage.commits import CommitInfo
from ..storage.revisions import Resolver
from ..storage.transaction import Transaction, check_author
from ..storage.verified import VerifiedTrees
from ..storage.verify import VerifyReport, verify_commits, verify_snapshot
from .branches import Branches
from .history import History
from .memory import CommitMemory
from .results import CommitResult, Status

DEFAULT_BRANCH = "main"
DEFAULT_IDENTITY = "brainvcs <brainvcs@localhost>"


_UNSET: Any = object()
R = TypeVar("R", bound="Repository")
#: Set by ``brainvcs.adapters`` (imported by ``brainvcs``): turns live brain objects into states
#: for ``commit`` and restores them for ``checkout(into=/factory=)``; this layer never imports adapters.
object_hook: Any = None


class Repository(History, Branches):
    """A brainvcs repository: an ordinary git repository holding brain snapshots."""

    def __init__(self, git: Repo | MemoryRepo, gitdir: Path | None) -> None:
        self._git = git
        self.gitdir = gitdir
        self.refs = RefStore(git.refs)
        self.lock = RepositoryLock(gitdir) if gitdir is not None else None
        self.last_read: GitTreeReader | None = None
        self._packs: PackReader | None = None
        self._memory = CommitMemory()
        #: Snapshots verified once here (or built by this repository's commits): read without re-hashing.
        self.verified = VerifiedTrees(gitdir)
        self._graph: CommitGraph | None = None
        #: Store a changed map as a delta on its last rollup (format version 2, docs/format.md §9).
        self.delta_maps = True
        _OPEN.add(self)

    @property
    def track_changes(self) -> bool:
        """Keep the last committed state in memory (containers copied, values shared), so a commit with
        nothing declared re-encodes only what changed (:mod:`brainvcs.snapshot.changes`). It costs one
        copy of the state's containers; False trades that memory for a full re-encode on every commit."""
        return self._memory.track

    @track_changes.setter
    def track_changes(self, value: bool) -> None:
        """Turn keeping the last committed state on or off (off drops it now)."""
        self._memory.track = value
        if not value and self._memory.last is not None:
            self._memory.last.baseline = None

    @property
    def packs(self) -> PackReader | None:
        """Fast reader over this repository's packs (None for in-memory repositories)."""
        if self._packs is None and self.gitdir is not None:
            store = self._git.object_store
            assert isinstance(store, DiskObjectStore)  # a repository on disk
            self._packs = PackReader(str(store.pack_dir))
        elif self._packs is not None:
            self._packs.refresh()
        return self._packs

    # Opening -------------------------------------------------------------------
    @classmethod
    def init(cls: type[R], path: str | os.PathLike[str], *, default_branch: str = DEFAULT_BRANCH) -> R:
        """Create a new bare repository at ``path`` (created if missing)."""
        check_ref_name(default_branch)
        target = Path(path)
        if (target / "HEAD").exists() or (target / ".git").exists():
            raise RepositoryExistsError(f"{target} is already a repository",
                                        "it is ready: run brainvcs commands inside it (or pass --repo DIR), "
                                        "or init another directory")
        if target.exists() and any(target.iterdir()):
            raise RepositoryExistsError(f"{target} exists and is not empty", "pick an empty or new directory")
        target.mkdir(parents=True, exist_ok=True)
        git = Repo.init_bare(str(target))
        config = git.get_config()
        config.set((b"brainvcs",), b"version", b"1")
        config.write_to_path()
        git.refs.set_symbolic_ref(Ref(b"HEAD"), Ref((BRANCH_PREFIX + default_branch).encode()))
        git.close()
        return cls.open(target, search_parents=False)

    @classmethod
    def open(cls: type[R], path: str | os.PathLike[str] = ".", *, search_parents: bool = True) -> R:
        """Open the repository at ``path`` (a bare repo or a work tree with ``.git``), searching upwards."""
        start = Path(path).resolve()
        if not start.exists():
            raise NotARepositoryError(f"{path}: no such directory", "create one with `brainvcs init DIR`")
        candidates = [start, *start.parents] if search_parents else [start]
        for directory in candidates:
            for gitdir in (directory / ".git", directory):
                if (gitdir / "HEAD").is_file() and (gitdir / "objects").is_dir() and (gitdir / "refs").is_dir():
                    try:
                        git = Repo(str(directory))
                    except Exception as exc:
                        raise NotARepositoryError(f"{directory}: cannot open repository ({exc})") from None
                    git.object_store.fsync_object_files = True
                    return cls(git, Path(git.controldir()))
        raise NotARepositoryError(f"not a brainvcs repository: {start}" + (" (or any parent)" if search_parents else ""),
                                  "create one with `brainvcs init DIR`, or pass --repo DIR")

    @classmethod
    def memory(cls: type[R], *, default_branch: str = DEFAULT_BRANCH) -> R:
        """An in-memory repository (tests and experiments; no lock, nothing on disk)."""
        git = MemoryRepo()
        git.refs.set_symbolic_ref(Ref(b"HEAD"), Ref((BRANCH_PREFIX + default_branch).encode()))
        return cls(git, None)

    def close(self) -> None:
        """Release file handles (the repository stays usable on disk)."""
        _OPEN.discard(self)
        if self._packs is not None:
            self._packs.close()
            self._packs = None
        self._git.close()

    def __enter__(self: R) -> R:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def git(self) -> Repo | MemoryRepo:
        """The underlying dulwich repository (for plumbing in feature modules)."""
        return self._git

    @property
    def objects(self) -> Any:
        """The underlying dulwich object store."""
        return self._git.object_store

    @contextmanager
    def transaction(self, description: str) -> Iterator[Transaction]:
        """Write objects and move refs as one unit, under the repository lock (see :mod:`.storage.transaction`).

        The block's objects are written and its queued ref moves made only if
        it ends without an exception (and without :meth:`Transaction.discard`).
        """
        with self.writing():
            tx = Transaction(self.objects, self.refs, packs=self.packs, gitdir=self.gitdir, description=description)
            yield tx
            if not tx.discarded:
                tx.commit()

    def writing(self) -> RepositoryLock | _NoLock:
        """Context manager holding the repository write lock."""
        return self.lock if self.lock is not None else _NoLock()

    # Revisions -----------------------------------------------------------------
    @property
    def current_branch(self) -> str | None:
        """The branch HEAD points to (possibly unborn), or None when detached."""
        return self.refs.head_branch()

    def head(self) -> ObjectId | None:
        """The commit HEAD points to, or None in an empty repository."""
        return self.refs.get(HEAD)

    def resolve(self, rev: str = HEAD) -> ObjectId:
        """The commit a revision names: ``main``, ``v1``, ``HEAD~2``, ``abc123``, ``origin/main``...

        The grammar is :mod:`brainvcs.storage.revisions`'.
        """
        return Resolver(self.refs, self.objects, self.graph).resolve(rev)

    def commit_info(self, rev: str = HEAD) -> CommitInfo:
        """The commit a revision names."""
        return CommitInfo.from_commit(read_commit(self.objects, self.resolve(rev)))

    # Committing ----------------------------------------------------------------
    def identity(self) -> str:
        """``Name <email>`` from GIT_AUTHOR_* / git config, else a neutral default."""
        name = os.environ.get("GIT_AUTHOR_NAME")
        email = os.environ.get("GIT_AUTHOR_EMAIL")
        if not (name and email):
            try:
                stack = self._git.get_config_stack()
                name = name or stack.get((b"user",), b"name").decode("utf-8")
                email = email or stack.get((b"user",), b"email").decode("utf-8")
            except (KeyError, AttributeError, NotImplementedError):
                pass
        if name and email:
            return f"{name} <{email}>"
        return DEFAULT_IDENTITY

    def commit(self, state: Mapping[str, Any], message: str, *, author: str | None = None,
               branch: str | None = None, allow_empty: bool = False, parents: list[str] | None = None,
               expected_head: Any = _UNSET, trailers: Mapping[str, str] | None = None,
               timestamp: int | None = None, summary: str | None = None,
               changed: Iterable[str | tuple[str, ...]] | None = None, allow_remove: bool = True,
               state_is_private: bool = False) -> CommitResult:
        """Snapshot ``state`` as a new commit on ``branch`` (default: the current branch).

        Refused with InvalidStateError (naming the path) if the state cannot be
        stored exactly; nothing is written then. If the state is identical to
        the branch tip's and ``allow_empty`` is false, nothing is written and
        ``changed`` is False. ``expected_head`` (a commit id or None for "branch
        must not exist") makes the ref move conditional on that value instead
        of on the tip read here. ``parents`` overrides the parent list (merges).

        Nothing needs declaring: after a first commit, this Repository object
        keeps that state in memory and re-encodes only what differs from it
        (:mod:`brainvcs.snapshot.changes`; ``track_changes``). ``changed`` may
        still list the paths (key tuples or dotted strings) that may differ
        from the state this object last committed on that branch, which skips
        the comparison; only they are re-encoded (see
        :mod:`brainvcs.snapshot.incremental`). It is a promise: a difference
        outside them would not be recorded. Without a matching previous commit
        in this process it is ignored. ``state_is_private`` promises that
        nothing will change ``state`` after the call (an Autosaver's own
        copy): it is kept for the next comparison as it is, not copied.

        A state that lacks modules the branch tip has removes them; the result
        lists them (``removed_modules``), and ``allow_remove=False`` (the CLI's
        default) refuses such a commit instead, naming them.
        """
        with self._memory.lock, collector_paused():
            return self._commit(state, message, author=author, branch=branch, allow_empty=allow_empty,
                                parents=parents, expected_head=expected_head, trailers=trailers,
                                timestamp=timestamp, summary=summary, changed=changed, allow_remove=allow_remove,
                                private=state_is_private)

    def _commit(self, state: Any, message: str, *, author: str | None, branch: str | None, allow_empty: bool,
                parents: list[str] | None, expected_head: Any, trailers: Mapping[str, str] | None,
                timestamp: int | None, summary: str | None, changed: Iterable[str | tuple[str, ...]] | None,
                allow_remove: bool, private: bool) -> CommitResult:
        if not message.strip():
            raise UsageError("empty commit message", "pass -m MESSAGE")
        author = check_author(author or self.identity())
        ref = self._branch_ref(branch)
        if not isinstance(state, Mapping) and object_hook is not None:
            # A first commit here keeps the state as its baseline: ask for one sharing nothing with
            # the brain, so it is kept uncopied; later commits only copy what changed.
            first = self._memory.track and not self._memory.has_baseline(ref, self.refs.get(ref))
            state, trailers, fresh = object_hook.to_state(state, trailers, first)
            private = private or fresh
        plan = self._memory.plan(ref, self.refs.get(ref), state, changed)
        snapshot = layout.build(state, base=plan.base, changed=plan.trie, deltas=self.delta_maps)
        with self.transaction("commit") as tx:
            tip = self.refs.get(ref)
            expected = tip if expected_head is _UNSET else expected_head
            if expected != tip:
                # The CAS would fail anyway: refuse before writing a pack nobody references.
                raise RefConflict(ref, expected, tip)
            if parents is None:
                parent_ids = [expected] if expected else []
            else:
                parent_ids = [self.resolve(p) for p in parents]
            removed: tuple[str, ...] = ()
            if expected is not None and parents is None:
                try:
                    had = set(self.manifest(expected)["modules"])
                except BrainVCSError:  # a tip that holds no readable snapshot has no modules to lose
                    had = set()
                removed = tuple(sorted(had - set(snapshot.manifest["modules"])))
                if removed and not allow_remove:
                    raise UsageError(f"the state lacks module(s) {', '.join(removed)} that {ref} has; "
                                     "committing it would remove them", "pass --allow-remove if that is meant, "
                                     "or add the missing modules to the state")
            tree_id = tx.add_tree(snapshot.tree)
            if (not allow_empty and parents is None and expected is not None
                    and read_commit(self.objects, expected).tree.decode("ascii") == tree_id):
                tx.discard()
                self._memory.remember(ref, expected, snapshot, state, plan, adopt=private)
                return CommitResult(self.commit_info(expected), ref, snapshot.fingerprint, WriteStats(0, 0, 0, 0), False)
            if summary is None:  # the learning summary, so `git log` on any host tells the story
                parent: layout.TreeReader | None = None
                if parent_ids and plan.last is not None and plan.last.commit == parent_ids[0]:
                    # The parent's snapshot is still in memory: no reading back (or rebuilding deltas).
                    parent = layout.MemoryTreeReader(plan.last.snapshot.tree)
                elif parent_ids:
                    parent = self.reader(parent_ids[0])
                summary = summarize_snapshots(parent, layout.MemoryTreeReader(snapshot.tree))
            commit = tx.add_commit(tree_id, parent_ids, message, author, snapshot.fingerprint, trailers=trailers,
                                   timestamp=timestamp, summary=summary)
            tx.move(ref, expected, oid(commit.id), f"commit: {message.splitlines()[0][:72]}")
        assert tx.written is not None
        self._memory.remember(ref, oid(commit.id), snapshot, state, plan, adopt=private)
        self.verified.add(tree_id)  # built here: every blob canonical and digested as it was made
        return CommitResult(CommitInfo.from_commit(commit), ref, snapshot.fingerprint, tx.written, True, removed)

    def _branch_ref(self, branch: str | None) -> str:
        if branch is None:
            return self.refs.head_ref()
        if branch.startswith("refs/"):
            return branch
        return BRANCH_PREFIX + check_ref_name(branch)

    # Reading snapshots -------------------------------------------------------
    def reader(self, rev: str = HEAD) -> GitTreeReader:
        """A verified-read view of the snapshot at ``rev`` (trusted if it was verified once here)."""
        commit = read_commit(self.objects, self.resolve(rev))
        reader = GitTreeReader(self.objects, commit.tree, self.packs)
        reader.trusted = reader.tree_id in self.verified
        return reader

    def manifest(self, rev: str = HEAD) -> dict[str, Any]:
        """The snapshot manifest (``brain.json``) at ``rev``."""
        try:
            return layout.read_manifest(self.reader(rev))
        except BrainVCSError as exc:
            if "not a brainvcs snapshot" in exc.message:
                raise NotABrainCommitError(f"{rev}: {exc.message}", "this commit was not written by brainvcs") from None
            raise

    def checkout(self, rev: str = HEAD, *, modules: list[str] | None = None, into: Any = None,
                 factory: Any = None) -> Any:
        """The state stored at ``rev`` (only ``modules`` if given), every digest verified.

        With ``into=obj`` or ``factory=cls``, a live brain restored by its adapter (``brainvcs.adapters``).
        """
        if (into is not None or factory is not None) and object_hook is not None:
            return object_hook.restore(self, rev, into, factory)
        reader = self.reader(rev)
        fingerprint = self.manifest(rev)["fingerprint"]
        recorded = self.commit_info(rev).fingerprint
        if recorded is not None and recorded != fingerprint:
            # The commit vouches for another brain than its tree holds: refuse, never guess.
            raise IntegrityError(f"{rev}: {FINGERPRINT_TRAILER} trailer", recorded, fingerprint)
        state = layout.load(reader, modules=modules)
        if modules is None and not reader.trusted:
            self.verified.add(reader.tree_id)  # read whole, every digest checked: the next read need not
        self.last_read = reader
        return state

    # Status ----------------------------------------------------------------------
    def status(self, state: Mapping[str, Any] | None = None) -> Status:
        """Branch, HEAD commit and its modules; with ``state``, which modules differ from HEAD."""
        branch = self.current_branch
        head_id = self.head()
        if head_id is None:
            changed = sorted(state) if state is not None else None
            return Status(branch, None, branch is None, {}, None, changed)
        manifest = self.manifest(HEAD)
        modules = {name: {"kind": info.get("kind"), "digest": info.get("digest")}
                   for name, info in manifest["modules"].items()}
        changed = None
        if state is not None:
            other = layout.build(state).manifest["modules"]
            changed = sorted(name for name in set(other) | set(modules)
                             if other.get(name, {}).get("digest") != modules.get(name, {}).get("digest"))
        return Status(branch, self.commit_info(HEAD), branch is None, modules, manifest["fingerprint"], changed)

    # Maintenance -------------------------------------------------------------------
    def _heads(self) -> list[ObjectId]:
        heads = list(self.refs.all().values())
        head = self.head()
        if head is not None:
            heads.append(head)
        return sorted(set(heads))

    def verify(self, rev: str | None = None) -> VerifyReport:
        """Re-check every snapshot reachable from any ref (or from ``rev`` only); see :mod:`brainvcs.storage.verify`."""
        heads = [self.resolve(rev)] if rev is not None else self._heads()
        return verify_commits(self.objects, heads, self.graph)

    def check_snapshot(self, commit: ObjectId) -> None:
        """Refuse (CorruptObjectError) a commit whose snapshot any reader would refuse.

        Called before a branch is moved to a commit that came from elsewhere
        (a fast-forward in ``merge``, ``pull``, ``sync``), so a hostile or
        damaged snapshot never becomes a branch tip.
        """
        report = verify_snapshot(self.objects, commit)
        if not report.ok:
            raise CorruptObjectError(f"commit {commit[:12]} is not a valid brain snapshot: {report.problems[0]}",
                                     "nothing was changed; the commit came from a damaged or hostile repository "
                                     "(see `brainvcs verify " + commit[:12] + "`)")
        self.verified.add(read_commit(self.objects, commit).tree.decode("ascii"))  # checked as it came in

    def gc(self, *, prune: bool = True, aggressive: bool = False) -> GcReport:
        """Consolidate packs into one deltified pack and drop unreachable objects; see :mod:`brainvcs.storage.gc`.

        ``aggressive`` spends more time searching for deltas (as ``git gc --aggressive``) for a smaller pack.
        """
        with self.writing():
            return collect_garbage(self.objects, [h.encode("ascii") for h in self._heads()], prune=prune,
                                   aggressive=aggressive, graph=self.graph)


#: Repositories not closed yet. A script that never closes one (as a quick session in a REPL does)
#: would otherwise have dulwich's pack finalisers run during interpreter shutdown, when they can
#: only print "Exception ignored ... sys.meta_path is None" tracebacks.
_OPEN: weakref.WeakSet[Repository] = weakref.WeakSet()


@atexit.register
def _close_open_repositories() -> None:
    for repo in list(_OPEN):
        try:
            repo.close()
        except Exception:  # shutting down: a repository that cannot close has nothing left to lose
            pass


class _NoLock:
    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
