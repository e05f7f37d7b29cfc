"""Identity x door x sender: every door puts the identity it came in under on the envelope, and
receive's one sender check decides (recorded rejected at stage ``sender`` with the door and the
identity). The GGk and CORV endpoints: a caller sends only as its own parties, a relaying
identity (``relay=yes``) only as its transport envelope's zender, which must be the inner
sender. The AMQP ingress and the file drop speak for the identity their setting names, for
nobody when unset (with identities configured), for anyone on a local-only gateway without
identities. Real RabbitMQ, real ledger."""

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
from lxml import etree

from adapters.corv import codec as corv_codec
from adapters.lib import soap
from adapters.lib.stuf.messages import read_fout
from gateway.app import Gateway
from gateway.bus.publisher import connect
from gateway.config import Settings
from gateway.ingress.amqp import IngressHandler
from gateway.ingress.http import make_app
from gateway.ledger import Entry, Event
from gateway.ops.auth import identity_line
from gateway.service import Services
from tests.conftest import EXAMPLES
from tests.counterparts import corv_messages as m
from tests.counterparts.helpers import counterpart_settings, ggk_di01

pytestmark = pytest.mark.integration

WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()  # Afzender 0599 (a gemeente)
GEMEENTE, AANBIEDER = "0599", "12345678"
KEYS = {name: f"key-{name}-" + "k" * 32 for name in ("gemeente", "aanbieder", "politie", "ebms")}
IDENTITIES = (
    identity_line("gemeente", KEYS["gemeente"], [], [GEMEENTE]),
    identity_line("aanbieder", KEYS["aanbieder"], [], [AANBIEDER]),
    identity_line("politie", KEYS["politie"], [], [m.POLITIE]),
    identity_line("ebms", KEYS["ebms"], [], []) + " relay=yes",
)


def _gateway(settings: Settings, **changes: Any) -> Gateway:
    adapters = ("adapters.istandaarden", "adapters.ggk", "adapters.corv")
    configured = counterpart_settings(
        settings, adapters=adapters, corv_organisatie=m.GEMEENTE, **changes
    )
    gateway = Gateway(configured)
    gateway.declare_topology()
    return gateway


@pytest.fixture
def secured(settings: Settings) -> Iterator[Callable[..., Gateway]]:
    """Gateways with the identities configured, the doors' settings as a test gives them."""
    made: list[Gateway] = []

    def make(**changes: Any) -> Gateway:
        made.append(_gateway(settings, ops_identities=IDENTITIES, **changes))
        return made[-1]

    yield make
    for gateway in made:
        gateway.close()


@dataclass(frozen=True)
class Verdict:
    status: int | None  # HTTP status where the door answers in HTTP
    entries: list[Entry]  # what the door recorded

    @property
    def sender_refused(self) -> bool:
        return any(
            e.event is Event.REJECTED and e.detail.get("stage") == "sender" for e in self.entries
        )


def _recorded(gateway: Gateway, before: int) -> list[Entry]:
    found = (gateway.ledger.entry(s) for s in range(before + 1, gateway.ledger.tree_size() + 1))
    return [e for e in found if e is not None]


def _post(gateway: Gateway, path: str, body: bytes, who: str | None) -> tuple[int, str, list]:
    before = gateway.ledger.tree_size()
    headers = {"Authorization": f"Bearer {KEYS[who]}"} if who else {}
    with TestClient(make_app(gateway), raise_server_exceptions=False) as client:
        response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500 or path == "/v1/corv", response.text
    return response.status_code, response.text, _recorded(gateway, before)


# -- GGk: a StUF Di01 whose payload is a WMO301 with Afzender 0599 ---------------------------------


def _di01(zender: str, payload: bytes = WMO301) -> bytes:
    return ggk_di01(payload, "WMO301", zender, ontvanger=AANBIEDER)


