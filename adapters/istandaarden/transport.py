"""How iWmo/iJw messages reach a counterpart.

Until the GGk (gemeente side) and VECOZO (aanbieder side) transports land (issue #6), a
delivery to a counterpart is written to the outbox, one folder per party code.
"""

from __future__ import annotations

from gateway.adapter import Transport
from gateway.config import Settings
from gateway.delivery import OutboxTransport


def make_transport(settings: Settings) -> Transport:
    return OutboxTransport(settings.outbox_dir)
