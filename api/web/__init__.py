"""The web pages people use: the agent workspace, knowledge base, AI insights, evals and the
customer portal. Served by the API process (``autocrm serve``): server-rendered Jinja2 templates,
a little JavaScript, no build step, nothing fetched from a CDN.

Every page runs in the same per-request RLS session as the API (``api/deps.py``): a page shows what
the caller's database role may see and adds no access rules of its own. URL plan:

- ``/`` → the caller's home; ``/signin``, ``/signout`` (``signin.py``)
- ``/app/inbox``, ``/app/tickets/{number}`` — agents and admins (``workspace.py``)
- ``/app/kb…`` — knowledge base (``kb_pages.py``); ``/app/insights`` (``insights.py``);
  ``/app/evals…`` (``evals_pages.py``)
- ``/portal…`` — customers (``portal.py``)
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from autocrm.api.web.pages import fallback

STATIC_DIR = Path(__file__).parent / "static"
PAGE_MODULES = ("signin", "workspace", "portal", "kb_pages", "insights", "evals_pages")


def install(app: FastAPI) -> None:
    """Mount the static files and every page module that exists (each has a ``router``)."""
    router = APIRouter(include_in_schema=False)
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        router.include_router(module.router)
    router.include_router(fallback)  # last: an unknown page is a 404 page, not JSON
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
