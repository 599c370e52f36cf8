"""The review page for learning: a read-only ASGI app a brain service can mount (``brainvcs review`` serves it).

>>> from brainvcs.web import create_app      # doctest: +SKIP
>>> app = create_app("brain")                # an ASGI app: uvicorn.run(app), or mount it in FastAPI

Needs the optional extra ``brainvcs[review]`` (Starlette; uvicorn to serve it
on its own). See ``docs/review.md``. The app is imported on first use, so
``brainvcs.web.serve`` can say what to install when the extra is missing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app``, imported from :mod:`.app` when first asked for."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
