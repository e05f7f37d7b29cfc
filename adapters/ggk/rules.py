"""Rules of the GGk envelope beyond its XSD (``Finding``-free: an envelope either goes or not).

- The whole envelope is at most 25 MB (IB007/CC03).
- ``referentienummer`` and ``crossRefnummer`` are UUID v4 (IB009/CC04; our XSD checks the pattern).
- zender and ontvanger organisatie are a gemeentecode, an AGB code or a fixed name.
- ``ontvanger.applicatie`` is ``GGk``.
- A Du01 answers a Di01: it carries the Di01's referentienummer as crossRefnummer.
"""

from __future__ import annotations

from adapters.ggk.codec import MAX_ENVELOPE_BYTES, GgkEnvelope
from adapters.ggk.mapping import GGK_APPLICATIE, RoutingError, kind_of
from adapters.lib.refs import is_uuid4


def problems(envelope: GgkEnvelope, size: int) -> list[str]:
    """Why an envelope may not go (outbound) or was not as the specification says (inbound)."""
    found = []
    sg = envelope.stuurgegevens
    if size > MAX_ENVELOPE_BYTES:
        found.append(f"the envelope is {size} bytes; the GGk takes at most {MAX_ENVELOPE_BYTES}")
    if not is_uuid4(sg.referentienummer):
        found.append("referentienummer is not a UUID v4")
    if sg.berichtcode == "Du01" and not is_uuid4(sg.cross_ref):
        found.append("crossRefnummer is not a UUID v4")
    for role, systeem in (("zender", sg.zender), ("ontvanger", sg.ontvanger)):
        try:
            kind_of(systeem.organisatie)
        except RoutingError as exc:
            found.append(f"{role}: {exc}")
    if sg.ontvanger.applicatie != GGK_APPLICATIE:
        found.append(f"ontvanger applicatie must be {GGK_APPLICATIE}")
    return found
