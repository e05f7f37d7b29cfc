"""How iWmo/iJw messages reach a counterpart: the GGk (a gemeente), VECOZO (an aanbieder) or,
when neither is configured, the outbox (one folder per party code). See
``adapters/shared/counterparts.py`` and the setting ``counterpart_transport``.
"""

from __future__ import annotations

from adapters.shared.counterparts import counterpart_transport
from gateway.adapter import Transport
from gateway.config import Settings


def make_transport(settings: Settings) -> Transport:
    return counterpart_transport(settings)
