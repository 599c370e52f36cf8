"""``brainvcs review``: serve the review app on 127.0.0.1 with uvicorn and open it in a browser.

The socket is bound here (port 0: a free port the system picks), so the
printed address is the one being served before the first request arrives.
The server is read-only: :func:`~.app.create_app` gets no write token.
"""

from __future__ import annotations

import socket
import urllib.parse
import webbrowser
from collections.abc import Callable

from ..api import Repository
from ..errors import UsageError

__all__ = ["review_url", "serve"]


def review_url(host: str, port: int, rev: str | None) -> str:
    """The page's address (with ``?rev=REV`` when a revision is to be shown first)."""
    query = f"?{urllib.parse.urlencode({'rev': rev})}" if rev else ""
    return f"http://{host}:{port}/{query}"


def serve(repo: Repository, *, port: int = 0, open_browser: bool = True, rev: str | None = None,
          announce: Callable[[str], None] = print) -> None:
    """Serve the review page for ``repo`` until interrupted (Ctrl-C)."""
    try:
        import uvicorn

        from .app import create_app
    except ImportError:
        raise UsageError("brainvcs review needs uvicorn and starlette, which are not installed",
                         "pip install 'brainvcs[review]'") from None

    if rev is not None:
        repo.resolve(rev)  # an unknown revision is an error now, not a blank page later
    host = "127.0.0.1"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections made as soon as the address is printed wait in the backlog
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror})", "pick another --port, or 0 for any") from None
    url = review_url(host, sock.getsockname()[1], rev)
    announce(f"Reviewing {repo.gitdir or 'the repository'} at {url}  (Ctrl-C to stop)")
    config = uvicorn.Config(create_app(repo), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if open_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
