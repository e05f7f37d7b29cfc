"""Settings of the counterpart transports (README "Counterparts"): which transport carries
iWmo/iJw (and iEb, iPgb), and how outbound HTTP calls are retried. Read by every adapter that
reaches a counterpart."""

from __future__ import annotations

from typing import Annotated

from gateway.config import Section
from gateway.config_fields import AtLeast0, Count, Positive, check, one_of


class CounterpartSettings(Section):
    name = "counterparts"
    prefix = ""

    # "outbox" (files under var/outbox, the default), "ggk" (a gemeente, via the GGk) or
    # "vecozo" (an aanbieder).
    counterpart_transport: Annotated[str, check(one_of("outbox", "ggk", "vecozo"))] = "outbox"
    # Outbound HTTP calls: attempts in process, first wait and longest wait in seconds (the
    # longest wait also caps a counterpart's Retry-After), and the timeout of one call.
    http_attempts: Count = 3
    http_backoff: AtLeast0 = 0.5
    http_max_wait: AtLeast0 = 30.0
    http_timeout: Positive = 30.0
