"""The review page for learning: a read-only ASGI app a brain service can mount (``brainvcs review`` serves it).

>>> from brainvcs.web import create_app      # doctest: +SKIP
>>> app = create_app("brain")                # an ASGI app: uvicorn.run(app), or mount it in FastAPI

Needs the optional extra ``brainvcs[review]`` (Starlette; uvicorn to serve it
on its own). See ``docs/review.md``.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
