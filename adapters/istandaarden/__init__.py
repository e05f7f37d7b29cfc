"""iWmo 3.2 and iJw 3.2: toewijzingen, regieberichten, verzoeken, declaraties and their retours."""

from __future__ import annotations

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.transport import make_transport
from gateway.config import Settings


def make_adapter(settings: Settings) -> IStandaardenAdapter:
    return IStandaardenAdapter(make_transport(settings))
