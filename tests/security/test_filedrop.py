"""The file drop reads only regular files inside its folders, through a descriptor that does not
follow links, and never more than the size limit: links, hard links and oversize files are
refused unread (recorded, moved aside with a receipt saying why); FIFOs, devices, sockets and
linked mapping folders are left alone."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress import filedrop as module
from gateway.ingress.filedrop import FileDrop, read_drop_file
from gateway.ledger import Event
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration

SECRET = b"-----BEGIN SEED----- the checkpoint key, never to be served -----END SEED-----"
LIMIT = 64 * 1024


@pytest.fixture
def drop(settings: Settings, tmp_path: Path) -> Iterator[tuple[Gateway, FileDrop, Path]]:
    configured = dataclasses.replace(settings, max_message_bytes=LIMIT)
    gateway = Gateway(configured)
    gateway.declare_topology()
    secret = tmp_path / "outside" / "ledger-checkpoint.key"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    try:
        yield gateway, FileDrop(configured.drop_dir, gateway.receiver), secret
    finally:
        gateway.close()


def _symlink(folder: Path, secret: Path) -> Path:
    link = folder / "outbound" / "stolen.xml"
    link.symlink_to(secret)
    return link


def _symlink_to_etc(folder: Path, secret: Path) -> Path:
    link = folder / "outbound" / "passwd.xml"
    link.symlink_to("/etc/passwd")
    return link


def _dangling(folder: Path, secret: Path) -> Path:
    link = folder / "outbound" / "gone.xml"
    link.symlink_to(secret.parent / "nothing-here")
    return link


def _linked_folder(folder: Path, secret: Path) -> Path:
    """A mapping folder that is a link to the secret's folder, a JSON file in it."""
    (folder / "outbound" / "iwmo.toewijzing").symlink_to(secret.parent, target_is_directory=True)
    data = secret.parent / "x.json"
    data.write_bytes((EXAMPLES / "toewijzing.json").read_bytes())
    return folder / "outbound" / "iwmo.toewijzing" / "x.json"


def _hard_link(folder: Path, secret: Path) -> Path:
    link = folder / "outbound" / "hard.xml"
    os.link(secret, link)
    return link


def _oversize(folder: Path, secret: Path) -> Path:
    big = folder / "outbound" / "big.xml"
    big.write_bytes((EXAMPLES / "WMO301-ontvangen.xml").read_bytes() + b" " * LIMIT)
    return big


REFUSED: list[tuple[Callable[[Path, Path], Path], str]] = [
    (_symlink, "symbolic link"),
    (_symlink_to_etc, "symbolic link"),
    (_dangling, "symbolic link"),
    (_hard_link, "hard link"),
    (_oversize, f"larger than {LIMIT} bytes"),
]


@pytest.mark.parametrize(
    ("plant", "reason"), REFUSED, ids=[p.__name__.strip("_") for p, _ in REFUSED]
)
def test_a_file_that_is_not_plainly_ours_is_refused_unread(
    drop: tuple[Gateway, FileDrop, Path],
    plant: Callable[[Path, Path], Path],
    reason: str,
) -> None:
    gateway, filedrop, secret = drop
    path = plant(filedrop.root, secret)
    assert filedrop.poll_once() == 1
    assert not os.path.lexists(path)  # moved aside: the link itself, not what it points at
    assert secret.read_bytes() == SECRET
    receipts = list(path.parent.parent.glob("done/*.receipt.json")) or list(
        (filedrop.root / "outbound" / "done").glob("*.receipt.json")
    )
    (receipt_file,) = receipts
    receipt = json.loads(receipt_file.read_text())
    assert receipt["status"] == "refused" and reason in receipt["errors"][0], receipt
    history = gateway.ledger.history(receipt["message_id"])
    assert [e.event for e in history] == [Event.RECEIVED, Event.REJECTED]
    sha256 = history[0].payload_sha256
    recorded = gateway.ledger.payload(sha256) if sha256 else b""
    assert not recorded, "nothing of a refused file is read into the ledger"
    # polled again: nothing more (it is gone from the folder)
    assert filedrop.poll_once() == 0


