"""The GGk as a channel: what a gemeente sends goes over the ebMS adapter (``transport.py``);
what the GGk brings is POSTed to ``/v1/ggk`` (``endpoint.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.ggk.transport import GgkTransport
from adapters.shared.settings import CounterpartSettings
from gateway.adapter import Context, Transport

if TYPE_CHECKING:
    from fastapi import APIRouter


class GgkChannel:
    name = "ggk"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def transport(self) -> Transport:
        return GgkTransport.from_settings(self.settings)

    def router(self, context: Context) -> APIRouter:
        from adapters.ggk.endpoint import make_router

        return make_router(context)


def ggk_if_configured(settings: Any) -> Transport | None:
    """The transport for what only the GGk carries (iEb to the CAK, iPgb to the SVB, our Fo01):
    the GGk when a gemeente configured it (``counterpart_transport = "ggk"``), else None (the
    core's outbox, ``var/outbox/<party>/``)."""
    if CounterpartSettings.of(settings).counterpart_transport == "ggk":
        return GgkChannel(settings).transport()
    return None
