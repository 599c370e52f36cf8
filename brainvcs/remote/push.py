"""Push: refspecs, the fast-forward rule, an exactly counted pack, and an honest per-ref result.

dulwich's ``send_pack`` reports what it *asked* the server to do; a server
refusal (``ng``, e.g. a hook that declined) appears only in the per-ref status
map. :func:`push_refs` therefore decides per ref — refused here (not a
fast-forward, tag exists), refused by the server, or accepted — moves
``refs/remotes/<remote>/<branch>`` only for accepted branch refs, and raises
:class:`~brainvcs.errors.PushRejectedError` if any ref was refused.

The pack's size is counted exactly as it goes on the wire (the same
compressed chunks dulwich streams), so ``bytes_sent`` says what a push cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import ZERO_SHA
from dulwich.pack import OFS_DELTA, REF_DELTA, UnpackedObject, pack_object_chunks

from ..errors import CorruptObjectError, PushRejectedError, RevisionNotFoundError, UsageError
from ..storage.refs import BRANCH_PREFIX, HEAD, REMOTE_PREFIX, TAG_PREFIX, check_ref_name
from ..repo import Repository
from ..storage.objects import ObjectId, oid
from . import transport
from .progress import ProgressFn, ServerMessages, TransferMeter, from_dulwich
from .urls import RemoteURL

_PACK_HEADER = 12
_PACK_TRAILER = 20


@dataclass(frozen=True)
class RefSpec:
    """One resolved push instruction: local ``src`` (None deletes) to remote ``dst``."""

    src: str | None
    dst: str
    new: ObjectId | None
    force: bool


@dataclass(frozen=True)
class PushRefResult:
    """The outcome for one remote ref."""

    src: str | None
    dst: str
    old: ObjectId | None
    new: ObjectId | None
    #: "rejected": refused here; "remote-rejected": refused by the server.
    status: Literal["ok", "up-to-date", "rejected", "remote-rejected"]
    kind: Literal["new", "fast-forward", "forced", "deleted"] | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the remote ref now holds what was pushed."""
        return self.status in ("ok", "up-to-date")

    def line(self) -> str:
        """One line in git's style: ``+ main -> main (forced)``, ``! [rejected] main -> main (non-fast-forward)``."""
        src = _short(self.src) if self.src else "(delete)"
        names = f"{src} -> {_short(self.dst)}"
        if self.status == "up-to-date":
            return f"= [up to date]      {names}"
        if self.status == "rejected":
            return f"! [rejected]        {names} ({self.reason})"
        if self.status == "remote-rejected":
            return f"! [remote rejected] {names} ({self.reason})"
        if self.kind == "deleted":
            return f"- [deleted]         {_short(self.dst)}"
        if self.kind == "new":
            what = "[new tag]" if self.dst.startswith(TAG_PREFIX) else "[new branch]"
            return f"* {what:<18}{names}"
        old = (self.old or "")[:7]
        new = (self.new or "")[:7]
        if self.kind == "forced":
            return f"+ {old}...{new} {names} (forced)"
        return f"  {old}..{new}  {names}"

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"src": self.src, "dst": self.dst, "old": self.old, "new": self.new, "status": self.status,
                "kind": self.kind, "reason": self.reason, "ok": self.ok}