def test_special_files_and_linked_folders_are_left_alone(
    drop: tuple[Gateway, FileDrop, Path],
) -> None:
    """Not read, not moved: a linked mapping folder's files are someone else's."""
    gateway, filedrop, secret = drop
    outside = _linked_folder(filedrop.root, secret)
    outbound = filedrop.root / "outbound"
    os.mkfifo(outbound / "pipe.xml")  # reading it would block the poller for ever
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(outbound / "sock.xml"))
        (outbound / "folder.xml").mkdir()
        before = gateway.ledger.tree_size()
        assert filedrop.poll_once() == 0
        assert filedrop.poll_once() == 0
        assert gateway.ledger.tree_size() == before
        assert (outbound / "pipe.xml").exists() and (outbound / "sock.xml").exists()
        assert outside.exists() and secret.read_bytes() == SECRET
    finally:
        server.close()


def test_a_plain_file_beside_them_is_still_taken(drop: tuple[Gateway, FileDrop, Path]) -> None:
    gateway, filedrop, secret = drop
    _symlink(filedrop.root, secret)
    (filedrop.root / "outbound" / "good.xml").write_bytes(
        (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    )
    assert filedrop.poll_once() == 2
    done = sorted(p.name for p in (filedrop.root / "outbound" / "done").iterdir())
    assert sum(name.endswith(".good.xml") for name in done) == 1
    assert sum(name.endswith(".stolen.xml") for name in done) == 1


def test_the_size_is_capped_while_reading(tmp_path: Path) -> None:
    """An 8 GiB sparse file is refused after reading one byte past the limit, at once."""
    huge = tmp_path / "huge.xml"
    with open(huge, "wb") as handle:
        handle.truncate(8 * 1024**3)
    started = time.monotonic()
    taken = read_drop_file(huge, {tmp_path.resolve()}, LIMIT)
    assert taken is not None and taken.refused and "larger than" in taken.refused
    assert time.monotonic() - started < 1.0


def test_a_receipt_is_not_written_through_a_planted_link(
    drop: tuple[Gateway, FileDrop, Path],
) -> None:
    """The receipt's name is predictable (the message id is derived from name and content): a
    link planted under it in ``done/`` is not followed."""
    gateway, filedrop, secret = drop
    body = b"not xml"
    path = filedrop.root / "outbound" / "bad.xml"
    path.write_bytes(body)
    # the id the drop will give it; a link to the secret is planted under its receipt's name
    digest = hashlib.sha256(body).hexdigest()
    message_id = uuid.uuid5(module._NAMESPACE, f"outbound/bad.xml:{digest}")
    planted = filedrop.root / "outbound" / "done" / f"{message_id}.bad.xml.receipt.json"
    planted.symlink_to(secret)
    with pytest.raises(OSError):  # logged by the poll loop (filedrop.poll_failed)
        filedrop.poll_once()
    assert secret.read_bytes() == SECRET
    assert gateway.ledger.history(str(message_id))  # recorded; the file stays to be seen to
    assert path.exists()


def test_nothing_is_taken_while_done_is_a_link(drop: tuple[Gateway, FileDrop, Path]) -> None:
    """Files are moved into ``done/``: a link planted there would send them anywhere."""
    gateway, filedrop, secret = drop
    done = filedrop.root / "inbound" / "done"
    done.rmdir()
    done.symlink_to(secret.parent, target_is_directory=True)
    good = filedrop.root / "inbound" / "good.xml"
    good.write_bytes((EXAMPLES / "WMO301-ontvangen.xml").read_bytes())
    before = gateway.ledger.tree_size()
    assert filedrop.poll_once() == 0
    assert good.exists() and sorted(p.name for p in secret.parent.iterdir()) == [secret.name]
    assert gateway.ledger.tree_size() == before
