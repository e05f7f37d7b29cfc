"""The StUF-koppelvlak Jeugdzorg 1.0.9 messages Ketenpoort handles for a gemeente (and the
Veilig Thuis it organises).

| functie | what | direction |
|---|---|---|
| ``vtoDi01`` | verzoek tot onderzoek (VTO) | gemeente -> RvdK |
| ``notificatieDi01`` | notificatie jeugdbescherming (intake, onderzoek) | RvdK -> gemeente |
| ``notificatiejrDi01`` | notificatie jeugdreclassering | AICE/CJIB or RvdK -> gemeente |
| ``zorgmeldingDi01`` | VT melding (formerly zorgformulier politie) | politie, Halt -> gemeente |
| ``vtMeldingDi01`` | VT melding (incident, zorgelijke situatie) | politie, Halt -> gemeente |
| ``zorgmeldingTerugkoppelingDi01`` | terugkoppeling on a zorgmelding | VT -> politie, Halt |
| ``vtTerugkoppelingDi01`` | VT terugkoppeling (status, uitkomst) | VT -> politie, Halt |
| ``vcobDi01`` / ``ucobDi01`` | verzoek check op bekendheid / uitslag | VT <-> ketenpartners |
| ``vciDi01`` / ``uciDi01`` | verzoek casus informatie / uitkomst | VT <-> ketenpartners |

Foutberichten and bevestigingen (Fo01, Fo03, Bv01, Bv03) are StUF 0301 messages (the ``ggk``
adapter identifies them). Not handled: the generieke meldingen (meldingGeneriekDi01,
uitkomstMeldingGeneriekDi01), whose parties the facts do not name (see README, Counterparts).
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

# the Veilig Thuis verrijkingsverzoeken go both ways: VT asks ketenpartners and answers them
VERRIJKING = ("vcobDi01", "ucobDi01", "vciDi01", "uciDi01")
OUTBOUND = ("vtoDi01", "zorgmeldingTerugkoppelingDi01", "vtTerugkoppelingDi01", *VERRIJKING)
INBOUND = ("notificatieDi01", "notificatiejrDi01", "zorgmeldingDi01", "vtMeldingDi01", *VERRIJKING)
FUNCTIES = tuple(dict.fromkeys(OUTBOUND + INBOUND))
# an uitslag or uitkomst answers a verzoek: its stuurgegevens carry the verzoek's
# referentienummer as crossRefnummer
ANSWERS = {"ucobDi01": "vcobDi01", "uciDi01": "vciDi01"}
# SOAP actions as the koppelvlak's WSDLs write them: without a scheme (a quirk of 1.0.9).
SOAP_ACTION = "www.stufstandaarden.nl/koppelvlak/jz0100/{functie}"


def schema_path() -> Path:
    return Path(str(schema_root() / STANDARD / VERSION / "jz.xsd"))
