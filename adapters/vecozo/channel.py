"""VECOZO as a channel (the aanbieder side): what we send is submitted (``transport.py``), what
gemeenten sent us is fetched by a poller (``poller.py``). It owns no messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.shared.http import HttpPolicy
from adapters.vecozo.settings import VecozoSettings
from adapters.vecozo.transport import VecozoTransport
from gateway.adapter import Context, Poller, Transport


class VecozoChannel:
    name = "vecozo"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def transport(self) -> Transport:
        return VecozoTransport.from_settings(self.settings)

    def pollers(self, context: Context) -> Sequence[Poller]:
        settings = self.settings
        vecozo = VecozoSettings.of(settings)
        if not vecozo.pull_url:
            return []
        from adapters.vecozo.poller import VecozoPoller

        poller = VecozoPoller(
            context,
            pull_url=vecozo.pull_url,
            cert=vecozo.cert,
            key=vecozo.key,
            ca=vecozo.ca,
            policy=HttpPolicy.from_settings(settings),
        )
        return [("vecozo-pull", lambda stop: poller.run(stop, vecozo.poll_interval))]
