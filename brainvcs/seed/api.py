"""Import the seed's JSON files and SQLite databases as history; export the seed's JSON format back.

Imports are all-or-nothing: every input is read, checked and laid out first
(a malformed file is an :class:`~brainvcs.errors.InputFileError` naming the
file and the place, and nothing is written); then every object of every new
commit goes into **one** fsynced pack; only then do refs move, by
compare-and-swap from "must not exist". A target branch that already exists is
refused before anything is read.

* ``import_seed_json``: each file one commit, oldest ``metadata.saved_at``
  first, on one new branch; the author date is ``saved_at`` (a time without a
  zone is taken as UTC), the author the ``author`` argument, else the file's
  ``metadata.user_id``/``metadata.author``, else the repository's identity.
* ``import_seed_sqlite``: each session one commit on its own new branch
  ``[<prefix>/]<user>/<session>`` (``<session>`` when it has no user), author
  the session's user, date its ``updated_at`` (else ``created_at``).

Commits carry the trailers ``Brain-Source: import``, ``Brain-Import-File``,
``Brain-Import-Format`` and, when known, ``Brain-Session``/``Brain-User``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..snapshot import layout
from .json_file import read_seed_json_file, seed_json_from_state, write_seed_json_file
from .sqlite_file import read_seed_sqlite
from ..errors import InputFileError, InvalidRefNameError, InvalidStateError, RefExistsError, UsageError
from ..storage.refs import BRANCH_PREFIX, check_ref_name
from ..repo import CommitResult, Repository
from ..storage.commits import CommitInfo
from ..storage.objects import ObjectId, WriteStats, oid
from ..storage.transaction import check_author, is_identity

__all__ = ["export_seed_json", "import_seed_json", "import_seed_sqlite"]

SOURCE_TRAILER = "Brain-Source"
FILE_TRAILER = "Brain-Import-File"
FORMAT_TRAILER = "Brain-Import-Format"
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Planned:
    """One commit to write: its snapshot and everything its commit object needs."""

    snapshot: layout.Snapshot
    branch: str
    message: str
    summary: str
    author: str
    timestamp: int | None
    trailers: dict[str, str]


def _aware(when: datetime) -> datetime:
    # The seed wrote local time without a zone; the zone is unknown, so call it UTC.
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


def _epoch(when: datetime | None) -> int | None:
    return None if when is None else int(_aware(when).timestamp())


def _printable(text: str) -> str:
    """``text`` made safe for a one-line trailer value."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _identity_for(user: Any, fallback: str) -> str:
    """``user`` as a git identity (``alice`` -> ``alice <alice@localhost>``), or ``fallback``."""
    if not isinstance(user, str) or not user.strip():
        return fallback
    if is_identity(user.strip()):
        return user.strip()
    name = re.sub(r"[<>\n\r]", "", user).strip()
    if not name:
        return fallback
    return f"{name} <{re.sub(r'[^A-Za-z0-9._-]', '', name) or 'user'}@localhost>"


def _check_author(author: str | None) -> None:
    if author is not None:
        check_author(author)


def _build(state: Mapping[str, Any], source: str) -> layout.Snapshot:
    try:
        return layout.build(state)
    except InvalidStateError as exc:
        raise InputFileError(f"{source}: {exc.message}", exc.hint) from None


def _check_new_branches(repo: Repository, branches: Iterable[str]) -> None:
    """Refuse names that exist, or that clash as file/directory with existing or other new branches."""
    existing = set(repo.refs.branches())
    taken = set(existing)
    for name in branches:
        check_ref_name(name)
        if name in existing:
            raise RefExistsError(f"branch {name!r} already exists; nothing was imported",
                                 "pick another branch (--branch/--prefix), or delete that one first")
        if name in taken:
            raise RefExistsError(f"two imports would both create branch {name!r}; nothing was imported",
                                 "rename one of the sessions, or import them separately")
        parts = name.split("/")
        for other in taken:
            if other.startswith(name + "/") or any("/".join(parts[:i]) == other for i in range(1, len(parts))):
                raise RefExistsError(f"branch {name!r} cannot coexist with branch {other!r} "
                                     "(one would be a directory of the other); nothing was imported",
                                     "use --prefix to import into another namespace")
        taken.add(name)


def _write(repo: Repository, plans: Sequence[_Planned]) -> list[CommitResult]:
    """Write every planned commit in one pack, then create each branch at its last commit."""
    results: list[CommitResult] = []
    tips: dict[str, ObjectId] = {}
    with repo.transaction("import") as tx:
        _check_new_branches(repo, dict.fromkeys(p.branch for p in plans))
        for plan in plans:
            before = tx.stats
            tree_id = tx.add_tree(plan.snapshot.tree)
            parents = [tips[plan.branch]] if plan.branch in tips else []
            commit = tx.add_commit(tree_id, parents, plan.message, plan.author, plan.snapshot.fingerprint,
                                   trailers=plan.trailers, timestamp=plan.timestamp, summary=plan.summary)
            tips[plan.branch] = oid(commit.id)
            after = tx.stats
            written = WriteStats(after.objects - before.objects, after.bytes - before.bytes,
                                 after.blobs - before.blobs, after.trees - before.trees)
            results.append(CommitResult(CommitInfo.from_commit(commit), BRANCH_PREFIX + plan.branch,
                                        plan.snapshot.fingerprint, written, True))
        # Created together: if another writer took one of the names meanwhile, none is.
        for branch, tip in tips.items():
            tx.move(BRANCH_PREFIX + branch, None, tip, "import: created")
    if repo.head() is None and repo.current_branch not in tips:
        # A fresh repository: HEAD sits on an unborn branch where `log` would find nothing.
        # Point it at the imported history (the first branch, when a database brought several).
        repo.switch(next(iter(tips)))
    return results


