"""VECOZO: the aanbieder side of iWmo/iJw (submit and fetch).

An aanbieder sends its iWmo/iJw messages to VECOZO (berichtuitwisseling: REST push v1, or the
SOAP ``IndienenBericht`` of berichtuitwisseling v3) and fetches what gemeenten sent it (REST
pull v1: list, download, confirm). The payload is a ZIP holding exactly one XML file. VECOZO
routes to the GGk and the gemeente. This is a channel: it owns no messages; it is loaded
for its poller, and carries iWmo/iJw when ``counterpart_transport = "vecozo"``.
"""

from __future__ import annotations

from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.channel import VecozoChannel
from adapters.vecozo.settings import VecozoSettings
from gateway.config import Settings

settings_sections = (CounterpartSettings, VecozoSettings)


def make_adapter(settings: Settings) -> VecozoChannel:
    return VecozoChannel(settings)
