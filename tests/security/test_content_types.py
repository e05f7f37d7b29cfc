"""A content type the sender gives (the HTTP Content-Type, a batch item's ``content_type``) goes
onto the bus as an AMQP property (a short string: 255 bytes at most) and into the ledger. One
that is too long or not printable ASCII is refused at the door (400, nothing recorded): taken,
it was recorded as accepted and then never published, and every publish of it (the sweeper's,
again and again) closed the publisher's connection."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.conftest import EXAMPLES
from tests.security.conftest import Doors, as_

pytestmark = pytest.mark.integration

WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
BAD = {"long": "application/" + "x" * 300, "unicode": "text/" + "\u00e9" * 200, "empty-type": " "}


def _batch(doors: Doors, content_type: str, message_id: str) -> int:
    item = {"body": base64.b64encode(WMO301).decode(), "message_id": message_id}
    request = {"messages": [{**item, "content_type": content_type}]}
    response = doors.client.post(
        "/v1/messages/outbound/batch", json=request, headers=as_("internal")
    )
    return response.status_code


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_content_type_in_a_batch_is_refused_and_nothing_recorded(
    doors: Doors, name: str
) -> None:
    message_id = str(uuid.uuid4())
    assert _batch(doors, BAD[name], message_id) == 400
    assert doors.gateway.ledger.history(message_id) == []
    assert doors.gateway.ledger.awaiting_publication() == []


def test_an_overlong_content_type_header_is_refused_and_nothing_recorded(doors: Doors) -> None:
    message_id = str(uuid.uuid4())
    headers = {**as_("internal"), "x-message-id": message_id, "content-type": BAD["long"]}
    response = doors.client.post("/v1/messages/outbound", content=WMO301, headers=headers)
    assert response.status_code == 400
    assert "content type" in response.json()["detail"]
    assert doors.gateway.ledger.history(message_id) == []


def test_a_usual_content_type_is_taken_and_published(doors: Doors) -> None:
    message_id = str(uuid.uuid4())
    assert _batch(doors, "application/xml; charset=utf-8", message_id) == 202
    assert [e.event.value for e in doors.gateway.ledger.history(message_id)][-1] == "published"
