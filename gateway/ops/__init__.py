"""Operations: the query/replay/discard API, the failure dashboard, deadline monitoring,
metrics, identities and roles, the parking recorder and bulk replay (README, "Operations")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

if TYPE_CHECKING:
    from gateway.app import Gateway


def mount(app: FastAPI, gateway: Gateway) -> None:
    """Add the operations API (``/v1/...``, ``/metrics``) and the dashboard (``/ui``)."""
    from gateway.ops import api, dashboard

    app.include_router(api.router(gateway))
    app.include_router(dashboard.router(gateway))
    app.add_exception_handler(dashboard.SignIn, dashboard.sign_in)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", 303)
