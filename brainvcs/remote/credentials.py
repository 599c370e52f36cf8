"""HTTPS credentials: from the environment, git's credential helpers, or ``~/.netrc``.

Nothing here ever writes a credential into a repository, and a
:class:`Credential` never shows its password (``repr``, ``str``). Sources are
consulted only after a server asked for authentication (HTTP 401), in this
order:

1. ``BRAINVCS_USERNAME`` + ``BRAINVCS_PASSWORD``, or ``BRAINVCS_TOKEN`` (sent as
   the password; the user name is ``BRAINVCS_USERNAME``, the URL's, or
   ``x-access-token``, which GitHub, Gitea and GitLab accept with a token),
   only to the hosts named in ``BRAINVCS_CREDENTIAL_HOSTS`` and only over
   https (plain http to a listed loopback host, for tests);
2. ``git credential fill`` — whatever helper the user configured for git
   (``credential.helper``: a keychain, ``cache``, ``store``...), run with
   ``GIT_TERMINAL_PROMPT=0`` so it can never hang waiting for a terminal;
3. ``~/.netrc`` (or the file named by ``NETRC``), via the standard library.

A password given inside the URL itself is used first, for that one operation.
Credentials from a helper (or the URL) that worked are handed back to git with
``git credential approve`` — the helper decides whether to keep them — and
ones the server refused are withdrawn with ``git credential reject``.
"""

from __future__ import annotations

import ipaddress
import netrc
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputFileError, UsageError
from .urls import DEFAULT_PORTS, RemoteURL

ENV_USERNAME = "BRAINVCS_USERNAME"
ENV_PASSWORD = "BRAINVCS_PASSWORD"
ENV_TOKEN = "BRAINVCS_TOKEN"
#: The hosts (``host`` or ``host:port``, comma-separated) the environment credentials are for.
ENV_HOSTS = "BRAINVCS_CREDENTIAL_HOSTS"
#: User name sent with ``BRAINVCS_TOKEN`` when none is given.
TOKEN_USERNAME = "x-access-token"
#: Seconds a credential helper may take before it is abandoned.
HELPER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credential:
    """A user name and password (or token) for one HTTP(S) server, and where it came from."""

    username: str
    password: str = field(repr=False)
    source: str = "unknown"

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password='***', source={self.source!r})"

    __str__ = __repr__


