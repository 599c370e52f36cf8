"""Build a dulwich client for a remote URL, authenticate, and turn failures into clear errors.

- local paths and ``file://``: :class:`dulwich.client.LocalGitClient`;
- ``http(s)://``: :class:`dulwich.client.Urllib3HttpGitClient` with basic auth
  from :mod:`brainvcs.remote.credentials`, asked for only after a 401;
- ``ssh://`` and ``user@host:path``: :class:`dulwich.client.SSHGitClient` driving
  the user's own ``ssh`` (``GIT_SSH_COMMAND``, else ``GIT_SSH``, else
  ``core.sshCommand``, else ``ssh``) through dulwich's subprocess vendor, so the
  user's keys, agent, ``~/.ssh/config`` and ``known_hosts`` apply. brainvcs
  adds no option to ssh's command line that weakens host key checking;
- ``git://``: :class:`dulwich.client.TCPGitClient`.

:func:`run` executes one operation against a remote, retrying with the next
credential after an HTTP 401, and maps every transport failure to one
:class:`~brainvcs.errors.RemoteError` line with secrets redacted.
"""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from dulwich.client import (GitClient, HTTPUnauthorized, LocalGitClient, SSHGitClient, StrangeHostname,
                            SubprocessSSHVendor, TCPGitClient, Urllib3HttpGitClient)
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.file import FileLocked

from ..errors import AuthenticationError, BrainVCSError, CorruptObjectError, PushRejectedError, RemoteError
from . import credentials as creds
from .credentials import Credential
from .urls import RemoteURL, redact_text

T = TypeVar("T")

#: Seconds an HTTP request may wait for the server before the remote counts as unreachable.
HTTP_TIMEOUT = 120.0

_UNKNOWN_HOST = ("could not resolve hostname", "name or service not known", "nodename nor servname",
                 "temporary failure in name resolution", "failed to resolve", "no address associated",
                 "getaddrinfo failed", "name resolution")
_REFUSED = ("connection refused", "errno 111", "newconnectionerror", "max retries exceeded",
            "connection reset", "network is unreachable", "no route to host", "timed out")
_MISSING_REPO = ("does not appear to be a git repository", "no such repository", "not a git repository",
                 "repository not exported", "not found", "no such file or directory", "access denied")
_SSH_AUTH = ("permission denied", "too many authentication failures", "authentication failed")
_HOST_KEY = ("host key verification failed", "remote host identification has changed",
             "no matching host key", "host key for")


def ssh_command(environ: Mapping[str, str] | None = None, config: Any = None) -> str:
    """The ssh command git would run: ``GIT_SSH_COMMAND``, ``GIT_SSH``, ``core.sshCommand``, or ``ssh``."""
    env = os.environ if environ is None else environ
    if env.get("GIT_SSH_COMMAND"):
        return env["GIT_SSH_COMMAND"]
    if env.get("GIT_SSH"):
        # GIT_SSH names a program (no shell words), so quote it as one word.
        return shlex.quote(env["GIT_SSH"])
    if config is not None:
        try:
            value = config.get((b"core",), b"sshCommand")
            if value:
                return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        except KeyError:
            pass
    return "ssh"


def open_client(url: RemoteURL, *, credential: Credential | None = None, config: Any = None,
                environ: Mapping[str, str] | None = None) -> tuple[GitClient, str]:
    """A dulwich client for ``url`` and the path to pass to its methods."""
    if url.kind == "local":
        if not Path(url.path).exists():
            raise RemoteError(f"repository {url.redacted()} does not exist",
                              "check the path, or create it with `brainvcs init DIR`")
        return LocalGitClient(), url.path
    if url.kind == "http":
        base = url.without_userinfo()
        client: GitClient = Urllib3HttpGitClient(
            base.rstrip("/") + "/", config=config, timeout=HTTP_TIMEOUT,
            username=credential.username if credential else None,
            password=credential.password if credential else None)
        return client, ""
    if url.kind == "ssh":
        assert url.host is not None
        ssh_client = SSHGitClient(url.host, port=url.port, username=url.username, vendor=SubprocessSSHVendor(),
                                  ssh_command=ssh_command(environ, config))
        return ssh_client, url.path
    if url.kind == "git":
        assert url.host is not None
        return TCPGitClient(url.host, port=url.port), url.path
    raise RemoteError(f"unsupported remote kind {url.kind!r}")


