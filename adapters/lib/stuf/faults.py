"""Error codes a gemeente can get back (Foutcodes ISD-keten 2.1 patch 04 rev. 3; StUF 0301) and
what each means for the message: the state recorded in the ledger, whether sending again can
help, and a sentence operations can act on.

- ``refused``: the message itself is wrong; fix it and send a new one.
- ``not-routed``: the chain cannot deliver it (authorisation, CPA, route, unknown party): a
  configuration matter with the Inlichtingenbureau, VECOZO or the counterpart; then replay.
- ``duplicate``: the reference was used before: usually a re-send of a message that did arrive.
- ``blocked``: the hub takes no messages of this type for now (release freeze): send again later.
- ``counterpart-error``: the other side failed (plek ``server``); may pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Meaning:
    state: str
    retry: bool
    text: str


_TABLE: dict[str, Meaning] = {
    "StUF055": Meaning("refused", False, "the payload does not match its XSD"),
    "StUF016": Meaning("duplicate", False, "zender and referentienummer were used before"),
    "IB002": Meaning("not-routed", False, "not authorised for this service (GGk samenwerking)"),
    "IB007": Meaning("refused", False, "the envelope is larger than 25 MB"),
    "IB009": Meaning("refused", False, "a reference is not a UUID v4"),
    "IB101": Meaning("not-routed", False, "no valid CPA with the GGk"),
    "IB102": Meaning("not-routed", False, "no route for this organisatie and berichttype"),
    "IB103": Meaning(
        "blocked", True, "the berichttype is blocked for now (release freeze): send again later"
    ),
    "IB210": Meaning("not-routed", False, "the ontvanger organisatie is unknown to the GGk"),
    "IB213": Meaning("not-routed", False, "the zender organisatie is unknown to the GGk"),
    "IB216": Meaning("duplicate", False, "zender and referentienummer were used before"),
    "IB234": Meaning("not-routed", False, "this functie is not allowed for the organisatie"),
    "IB240": Meaning("refused", False, "berichtcode and functie do not go together"),
    "IB798": Meaning("refused", False, "StUF version of the envelope is not supported"),
    "RIN001": Meaning("refused", False, "the envelope does not match the StUF-GGk XSD (RINIS)"),
    "BRS02": Meaning("not-routed", False, "VECOZO: the aanbieder lacks the role for this"),
    "BRS03": Meaning("not-routed", False, "VECOZO: no toestemmingsverklaring"),
    "BRS04": Meaning("not-routed", False, "VECOZO: no toestemmingsverklaring"),
    "BRS05": Meaning("not-routed", False, "VECOZO: AGB code not connected for Wmo/Jeugdwet"),
    "BRS06": Meaning("not-routed", False, "VECOZO: AGB code not connected for Wmo/Jeugdwet"),
    "CC02": Meaning("refused", False, "the payload does not match its XSD (VECOZO)"),
    "CC03": Meaning("refused", False, "the message is larger than 25 MB (VECOZO)"),
    "CC04": Meaning("refused", False, "a reference is not a UUID v4 (VECOZO)"),
    "CC06": Meaning("refused", False, "applicatie fields are empty (VECOZO)"),
    "CC08": Meaning("duplicate", False, "the reference UUID was used before (VECOZO)"),
    "CC11": Meaning("duplicate", False, "a declaratie-antwoord was delivered before (VECOZO)"),
}


def meaning(code: str, plek: str = "") -> Meaning:
    """What a foutcode means; unknown codes follow StUF's ``plek``: client = our message is
    wrong (refused), server = the other side failed (may pass)."""
    known = _TABLE.get(code)
    if known is not None:
        return known
    if plek == "server":
        return Meaning("counterpart-error", True, f"the counterpart failed ({code or 'no code'})")
    return Meaning("refused", False, f"the counterpart refused the message ({code or 'no code'})")