# who posts, the Di01's zender, refused at stage sender?
GGK_CASES = [
    ("aanbieder", AANBIEDER, True),  # issue 14: an aanbieder's key, a gemeente's WMO301
    ("aanbieder", GEMEENTE, True),  # naming the gemeente as zender changes nothing
    ("gemeente", GEMEENTE, False),  # its own party
    ("ebms", GEMEENTE, False),  # relay right, zender is the inner Afzender
    ("ebms", AANBIEDER, True),  # relay right, zender differs from the inner Afzender
]


@pytest.mark.parametrize(("who", "zender", "refused"), GGK_CASES)
def test_ggk_endpoint_sends_only_as_the_callers_parties_or_a_relays_zender(
    secured: Callable[..., Gateway], who: str, zender: str, refused: bool
) -> None:
    gateway = secured()
    status, text, entries = _post(gateway, "/v1/ggk", _di01(zender), who)
    verdict = Verdict(status, entries)
    assert verdict.sender_refused is refused
    if refused:
        assert status == 403 and "Fault" in text and "may send only as" in text
        [rejected] = [e for e in entries if e.event is Event.REJECTED]
        assert rejected.detail["door"] == "ggk" and rejected.detail["identity"] == who
        assert not [e for e in entries if e.event is Event.PUBLISHED]
        assert not [
            e for e in entries if e.detail.get("transport") == "ggk" and e.detail.get("answers")
        ]  # no Fo01 to a zender who may be forged
    else:
        assert status == 202, text
        assert entries[0].detail["identity"] == who


def test_a_forbidden_ggk_message_sent_again_is_answered_403_again(
    secured: Callable[..., Gateway],
) -> None:
    gateway = secured()
    body = _di01(AANBIEDER)
    assert _post(gateway, "/v1/ggk", body, "aanbieder")[0] == 403
    status, _, entries = _post(gateway, "/v1/ggk", body, "aanbieder")
    assert status == 403 and entries == []


@pytest.mark.parametrize("door", ["/v1/ggk", "/v1/corv"])
def test_a_forbidden_message_does_not_take_the_id_of_the_genuine_one(
    secured: Callable[..., Gateway], door: str
) -> None:
    """The endpoints derive message ids from zender and referentienummer: the same message
    tried first by a caller who may not send it must not make the relay's genuine one a
    duplicate (GGk) or a StUF016 (CORV)."""
    gateway = secured()
    body = _di01(GEMEENTE) if door == "/v1/ggk" else _zorgmelding()
    assert _post(gateway, door, body, "aanbieder")[0] == 403
    status, text, entries = _post(gateway, door, body, "ebms")
    assert status == (202 if door == "/v1/ggk" else 200), text[:300]
    assert not Verdict(status, entries).sender_refused and "StUF016" not in text
    assert entries[0].event is Event.RECEIVED and entries[0].detail["identity"] == "ebms"


@pytest.mark.parametrize(("who", "fo01"), [("aanbieder", False), ("ebms", True)])
def test_a_refused_payload_gets_a_fo01_only_to_a_zender_the_caller_speaks_for(
    secured: Callable[..., Gateway], who: str, fo01: bool
) -> None:
    gateway = secured()
    broken = WMO301.replace(b"<iwmo:Eenheid>04", b"<iwmo:Eenheid>XX", 1)  # fails the XSD
    status, text, entries = _post(gateway, "/v1/ggk", _di01(GEMEENTE, broken), who)
    assert status == 202 and (json.loads(text).get("fo01_id") is not None) is fo01
    assert any(e.detail.get("answers") for e in entries) is fo01


# -- CORV: a zorgmelding from the politie ----------------------------------------------------------


def _zorgmelding(zender: str = m.POLITIE) -> bytes:
    data = m.zorgmelding()
    data["stuurgegevens"]["zender"]["organisatie"] = zender
    data["stuurgegevens"]["referentienummer"] = str(uuid.uuid4())
    return soap.wrap(corv_codec.encode(data["stuurgegevens"]["functie"], data))


CORV_CASES = [
    ("aanbieder", True),  # issue 14: a zorgmelding in another organisation's name
    ("gemeente", True),
    ("politie", False),  # its own party
    ("ebms", False),  # relay right: the stuurgegevens' zender is the sender
]


