"""Fetching: objects from a remote into one pack, then remote-tracking refs moved by compare-and-swap.

Also ``ls-remote`` (the refs a remote has, nothing downloaded). The pack is
received into a spooled temporary file, counted for progress, and added to
the object store (fsynced) before any ref moves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import Any, Literal

from dulwich.objects import ZERO_SHA

from ..errors import UsageError
from ..repo import Repository
from ..storage.objects import ObjectId, oid
from ..storage.packs import fsync_dir
from ..storage.refs import BRANCH_PREFIX, REMOTE_PREFIX, TAG_PREFIX
from . import transport
from .config import remote_get, remote_list, remote_url, tracking_ref
from .progress import ProgressFn, TransferMeter, from_dulwich
from .push import is_ancestor
from .urls import RemoteURL, parse_url


_SPOOL_BYTES = 16 << 20


@dataclass(frozen=True)
class RefUpdate:
    """What a fetch did to one local ref."""

    ref: str
    remote_ref: str
    old: ObjectId | None
    new: ObjectId | None
    status: Literal["new", "fast-forward", "forced", "up-to-date", "deleted", "rejected"]
    reason: str | None = None

    def line(self) -> str:
        """The line ``fetch`` prints for this update, as git prints it."""
        name = self.ref.removeprefix("refs/remotes/").removeprefix("refs/tags/")
        remote_name = self.remote_ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        old, new = (self.old or "")[:7], (self.new or "")[:7]
        if self.status == "new":
            what = "[new tag]" if self.ref.startswith("refs/tags/") else "[new branch]"
            return f" * {what:<17} {remote_name} -> {name}"
        if self.status == "forced":
            return f" + {old}...{new} {remote_name} -> {name} (forced update)"
        if self.status == "deleted":
            return f" - [deleted]         {name}"
        if self.status == "rejected":
            return f" ! [rejected]        {remote_name} -> {name} ({self.reason})"
        return f"   {old}..{new}  {remote_name} -> {name}"

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"ref": self.ref, "remote_ref": self.remote_ref, "old": self.old, "new": self.new,
                "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` received and which refs it moved."""

    remote: str
    url: str
    updates: list[RefUpdate]
    head: str | None
    objects: int
    bytes_received: int

    @property
    def changed(self) -> list[RefUpdate]:
        """The updates that moved a ref."""
        return [u for u in self.updates if u.status not in ("up-to-date", "rejected")]

    def lines(self) -> list[str]:
        """What ``fetch`` prints: the remote, then one line per ref that moved (nothing when none did)."""
        moved = [update for update in self.updates if update.status != "up-to-date"]
        return [f"From {self.url}", *(update.line() for update in moved)] if moved else []

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (URL redacted)."""
        return {"remote": self.remote, "url": self.url, "head": self.head, "objects": self.objects,
                "bytes_received": self.bytes_received, "updates": [u.to_json() for u in self.updates]}


@dataclass(frozen=True)
class LsRemoteResult:
    """A remote's refs: full ref name -> object id, and the branch its HEAD names."""

    url: str
    refs: dict[str, ObjectId]
    head: str | None

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (URL redacted)."""
        return {"url": self.url, "head": self.head, "refs": dict(self.refs)}


def config_stack(repo: Repository | None) -> Any:
    """The git config stack of this repository (None without one)."""
    if repo is None:
        return None
    try:
        return repo.git.get_config_stack()
    except Exception:  # a memory repository has no stack; the transport works without it
        return None


def working_dir(repo: Repository | None) -> str | None:
    """The directory git credential helpers run in (the repository's, if any)."""
    return str(repo.gitdir) if repo is not None and repo.gitdir is not None else None


class _PackSink:
    """Receives a pack from the wire into a spooled file, counting bytes and objects for progress."""

    def __init__(self, directory: str | None, progress: ProgressFn | None) -> None:
        self.file = SpooledTemporaryFile(max_size=_SPOOL_BYTES, prefix="incoming-", dir=directory)
        self.meter = TransferMeter("Receiving objects", None, progress)
        self._header = b""

    def write(self, data: bytes) -> int:
        self.file.write(data)
        if self.meter.total is None and len(self._header) < 12:
            self._header += data[:12]
            if len(self._header) >= 12 and self._header[:4] == b"PACK":
                self.meter.total = int.from_bytes(self._header[8:12], "big")
        self.meter.add(0, len(data))
        return len(data)


@dataclass(frozen=True)
class _Fetched:
    refs: dict[str, ObjectId]
    head: str | None
    objects: int
    nbytes: int


#: Fetches in a row while the remote's tips move under the fetch (a busy local remote).
_CATCH_UP = 3


def _fetch_objects(repo: Repository, url: RemoteURL, *, depth: int | None,
                   progress: ProgressFn | None) -> _Fetched:
    """Download what the remote's branches and tags need into one pack; moves no ref."""
    store = repo.objects
    directory = getattr(store, "path", None)

    # The refs the pack is made for. A local remote (dulwich's LocalGitClient) reads its refs again after
    # writing the pack: a push landing in between would name a tip the pack does not hold.
    advertised: dict[bytes, bytes | None] = {}

    def wants(refs: Any, depth: int | None = None) -> list[bytes]:
        advertised.clear()
        advertised.update(refs)
        out: list[bytes] = []
        for name, sha in refs.items():
            if sha is None or name.endswith(b"^{}") or not name.startswith((b"refs/heads/", b"refs/tags/")):
                continue
            if sha != ZERO_SHA and (sha not in store or depth) and sha not in out:
                out.append(sha)
        return out

    def fetch_once(client: Any, path: str) -> tuple[Any, int, int]:
        sink = _PackSink(directory, progress)
        try:
            # What we have, from refs whose commits are here (a dangling ref would claim objects we lack).
            heads = [sha for sha in repo.git.refs.as_dict().values() if sha in store]
            result = client.fetch_pack(path, wants, repo.git.get_graph_walker(heads), sink.write,
                                       progress=from_dulwich(progress), depth=depth)
            if sink.file.tell():
                sink.file.seek(0)
                store.add_thin_pack(sink.file.read, None)
                if directory is not None:
                    fsync_dir(os.path.join(directory, "pack"))
            sink.meter.objects = sink.meter.total or 0
            sink.meter.finish()
        finally:
            sink.file.close()
        if result.new_shallow or result.new_unshallow:
            repo.git.update_shallow(result.new_shallow, result.new_unshallow)
        return result, sink.meter.total or 0, sink.meter.bytes

    def operation(client: Any, path: str) -> _Fetched:
        objects = nbytes = 0
        for _ in range(_CATCH_UP):
            result, count, size = fetch_once(client, path)
            objects, nbytes = objects + count, nbytes + size
            offered = advertised or result.refs
            # A push that landed while the pack was made moved a tip past it: fetch again to catch up.
            if all(result.refs.get(name) == sha for name, sha in offered.items()):
                break
        refs = {name.decode("utf-8"): oid(sha) for name, sha in offered.items()
                if sha is not None and not name.endswith(b"^{}")}
        head = result.symrefs.get(b"HEAD")
        head_branch = head.decode("utf-8")[len(BRANCH_PREFIX):] if head and head.startswith(b"refs/heads/") else None
        return _Fetched(refs, head_branch, objects, nbytes)

    return transport.run(url, operation, config=config_stack(repo), cwd=working_dir(repo))


def _record_fetch(repo: Repository, remote: str, fetched: _Fetched, *, prune: bool) -> list[RefUpdate]:
    """Move remote-tracking refs (and create new tags) to what the remote has; CAS, under the lock."""
    updates: list[RefUpdate] = []
    seen: set[str] = set()
    for name, new in sorted(fetched.refs.items()):
        if name.startswith(BRANCH_PREFIX):
            branch = name[len(BRANCH_PREFIX):]
            local = tracking_ref(remote, branch)
            seen.add(branch)
            old = repo.refs.get(local)
            if old == new:
                updates.append(RefUpdate(local, name, old, new, "up-to-date"))
                continue
            status: Literal["new", "fast-forward", "forced"] = (
                "new" if old is None else ("fast-forward" if is_ancestor(repo, old, new) else "forced"))
            repo.refs.move(local, old, new, f"fetch {remote}: {status}")
            updates.append(RefUpdate(local, name, old, new, status))
        elif name.startswith(TAG_PREFIX):
            old = repo.refs.get(name)
            if old == new:
                continue
            if old is not None:
                updates.append(RefUpdate(name, name, old, new, "rejected", "would clobber existing tag"))
                continue
            repo.refs.move(name, None, new, f"fetch {remote}: new tag")
            updates.append(RefUpdate(name, name, None, new, "new"))
    if prune:
        prefix = f"{remote}/"
        for short, sha in repo.refs.remote_branches().items():
            gone = short[len(prefix):] if short.startswith(prefix) else None
            if gone and gone != "HEAD" and gone not in seen:
                repo.refs.delete(REMOTE_PREFIX + short, sha)
                updates.append(RefUpdate(REMOTE_PREFIX + short, BRANCH_PREFIX + gone, sha, None, "deleted"))
    return updates


def fetch(repo: Repository, remote: str = "origin", *, prune: bool = False, depth: int | None = None,
          progress: ProgressFn | None = None) -> FetchResult:
    """Download the remote's branches and tags; move ``refs/remotes/<remote>/*`` (never a local branch)."""
    config = remote_get(repo, remote)
    url = remote_url(repo, config)
    return fetch_url(repo, remote, url, prune=prune, depth=depth, progress=progress)


def fetch_url(repo: Repository, remote: str, url: RemoteURL, *, prune: bool = False, depth: int | None = None,
               progress: ProgressFn | None = None) -> FetchResult:
    """Fetch from ``url`` as remote ``remote`` (a URL that need not be configured, as clone does)."""
    if depth is not None and depth < 1:
        raise UsageError(f"--depth must be at least 1, not {depth}")
    with repo.writing():
        fetched = _fetch_objects(repo, url, depth=depth, progress=progress)
        updates = _record_fetch(repo, remote, fetched, prune=prune)
    return FetchResult(remote, url.redacted(), updates, fetched.head, fetched.objects, fetched.nbytes)


def ls_remote(url_or_remote: str, *, repo: Repository | None = None) -> LsRemoteResult:
    """A remote's refs, without downloading objects; ``url_or_remote`` is a URL or a configured remote's name."""
    if repo is not None and url_or_remote in {r.name for r in remote_list(repo)}:
        url = remote_url(repo, remote_get(repo, url_or_remote))
    else:
        url = parse_url(url_or_remote)

    def operation(client: Any, path: str) -> LsRemoteResult:
        result = client.get_refs(path)
        refs = {name.decode("utf-8"): oid(sha) for name, sha in sorted(result.refs.items()) if sha is not None}
        head = result.symrefs.get(b"HEAD")
        head_branch = head.decode("utf-8")[len(BRANCH_PREFIX):] if head and head.startswith(b"refs/heads/") else None
        return LsRemoteResult(url.redacted(), refs, head_branch)

    return transport.run(url, operation, config=config_stack(repo), cwd=working_dir(repo))
