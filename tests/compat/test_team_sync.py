"""A team on a real server: 4 clients x 25 rounds of learn -> commit -> sync, running concurrently, against
git daemon and git http-backend (behind nginx with basic auth). Every clone ends with the remote's brain,
equal to what the team learned: no learning lost, none counted twice (tests/teamsync.py)."""

from __future__ import annotations

import random
import sys
import threading
from pathlib import Path

import pytest

from brainvcs.remote import ops

from . import remote_checks as checks
from .gitservers import GitDaemonServer, HttpGitServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from teamsync import Ledger, check_converged, learn, seed_remote, settle, sync_until_pushed  # noqa: E402

CLIENTS = 4
ROUNDS = 25


def _team(url: str, root: Path) -> None:
    seed_remote(url, root)
    clients = [ops.clone(url, root / f"client{i}") for i in range(CLIENTS)]
    ledger = Ledger(lock=threading.Lock())
    errors: list[BaseException] = []

    def work(index: int) -> None:
        rng = random.Random(index)
        try:
            for step in range(ROUNDS):
                learn(clients[index], index, step, rng, ledger)
                sync_until_pushed(clients[index], rounds=100)
        except BaseException as exc:  # reported below, with the client's number
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=900)
        assert not errors, errors
        settle(clients)
        state = check_converged(clients, url, ledger)
        assert len(state["memory"]["episodes"]) == 1 + CLIENTS * ROUNDS
    finally:
        for repo in clients:
            repo.close()


@pytest.mark.slow
def test_team_converges_over_git_daemon(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    _team(git_daemon_server.create_repo(checks.unique_name("team")), tmp_path)


@pytest.mark.slow
def test_team_converges_over_http(http_git_server: HttpGitServer, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINVCS_USERNAME", http_git_server.username)
    monkeypatch.setenv("BRAINVCS_PASSWORD", http_git_server.password)
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", "127.0.0.1")
    name = checks.unique_name("team")
    url = http_git_server.create_repo(name)
    _team(http_git_server.url_for(name, with_credentials=False) if "@" in url else url, tmp_path)
