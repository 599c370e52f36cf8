"""Remotes as git records them: ``remote.<name>.url`` and ``.fetch`` in the repository's config.

C git reads what these functions write (``git remote -v`` in a brainvcs
repository lists the same remotes) and brainvcs reads remotes C git added.
A URL is stored without its password: :func:`remote_add` refuses one that
carries a password, with a hint naming the credential sources instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dulwich.refs import Ref

from ..errors import RefExistsError, UsageError
from ..storage.refs import BRANCH_PREFIX, REMOTE_PREFIX, check_ref_name
from ..repo import Repository
from .credentials import sources_hint
from .urls import RemoteURL, parse_url, redact_text, redact_url

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Remote:
    """One configured remote."""

    name: str
    url: str
    fetch: tuple[str, ...]

    @property
    def shown_url(self) -> str:
        """The URL with any password redacted (C git may have stored one)."""
        return redact_url(self.url)

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (URL redacted)."""
        return {"name": self.name, "url": self.shown_url, "fetch": list(self.fetch)}


def default_fetch_refspec(name: str) -> str:
    """git's default fetch refspec for a remote: ``+refs/heads/*:refs/remotes/<name>/*``."""
    return f"+refs/heads/*:{REMOTE_PREFIX}{name}/*"


def check_remote_name(name: str) -> str:
    """Refuse names git would refuse, and '/' (it would make ``origin/main`` ambiguous)."""
    if not _NAME.match(name) or name.endswith(".lock") or ".." in name:
        raise UsageError(f"invalid remote name {name!r}",
                         "use letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. 'origin')")
    return name


def _require_disk(repo: Repository) -> None:
    if repo.gitdir is None:
        raise UsageError("remotes need a repository on disk", "use Repository.init(PATH) or Repository.open(PATH)")


def _config(repo: Repository) -> Any:
    return repo.git.get_config()


def _section(name: str) -> tuple[bytes, bytes]:
    return (b"remote", name.encode("utf-8"))


def _read(config: Any, name: str) -> Remote | None:
    section = _section(name)
    if not config.has_section(section):
        return None
    try:
        url = config.get(section, b"url").decode("utf-8")
    except KeyError:
        return None
    try:
        fetch = tuple(v.decode("utf-8") for v in config.get_multivar(section, b"fetch"))
    except KeyError:
        fetch = ()
    return Remote(name, url, fetch)


def remote_list(repo: Repository) -> list[Remote]:
    """Every configured remote, sorted by name."""
    _require_disk(repo)
    config = _config(repo)
    names = sorted({section[1].decode("utf-8") for section in config.sections()
                    if len(section) == 2 and section[0] == b"remote"})
    return [remote for remote in (_read(config, n) for n in names) if remote is not None]


def remote_get(repo: Repository, name: str) -> Remote:
    """The remote called ``name`` (UsageError naming ``remote add`` if there is none)."""
    _require_disk(repo)
    remote = _read(_config(repo), name)
    if remote is None:
        shown = redact_text(name)  # a URL typed where a name belongs may carry a password
        raise UsageError(f"no remote named {shown!r}",
                         f"add it with `brainvcs remote add {shown if shown == name else 'NAME'} URL` "
                         "(see `brainvcs remote -v`)")
    return remote


def remote_url(repo: Repository, remote: Remote) -> RemoteURL:
    """The parsed URL of a configured remote (relative paths resolve against the repository)."""
    return parse_url(remote.url, base=str(repo.gitdir))


def remote_add(repo: Repository, name: str, url: str) -> Remote:
    """Record a new remote (``remote.<name>.url`` and the default fetch refspec)."""
    _require_disk(repo)
    check_remote_name(name)
    parsed = parse_url(url)
    if parsed.password is not None:
        raise UsageError(f"the URL {parsed.redacted()} carries a password; brainvcs never stores credentials",
                         "add the URL without ':password' and give the secret another way: " + sources_hint())
    with repo.writing():
        config = _config(repo)
        if _read(config, name) is not None:
            raise RefExistsError(f"remote {name!r} already exists", "pick another name, or remove it first")
        stored = parsed.for_config()
        config.set(_section(name), b"url", stored.encode("utf-8"))
        config.set(_section(name), b"fetch", default_fetch_refspec(name).encode("utf-8"))
        config.write_to_path()
    return Remote(name, stored, (default_fetch_refspec(name),))


def remote_remove(repo: Repository, name: str) -> Remote:
    """Forget a remote: its config section, its remote-tracking refs, and branches' upstream entries."""
    remote = remote_get(repo, name)
    with repo.writing():
        config = _config(repo)
        del config[_section(name)]
        for section in list(config.sections()):
            if len(section) == 2 and section[0] == b"branch":
                try:
                    if config.get(section, b"remote") == name.encode("utf-8"):
                        for key in (b"remote", b"merge"):
                            try:
                                config.remove(section, key)
                            except KeyError:
                                pass
                except KeyError:
                    continue
        config.write_to_path()
        _drop_tracking_refs(repo, name)
    return remote


