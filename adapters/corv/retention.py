"""CORV retention: what the law asks of messages over CORV, as policies for the ledger.

The Regeling justitiële keteninformatisering Jeugdwet (art. 4) has CORV destroy each message
within 24 hours after it confirmed correct routing, and keep traffic data at most 6 months. A
gemeente's gateway holding CORV payloads follows the same rule: the payload is erased 24 hours
after delivery (the last activity of a settled message), the traffic data after 6 months.

Policies are written as the ledger's retention (issue #5, ``gateway/ledger/retention.py``)
reads them: ``<standard>:<payload|traffic>=<age>``, counted from the message's last activity.
"""

from __future__ import annotations

from adapters.corv.catalogue import STANDARD

PAYLOAD_AFTER_ROUTING = f"{STANDARD}:payload=24h"
TRAFFIC_DATA = f"{STANDARD}:traffic=6mo"
POLICIES: tuple[str, ...] = (PAYLOAD_AFTER_ROUTING, TRAFFIC_DATA)
