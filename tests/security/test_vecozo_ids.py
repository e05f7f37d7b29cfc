"""The VECOZO poller: the conversatieId the afzender chose becomes the message's correlation id,
so it is checked as every door checks the ids a sender chose (no BSN, control or bidirectional
characters, path parts, nothing overlong). One that is not a safe id is refused with a recorded
verdict that does not quote it, and confirmed to VECOZO (it is recorded: taken off the list)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from adapters.lib.refs import uuid4_for
from adapters.vecozo import codec
from adapters.vecozo.poller import VecozoPoller
from gateway.config import Settings
from tests.counterparts.helpers import counterpart_settings, jw301_without_verzoek, make_parts
from tests.counterparts.test_vecozo import AGB, POLICY, PULL, PUSH, _meta

pytestmark = pytest.mark.integration

BAD = {
    "bsn": "999993653",
    "control": "conv\r\nX: 1",
    "bidi": "conv\u202egnp",
    "path": "../../etc/passwd",
    "overlong": "c" * 200,
}


@pytest.fixture
def aanbieder(settings: Settings) -> Iterator[Any]:
    parts = make_parts(
        counterpart_settings(
            settings,
            counterpart_transport="vecozo",
            vecozo_push_url=PUSH,
            vecozo_pull_url=PULL,
            vecozo_agb=AGB,
            adapters=("adapters.istandaarden", "adapters.vecozo"),
        )
    )
    yield parts
    parts.ledger.close()


@pytest.mark.parametrize("name", sorted(BAD))
@responses.activate
def test_a_conversatie_id_that_is_no_safe_id_is_refused_with_a_verdict(
    aanbieder: Any, name: str
) -> None:
    traceer = str(uuid.uuid4())
    zipped = codec.zip_payload(jw301_without_verzoek(), traceer)
    meta = _meta(traceer, zipped)
    meta["referentiegegevens"]["conversatieId"] = BAD[name]
    responses.get(f"{PULL}/berichten", json=[meta])
    responses.get(f"{PULL}/berichten/{traceer}/payload", body=zipped)
    responses.delete(f"{PULL}/berichten/{traceer}", status=202)
    poller = VecozoPoller(aanbieder, pull_url=PULL, policy=POLICY, sleep=lambda _s: None)
    outcome = poller.poll_once()
    assert outcome.confirmed == [traceer]
    history = aanbieder.ledger.history(uuid4_for("vecozo", traceer))
    assert [e.event.value for e in history] == ["received", "rejected"]
    assert all(BAD[name] not in e.correlation_id for e in history)
    [error] = history[-1].detail["errors"]
    assert "conversatieId must" in error and BAD[name] not in error