def run(url: RemoteURL, operation: Callable[[GitClient, str], T], *, config: Any = None,
        cwd: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> T:
    """Run ``operation(client, path)`` against ``url``, authenticating over HTTP(S) as needed.

    The first attempt carries the URL's own credentials (or none). After a 401
    each source of :func:`brainvcs.remote.credentials.candidates` is tried in
    turn; the one that works is approved to git's helpers, a refused helper
    credential is rejected. Every failure surfaces as a RemoteError subclass.
    """
    secrets: list[str] = list(url.secrets)
    first = creds.from_url(url)
    try:
        return _attempt(url, operation, first, config, environ, secrets)
    except HTTPUnauthorized:
        pass
    tried: list[str] = ["the URL's credentials"] if first is not None else []
    for candidate in creds.candidates(url, cwd=cwd, environ=environ):
        if first is not None and candidate.source == "url":
            continue
        secrets.append(candidate.password)
        try:
            result = _attempt(url, operation, candidate, config, environ, secrets)
        except HTTPUnauthorized:
            tried.append(_describe_source(candidate))
            if candidate.source == "git-credential":
                creds.git_credential_reject(url, candidate, cwd=cwd, environ=environ)
            continue
        if candidate.source in ("git-credential", "url"):
            creds.git_credential_approve(url, candidate, cwd=cwd, environ=environ)
        return result
    where = url.redacted()
    withheld = creds.environment_withheld(url, environ)
    note = f"; {withheld}" if withheld is not None else ""
    if tried:
        raise AuthenticationError(f"authentication failed for {where} (tried {', '.join(tried)}){note}",
                                  "check the user name and password or token; " + creds.sources_hint())
    raise AuthenticationError(f"{where} requires authentication and no credentials were found{note}",
                              creds.sources_hint())


def _describe_source(credential: Credential) -> str:
    names = {"environment": "the BRAINVCS_* environment variables", "git-credential": "git's credential helper",
             "netrc": "~/.netrc", "url": "the URL's credentials"}
    return names.get(credential.source, credential.source)


def _attempt(url: RemoteURL, operation: Callable[[GitClient, str], T], credential: Credential | None,
             config: Any, environ: Mapping[str, str] | None, secrets: list[str]) -> T:
    client, path = open_client(url, credential=credential, config=config, environ=environ)
    try:
        return operation(client, path)
    except HTTPUnauthorized:
        raise
    except BrainVCSError:
        raise
    except Exception as exc:
        if not _is_transport_error(exc):
            raise  # a bug, not the network: let the CLI report it as an internal error
        raise translate_error(exc, url, secrets) from None
    finally:
        try:
            client.close()
        except Exception:  # closing a broken connection must not hide the real error
            pass


def _is_transport_error(exc: BaseException) -> bool:
    """Errors of the network, the server, ssh or the remote repository (dulwich's, urllib3's, the OS's)."""
    if isinstance(exc, (OSError, GitProtocolError, NotGitRepository, StrangeHostname)):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("dulwich", "urllib3", "ssl", "http.client")) or _malformed_reply(exc)


def _malformed_reply(exc: BaseException) -> bool:
    """A ValueError/KeyError/IndexError raised inside dulwich's client: what the server sent is not git's protocol."""
    if not isinstance(exc, (ValueError, KeyError, IndexError)):
        return False
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and str(frame.tb_frame.f_globals.get("__name__", "")).startswith("dulwich.")


