"""How iWmo/iJw messages reach a counterpart (setting ``counterpart_transport``): the GGk (a
gemeente), VECOZO (an aanbieder) or, when neither is configured, the core's outbox (one folder
per party code under ``var/outbox/``)."""

from __future__ import annotations

from typing import Any

from adapters.ggk.channel import GgkChannel
from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.channel import VecozoChannel
from gateway.adapter import Transport


def make_transport(settings: Any) -> Transport | None:
    chosen = CounterpartSettings.of(settings).counterpart_transport
    if chosen == "ggk":
        return GgkChannel(settings).transport()
    if chosen == "vecozo":
        return VecozoChannel(settings).transport()
    return None  # the core's outbox