@pytest.mark.parametrize(("who", "refused"), CORV_CASES)
def test_corv_endpoint_sends_only_as_the_callers_parties_or_a_relays_zender(
    secured: Callable[..., Gateway], who: str, refused: bool
) -> None:
    gateway = secured()
    status, text, entries = _post(gateway, "/v1/corv", _zorgmelding(), who)
    assert Verdict(status, entries).sender_refused is refused
    if refused:
        assert status == 403
        fault = etree.fromstring(text.encode())
        [fo03] = fault.iter("{*}Fo03Bericht")
        _, fout = read_fout(fo03)
        assert fout.code == "StUF052" and "may send only as" in fout.omschrijving
        [rejected] = [e for e in entries if e.event is Event.REJECTED]
        assert rejected.detail["door"] == "corv" and rejected.detail["identity"] == who
    else:
        assert status == 200 and "Bv03Bericht" in text, text[:500]


# -- HTTP and batches: the caller's own parties; a relaying identity is nobody there ---------------


def _batch(gateway: Gateway, who: str) -> tuple[int, list]:
    before = gateway.ledger.tree_size()
    request = {"messages": [{"body": base64.b64encode(WMO301).decode()}]}
    headers = {"Authorization": f"Bearer {KEYS[who]}"}
    with TestClient(make_app(gateway), raise_server_exceptions=False) as client:
        response = client.post("/v1/messages/inbound/batch", json=request, headers=headers)
    return response.json()["messages"][0]["http_status"], _recorded(gateway, before)


@pytest.mark.parametrize(
    ("who", "refused"), [("aanbieder", True), ("ebms", True), ("gemeente", False)]
)
@pytest.mark.parametrize("door", ["http", "batch"])
def test_http_and_batch_send_only_as_the_callers_parties(
    secured: Callable[..., Gateway], door: str, who: str, refused: bool
) -> None:
    gateway = secured()
    if door == "http":
        status, _, entries = _post(gateway, "/v1/messages/inbound", WMO301, who)
    else:
        status, entries = _batch(gateway, who)
    assert Verdict(status, entries).sender_refused is refused
    assert status == (403 if refused else 202)
    if refused:
        [rejected] = [e for e in entries if e.event is Event.REJECTED]
        assert rejected.detail["door"] == "http" and rejected.detail["identity"] == who


# -- AMQP ingress and file drop: the identity they are configured with ----------------------------


def _amqp(gateway: Gateway, body: bytes) -> Verdict:
    before = gateway.ledger.tree_size()
    connection = connect(gateway.settings.amqp_url)
    try:
        channel = connection.channel()
        replies = channel.queue_declare("", exclusive=True).method.queue
        properties = pika.BasicProperties(message_id=str(uuid.uuid4()), reply_to=replies)
        assert IngressHandler(gateway).handle_many([(properties, body)]) == [None]
        _, _, reply = channel.basic_get(replies, auto_ack=True)
    finally:
        connection.close()
    assert reply is not None  # the receipt on reply_to
    receipt = json.loads(reply)
    entries = _recorded(gateway, before)
    assert receipt["forbidden"] is Verdict(None, entries).sender_refused
    return Verdict(None, entries)


def _file(gateway: Gateway, body: bytes) -> Verdict:
    """One file in the drop folder of the gateway's one drop identity (none: ``drop/``), taken
    by the drops ``ketenpoort run`` starts."""
    before = gateway.ledger.tree_size()
    [folder] = gateway.settings.drop_identities or ("",)
    name = f"{uuid.uuid4()}.xml"
    drops = Services(gateway, workers=0, ingress=False, sweeper=False, pollers=False).drops
    assert [d.root for d in drops] == [
        gateway.settings.drop_dir / n for n in ("", *gateway.settings.drop_identities)
    ]
    root = gateway.settings.drop_dir / folder / "outbound"
    (root / name).write_bytes(body)
    assert sum(drop.poll_once() for drop in drops) == 1
    entries = _recorded(gateway, before)
    [moved] = (root / "done").glob(f"*.{name}")
    receipts = list((root / "done").glob(f"*.{name}.receipt.json"))
    if Verdict(None, entries).sender_refused:  # moved aside with its receipt saying why
        assert json.loads(receipts[0].read_text())["forbidden"] is True
    return Verdict(None, entries)


