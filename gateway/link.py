"""A link between two gateways: what one delivered to a party (files in its outbox folder for
that party, ``delivery.py``) is published, over the broker, to the other's AMQP ingress as a
message from a counterpart (``x-kp-direction: inbound``, ``ingress/amqp.py``). Two gateways so
linked talk to each other as two parties' gateways would through GGk or VECOZO; the demo's
stand-in for the channel between them (``ketenpoort demo --both-sides``)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pika

from gateway.bus.publisher import connect
from gateway.logs import get_logger

log = get_logger(__name__)

_LINK = uuid.UUID("6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b")


class Link:
    """Carries the files under ``outbox/<party>/`` into the ingress exchange ``exchange``."""

    def __init__(self, outbox: Path, party: str, amqp_url: str, exchange: str) -> None:
        self.folder = outbox / party
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.carried: set[str] = set()

    def carry(self) -> int:
        """Publish what arrived since the last call (each file once); how many it published."""
        waiting = (
            sorted(
                (p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                key=lambda p: (p.stat().st_mtime_ns, p.name),
            )
            if self.folder.is_dir()
            else []
        )
        fresh = [p for p in waiting if p.name not in self.carried]
        if not fresh:
            return 0
        connection = connect(self.amqp_url)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            for path in fresh:
                channel.basic_publish(
                    self.exchange,
                    "message",
                    path.read_bytes(),
                    pika.BasicProperties(
                        message_id=str(uuid.uuid5(_LINK, f"{self.folder}/{path.name}")),
                        delivery_mode=2,
                        headers={"x-kp-direction": "inbound"},
                    ),
                    mandatory=True,
                )
                self.carried.add(path.name)
        finally:
            connection.close()
        log.info("link.carried", count=len(fresh), to=self.exchange)
        return len(fresh)

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.wait(interval):
            try:
                self.carry()
            except Exception as exc:  # the broker away a moment: try again next round
                log.warning("link.failed", error=type(exc).__name__)
