"""The iEb 4.0 messages (in force since 7 April 2025). Codes and directions are documented;
the Vektis BerichtCodes of 4.0 are not public: 474-477 are OURS (iEb 1.0 used 470-473) and sit
in our XSDs, so replacing them is a change in ``schemas/ieb/4.0`` and here."""

from __future__ import annotations

from adapters.lib.istandaard.messages import Message

STANDARD = "ieb"
RELEASE = "4.0"
BERICHT_VERSIE, BERICHT_SUBVERSIE = "4", "0"

WMO405 = Message(STANDARD, RELEASE, "WMO405", "474", "Start en stop eigen bijdrage", "WMO406")
WMO406 = Message(
    STANDARD, RELEASE, "WMO406", "475", "Retour start en stop eigen bijdrage", is_retour=True
)
WMO407 = Message(STANDARD, RELEASE, "WMO407", "476", "Start en stop beschermd wonen", "WMO408")
WMO408 = Message(
    STANDARD, RELEASE, "WMO408", "477", "Retour start en stop beschermd wonen", is_retour=True
)
CATALOGUE = {m.code: m for m in (WMO405, WMO406, WMO407, WMO408)}
# the class under Client that holds the start/stop, per message
KLASSE = {
    "WMO405": "EigenBijdrage",
    "WMO406": "EigenBijdrage",
    "WMO407": "BeschermdWonen",
    "WMO408": "BeschermdWonen",
}
CAK = "CAK"