DOORS: dict[str, tuple[str, Callable[[Gateway, bytes], Verdict]]] = {
    "amqp": ("amqp_ingress_identity", _amqp),
    "file": ("drop_identities", _file),
}
# the door's configured identity ("": unset), refused at stage sender? (the message: Afzender 0599)
CONFIGURED = [("", True), ("aanbieder", True), ("gemeente", False)]


@pytest.mark.parametrize("door", sorted(DOORS))
@pytest.mark.parametrize(("speaks_for", "refused"), CONFIGURED)
def test_amqp_and_file_drop_speak_for_their_configured_identity_only(
    secured: Callable[..., Gateway], door: str, speaks_for: str, refused: bool
) -> None:
    setting, knock = DOORS[door]
    value = tuple(filter(None, [speaks_for])) if setting == "drop_identities" else speaks_for
    gateway = secured(**{setting: value})
    verdict = knock(gateway, WMO301)
    assert verdict.sender_refused is refused
    assert verdict.entries[0].detail.get("identity", "") == speaks_for
    if refused:
        [rejected] = [e for e in verdict.entries if e.event is Event.REJECTED]
        assert rejected.detail["door"] == door and rejected.detail["identity"] == speaks_for
        assert "may send only as" in rejected.detail["errors"][0]
    else:
        assert [e.event for e in verdict.entries][:2] == [Event.RECEIVED, Event.VALIDATED]


# -- the local-only default: no identities, every door open as before -----------------------------


@pytest.fixture
def local(settings: Settings) -> Iterator[Gateway]:
    gateway = _gateway(settings)
    yield gateway
    gateway.close()


@pytest.mark.parametrize("door", sorted(DOORS))
def test_local_only_gateway_without_identities_takes_any_sender_on_amqp_and_file(
    local: Gateway, door: str
) -> None:
    assert not local.settings.ops_identities
    verdict = DOORS[door][1](local, WMO301)
    assert not verdict.sender_refused
    assert [e.event for e in verdict.entries][:2] == [Event.RECEIVED, Event.VALIDATED]


def test_local_only_gateway_without_identities_takes_any_sender_on_ggk_and_corv(
    local: Gateway,
) -> None:
    status, _, entries = _post(local, "/v1/ggk", _di01(AANBIEDER), None)
    assert status == 202 and not Verdict(status, entries).sender_refused
    status, text, entries = _post(local, "/v1/corv", _zorgmelding(), None)
    assert status == 200 and "Bv03Bericht" in text


# -- CORV: the ids the zender chose become the correlation id, checked as every door's are -------


@pytest.mark.parametrize(
    "reference",
    ["999993653", "a\tb", "ref\u202egnp.exe", "\u00e9\u20ac", "../../x"],
    ids=["bsn", "control", "bidi", "unicode", "path"],
)
def test_a_corv_referentienummer_that_is_no_safe_id_is_refused(
    secured: Callable[..., Gateway], reference: str
) -> None:
    gateway = secured()
    data = m.zorgmelding()
    data["stuurgegevens"]["zender"]["organisatie"] = m.POLITIE
    data["stuurgegevens"]["referentienummer"] = reference
    body = soap.wrap(corv_codec.encode(data["stuurgegevens"]["functie"], data))
    status, text, entries = _post(gateway, "/v1/corv", body, "politie")
    assert status == 500 and "StUF055" in text and "referentienummer must" in text, text
    assert [e.event for e in entries] == [Event.RECEIVED, Event.REJECTED]
    assert all(reference not in e.correlation_id for e in entries)
    assert reference not in json.dumps(entries[-1].detail["errors"])
