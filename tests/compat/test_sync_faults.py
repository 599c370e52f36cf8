"""Sync under faults, a short run of benchmarks/torture_sync.py: 4 client processes learning and syncing
through a proxy that cuts connections mid-pack, with clients killed by SIGKILL at random instants. Afterwards
every learning a client acknowledged is on the remote exactly once and no counter delta was added twice."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import torture_sync

from .conftest import require


@pytest.mark.slow
def test_kills_and_dropped_connections_lose_and_double_nothing() -> None:
    require(shutil.which("git") is not None, "git is not installed")
    figures = torture_sync.run(clients=4, kills=25, drops=25, drop_rate=0.25, seed=7, max_seconds=600)
    assert figures.kills == 25 and figures.drops >= 25
    assert figures.learnings > 25 and figures.syncs_pushed_or_current > 0
    assert figures.converged
    assert figures.lost_learnings == 0 and figures.double_counted == 0


def test_the_proxy_really_cuts_connections() -> None:
    import socket
    import threading

    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(4)

    def serve() -> None:
        conn, _ = upstream.accept()
        conn.sendall(b"x" * 200_000)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    proxy = torture_sync.DroppingProxy(upstream.getsockname()[1], drop_rate=1.0, seed=1)
    try:
        with socket.create_connection(("127.0.0.1", proxy.port)) as client:
            received = 0
            while chunk := client.recv(65536):
                received += len(chunk)
        assert received < 200_000 and proxy.drops == 1
    finally:
        proxy.close()
        upstream.close()
