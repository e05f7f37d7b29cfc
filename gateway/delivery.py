"""Delivery: hand bytes to something outside the gateway.

:class:`OutboxTransport` writes each delivery as a file: the back-office stand-in, and the
counterpart stand-in until real transports (GGk, VECOZO, SVB, CAK, CORV) are configured. The file
is written under a temporary name, fsynced and renamed, and named after the message id: the
message id is the idempotency key, so a message delivered again (after a crash between delivering
and recording) finds its file there and is not written a second time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gateway.adapter import Delivery
from gateway.envelope import Envelope

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str) -> str:
    return _SAFE.sub("_", text)[:120] or "_"


class OutboxTransport:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def deliver(self, envelope: Envelope, delivery: Delivery) -> str:
        folder = self.root / safe_name(delivery.to)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_name(f"{envelope.message_id}.{delivery.name}")
        if target.exists():
            return str(target)
        temporary = target.with_name(f".{target.name}.part")
        with open(temporary, "wb") as fh:
            fh.write(delivery.body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
        return str(target)
