"""Delivery: hand bytes to something outside the gateway.

:class:`OutboxTransport` writes each delivery as a file: the back-office stand-in, and the
counterpart stand-in until real transports (GGk, VECOZO, SVB, CAK, CORV) are configured. The file
is written under a temporary name, fsynced and renamed (and the folder fsynced), and named after
the message id: the message id is the idempotency key, so a message delivered again (after a crash
between delivering and recording) finds its file there and is not written a second time.

:meth:`OutboxTransport.deliver_many` does the same for a batch: every file is written under its
temporary name, then the data of all of them is synced (side by side), then each is renamed and
each folder fsynced once. A file is never renamed into place before its bytes are on disk, so a
file under its final name is always complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from gateway.adapter import Delivery
from gateway.envelope import Envelope

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_LONGEST = 120


def safe_name(text: str) -> str:
    """``text`` as a file name: itself if it is one (safe characters, not too long); otherwise
    its safe characters and a hash of the whole, so that two texts never share a name (the
    message id is the idempotency key: "bericht-é" and "bericht-ü" are two messages)."""
    safe = _SAFE.sub("_", text)
    if safe == text and 0 < len(text) <= _LONGEST:
        return text
    digest = hashlib.sha256(text.encode(errors="surrogatepass")).hexdigest()[:20]
    return f"{safe[: _LONGEST - 21]}~{digest}"  # "~" is not safe: no plain name looks like this


_SYNC = getattr(os, "fdatasync", os.fsync)
_SYNCING = 8  # files synced at once
_syncers: ThreadPoolExecutor | None = None
_syncers_made = threading.Lock()


def sync_data(fds: Sequence[int]) -> None:
    """Make the written data of every file in ``fds`` durable, once all are written.

    The syncs run side by side (at most ``_SYNCING`` at once; each releases the GIL): a
    journaling filesystem commits the new files of concurrent syncs in one journal transaction,
    where one sync after the other waits for a commit per file."""
    global _syncers
    if len(fds) <= 1:
        for fd in fds:
            _SYNC(fd)
        return
    with _syncers_made:
        if _syncers is None:
            _syncers = ThreadPoolExecutor(_SYNCING, thread_name_prefix="outbox-sync")
    futures = [_syncers.submit(_SYNC, fd) for fd in fds]
    wait(futures)  # every sync is over before the caller closes a file
    for future in futures:
        future.result()  # the first OSError, if any


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (no file object per delivery)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class OutboxTransport:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def deliver(self, envelope: Envelope, delivery: Delivery) -> str:
        result = self.deliver_many([(envelope, delivery)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def deliver_many(self, items: Sequence[tuple[Envelope, Delivery]]) -> list[str | Exception]:
        """Deliver several; per item the file's path or what went wrong with it."""
        results: list[str | Exception] = []
        staged: list[tuple[int, str, str, int]] = []  # (index, temporary, target, fd)
        made: set[str] = set()  # folders known to exist (made once per batch)
        try:
            for index, (envelope, delivery) in enumerate(items):
                folder = os.path.join(self.root, safe_name(delivery.to))
                name = f"{safe_name(envelope.message_id)}.{safe_name(delivery.name)}"
                target = os.path.join(folder, name)
                temporary = os.path.join(folder, f".{name}.part")
                results.append(target)
                try:
                    if folder not in made:
                        os.makedirs(folder, exist_ok=True)
                        made.add(folder)
                    if os.path.exists(target):
                        continue  # delivered before: the message id is the idempotency key
                    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    try:
                        _write_all(fd, delivery.body)
                    except OSError:
                        os.close(fd)
                        raise
                    staged.append((index, temporary, target, fd))
                except OSError as exc:
                    results[index] = exc
            try:
                sync_data([fd for *_, fd in staged])
            except OSError as exc:
                for index, *_ in staged:
                    results[index] = exc
                return results
        finally:
            for *_, fd in staged:
                os.close(fd)
        folders: set[str] = set()
        for index, temporary, target, _ in staged:
            try:
                os.replace(temporary, target)
                folders.add(os.path.dirname(target))
            except OSError as exc:
                results[index] = exc
        for folder in folders:
            try:
                sync_folder(Path(folder))
            except OSError as exc:
                for index, _, target, _ in staged:
                    if os.path.dirname(target) == folder:
                        results[index] = exc
        return results
