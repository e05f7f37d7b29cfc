"""How iWmo/iJw messages reach a counterpart: the GGk (a gemeente's), VECOZO (an aanbieder's)
or, when neither is configured, the core's outbox (one folder per party code under
``var/outbox/``). One channel for all (setting ``counterpart_transport``), or, for an aanbieder
serving many gemeenten, a channel per gemeente (``counterpart_routes``) with that as default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.ggk.channel import GgkChannel
from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.channel import VecozoChannel
from gateway.adapter import Transport


@dataclass(frozen=True)
class Routes:
    """The transport per counterpart party code; ``default`` for a party not named (None: the
    core's outbox)."""

    default: Transport | None
    by_party: Mapping[str, Transport | None] = field(default_factory=dict)

    def to(self, party: str) -> Transport | None:
        return self.by_party.get(party, self.default)


def make_routes(settings: Any) -> Routes:
    counterparts = CounterpartSettings.of(settings)
    made: dict[str, Transport | None] = {}  # one transport per channel, shared by its parties

    def channel(name: str) -> Transport | None:
        if name not in made:
            if name == "ggk":
                made[name] = GgkChannel(settings).transport()
            elif name == "vecozo":
                made[name] = VecozoChannel(settings).transport()
            else:
                made[name] = None  # the core's outbox
        return made[name]

    default = channel(counterparts.counterpart_transport)
    by_party = {party: channel(name) for party, name in counterparts.routes().items()}
    return Routes(default, by_party)
