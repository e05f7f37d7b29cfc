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

Only regular files inside the drop folders are read, opened without following a link: a symbolic
link, a file with more than one hard link, or one larger than ``max_message_bytes`` (counted
while reading) is not read but refused: recorded as refused with the reason (no payload) and
moved to ``done/`` with its receipt, the link itself, never what it points at. A mapping folder
that is a link, FIFOs, devices and sockets are left alone (skipped, logged once), and nothing
is taken from a folder whose ``done/`` is a link.

Whoever can write a folder is no identity of ours: each identity named in ``drop_identities``
has a drop of its own, ``drop/<name>/`` (with the layout above), speaking for it
(``ops.auth.door_for``); receive refuses a message whose sender is not one of its parties
(recorded rejected at stage ``sender``, moved to ``done/`` with its receipt). ``drop/`` itself
speaks for nobody once identities are configured (every file is refused), and on a gateway
without identities (local-only) for anyone.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from gateway.door import ANYONE, Speaker, envelope_for
from gateway.envelope import Direction
from gateway.logs import get_logger
from gateway.receipt import ACCEPTED
from gateway.receive import Incoming, Receiver

log = get_logger(__name__)
_NAMESPACE = uuid.UUID("0b7f3f0e-8c1d-4d7a-9b1e-5a0c3e2f4d61")


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(".part")


@dataclass(frozen=True)
class Taken:
    """What :func:`read_drop_file` made of a file: its bytes, or why it is refused unread."""

    body: bytes = b""
    refused: str | None = None


_SPECIAL = "not a regular file in the drop folder (a folder, FIFO, device or socket)"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


def read_drop_file(path: Path, folders: Collection[Path], limit: int) -> Taken | None:
    """The bytes of a regular file inside one of ``folders`` (the drop folders, resolved), read
    through a descriptor opened without following a link and at most ``limit`` bytes of them; a
    :class:`Taken` with the reason when the file is refused unread (it is moved aside); None
    when it is not a file to take at all (gone, a folder, a FIFO, device or socket, or found
    outside the drop folders)."""
    try:
        seen = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(seen.st_mode):
        return Taken(refused="a symbolic link: the file drop reads only regular files")
    if not stat.S_ISREG(seen.st_mode):
        return None
    if not any(path.resolve().is_relative_to(folder) for folder in folders):
        return None  # a folder on its way was swapped for a link: not ours to read or move
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link since lstat
            return Taken(refused="a symbolic link: the file drop reads only regular files")
        return Taken(refused=f"the file could not be opened: {exc.strerror}")
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            return None
        if opened.st_nlink > 1:
            return Taken(refused="a file with more than one hard link: not read")
        body = handle.read(limit + 1)  # never more than one byte past the limit
    if len(body) > limit:
        return Taken(refused=f"the file is larger than {limit} bytes: not read")
    return Taken(body=body)


def _write_new(path: Path, text: str) -> None:
    """Write ``path`` without following a link planted under its name."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class FileDrop:
    def __init__(self, root: Path, receiver: Receiver, who: Speaker = ANYONE) -> None:
        self.root = Path(root)
        self.receiver = receiver
        self.who = who
        for direction in Direction:
            (self.root / direction.value / "done").mkdir(parents=True, exist_ok=True)
        self._left_alone: set[Path] = set()  # special files, logged once

    def _jobs(self) -> list[tuple[Path, Direction, str | None]]:
        jobs: list[tuple[Path, Direction, str | None]] = []
        for direction in Direction:
            folder = self.root / direction.value
            if (folder / "done").is_symlink():  # what is taken would be moved wherever it points
                self._leave_alone(folder, "its done/ is a symbolic link: nothing is taken")
                continue
            jobs += [(p, direction, None) for p in sorted(folder.glob("*.xml")) if not _skip(p)]
        if (self.root / "outbound" / "done").is_symlink():
            return jobs
        for sub in sorted((self.root / "outbound").iterdir()):
            if sub.is_symlink():  # a linked mapping folder: its files are not ours to move
                self._leave_alone(sub, "a symbolic link to a folder: not read")
                continue
            if sub.is_dir() and sub.name != "done" and "." in sub.name:
                standard, mapping = sub.name.split(".", 1)
                jobs += [
                    (p, Direction.OUTBOUND, f"{standard}/{mapping}")
                    for p in sorted(sub.glob("*.json"))
                    if not _skip(p)
                ]
        return jobs

    def _leave_alone(self, path: Path, reason: str) -> None:
        if path not in self._left_alone:  # logged once
            self._left_alone.add(path)
            log.warning("filedrop.left_alone", file=path.name, reason=reason)

    def poll_once(self, batch: int = 100) -> int:
        """Take every complete file once, ``batch`` at a time (``receive_many``: recorded
        together); return how many were taken. A file that could not be recorded stays."""
        taken = 0
        jobs = self._jobs()
        for start in range(0, len(jobs), batch):
            items: list[tuple[Path, Direction, Incoming]] = []
            folders = {self.root.resolve(), *((self.root / d).resolve() for d in Direction)}
            for path, direction, mapping in jobs[start : start + batch]:
                got = read_drop_file(path, folders, self.receiver.max_bytes)
                if got is None:
                    if os.path.lexists(path):
                        self._leave_alone(path, _SPECIAL)
                    continue
                relative = path.relative_to(self.root)
                if got.refused is None:
                    digest = hashlib.sha256(got.body).hexdigest()
                    key = f"{relative}:{digest}"
                else:  # not read: named by what the folder says of it
                    seen = path.lstat()
                    key = f"{relative}:refused:{seen.st_ino}:{seen.st_mtime_ns}:{seen.st_size}"
                    log.warning("filedrop.refused", file=path.name, reason=got.refused)
                message_id = str(uuid.uuid5(_NAMESPACE, key))
                envelope = envelope_for(
                    "file", got.body, direction, who=self.who, message_id=message_id
                )
                why = None if got.refused is None else (got.refused,)
                items.append((path, direction, Incoming(envelope, mapping=mapping, refused=why)))
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
                    _write_new(receipt_file, json.dumps(receipt.to_dict(), indent=2))
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
