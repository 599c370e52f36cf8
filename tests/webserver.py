"""Serving the review app for tests: the real CLI (``brainvcs review``) or any ASGI app on a uvicorn thread."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

_URL = re.compile(r"http://127\.0\.0\.1:\d+/\S*")


@contextmanager
def review_cli(repo: Path, *args: str) -> Iterator[str]:
    """Run ``brainvcs review --no-browser`` on ``repo``; yield the address it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "brainvcs", "-C", str(repo), "review", "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = _URL.search(line)
        assert match, f"brainvcs review printed {line!r}"
        _wait(match.group(0))
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free 127.0.0.1 port in a thread; yield its base address."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        _wait(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # the server answered
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def get_json(url: str) -> tuple[int, Any]:
    """``(status, body)`` of a GET answering JSON."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_json(url: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    """``(status, body)`` of a JSON POST, with a bearer token if given."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
