"""Settings of the counterpart transports (README "Counterparts"): which transport carries
iWmo/iJw (and iEb, iPgb), and how outbound HTTP calls are retried. Read by every adapter that
reaches a counterpart."""

from __future__ import annotations

from typing import Annotated

from gateway.config import Section
from gateway.config_fields import AtLeast0, Count, Names, Positive, check, each, one_of

CHANNELS = ("outbox", "ggk", "vecozo")


def _route(entry: str) -> str | None:
    party, sep, channel = entry.partition("=")
    if not sep or not party.strip():
        return "must be <party code>=<channel>, e.g. 0363=ggk"
    if channel.strip() not in CHANNELS:
        return "names no channel: " + ", ".join(repr(c) for c in CHANNELS)
    return None


class CounterpartSettings(Section):
    name = "counterparts"
    prefix = ""

    # "outbox" (files under var/outbox, the default), "ggk" (a gemeente, via the GGk) or
    # "vecozo" (an aanbieder).
    counterpart_transport: Annotated[str, check(one_of(*CHANNELS))] = "outbox"
    # An aanbieder serving many gemeenten: the channel per counterpart, "<gemeentecode>=<channel>"
    # (e.g. "0363=ggk, 0599=vecozo"); a party not named goes by ``counterpart_transport``.
    counterpart_routes: Annotated[Names, check(each(_route))] = ()
    # Outbound HTTP calls: attempts in process, first wait and longest wait in seconds (the
    # longest wait also caps a counterpart's Retry-After), and the timeout of one call.
    http_attempts: Count = 3
    http_backoff: AtLeast0 = 0.5
    http_max_wait: AtLeast0 = 30.0
    http_timeout: Positive = 30.0

    def routes(self) -> dict[str, str]:
        """Party code -> channel, as ``counterpart_routes`` names them."""
        pairs = (entry.partition("=") for entry in self.counterpart_routes)
        return {party.strip(): channel.strip() for party, _, channel in pairs}

    def uses(self, channel: str) -> bool:
        """Whether some counterpart is reached through ``channel`` (by default or by a route)."""
        return channel == self.counterpart_transport or channel in self.routes().values()
