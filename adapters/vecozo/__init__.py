"""VECOZO: the aanbieder side of iWmo/iJw (submit and fetch).

An aanbieder sends its iWmo/iJw messages to VECOZO (berichtuitwisseling: REST push v1, or the
SOAP ``IndienenBericht`` of berichtuitwisseling v3) and fetches what gemeenten sent it (REST
pull v1: list, download, confirm). The payload is a ZIP holding exactly one XML file. VECOZO
routes to the GGk and the gemeente. This is a transport adapter: it owns no messages; it is
loaded for its transport (``counterpart_transport = "vecozo"``) and its poller.
"""

from __future__ import annotations

from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.adapter import VecozoAdapter
from adapters.vecozo.settings import VecozoSettings
from gateway.config import Settings

settings_sections = (CounterpartSettings, VecozoSettings)


def make_adapter(settings: Settings) -> VecozoAdapter:
    return VecozoAdapter(settings)
