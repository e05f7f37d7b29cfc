"""CORV retention: what the law asks of messages over CORV, as policies for the ledger.

The Regeling justitiële keteninformatisering Jeugdwet (art. 4) has CORV destroy each message
within 24 hours after it confirmed correct routing, and keep traffic data at most 6 months. A
gemeente's gateway holding CORV payloads follows the same rule: the payload is erased 24 hours
after delivery (the last activity of a settled message), the traffic data after 6 months.

The foutberichten and bevestigingen CORV carries (Fo01, Fo03, Bv01, Bv03) are StUF 0301
messages, identified by the ``ggk`` adapter as standard ``stuf``, and a Fo01 may hold the
original message (with its BSNs) in ``detailsXML``. They fall under the same rule through a
party: every StUF message from or to our organisatie as JUBES knows it (``corv_organisatie``,
an OIN; on the GGk we are the CBS gemeentecode, so GGk foutberichten are not touched).

Policies are written as the ledger's retention (issue #5, ``gateway/ledger/retention.py``)
reads them: ``<standard>[@<party>]:<payload|traffic>=<age>``, counted from the message's last
activity.
"""

from __future__ import annotations

import re

from adapters.corv.catalogue import STANDARD

STUF_STANDARD = "stuf"  # the ggk adapter's standard for StUF 0301 Fo01/Fo03/Bv01/Bv03
PAYLOAD_AGE, TRAFFIC_AGE = "24h", "6mo"
PAYLOAD_AFTER_ROUTING = f"{STANDARD}:payload={PAYLOAD_AGE}"
TRAFFIC_DATA = f"{STANDARD}:traffic={TRAFFIC_AGE}"
POLICIES: tuple[str, ...] = (PAYLOAD_AFTER_ROUTING, TRAFFIC_DATA)
_PARTY = re.compile(r"^[A-Za-z0-9_.-]+$")


def policies(organisatie: str) -> tuple[str, ...]:
    """The CORV policies for a gemeente known to JUBES as ``organisatie``: the CORV messages,
    and the StUF foutberichten and bevestigingen from or to that organisatie."""
    if not organisatie:
        return POLICIES
    if not _PARTY.match(organisatie):
        raise ValueError(
            f"corv_organisatie {organisatie!r} cannot name a retention party "
            "(letters, digits, '_', '.', '-')"
        )
    return (
        *POLICIES,
        f"{STUF_STANDARD}@{organisatie}:payload={PAYLOAD_AGE}",
        f"{STUF_STANDARD}@{organisatie}:traffic={TRAFFIC_AGE}",
    )
