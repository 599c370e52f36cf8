"""Fixtures for interop tests against real git servers on 127.0.0.1.

Each server fixture is session-scoped: it starts the first time a test asks
for it and stops at the end of the session.  A program a test needs that is
not installed is a failure, here as under CI: a skip would report the interop
as tested when it was not. ``bash scripts/test.sh`` run as root installs them
(``.ci/apt-packages.txt``); to leave these tests out on purpose, run pytest
with ``--ignore=tests/compat``.
"""

from __future__ import annotations

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


def require(ok: bool, message: str) -> None:
    """Go on when ``ok``; else fail, saying how to install what is missing (never a skip)."""
    if not ok:
        pytest.fail(f"{message}: install .ci/apt-packages.txt (`bash scripts/test.sh` as root does), "
                    "or leave the interop tests out with --ignore=tests/compat", pytrace=False)


def require_server(server_class: type[GitServer]) -> None:
    """Fail when ``server_class`` cannot run here."""
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
