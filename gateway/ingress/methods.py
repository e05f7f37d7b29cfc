"""A 405 answer whose ``Allow`` names every method the path takes.

Starlette answers a method a path does not take from the first route whose path matched, so
with ``GET`` and ``POST`` of one path in two routes it would name only one of them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import Match


def methods_of(app: FastAPI, request: Request) -> list[str]:
    """The methods of every route whose path matches the request's."""
    methods: set[str] = set()
    for route in app.router.routes:
        taken = getattr(route, "methods", None)
        if taken and route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(taken)
    return sorted(methods)


def allow_all_methods(app: FastAPI) -> None:
    """Answer 405 with the path's methods, other HTTP errors as FastAPI does."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = ", ".join(methods_of(app, request))
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, handler)
