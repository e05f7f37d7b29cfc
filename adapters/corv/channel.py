"""CORV as a channel: what we send goes over the ebMS adapter (``transport.py``, or the outbox
while no ``corv_url`` is set); what JUBES brings is POSTed to ``/v1/corv`` (``endpoint.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.corv.transport import make_transport
from gateway.adapter import Context, Transport

if TYPE_CHECKING:
    from fastapi import APIRouter


class CorvChannel:
    name = "corv"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def transport(self) -> Transport | None:
        return make_transport(self.settings)

    def router(self, context: Context) -> APIRouter:
        from adapters.corv.endpoint import make_router

        return make_router(context)