def translate_error(exc: BaseException, url: RemoteURL,
                    secrets: list[str] | tuple[str, ...] = ()) -> BrainVCSError:
    """One clear error for a transport failure, secrets redacted: a :class:`RemoteError`, or a
    :class:`CorruptObjectError` when a file of this repository is what failed."""
    where = url.redacted()
    detail = _detail(exc)
    shown = redact_text(detail, [*url.secrets, *secrets])
    low = detail.lower()
    if isinstance(exc, FileNotFoundError) and exc.filename and not _inside(str(exc.filename), url):
        # A file of *this* repository is missing: never blame the remote for it.
        return CorruptObjectError(f"cannot send or receive objects: a file of this repository is missing "
                                  f"({exc.filename})",
                                  "run `brainvcs verify`, then `brainvcs gc` to rewrite the packs; "
                                  "the remote is not at fault")
    if isinstance(exc, FileLocked):
        # A local remote's ref .lock exists: another push is updating that ref at this moment.
        return PushRejectedError(f"push to {where} rejected: another push was updating the same ref at that moment",
                                 "sync again (it fetches what the other push brought and retries)",
                                 rejected={os.fsdecode(exc.filename): "locked by a concurrent push"})
    if isinstance(exc, NotGitRepository) or (url.kind == "local" and isinstance(exc, (FileNotFoundError,))):
        return RemoteError(f"no repository at {where}", "check the URL; the repository must exist on the server")
    if isinstance(exc, StrangeHostname):
        return RemoteError(f"refusing ssh host name in {where}: it starts with '-'")
    if isinstance(exc, socket.gaierror) or any(s in low for s in _UNKNOWN_HOST):
        return RemoteError(f"unknown host {url.host!r} in {where}", "check the host name and your network/DNS")
    if url.kind == "ssh" and any(s in low for s in _HOST_KEY):
        return RemoteError(f"ssh host key verification failed for {url.host}: {_short_reason(shown)}",
                           "the server's key is not in your known_hosts (or changed); verify it and add it with "
                           "ssh-keyscan or by connecting once with ssh; brainvcs never disables host key checking")
    if url.kind == "ssh" and any(s in low for s in _SSH_AUTH):
        return AuthenticationError(f"ssh authentication failed for {where}",
                                   "load your key into ssh-agent (ssh-add), or set GIT_SSH_COMMAND='ssh -i KEY'")
    if isinstance(exc, (ConnectionRefusedError, TimeoutError)) or any(s in low for s in _REFUSED):
        reason = next((s for s in ("connection refused", "timed out", "connection reset", "network is unreachable",
                                   "no route to host") if s in low), _short_reason(shown))
        return RemoteError(f"cannot connect to {where}: {reason}",
                           "check that the server is running and reachable, and the port is right")
    if any(s in low for s in _MISSING_REPO):
        return RemoteError(f"no repository at {where} ({_short_reason(shown)})",
                           "check the repository path in the URL")
    if _malformed_reply(exc):
        return RemoteError(f"{where}: the server's answer is not git's protocol ({_short_reason(shown)[:120]})",
                           "check the URL: it must name a git repository (a web page answers with HTML)")
    if isinstance(exc, (GitProtocolError, HangupException)):
        return RemoteError(f"{where}: the remote ended the conversation: {_short_reason(shown) or 'no reason given'}")
    if isinstance(exc, OSError):
        return RemoteError(f"{where}: {_short_reason(shown)}")
    return RemoteError(f"{where}: {type(exc).__name__}: {_short_reason(shown)}")


def _inside(filename: str, url: RemoteURL) -> bool:
    """Whether a missing file belongs to the remote (a local remote's directory), not to this repository."""
    if url.kind != "local":
        return False
    remote = os.path.abspath(url.path)
    return os.path.abspath(filename) == remote or os.path.abspath(filename).startswith(remote + os.sep)


_HANGUP = "The remote server unexpectedly closed the connection."


def _detail(exc: BaseException) -> str:
    parts = [str(exc)]  # a HangupException's text already holds the remote's stderr lines
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        parts.append(str(cause))
    text = " | ".join(p for p in parts if p)
    if text != _HANGUP:
        text = text.replace(" | " + _HANGUP, "")  # dulwich's generic words add nothing to the real reason
    return text


def _short_reason(text: str) -> str:
    # Keep one line: server and ssh messages can span several.
    line = " ".join(part.strip() for part in text.replace("\r", "\n").split("\n") if part.strip())
    return line if len(line) <= 300 else line[:297] + "..."
