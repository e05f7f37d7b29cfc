"""The sweeper republishes only what is truly unconfirmed: a message another process recorded
a moment ago may still be waiting for its confirm there (republishing it put two copies on the
bus); one this process failed to publish is taken at once, any other once it is older than a
confirm can take."""

from __future__ import annotations

from pathlib import Path

from gateway.adapter import Registry
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import open_ledger
from gateway.receive import ACCEPTED, Receiver
from gateway.validate import SchemaCache
from tests.busstub import StubBus
from tests.conftest import EXAMPLES


def _receiver(settings: Settings, bus: StubBus) -> Receiver:
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    return Receiver(registry, SchemaCache(), ledger, bus, settings.max_message_bytes)


def test_only_what_failed_here_or_is_older_than_a_confirm_is_republished(
    settings: Settings, tmp_path: Path
) -> None:
    here_bus, there_bus = StubBus(), StubBus()
    here, there = _receiver(settings, here_bus), _receiver(settings, there_bus)
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()

    # another process recorded a message whose publish is still on its way (its confirm not
    # yet recorded): as far as the ledger knows, it awaits publication
    there_bus.down = True
    theirs = Envelope(body=body, direction=Direction.INBOUND)
    assert there.receive(theirs).status == ACCEPTED
    assert there.ledger.awaiting_publication() == [theirs.message_id]
    assert here.republish_pending(older_than=60.0) == 0  # young, and not ours: left alone
    assert here_bus.published == []
    assert there.republish_pending(older_than=60.0) == 0  # ours, but the broker is still away
    there_bus.down = False
    assert there.republish_pending(older_than=60.0) == 1  # failed here: at once
    assert [e.message_id for e in there_bus.published] == [theirs.message_id]

    # one nobody publishes (its process died): taken by anyone once older than a confirm
    there_bus.down = True
    orphan = Envelope(body=body, direction=Direction.INBOUND)
    there.receive(orphan)
    assert here.republish_pending(older_than=60.0) == 0
    assert here.republish_pending(older_than=0.000001) == 1
    assert [e.message_id for e in here_bus.published] == [orphan.message_id]
    here.ledger.close()
    there.ledger.close()
