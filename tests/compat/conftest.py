"""Fixtures for interop tests against real git servers on 127.0.0.1.

Each server fixture is session-scoped: it starts the first time a test asks
for it and stops at the end of the session.  A fixture skips only when its
programs are not installed on a developer's machine; under CI (``CI`` set to
a true value) a missing program is an error, because ``.ci/apt-packages.txt``
is supposed to install it and a skip would hide that it did not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .gitservers import (
    GitDaemonServer,
    GitServer,
    HttpGitServer,
    SshGitServer,
    git_client_env,
)


def _in_ci() -> bool:
    """Whether we run under CI, where every server must be available."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(ok: bool, message: str) -> None:
    """Go on when ``ok``; else skip on a developer's machine, and fail under CI.

    The only skip in the compat tests: CI installs every program they need
    (``.ci/apt-packages.txt``) on Linux, so there a missing one is a failure.
    """
    if ok:
        return
    if not _in_ci():
        pytest.skip(message)
    pytest.fail(message + " — CI must install .ci/apt-packages.txt on Linux", pytrace=False)


def require_server(server_class: type[GitServer]) -> None:
    """Skip (or fail under CI) when ``server_class`` cannot run here."""
    ok, why = server_class.available()
    require(ok, f"{server_class.__name__} unavailable: {why}")


@pytest.fixture(scope="session")
def http_git_server() -> Iterator[HttpGitServer]:
    """nginx + fcgiwrap + git http-backend with basic auth, for the whole session."""
    require_server(HttpGitServer)
    with HttpGitServer() as server:
        yield server


@pytest.fixture(scope="session")
def ssh_git_server() -> Iterator[SshGitServer]:
    """sshd with a pinned host key and a generated client key, for the whole session."""
    require_server(SshGitServer)
    with SshGitServer() as server:
        yield server


@pytest.fixture(scope="session")
def git_daemon_server() -> Iterator[GitDaemonServer]:
    """git daemon (git://, anonymous push), for the whole session."""
    require_server(GitDaemonServer)
    with GitDaemonServer() as server:
        yield server


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """Environment for C git with a private HOME, a test identity and no prompts."""
    return git_client_env(tmp_path / "home")
