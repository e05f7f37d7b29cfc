"""Rules of the GGk envelope beyond its XSD: an envelope with findings does not go (outbound) or
was not as the specification says (inbound). Rule ids (GGK01-05) are ours; the code is the
ISD-keten foutcode the GGk answers the same fault with (``adapters/lib/stuf/faults.py``).

- The whole envelope is at most 25 MB (GGK01, IB007).
- ``referentienummer`` (GGK02) and a Du01's ``crossRefnummer`` (GGK03) are UUID v4 (IB009; our
  XSD checks the pattern).
- zender and ontvanger organisatie are a gemeentecode, an AGB code or a fixed name (GGK04).
- ``ontvanger.applicatie`` is ``GGk`` (GGK05).
- A Du01 answers a Di01: it carries the Di01's referentienummer as crossRefnummer.
"""

from __future__ import annotations

from adapters.ggk.codec import MAX_ENVELOPE_BYTES, GgkEnvelope
from adapters.ggk.routing import GGK_APPLICATIE, RoutingError, kind_of
from adapters.lib.refs import is_uuid4
from gateway.adapter import Finding

_SG = "stuurgegevens"


def check(envelope: GgkEnvelope, size: int) -> list[Finding]:
    """The envelope's findings (empty: it may go)."""
    found = []
    sg = envelope.stuurgegevens
    if size > MAX_ENVELOPE_BYTES:
        text = f"the envelope is {size} bytes; the GGk takes at most {MAX_ENVELOPE_BYTES}"
        found.append(Finding("GGK01", "IB007", "", text))
    if not is_uuid4(sg.referentienummer):
        text = "referentienummer is not a UUID v4"
        found.append(Finding("GGK02", "IB009", f"{_SG}/referentienummer", text))
    if sg.berichtcode == "Du01" and not is_uuid4(sg.cross_ref):
        text = "crossRefnummer is not a UUID v4"
        found.append(Finding("GGK03", "IB009", f"{_SG}/crossRefnummer", text))
    for role, systeem in (("zender", sg.zender), ("ontvanger", sg.ontvanger)):
        try:
            kind_of(systeem.organisatie)
        except RoutingError as exc:
            found.append(Finding("GGK04", "", f"{_SG}/{role}/organisatie", f"{role}: {exc}"))
    if sg.ontvanger.applicatie != GGK_APPLICATIE:
        text = f"ontvanger applicatie must be {GGK_APPLICATIE}"
        found.append(Finding("GGK05", "", f"{_SG}/ontvanger/applicatie", text))
    return found
