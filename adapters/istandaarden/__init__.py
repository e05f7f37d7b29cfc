"""iWmo 3.2 and iJw 3.2: toewijzingen, regieberichten, verzoeken, declaraties and their retours."""

from __future__ import annotations

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.refdata import refdata_from_settings
from adapters.istandaarden.transport import make_transport
from gateway.config import Settings
from gateway.logs import get_logger

log = get_logger(__name__)


def make_adapter(settings: Settings) -> IStandaardenAdapter:
    """The adapter, with the external sources the settings name (``[istandaarden]`` table)."""
    refdata = refdata_from_settings(settings.extra)
    if refdata.missing:
        log.info("istandaarden.refdata_missing", rules_off=list(refdata.missing))
    return IStandaardenAdapter(make_transport(settings), refdata=refdata)
