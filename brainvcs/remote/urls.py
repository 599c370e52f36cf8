"""Remote URLs: parse and classify them, and show them with secrets redacted.

git accepts five spellings of a remote, and so does brainvcs:

- a local path (``../brain.git``, ``/srv/brain.git``) or ``file:///srv/brain.git``;
- ``http://`` and ``https://`` (smart HTTP);
- ``ssh://[user@]host[:port]/path`` and the scp-like ``[user@]host:path``
  (a colon before the first slash, as git decides it);
- ``git://host[:port]/path`` (git daemon).

A URL may carry a password (``https://user:secret@host/repo``). brainvcs uses
it for the one operation it was given to, never writes it into the
repository's config (:meth:`RemoteURL.for_config` drops it) and never prints
it: :meth:`RemoteURL.redacted` and :func:`redact_text` replace it with ``***``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..errors import UsageError

#: What :meth:`RemoteURL.redacted` shows instead of a secret.
REDACTED = "***"

#: Transport kinds brainvcs speaks.
KINDS = ("local", "http", "ssh", "git")

_SCHEMES = {
    "file": "local",
    "http": "http",
    "https": "http",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git": "git",
}
#: The port each scheme connects to when the URL names none.
DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
_SCHEME_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# scp-like: [user@]host:path where the colon comes before any slash (git's rule);
# a bracketed host allows IPv6 literals ([::1]:repo.git).
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]/]+\]|[^@/:\[\]]+):(?P<path>.*)$")
# Userinfo with a password inside any URL-looking text: scheme://user:password@
# The secret runs to the *last* '@' before the path: a password may hold a raw '@'.
_USERINFO_IN_TEXT = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):(?P<secret>[^\s/]*)@")
#: Characters no decoded URL part may hold (CR, LF, NUL and the other C0 controls).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RemoteURL:
    """One parsed remote location; ``password`` never appears in ``repr`` or in :meth:`redacted`."""

    kind: str
    scheme: str
    path: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    scp_like: bool = False

    @property
    def is_local(self) -> bool:
        """Whether the remote is a directory on this machine (path or ``file://``)."""
        return self.kind == "local"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Secret strings this URL carries (to scrub from any text shown to a user)."""
        return (self.password,) if self.password else ()

    def _netloc(self, password: str | None) -> str:
        host = self.host or ""
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6 literal
        netloc = host if self.port is None else f"{host}:{self.port}"
        if self.username is not None:
            user = quote(self.username, safe="")
            netloc = (f"{user}:{password}@" if password is not None else f"{user}@") + netloc
        return netloc

    def _render(self, password: str | None) -> str:
        if self.kind == "local":
            return self.path if self.scheme == "" else "file://" + quote(self.path)
        if self.scp_like:
            host = self.host or ""
            user = f"{self.username}@" if self.username is not None else ""
            return f"{user}{host}:{self.path}"
        return f"{self.scheme}://{self._netloc(password)}{quote(self.path, safe='/~@:+,;=!$&()*')}"

    def redacted(self) -> str:
        """The URL as shown to people: any password replaced by ``***``."""
        return self._render(REDACTED if self.password is not None else None)

    def for_config(self) -> str:
        """The URL as stored in ``remote.<name>.url``: the password dropped, the user name kept."""
        return self._render(None)

    def with_password(self) -> str:
        """The full URL including its password (for handing to a transport only; never print it)."""
        return self._render(quote(self.password, safe="") if self.password is not None else None)

    def without_userinfo(self) -> str:
        """The URL with neither user name nor password (what credential look-ups key on)."""
        bare = RemoteURL(self.kind, self.scheme, self.path, self.host, self.port, None, None, self.scp_like)
        return bare._render(None)

    def __str__(self) -> str:
        return self.redacted()


def parse_url(text: str, *, base: str | os.PathLike[str] | None = None) -> RemoteURL:
    """Parse a remote location the way git does; relative local paths resolve against ``base`` (default: cwd)."""
    raw = text.strip()
    if not raw:
        raise UsageError("empty remote URL", "give a path, or an http(s)://, ssh://, git:// or user@host:path URL")
    if _CONTROL.search(raw):
        raise UsageError("a remote URL cannot contain a newline, NUL or other control character")
    match = _SCHEME_PREFIX.match(raw)
    if match:
        return _parse_with_scheme(raw, match.group(1).lower())
    scp = _SCP_LIKE.match(raw)
    if scp and not _looks_like_local_path(raw):
        host = scp.group("host")
        if host.startswith("["):
            host = host[1:-1]
        path = scp.group("path")
        if not path:
            raise UsageError(f"remote URL {raw!r} has no repository path after ':'",
                             "write it as user@host:path/to/repo.git")
        return RemoteURL("ssh", "ssh", path, host=host, username=scp.group("user"), scp_like=True)
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        path = Path(base if base is not None else os.getcwd()) / path
    return RemoteURL("local", "", os.path.normpath(str(path)))


def _looks_like_local_path(raw: str) -> bool:
    # git treats "./a:b" and "/a:b" as paths; an existing directory wins too.
    return raw.startswith(("/", "./", "../", "~")) or os.path.isdir(raw)


def _parse_with_scheme(raw: str, scheme: str) -> RemoteURL:
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise UsageError(f"unsupported remote URL scheme {scheme!r} in {redact_text(raw)}",
                         "use a path, file://, http://, https://, ssh://, git:// or user@host:path")
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # e.g. an unclosed '[' of an IPv6 host
        raise UsageError(f"remote URL {redact_text(raw)} is malformed ({exc})",
                         "write it as scheme://[user@]host[:port]/path, with IPv6 hosts in [brackets]") from None
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"remote URL {redact_text(raw)} has an invalid port",
                         "a port is a number from 1 to 65535, e.g. https://host:8443/repo.git") from None
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    path = unquote(parts.path)
    # Checked after decoding: "%0a" in a user name would otherwise end a line of the
    # `git credential` protocol and let the URL pick the host a stored secret is sent for.
    for part, value in (("user name", username), ("password", password), ("path", path),
                        ("host", parts.hostname)):
        if value is not None and _CONTROL.search(value):
            raise UsageError(f"remote URL {redact_text(raw)}: its {part} contains a control character "
                             "(a newline, carriage return or NUL, possibly %-encoded)",
                             "such a URL can trick credential helpers; check where it came from")
    if kind == "local":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"file:// URL {raw!r} names a host", "use file:///absolute/path")
        if not path:
            raise UsageError(f"file:// URL {raw!r} has no path")
        return RemoteURL("local", "file", os.path.normpath(path))
    host = parts.hostname
    if not host:
        raise UsageError(f"remote URL {redact_text(raw)} has no host name")
    if host.startswith("-"):
        # A host starting with '-' would be read by ssh as an option.
        raise UsageError(f"refusing remote host {host!r}: it starts with '-'")
    if parts.query or parts.fragment:
        raise UsageError(f"remote URL {redact_text(raw)} has a query or fragment",
                         "git remotes are plain paths: drop everything after '?' or '#'")
    if kind == "ssh" and password is not None:
        raise UsageError("ssh:// URLs cannot carry a password",
                         "brainvcs uses your ssh keys and agent; remove ':password' from the URL")
    if kind == "git" and (username is not None or password is not None):
        raise UsageError("git:// URLs cannot carry a user name or password", "git daemon is anonymous")
    if not path:
        path = "/"
    return RemoteURL(kind, "ssh" if kind == "ssh" else scheme, path, host=host, port=port,
                     username=username, password=password)


def redact_url(text: str) -> str:
    """Parse ``text`` as a remote URL and return it redacted (falls back to :func:`redact_text`)."""
    try:
        return parse_url(text).redacted()
    except UsageError:
        return redact_text(text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every ``scheme://user:password@`` password and every given secret replaced by ``***``."""
    out = _USERINFO_IN_TEXT.sub(lambda m: f"{m.group('prefix')}:{REDACTED}@", text)
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            out = out.replace(form, REDACTED)
    return out


def default_port(url: RemoteURL) -> int | None:
    """The port a URL really connects to (explicit, or the scheme's default)."""
    if url.port is not None:
        return url.port
    return DEFAULT_PORTS.get(url.scheme)


def directory_name(url: RemoteURL) -> str:
    """The directory ``clone URL`` creates when no DIR is given: the last path part without ``.git``."""
    path = url.path.rstrip("/")
    name = path.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    if name.endswith(".git"):
        name = name[:-4]
    name = name or (url.host or "brain")
    if name in (".", "..") or name.startswith("."):
        name = "brain"
    return name
