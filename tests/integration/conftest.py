"""The private RabbitMQ node fixture (see ``busutil.PrivateBroker``)."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .busutil import PrivateBroker, free_port


@pytest.fixture(scope="module")
def private_broker() -> Iterator[PrivateBroker]:
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("a private RabbitMQ node needs root (runuser to the rabbitmq user)")
    try:
        pwd.getpwnam("rabbitmq")
    except KeyError:
        pytest.skip("RabbitMQ is not installed from the Debian package (no rabbitmq user)")
    # Not under pytest's private temporary folder: the rabbitmq user must reach it.
    base = Path(tempfile.mkdtemp(prefix="ketenpoort-rabbitmq-"))
    (base / "enabled_plugins").write_text("[].\n")
    shutil.chown(base / "enabled_plugins", "rabbitmq", "rabbitmq")
    shutil.chown(base, "rabbitmq", "rabbitmq")
    port = free_port()
    broker = PrivateBroker(base, port, free_port(), f"kptest{port}@localhost")
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(base, ignore_errors=True)


# Both ledger backends (SQLite and the real PostgreSQL) for the tests that take ``backend``.
from tests.ledger.conftest import backend  # noqa: E402, F401
