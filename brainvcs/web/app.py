"""The review page's ASGI application (Starlette): JSON endpoints, the page, and opt-in write endpoints.

``create_app(repo)`` returns an app that serves, under whatever prefix it is
mounted at:

* ``GET /`` — the page (``static/index.html``; every asset ships in the
  package, nothing is fetched from a CDN);
* ``GET /api/overview``, ``/api/log``, ``/api/show/{rev}``, ``/api/diff``,
  ``/api/histogram``, ``/api/history``, ``/api/stats``, ``/api/value``,
  ``/api/merge-preview`` — read-only JSON, the same documents as the CLI's
  ``--json`` (built by :mod:`.queries`);
* ``POST /api/commit`` and ``POST /api/switch`` — only when the host passes
  ``write_token=`` (and, for commits, ``brain=`` returning the live brain);
  each request must carry ``Authorization: Bearer <token>``.

Errors a user can cause (an unknown revision, a bad path) answer 400/404 with
``{"error": ..., "hint": ...}``; a repository error is never a stack trace.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from ..api import Repository
from ..errors import BrainVCSError, PathNotFoundError, RevisionNotFoundError, UsageError
from ..query import history, stats
from . import queries

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as exc:  # pragma: no cover - exercised by the CLI's error path
    raise ImportError("the review page needs Starlette: pip install 'brainvcs[review]'") from exc

__all__ = ["create_app"]

Handler = Callable[[Request], Awaitable[Response]]


def _static_dir() -> str:
    return str(resources.files("brainvcs.web").joinpath("static"))


def _error(exc: BrainVCSError) -> JSONResponse:
    status = 404 if isinstance(exc, (RevisionNotFoundError, PathNotFoundError)) else 400
    return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=status)


class _Service:
    """One repository behind the endpoints; a lock keeps one request at a time on it."""

    def __init__(self, repo: Repository, write_token: str | None, brain: Callable[[], Any] | None) -> None:
        self.repo = repo
        self.lock = threading.Lock()
        self.write_token = write_token
        self.brain = brain

    def call(self, fn: Callable[[], Any]) -> Response:
        try:
            with self.lock:
                return JSONResponse(fn())
        except BrainVCSError as exc:
            return _error(exc)

    def authorized(self, request: Request) -> bool:
        if not self.write_token:
            return False
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.write_token}".encode())


def _arg(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else default


def _required(request: Request, name: str) -> str:
    value = _arg(request, name)
    if value is None:
        raise UsageError(f"missing query parameter {name!r}")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = _arg(request, name)
    try:
        value = default if text is None else int(text)
    except ValueError:
        raise UsageError(f"query parameter {name!r} must be an integer") from None
    return max(low, min(high, value))


def create_app(repo: Repository | str | os.PathLike[str], *, write_token: str | None = None,
               brain: Callable[[], Any] | None = None) -> Starlette:
    """The review app for ``repo`` (a Repository or a path); read-only unless ``write_token`` is given."""
    if not isinstance(repo, Repository):
        repo = Repository.open(repo)
    service = _Service(repo, write_token, brain)
    static = _static_dir()

    def endpoint(fn: Callable[[Request], Any]) -> Handler:
        async def handle(request: Request) -> Response:
            return service.call(lambda: fn(request))  # the service turns a BrainVCSError into its JSON answer
        return handle

    async def page(request: Request) -> Response:
        with open(os.path.join(static, "index.html"), encoding="utf-8") as f:
            return HTMLResponse(f.read(), headers={"Cache-Control": "no-store"})

    def log(request: Request) -> Any:
        revs = [r for r in request.query_params.getlist("rev") if r]
        return queries.log_json(service.repo, revs, _int(request, "max", queries.LOG_LIMIT, 1, 5000))

    def diff(request: Request) -> Any:
        limit = _int(request, "limit", 10, 0, 10_000)
        return queries.diff_json(service.repo, _arg(request, "a"), _arg(request, "b", "HEAD") or "HEAD",
                                 module=_arg(request, "module"), path=_arg(request, "path"),
                                 limit=limit or None)

    def write(fn: Callable[[Request, dict[str, Any]], Any]) -> Handler:
        async def handle(request: Request) -> Response:
            if not service.authorized(request):
                return JSONResponse({"error": "writing is not enabled or the token is wrong"}, status_code=403)
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return JSONResponse({"error": "the request body must be a JSON object"}, status_code=400)
            return service.call(lambda: fn(request, body))
        return handle

    def commit(request: Request, body: dict[str, Any]) -> Any:
        if service.brain is None:
            raise UsageError("this service did not give the review app a brain to commit")
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise UsageError("a commit needs a non-empty \"message\"")
        return service.repo.commit(service.brain(), message).to_json()

    def switch(request: Request, body: dict[str, Any]) -> Any:
        branch = body.get("branch")
        if not isinstance(branch, str):
            raise UsageError("a switch needs a \"branch\"")
        service.repo.switch(branch)
        return queries.overview_json(service.repo)

    routes = [
        Route("/", page),
        Route("/api/overview", endpoint(lambda r: queries.overview_json(service.repo))),
        Route("/api/log", endpoint(log)),
        Route("/api/show/{rev:path}", endpoint(lambda r: queries.show_json(service.repo, r.path_params["rev"]))),
        Route("/api/diff", endpoint(diff)),
        Route("/api/histogram", endpoint(lambda r: queries.histogram_json(
            service.repo, _arg(r, "a"), _arg(r, "b", "HEAD") or "HEAD"))),
        Route("/api/history", endpoint(lambda r: [p.to_json() for p in history(
            service.repo, _required(r, "path"), _arg(r, "rev", "HEAD") or "HEAD")])),
        Route("/api/stats", endpoint(lambda r: [row.to_json() for row in stats(
            service.repo, _arg(r, "rev", "HEAD") or "HEAD")])),
        Route("/api/value", endpoint(lambda r: queries.value_json(
            service.repo, _arg(r, "rev", "HEAD") or "HEAD", _required(r, "path")))),
        Route("/api/merge-preview", endpoint(lambda r: queries.merge_preview_json(
            service.repo, _required(r, "into"), _required(r, "from")))),
        Route("/api/commit", write(commit), methods=["POST"]),
        Route("/api/switch", write(switch), methods=["POST"]),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.repository = service.repo
    return app
