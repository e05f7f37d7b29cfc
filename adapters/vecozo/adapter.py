"""The VECOZO transport adapter: owns no messages; brings the poller that fetches ours."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from adapters.shared.base import TransportAdapter
from adapters.shared.http import HttpPolicy


class VecozoAdapter(TransportAdapter):
    name = "vecozo"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def pollers(self, gateway: Any) -> Sequence[tuple[str, Callable[[threading.Event], None]]]:
        settings = self.settings
        if not settings.vecozo_pull_url:
            return []
        from adapters.vecozo.poller import VecozoPoller

        poller = VecozoPoller(
            gateway,
            pull_url=settings.vecozo_pull_url,
            cert=settings.vecozo_cert,
            key=settings.vecozo_key,
            ca=settings.vecozo_ca,
            policy=HttpPolicy.from_settings(settings),
        )
        return [("vecozo-pull", lambda stop: poller.run(stop, settings.vecozo_poll_interval))]
