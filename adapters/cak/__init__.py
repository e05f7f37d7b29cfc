"""CAK: Wmo eigen bijdrage (iEb 4.0): start/stop per person of the abonnementstarief (WMO405)
and of beschermd wonen (WMO407), and the CAK's retours (WMO406, WMO408).

The gemeente's back-office does not send these: the adapter derives them from the toewijzingen
(WMO301) or the start/stop messages (WMO305/307) that pass the gateway (``derive.py``), per
person, not per voorziening. They travel over the GGk to organisatie ``CAK``.
"""

from __future__ import annotations

from adapters.cak.adapter import CakAdapter
from adapters.cak.settings import CakSettings
from adapters.ggk.settings import GgkSettings
from adapters.shared.settings import CounterpartSettings
from gateway.config import Settings

settings_sections = (CakSettings, CounterpartSettings, GgkSettings)


def make_adapter(settings: Settings) -> CakAdapter:
    return CakAdapter(settings)