def import_seed_json(repo: Repository, files: Sequence[str | os.PathLike[str]], *, branch: str = "seed-import",
                     author: str | None = None) -> list[CommitResult]:
    """Import seed JSON files as commits on a new ``branch``, oldest ``saved_at`` first."""
    if not files:
        raise UsageError("no files to import", "name one or more seed JSON files")
    _check_author(author)
    _check_new_branches(repo, [branch])
    reads = [(Path(f), read_seed_json_file(f)) for f in files]
    # Stable: files without saved_at keep their command-line order, after the dated ones.
    reads.sort(key=lambda item: (item[1].saved_at is None, _aware(item[1].saved_at or _EPOCH)))
    identity = repo.identity()
    plans: list[_Planned] = []
    for path, read in reads:
        metadata = read.state.get("metadata", {})
        who = author or _identity_for(metadata.get("author") or metadata.get("user_id"), identity)
        trailers = {SOURCE_TRAILER: "import", FILE_TRAILER: _printable(path.name), FORMAT_TRAILER: "seed-json"}
        if read.session_name:
            trailers["Brain-Session"] = _printable(read.session_name)
        vocabulary = read.state["language_module"]["vocabulary"]
        saved = f"saved {read.saved_at.isoformat()}" if read.saved_at else "no save time"
        plans.append(_Planned(
            snapshot=_build(read.state, os.fspath(path)), branch=branch,
            message=f"Import {_printable(path.name)} (seed JSON)",
            summary=f"session {read.session_name or '?'}, {saved}: {len(vocabulary)} words, "
                    f"{len(read.state['brain_history'])} history entries",
            author=who, timestamp=_epoch(read.saved_at), trailers=trailers))
    return _write(repo, plans)


def _session_branch(prefix: str | None, user: str | None, session: str, source: str) -> str:
    parts = [p for p in (prefix or "").split("/") if p] + ([user] if user else []) + [session]
    safe = [_REF_UNSAFE.sub("-", p).strip(".-") or "_" for p in parts]
    name = "/".join(safe)
    try:
        return check_ref_name(name)
    except InvalidRefNameError:
        raise InputFileError(f"{source}: session {session!r} of user {user!r} gives no valid branch name ({name!r})",
                             "rename the session, or pass another --prefix") from None


def import_seed_sqlite(repo: Repository, db: str | os.PathLike[str], *, prefix: str | None = None,
                       author: str | None = None) -> dict[str, CommitResult]:
    """Import every session of a seed database as a commit on its own new branch ``[prefix/]user/session``."""
    _check_author(author)
    if prefix is not None:
        check_ref_name(prefix.strip("/"))
    source = os.fspath(db)
    sessions = read_seed_sqlite(db)
    if not sessions:
        raise InputFileError(f"{source}: the database holds no sessions", "nothing to import")
    identity = repo.identity()
    plans: list[_Planned] = []
    for session in sessions:
        name = _session_branch(prefix, session.user_id, session.session_name, source)
        trailers = {SOURCE_TRAILER: "import", FILE_TRAILER: _printable(Path(source).name),
                    FORMAT_TRAILER: "seed-sqlite", "Brain-Session": _printable(session.session_name)}
        if session.user_id:
            trailers["Brain-User"] = _printable(session.user_id)
        when = session.updated_at or session.created_at
        plans.append(_Planned(
            snapshot=_build(session.state, f"{source}: session {session.session_name!r}"), branch=name,
            message=f"Import session {_printable(session.session_name)} (seed SQLite)",
            summary=f"user {session.user_id or '-'}, updated {session.state['session']['updated_at'] or '-'}: "
                    f"{len(session.state['vocabulary'])} words, {len(session.state['neural_connections'])} neurons",
            author=author or _identity_for(session.user_id, identity), timestamp=_epoch(when), trailers=trailers))
    results = _write(repo, plans)
    return {plan.branch: result for plan, result in zip(plans, results)}


def export_seed_json(repo: Repository, rev: str = "HEAD", path: str | os.PathLike[str] | None = None, *,
                     overwrite: bool = True) -> dict[str, Any]:
    """The seed JSON document stored at ``rev`` (keys in the seed's order); written to ``path`` if given.

    The file has the bytes the seed's ``json.dump(indent=2)`` writes, so a
    file imported with :func:`import_seed_json` comes back byte for byte. With
    ``overwrite=False`` an existing file is refused (the CLI's default).
    """
    if path is not None and os.path.lexists(path) and not overwrite:
        raise InputFileError(f"{os.fspath(path)} exists; nothing was written",
                             "pass --force to overwrite it, or write elsewhere with --output")
    state = repo.checkout(rev)
    document = seed_json_from_state(state)
    if path is not None:
        write_seed_json_file(state, path)
    return document


def seed_json_text(document: Mapping[str, Any]) -> str:
    """A seed JSON document as the seed writes it (``indent=2``, ASCII escapes)."""
    return json.dumps(document, indent=2, allow_nan=False)
