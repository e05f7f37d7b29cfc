"""File drop: messages written into folders under ``<var>/drop/``.

- ``drop/outbound/*.xml``: standard messages from the back-office.
- ``drop/outbound/<standard>.<mapping>/*.json``: back-office JSON (e.g. ``iwmo.toewijzing``).
- ``drop/inbound/*.xml``: messages from counterparts.

Write a file under a name starting with ``.`` (or ending in ``.part``) and rename it when
complete; such names are skipped. A file is moved to ``done/`` once recorded in the ledger (its
verdict notwithstanding); a refused or rejected one gets ``<name>.receipt.json`` beside it there.
Files are taken in batches, each recorded together (``Receiver.receive_many``).
The message id is derived from the file's path and content, so a crash between recording and
moving never records the file twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path

from gateway.envelope import Direction, Envelope
from gateway.logs import get_logger
from gateway.receive import ACCEPTED, Incoming, Receiver

log = get_logger(__name__)
_NAMESPACE = uuid.UUID("0b7f3f0e-8c1d-4d7a-9b1e-5a0c3e2f4d61")


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(".part") or not path.is_file()


class FileDrop:
    def __init__(self, root: Path, receiver: Receiver) -> None:
        self.root = Path(root)
        self.receiver = receiver
        for direction in Direction:
            (self.root / direction.value / "done").mkdir(parents=True, exist_ok=True)

    def _jobs(self) -> list[tuple[Path, Direction, str | None]]:
        jobs: list[tuple[Path, Direction, str | None]] = []
        for direction in Direction:
            folder = self.root / direction.value
            jobs += [(p, direction, None) for p in sorted(folder.glob("*.xml")) if not _skip(p)]
        for sub in sorted((self.root / "outbound").iterdir()):
            if sub.is_dir() and sub.name != "done" and "." in sub.name:
                standard, mapping = sub.name.split(".", 1)
                jobs += [
                    (p, Direction.OUTBOUND, f"{standard}/{mapping}")
                    for p in sorted(sub.glob("*.json"))
                    if not _skip(p)
                ]
        return jobs

    def poll_once(self, batch: int = 100) -> int:
        """Take every complete file once, ``batch`` at a time (``receive_many``: recorded
        together); return how many were taken. A file that could not be recorded stays."""
        taken = 0
        jobs = self._jobs()
        for start in range(0, len(jobs), batch):
            items: list[tuple[Path, Direction, Incoming]] = []
            for path, direction, mapping in jobs[start : start + batch]:
                body = path.read_bytes()
                digest = hashlib.sha256(body).hexdigest()
                relative = path.relative_to(self.root)
                envelope = Envelope(
                    body=body,
                    direction=direction,
                    message_id=str(uuid.uuid5(_NAMESPACE, f"{relative}:{digest}")),
                    source="file",
                )
                items.append((path, direction, Incoming(envelope, mapping=mapping)))
            results = self.receiver.receive_many([item for *_, item in items])
            for (path, direction, item), receipt in zip(items, results, strict=True):
                if isinstance(receipt, Exception):
                    log.error(
                        "filedrop.not_recorded",
                        file=path.name,
                        message_id=item.envelope.message_id,
                        error=type(receipt).__name__,
                    )
                    continue
                done = self.root / direction.value / "done"
                target = done / f"{item.envelope.message_id}.{path.name}"
                if receipt.status != ACCEPTED:
                    receipt_file = target.with_name(f"{target.name}.receipt.json")
                    receipt_file.write_text(json.dumps(receipt.to_dict(), indent=2))
                path.replace(target)
                taken += 1
        return taken

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("filedrop.poll_failed")
            stop.wait(interval)
