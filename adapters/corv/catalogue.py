"""The StUF-koppelvlak Jeugdzorg 1.0.9 messages Ketenpoort handles for a gemeente.

| functie | what | direction |
|---|---|---|
| ``vtoDi01`` | verzoek tot onderzoek (VTO) | gemeente -> RvdK |
| ``notificatieDi01`` | notificatie jeugdbescherming (intake, onderzoek) | RvdK -> gemeente |
| ``notificatiejrDi01`` | notificatie jeugdreclassering | AICE/CJIB or RvdK -> gemeente |
| ``zorgmeldingDi01`` | VT melding (formerly zorgformulier politie) | politie, Halt -> gemeente |

Foutberichten and bevestigingen (Fo01, Fo03, Bv01, Bv03) are StUF 0301 messages (the ``ggk``
adapter identifies them). Not handled: zorgmeldingTerugkoppelingDi01, the Veilig Thuis
verrijkingsverzoeken (vcob/ucob/vci/uci) and generieke meldingen (see README, Counterparts).
"""

from __future__ import annotations

from pathlib import Path

from schemas import schema_root

STANDARD = "corv"
VERSION = "1.0.9"
JZ = "http://www.stufstandaarden.nl/koppelvlak/jz0100"
ZKN = "http://www.egem.nl/StUF/sector/zkn/0310"
BG = "http://www.egem.nl/StUF/sector/bg/0310"
XMIME = "http://www.w3.org/2005/05/xmlmime"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

OUTBOUND = ("vtoDi01",)
INBOUND = ("notificatieDi01", "notificatiejrDi01", "zorgmeldingDi01")
FUNCTIES = OUTBOUND + INBOUND
# SOAP actions as the koppelvlak's WSDLs write them: without a scheme (a quirk of 1.0.9).
SOAP_ACTION = "www.stufstandaarden.nl/koppelvlak/jz0100/{functie}"


def schema_path() -> Path:
    return Path(str(schema_root() / STANDARD / VERSION / "jz.xsd"))
