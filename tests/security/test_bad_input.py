"""Hostile and broken input on every door: refused, recorded with a verdict, answered 4xx (never
503 "not recorded" with a ``received`` left without a verdict, never 500); a resend of the same
id is answered from the recorded verdict, with its errors."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pika
import pytest
from fastapi.testclient import TestClient

from gateway.app import Gateway
from gateway.bus.publisher import connect
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.ledger import Event
from tests.conftest import EXAMPLES
from tests.counterparts.helpers import counterpart_settings
from tests.security.conftest import Doors, as_

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
TOEWIJZING = json.loads((EXAMPLES / "toewijzing.json").read_text())


def _deep_json() -> bytes:
    return b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def _deep_xml() -> bytes:
    return b"<a>" * 100_000 + b"</a>" * 100_000


def _huge_text_json() -> bytes:
    data = json.loads(json.dumps(TOEWIJZING))
    data["client"]["naam"]["achternaam"] = "a" * (24 * MIB)
    return json.dumps(data).encode()


def _huge_text_xml() -> bytes:
    body = WMO301.replace(b"<iwmo:Eenheid>04", b"<iwmo:Eenheid>04" + b"1" * (24 * MIB), 1)
    assert len(body) > 24 * MIB
    return body


def _entity_bomb() -> bytes:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><r>&l9;</r>'.encode()


def _external_entity() -> bytes:
    return b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


def _not_utf8_xml() -> bytes:
    return WMO301.replace(b"<iwmo:Eenheid>04", b"<iwmo:Eenheid>\xff\xfe04", 1)


def _not_utf8_json() -> bytes:
    return b'{"gemeente": "\xff\xfe"}'


@dataclass(frozen=True)
class Answer:
    status: int | None  # the HTTP status, where the door answers in HTTP
    receipt: dict[str, Any]


# A door: (doors, body, mapping or None, message id) -> the answer.
Door = Callable[[Doors, bytes, str | None, str], Answer]


def _http(doors: Doors, body: bytes, mapping: str | None, message_id: str) -> Answer:
    path = "/v1/messages/outbound" + (f"/{mapping}" if mapping else "")
    response = doors.client.post(
        path, content=body, headers={**as_("internal"), "x-message-id": message_id}
    )
    # a receipt, at every status (a 500 too: a message refused on our side, still recorded)
    assert response.headers["content-type"] == "application/json", response.text
    return Answer(response.status_code, response.json())


def _batch(doors: Doors, body: bytes, mapping: str | None, message_id: str) -> Answer:
    assert mapping is None
    request = {"messages": [{"body": base64.b64encode(body).decode(), "message_id": message_id}]}
    response = doors.client.post(
        "/v1/messages/outbound/batch", json=request, headers=as_("internal")
    )
    assert response.status_code == 207, response.text  # one message, not accepted
    result = response.json()["messages"][0]
    return Answer(result["http_status"], result)


def _amqp(doors: Doors, body: bytes, mapping: str | None, message_id: str) -> Answer:
    connection = connect(doors.gateway.settings.amqp_url)
    try:
        channel = connection.channel()
        replies = channel.queue_declare("", exclusive=True).method.queue
        headers = {"x-kp-mapping": mapping} if mapping else {}
        properties = pika.BasicProperties(message_id=message_id, reply_to=replies, headers=headers)
        assert doors.amqp.handle_many([(properties, body)]) == [None]
        _, _, reply = channel.basic_get(replies, auto_ack=True)
    finally:
        connection.close()
    assert reply is not None
    return Answer(None, json.loads(reply))


def _file(doors: Doors, body: bytes, mapping: str | None, message_id: str) -> Answer:
    root = doors.gateway.settings.drop_dir / "outbound"
    folder = root / mapping.replace("/", ".") if mapping else root
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{message_id}.{'json' if mapping else 'xml'}"
    (folder / name).write_bytes(body)
    assert doors.drop.poll_once() == 1
    (receipt,) = (root / "done").glob(f"*.{name}.receipt.json")
    answer = json.loads(receipt.read_text())
    receipt.unlink()  # a resend writes it again
    return Answer(None, answer)


DOORS: dict[str, Door] = {"http": _http, "batch": _batch, "amqp": _amqp, "file": _file}
MAPPING = "iwmo/toewijzing"
CASES = [
    # door, mapping, bad input
    *[(door, MAPPING, _deep_json) for door in ("http", "amqp", "file")],
    *[(door, MAPPING, _huge_text_json) for door in ("http", "amqp", "file")],
    *[(door, MAPPING, _not_utf8_json) for door in ("http", "amqp")],
    *[(door, None, _deep_xml) for door in ("http", "batch", "amqp", "file")],
    *[(door, None, _huge_text_xml) for door in ("http", "amqp", "file")],
    *[(door, None, _entity_bomb) for door in ("http", "batch", "amqp", "file")],
    *[(door, None, _external_entity) for door in ("http", "batch", "amqp", "file")],
    *[(door, None, _not_utf8_xml) for door in ("http", "amqp", "file")],
]


@pytest.mark.parametrize(
    ("door", "mapping", "make"),
    CASES,
    ids=[f"{d}-{m or 'xml'}-{f.__name__.strip('_')}" for d, m, f in CASES],
)
def test_bad_input_is_refused_with_a_recorded_verdict_on_every_door(
    doors: Doors, door: str, mapping: str | None, make: Callable[[], bytes]
) -> None:
    body = make()
    sent_as = str(uuid.uuid4())
    knock = DOORS[door]
    first = knock(doors, body, mapping, sent_as)
    message_id = first.receipt["message_id"]  # the file drop names the message itself
    assert door == "file" or message_id == sent_as
    assert first.status in (None, 422)
    assert first.receipt["status"] == "refused" and first.receipt["errors"], first.receipt
    history = doors.gateway.ledger.history(message_id)
    assert history[0].event is Event.RECEIVED
    assert history[-1].event is Event.REJECTED, [e.event for e in history]
    assert history[-1].detail["errors"] == first.receipt["errors"]
    # no value of the message, nor an exception's own text, in what the sender is told
    told = json.dumps(first.receipt)
    assert "root:" not in told and "lollol" not in told, told  # no entity was expanded
    assert not any("aaaaaaaa" in e or "1111111" in e for e in first.receipt["errors"]), [
        e[:300] for e in first.receipt["errors"]
    ]

    again = knock(doors, body, mapping, sent_as)
    assert again.status == first.status
    assert again.receipt["duplicate"] is True
    assert again.receipt["errors"] == first.receipt["errors"]
    assert len(doors.gateway.ledger.history(message_id)) == len(history)  # nothing twice


def test_deeply_nested_json_on_the_batch_route_is_refused_400(doors: Doors) -> None:
    response = doors.client.post(
        "/v1/messages/outbound/batch", content=_deep_json(), headers=as_("internal")
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize(
    "form", [b"key=\xff\xfe", b"\x80\x81=\x82", b"key=%FF%FE"], ids=["raw", "name", "escaped"]
)
def test_a_login_form_that_is_not_utf8_is_answered_4xx(doors: Doors, form: bytes) -> None:
    response = doors.client.post(
        "/ui/login", content=form, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= response.status_code < 500, response.text


SOAP = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>%s</s:Body></s:Envelope>'
COUNTERPART_INPUTS = {
    "deep": _deep_xml,
    "not-utf8": lambda: b"<?xml version='1.0' encoding='utf-8'?><a>\xff\xfe</a>",
    "deep-in-soap": lambda: SOAP % (b"<a>" * 5000 + b"</a>" * 5000),
    "huge-text-in-soap": lambda: SOAP % (b"<a>" + b"x" * (24 * MIB) + b"</a>"),
    "entity-bomb": _entity_bomb,
}


@pytest.fixture
def counterpart_doors(settings: Settings) -> Iterator[tuple[Gateway, TestClient]]:
    adapters = ("adapters.istandaarden", "adapters.ggk", "adapters.corv")
    gateway = Gateway(counterpart_settings(settings, adapters=adapters))
    gateway.declare_topology()
    try:
        with TestClient(make_app(gateway), raise_server_exceptions=False) as client:
            yield gateway, client
    finally:
        gateway.close()


@pytest.mark.parametrize("door", ["/v1/ggk", "/v1/corv"])
@pytest.mark.parametrize("name", sorted(COUNTERPART_INPUTS))
def test_bad_input_on_the_counterparts_doors_is_refused_with_a_verdict(
    counterpart_doors: tuple[Gateway, TestClient], door: str, name: str
) -> None:
    gateway, client = counterpart_doors
    before = gateway.ledger.tree_size()
    response = client.post(door, content=COUNTERPART_INPUTS[name]())
    assert response.status_code == 400, response.text[:300]
    assert "Fault" in response.text and "root:" not in response.text
    new = [gateway.ledger.entry(s) for s in range(before + 1, gateway.ledger.tree_size() + 1)]
    assert [e.event for e in new if e] == [Event.RECEIVED, Event.REJECTED]
