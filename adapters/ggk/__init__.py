"""GGk (Gemeentelijk Gegevensknooppunt): the StUF-GGk envelope (ggk0210) on the gemeente side.

A gemeente reaches aanbieders (iWmo/iJw), the CAK (iEb) and the SVB (iPgb) through the GGk:
every iStandaarden file travels base64 inside an ``envelopHeenbericht-ggk_Di01`` or
``envelopRetourbericht-ggk_Du01``, routed on the ontvanger organisatie (CBS gemeentecode, AGB
code, ``SVB``, ``CAK``). Digikoppeling ebMS2 itself is done by an ebMS adapter in front of us
(e.g. ebms-core): we POST SOAP to it (``transport.py``) and it POSTs what arrives to
``/v1/ggk`` (``endpoint.py``). The adapter also owns the StUF 0301 foutberichten (Fo01) that
arrive over GGk and CORV, and the Fo01 (StUF055) we send when a payload fails its XSD (StUF058
when judging it failed on our side).
"""

from __future__ import annotations

from adapters.ggk.adapter import GgkAdapter
from adapters.ggk.channel import GgkChannel
from adapters.ggk.settings import GgkSettings
from adapters.shared.settings import CounterpartSettings
from gateway.config import Settings

settings_sections = (CounterpartSettings, GgkSettings)


def make_adapter(settings: Settings) -> tuple[GgkAdapter, GgkChannel]:
    """The StUF foutberichten (a standard) and the GGk (a channel)."""
    return GgkAdapter(settings), GgkChannel(settings)
