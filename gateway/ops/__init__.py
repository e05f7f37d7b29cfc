"""Operations: the query/replay/discard API, the failure dashboard, deadline monitoring,
metrics, identities and roles, the parking recorder and bulk replay (README, "Operations")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

if TYPE_CHECKING:
    from gateway.openapi import Contract


def mount(app: FastAPI, contract: Contract) -> None:
    """Add the operations API (``/v1/...``, ``/metrics``, documented by ``contract``) and the
    dashboard (``/ui``). Their routes find the gateway in ``app.state`` (``ops/runtime.py``)."""
    from gateway.ops import api, dashboard, monitor_web

    app.include_router(api.router(contract))
    app.include_router(monitor_web.router(contract))
    app.include_router(dashboard.ui)
    app.add_exception_handler(dashboard.SignIn, dashboard.sign_in)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", 303)
