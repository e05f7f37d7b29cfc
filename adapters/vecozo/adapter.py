"""The VECOZO transport adapter: owns no messages; brings the poller that fetches ours."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from adapters.shared.base import TransportAdapter
from adapters.shared.http import HttpPolicy
from adapters.vecozo.settings import VecozoSettings


class VecozoAdapter(TransportAdapter):
    name = "vecozo"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def pollers(self, gateway: Any) -> Sequence[tuple[str, Callable[[threading.Event], None]]]:
        settings = self.settings
        vecozo = VecozoSettings.of(settings)
        if not vecozo.pull_url:
            return []
        from adapters.vecozo.poller import VecozoPoller

        poller = VecozoPoller(
            gateway,
            pull_url=vecozo.pull_url,
            cert=vecozo.cert,
            key=vecozo.key,
            ca=vecozo.ca,
            policy=HttpPolicy.from_settings(settings),
        )
        return [("vecozo-pull", lambda stop: poller.run(stop, vecozo.poll_interval))]
