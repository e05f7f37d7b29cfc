"""CORV (JUBES): the StUF-koppelvlak Jeugdzorg 1.0.9 for a gemeente. Out: verzoek tot
onderzoek (vtoDi01) to the Raad voor de Kinderbescherming, Veilig Thuis terugkoppelingen
(zorgmeldingTerugkoppelingDi01, vtTerugkoppelingDi01). In: notificaties jeugdbescherming
(notificatieDi01) and jeugdreclassering (notificatiejrDi01), VT meldingen (zorgmeldingDi01,
vtMeldingDi01).
Both ways: the verrijkingsverzoeken vcobDi01/vciDi01 and their answers ucobDi01/uciDi01.
Foutberichten (Fo01) come back asynchronously. Payloads are erased 24 hours after routing
(``retention.py``). Digikoppeling ebMS2 itself is done by an ebMS adapter in front of us.
"""

from __future__ import annotations

from adapters.corv.adapter import CorvAdapter
from adapters.corv.channel import CorvChannel
from adapters.corv.settings import CorvSettings
from adapters.shared.settings import CounterpartSettings
from gateway.config import Settings

settings_sections = (CorvSettings, CounterpartSettings)


def make_adapter(settings: Settings) -> tuple[CorvAdapter, CorvChannel]:
    """StUF-Jeugdzorg (a standard) and CORV (a channel)."""
    return CorvAdapter(settings), CorvChannel(settings)