def remote_rename(repo: Repository, old: str, new: str) -> Remote:
    """Rename a remote, its default fetch refspec, its tracking refs and branches' upstream entries."""
    remote = remote_get(repo, old)
    check_remote_name(new)
    with repo.writing():
        config = _config(repo)
        if _read(config, new) is not None:
            raise RefExistsError(f"remote {new!r} already exists", "pick another name, or remove it first")
        fetch = tuple(default_fetch_refspec(new) if spec == default_fetch_refspec(old) else spec
                      for spec in remote.fetch)
        values = {key: value for key, value in config[_section(old)].items() if key != b"fetch"}
        del config[_section(old)]
        for key, value in values.items():
            config.set(_section(new), key, value)
        for index, spec in enumerate(fetch):
            if index == 0:
                config.set(_section(new), b"fetch", spec.encode("utf-8"))
            else:
                config.add(_section(new), b"fetch", spec.encode("utf-8"))
        for section in list(config.sections()):
            if len(section) == 2 and section[0] == b"branch":
                try:
                    if config.get(section, b"remote") == old.encode("utf-8"):
                        config.set(section, b"remote", new.encode("utf-8"))
                except KeyError:
                    continue
        config.write_to_path()
        prefix = f"{old}/"
        for short, sha in repo.refs.remote_branches().items():
            if short.startswith(prefix):
                branch = short[len(prefix):]
                if branch == "HEAD":
                    continue
                repo.refs.move(f"{REMOTE_PREFIX}{new}/{branch}", None, sha, f"remote: renamed {old} to {new}")
                repo.refs.delete(f"{REMOTE_PREFIX}{old}/{branch}", sha)
        _move_remote_head(repo, old, new)
    return Remote(new, remote.url, fetch)


def _ref(name: str) -> Ref:
    return Ref(name.encode("utf-8"))


def _move_remote_head(repo: Repository, old: str, new: str) -> None:
    refs = repo.git.refs
    old_head = _ref(f"{REMOTE_PREFIX}{old}/HEAD")
    target = refs.read_ref(old_head)
    if target and target.startswith(b"ref: "):
        branch = target[5:].strip().decode("utf-8").rsplit("/", 1)[-1]
        refs.remove_if_equals(old_head, None)
        refs.set_symbolic_ref(_ref(f"{REMOTE_PREFIX}{new}/HEAD"), _ref(f"{REMOTE_PREFIX}{new}/{branch}"))


def _drop_tracking_refs(repo: Repository, name: str) -> None:
    refs = repo.git.refs
    head = _ref(f"{REMOTE_PREFIX}{name}/HEAD")
    if refs.read_ref(head) is not None:
        refs.remove_if_equals(head, None)
    prefix = f"{name}/"
    for short, sha in repo.refs.remote_branches().items():
        if short.startswith(prefix):
            repo.refs.delete(f"{REMOTE_PREFIX}{short}", sha)


def upstream(repo: Repository, branch: str, remote: str) -> str:
    """The remote branch ``branch`` pulls from on ``remote``: ``branch.<b>.merge`` if set for it, else the same name."""
    config = _config(repo)
    section = (b"branch", branch.encode("utf-8"))
    try:
        if config.get(section, b"remote") == remote.encode("utf-8"):
            merge = str(config.get(section, b"merge").decode("utf-8"))
            if merge.startswith(BRANCH_PREFIX):
                return merge[len(BRANCH_PREFIX):]
    except KeyError:
        pass
    return branch


def set_upstream(repo: Repository, branch: str, remote: str, remote_branch: str) -> None:
    """Record ``branch.<b>.remote`` and ``.merge`` as ``git clone``/``git push -u`` do."""
    check_ref_name(branch)
    check_ref_name(remote_branch)
    with repo.writing():
        config = _config(repo)
        section = (b"branch", branch.encode("utf-8"))
        config.set(section, b"remote", remote.encode("utf-8"))
        config.set(section, b"merge", (BRANCH_PREFIX + remote_branch).encode("utf-8"))
        config.write_to_path()


def tracking_ref(remote: str, branch: str) -> str:
    """``refs/remotes/<remote>/<branch>``."""
    return f"{REMOTE_PREFIX}{remote}/{branch}"


__all__ = ["Remote", "check_remote_name", "default_fetch_refspec", "remote_add",
           "remote_get", "remote_list", "remote_remove", "remote_rename", "remote_url", "set_upstream",
           "tracking_ref", "upstream"]
