"""iWmo 3.2 and iJw 3.2: toewijzingen, regieberichten, verzoeken, declaraties and their retours."""

from __future__ import annotations

from adapters.ggk.settings import GgkSettings
from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.refdata import load_refdata
from adapters.istandaarden.settings import IStandaardenSettings
from adapters.istandaarden.transport import make_routes
from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.settings import VecozoSettings
from gateway.config import Settings
from gateway.logs import get_logger

log = get_logger(__name__)

# Its transport may be the GGk's or VECOZO's (``counterpart_transport``, ``counterpart_routes``).
settings_sections = (IStandaardenSettings, CounterpartSettings, GgkSettings, VecozoSettings)


def make_adapter(settings: Settings) -> IStandaardenAdapter:
    """The adapter, with the external sources the settings name (``[istandaarden]`` table)."""
    files = IStandaardenSettings.of(settings)
    refdata = load_refdata(files.gemeentecodes, files.productcodes, files.tarieven)
    if refdata.missing:
        log.info("istandaarden.refdata_missing", rules_off=list(refdata.missing))
    return IStandaardenAdapter(make_routes(settings), refdata=refdata)