@dataclass(frozen=True)
class PushResult:
    """Per-ref outcomes of one push, and what it sent."""

    remote: str
    url: str
    refs: list[PushRefResult]
    objects_sent: int
    bytes_sent: int

    @property
    def ok(self) -> bool:
        """Whether every ref was accepted (or already up to date)."""
        return all(ref.ok for ref in self.refs)

    @property
    def rejected(self) -> dict[str, str]:
        """Refused remote ref -> reason."""
        return {ref.dst: ref.reason or ref.status for ref in self.refs if not ref.ok}

    def lines(self) -> list[str]:
        """What ``push`` prints: the remote, one line per ref, and what was sent."""
        out = [f"To {self.url}", *(" " + ref.line() for ref in self.refs)]
        if self.objects_sent:
            out.append(f"sent {self.objects_sent} objects, {self.bytes_sent} bytes")
        return out

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (URL redacted)."""
        return {"remote": self.remote, "url": self.url, "ok": self.ok, "objects_sent": self.objects_sent,
                "bytes_sent": self.bytes_sent, "refs": [ref.to_json() for ref in self.refs]}


def _short(ref: str) -> str:
    for prefix in (BRANCH_PREFIX, TAG_PREFIX):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def parse_refspec(repo: Repository, spec: str, *, force: bool = False) -> RefSpec:
    """Resolve ``[+]src[:dst]`` (``:dst`` deletes) against the local repository."""
    text = spec.strip()
    if text.startswith("+"):
        force, text = True, text[1:]
    src_text, sep, dst_text = text.partition(":")
    if not src_text and not sep:
        raise UsageError(f"empty refspec {spec!r}", "name a branch, e.g. `brainvcs push origin main`")
    if not src_text:
        if not dst_text:
            raise UsageError(f"refspec {spec!r} names neither a source nor a destination")
        return RefSpec(None, _full_dst(dst_text, None), None, force)
    src = _local_ref(repo, src_text)
    if src is None:
        value = repo.resolve(src_text)  # a commit id or HEAD~2: needs an explicit destination
        if not dst_text:
            raise UsageError(f"{src_text!r} is not a branch or tag, so the destination must be named",
                             f"write it as {src_text}:BRANCH")
        return RefSpec(src_text, _full_dst(dst_text, None), value, force)
    tip = repo.refs.get(src)
    if tip is None:
        raise RevisionNotFoundError(f"{src_text!r} has no commits to push")
    return RefSpec(src, _full_dst(dst_text or src, src), tip, force)


def _local_ref(repo: Repository, name: str) -> str | None:
    if name == HEAD:
        branch = repo.current_branch
        return BRANCH_PREFIX + branch if branch is not None else None
    if name.startswith("refs/"):
        return name if repo.refs.get(name) is not None else None
    for prefix in (BRANCH_PREFIX, TAG_PREFIX):
        if repo.refs.get(prefix + name) is not None:
            return prefix + name
    return None


def _full_dst(dst: str, src: str | None) -> str:
    if dst.startswith("refs/"):
        kind = "tag" if dst.startswith(TAG_PREFIX) else "branch"
        check_ref_name(dst[len("refs/"):].split("/", 1)[-1], kind)
        return dst
    prefix = TAG_PREFIX if src is not None and src.startswith(TAG_PREFIX) else BRANCH_PREFIX
    check_ref_name(dst, "tag" if prefix == TAG_PREFIX else "branch")
    return prefix + dst


def is_ancestor(repo: Repository, ancestor: str, descendant: str) -> bool:
    """Like :meth:`Repository.is_ancestor`, but False (not an error) when history is cut short (shallow)."""
    if ancestor == descendant:
        return True
    if ancestor.encode("ascii") not in repo.objects:
        return False
    try:
        return repo.is_ancestor(ancestor, descendant)
    except CorruptObjectError:
        return False


def _decide(repo: Repository, spec: RefSpec, old: ObjectId | None) -> PushRefResult:
    """Whether this side allows the update (git's rules), before anything is sent."""
    if spec.new is None:
        if old is None:
            return PushRefResult(spec.src, spec.dst, None, None, "rejected", None, "remote ref does not exist")
        return PushRefResult(spec.src, spec.dst, old, None, "ok", "deleted")
    if old == spec.new:
        return PushRefResult(spec.src, spec.dst, old, spec.new, "up-to-date")
    if old is None:
        return PushRefResult(spec.src, spec.dst, None, spec.new, "ok", "new")
    if spec.force:
        return PushRefResult(spec.src, spec.dst, old, spec.new, "ok", "forced")
    if spec.dst.startswith(TAG_PREFIX):
        return PushRefResult(spec.src, spec.dst, old, spec.new, "rejected", None, "already exists")
    if old.encode("ascii") not in repo.objects:
        return PushRefResult(spec.src, spec.dst, old, spec.new, "rejected", None, "fetch first")
    if not is_ancestor(repo, old, spec.new):
        return PushRefResult(spec.src, spec.dst, old, spec.new, "rejected", None, "non-fast-forward")
    return PushRefResult(spec.src, spec.dst, old, spec.new, "ok", "fast-forward")


def counted_records(records: Iterator[UnpackedObject], meter: TransferMeter) -> Iterator[UnpackedObject]:
    """Pass pack records through, compressing each exactly as dulwich's pack writer would, and count them.

    dulwich streams a record's ``comp_chunks`` unchanged when present; filling
    them here (same type, same OFS/REF delta choice, same offsets) makes the
    count equal to the bytes on the wire.
    """
    offset = _PACK_HEADER
    offsets: dict[bytes, int] = {}
    for unpacked in records:
        if unpacked.comp_chunks is None:
            raw: Any
            type_num = unpacked.pack_type_num
            if unpacked.delta_base is not None:
                base = offsets.get(unpacked.delta_base)  # type: ignore[arg-type]
                if base is None:
                    type_num, raw = REF_DELTA, (unpacked.delta_base, unpacked.decomp_chunks)
                else:
                    type_num, raw = OFS_DELTA, (offset - base, unpacked.decomp_chunks)
            else:
                raw = unpacked.decomp_chunks
            unpacked.comp_chunks = list(pack_object_chunks(type_num, raw, object_format=DEFAULT_OBJECT_FORMAT))
        size = sum(len(chunk) for chunk in unpacked.comp_chunks)
        offsets[unpacked.sha()] = offset
        offset += size
        meter.add(1, size)
        yield unpacked
    meter.add(0, _PACK_HEADER + _PACK_TRAILER)
    meter.finish()


def push_refs(repo: Repository, remote: str, url: RemoteURL, refspecs: list[str], *, force: bool = False,
              progress: ProgressFn | None = None, config: Any = None,
              cwd: str | os.PathLike[str] | None = None) -> PushResult:
    """Push ``refspecs`` to ``url``; record accepted branches as ``refs/remotes/<remote>/*``; raise if any was refused."""
    specs = [parse_refspec(repo, spec, force=force) for spec in refspecs]
    if len({s.dst for s in specs}) != len(specs):
        raise UsageError("two refspecs push to the same remote ref")
    shallow = repo.git.get_shallow() if hasattr(repo.git, "get_shallow") else set()
    # The server's own words (a hook's refusal) are kept even when no terminal shows progress.
    said = ServerMessages(progress)

    def operation(client: Any, path: str) -> tuple[list[PushRefResult], int, int]:
        decided: dict[str, PushRefResult] = {}
        meters: list[TransferMeter] = []

        def update_refs(old_refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
            out: dict[bytes, bytes] = {}
            for spec in specs:
                old_raw = old_refs.get(spec.dst.encode("utf-8"))
                old = oid(old_raw) if old_raw and old_raw != ZERO_SHA else None
                outcome = _decide(repo, spec, old)
                decided[spec.dst] = outcome
                if outcome.status == "ok":
                    out[spec.dst.encode("utf-8")] = spec.new.encode("ascii") if spec.new else ZERO_SHA
            return out

        def generate_pack_data(have: Any, want: Any, *, ofs_delta: bool = True,
                               progress: Any = None) -> tuple[int, Iterator[UnpackedObject]]:
            count, records = repo.objects.generate_pack_data(have, want, shallow=shallow or None,
                                                             ofs_delta=ofs_delta)
            meter = TransferMeter("Writing objects", count, progress_text)
            meters.append(meter)
            return count, counted_records(records, meter)

        progress_text = progress
        result = client.send_pack(path, update_refs, generate_pack_data, progress=from_dulwich(said.add))
        statuses = result.ref_status or {}
        outcomes: list[PushRefResult] = []
        for spec in specs:
            outcome = decided[spec.dst]
            if outcome.status == "ok":
                failure = statuses.get(spec.dst.encode("utf-8"))
                if failure is not None:
                    outcome = PushRefResult(outcome.src, outcome.dst, outcome.old, outcome.new, "remote-rejected",
                                            outcome.kind, str(failure).strip() or "refused by the server")
            outcomes.append(outcome)
        sent_objects = sum(m.objects for m in meters)
        sent_bytes = sum(m.bytes for m in meters)
        return outcomes, sent_objects, sent_bytes

    with repo.writing():
        outcomes, objects_sent, bytes_sent = transport.run(url, operation, config=config, cwd=cwd)
        for outcome in outcomes:
            if outcome.ok and outcome.dst.startswith(BRANCH_PREFIX):
                _record_tracking(repo, remote, outcome)
    result = PushResult(remote, url.redacted(), outcomes, objects_sent, bytes_sent)
    if not result.ok:
        refused = result.rejected
        reasons = sorted(set(refused.values()))
        names = ", ".join(_short(ref) for ref in refused)
        hint = "the remote has commits this repository does not; fetch and merge (brainvcs pull / sync) first, " \
               "or pass --force to overwrite them (their learning is then lost on the remote)" \
            if any(r in ("non-fast-forward", "fetch first") for r in reasons) else \
            (f"the server said: {said.text()}" if said.text() else
             "the server gave no reason; ask the remote's administrator")
        raise PushRejectedError(f"push to {url.redacted()} rejected for {names} ({'; '.join(reasons)})", hint,
                                rejected=refused, result=result)
    return result


def _record_tracking(repo: Repository, remote: str, outcome: PushRefResult) -> None:
    ref = f"{REMOTE_PREFIX}{remote}/{outcome.dst[len(BRANCH_PREFIX):]}"
    current = repo.refs.get(ref)
    if outcome.new is None:
        if current is not None:
            repo.refs.delete(ref, current)
    elif current != outcome.new:
        repo.refs.move(ref, current, outcome.new, f"push {remote}: {outcome.kind or 'update'}")