def from_url(url: RemoteURL) -> Credential | None:
    """The user name and password written in the URL itself, if it has both."""
    if url.username is not None and url.password is not None:
        return Credential(url.username, url.password, "url")
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_withheld(url: RemoteURL, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the ``BRAINVCS_*`` credentials may not be sent to ``url`` (None when they may, or are unset).

    An environment credential belongs to the hosts named in
    ``BRAINVCS_CREDENTIAL_HOSTS`` (comma-separated ``host`` or ``host:port``)
    and travels over https only; plain http only to a listed loopback host
    (a test server). Otherwise any server that answers 401 (a URL in a
    pasted command, a hostile remote) would be handed the token.
    """
    env = os.environ if environ is None else environ
    if not (env.get(ENV_TOKEN) or env.get(ENV_PASSWORD)):
        return None
    host = (url.host or "").lower()
    port = url.port if url.port is not None else DEFAULT_PORTS.get(url.scheme)
    listed = {entry.strip().lower() for entry in env.get(ENV_HOSTS, "").split(",") if entry.strip()}
    if host not in listed and f"{host}:{port}" not in listed:
        return (f"{ENV_TOKEN if env.get(ENV_TOKEN) else ENV_PASSWORD} is set but is not for {host}: "
                f"add it to {ENV_HOSTS} (comma-separated host or host:port) to send it there")
    if url.scheme != "https" and not _is_loopback(host):
        return f"the BRAINVCS_* credentials are sent over https only, and {url.redacted()} is {url.scheme}://"
    return None


def from_environment(url: RemoteURL, environ: Mapping[str, str] | None = None) -> Credential | None:
    """``BRAINVCS_USERNAME``/``BRAINVCS_PASSWORD`` or ``BRAINVCS_TOKEN``, if set and meant for ``url``'s host."""
    env = os.environ if environ is None else environ
    if environment_withheld(url, env) is not None:
        return None
    token = env.get(ENV_TOKEN)
    username = env.get(ENV_USERNAME) or None
    if token:
        return Credential(username or url.username or TOKEN_USERNAME, token, "environment")
    password = env.get(ENV_PASSWORD)
    if password:
        return Credential(username or url.username or "", password, "environment")
    return None


def from_netrc(url: RemoteURL, path: str | os.PathLike[str] | None = None,
               environ: Mapping[str, str] | None = None) -> Credential | None:
    """The ``machine`` (or ``default``) entry of ``~/.netrc`` for the URL's host."""
    env = os.environ if environ is None else environ
    if path is None:
        path = env.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not url.host or not Path(path).is_file():
        return None
    try:
        # Passing the default path explicitly would skip the stdlib's check that a
        # ~/.netrc holding passwords is private, so pass None when it is the default.
        default = os.path.join(os.path.expanduser("~"), ".netrc")
        parsed = netrc.netrc(None if os.path.abspath(path) == os.path.abspath(default) else str(path))
    except (netrc.NetrcParseError, OSError) as exc:
        problem = exc.msg if isinstance(exc, netrc.NetrcParseError) else str(exc)
        raise InputFileError(f"{path}: cannot read netrc file ({problem})",
                             "fix the file (chmod 600 if it is readable by others), or remove it") from None
    entry = parsed.authenticators(url.host)
    if entry is None:
        return None
    login, _account, password = entry
    if not password:
        return None
    if url.username is not None and login and login != url.username:
        return None
    return Credential(login or url.username or "", password, "netrc")


def _helper_input(url: RemoteURL, credential: Credential | None = None) -> str:
    host = url.host or ""
    if url.port is not None and url.port != DEFAULT_PORTS.get(url.scheme):
        host = f"{host}:{url.port}"
    lines = [f"protocol={url.scheme}", f"host={host}"]
    username = credential.username if credential is not None else url.username
    if username:
        lines.append(f"username={username}")
    if credential is not None:
        lines.append(f"password={credential.password}")
    for line in lines:
        # One value with a newline (or NUL) would add a key of its own to the helper's input.
        if any(char in line for char in "\r\n\0"):
            key = line.partition("=")[0]
            raise UsageError(f"the credential {key} for {url.redacted()} contains a newline or NUL byte",
                             "git credential helpers cannot be given such a value; check the URL and the credentials")
    return "\n".join(lines) + "\n\n"


def _helper_env(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a person at a terminal
    return env


def _run_git_credential(action: str, data: str, cwd: str | os.PathLike[str] | None,
                        environ: Mapping[str, str] | None) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, "credential", action], input=data, capture_output=True, text=True,
                              env=_helper_env(environ), cwd=cwd, timeout=HELPER_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def git_credential_fill(url: RemoteURL, *, cwd: str | os.PathLike[str] | None = None,
                        environ: Mapping[str, str] | None = None) -> Credential | None:
    """Ask git's configured credential helpers (``git credential fill``); None if none answers."""
    proc = _run_git_credential("fill", _helper_input(url), cwd, environ)
    if proc is None or proc.returncode != 0:
        return None
    values: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    if "password" not in values:
        return None
    return Credential(values.get("username", url.username or ""), values["password"], "git-credential")


def git_credential_approve(url: RemoteURL, credential: Credential, *, cwd: str | os.PathLike[str] | None = None,
                           environ: Mapping[str, str] | None = None) -> None:
    """Tell git's helpers that ``credential`` worked (they may store it)."""
    _run_git_credential("approve", _helper_input(url, credential), cwd, environ)


def git_credential_reject(url: RemoteURL, credential: Credential, *, cwd: str | os.PathLike[str] | None = None,
                          environ: Mapping[str, str] | None = None) -> None:
    """Tell git's helpers that ``credential`` was refused (they should forget it)."""
    _run_git_credential("reject", _helper_input(url, credential), cwd, environ)


def candidates(url: RemoteURL, *, cwd: str | os.PathLike[str] | None = None,
               environ: Mapping[str, str] | None = None) -> Iterator[Credential]:
    """Credentials to try after a 401, best first, each source consulted only when reached."""
    seen: set[tuple[str, str]] = set()
    lookups: list[Callable[[], Credential | None]] = [
        lambda: from_url(url), lambda: from_environment(url, environ),
        lambda: git_credential_fill(url, cwd=cwd, environ=environ), lambda: from_netrc(url, environ=environ)]
    for lookup in lookups:
        found = lookup()
        if found is not None and (found.username, found.password) not in seen:
            seen.add((found.username, found.password))
            yield found


def sources_hint() -> str:
    """Where brainvcs looks for HTTPS credentials, for error hints."""
    return (f"set {ENV_USERNAME} and {ENV_PASSWORD} (or {ENV_TOKEN}) with {ENV_HOSTS}=HOST, configure a "
            "git credential helper (git config --global credential.helper ...), or add a machine entry to ~/.netrc")
