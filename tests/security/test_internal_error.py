"""A bug of ours while judging a message (a rule that raises, a ledger read that fails) on every
door: the message is refused with a recorded verdict (stage ``internal``) that names the error's
kind and no value of the message, never a ``received`` left without a verdict and a 503; a
resend of the same id is answered from that verdict.

Who is told what: nobody did anything wrong that we know of, so the answer says it is ours. The
HTTP routes answer 500 with the receipt (``internal: true``, the recorded message id and status:
the sender can tell it was recorded and send it again under a new id), a batch marks the item so
(``http_status`` 500; the request stays 207, as for any item not accepted), the AMQP reply and
the file drop's receipt carry ``internal: true``; the counterparts' automatic fault answers say
the receiver could not process it (StUF058, plek server), never that it fails the XSD (StUF055):
the GGk's Fo01 to the zender, CORV's Fo03 in a ``Server`` SOAP fault."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from adapters.corv import codec as corv_codec
from adapters.ggk import codec as ggk_codec
from adapters.lib import soap
from adapters.lib.stuf.messages import read_fout
from gateway.app import Gateway
from gateway.config import Settings
from gateway.envelope import Direction
from gateway.ingress.http import make_app
from gateway.ledger import Event
from tests.conftest import EXAMPLES
from tests.counterparts import corv_messages
from tests.counterparts.helpers import counterpart_settings, ggk_di01
from tests.security.conftest import Doors, as_
from tests.security.test_bad_input import DOORS

pytestmark = pytest.mark.integration

WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
TOEWIJZING = json.dumps(json.loads((EXAMPLES / "toewijzing.json").read_text())).encode()
# what the failing rule's exception says: a BSN-like number, which nobody may be told
SECRET = "999993653"
# The HTTP status each door answers an internal refusal with (None: the door has no HTTP).
INTERNAL_STATUS = {"http": 500, "batch": 500, "amqp": None, "file": None}


def _broken_rule(gateway: Gateway, monkeypatch: pytest.MonkeyPatch, standard: str) -> None:
    (adapter,) = [a for a in gateway.registry.standards() if standard in a.standards]

    def check(*_: Any) -> list[Any]:
        raise KeyError(f"client {SECRET} not found")

    monkeypatch.setattr(adapter, "check", check)


def _broken_ledger_read(gateway: Gateway, monkeypatch: pytest.MonkeyPatch, _: str) -> None:
    ledger = gateway.ledger

    def fail(*_: Any) -> Any:
        raise RuntimeError(f"lookup of {SECRET} failed")

    for name in ("find", "find_many"):
        monkeypatch.setattr(ledger, name, fail)


FAULTS: dict[str, Callable[[Gateway, pytest.MonkeyPatch, str], None]] = {
    "rule": _broken_rule,
    "ledger-read": _broken_ledger_read,
}
CASES = [
    (door, mapping, fault)
    for fault in FAULTS
    for door, mapping in [
        ("http", None),
        ("http", "iwmo/toewijzing"),
        ("batch", None),
        ("amqp", None),
        ("file", None),
    ]
]


@pytest.mark.parametrize(
    ("door", "mapping", "fault"), CASES, ids=[f"{d}-{m or 'xml'}-{f}" for d, m, f in CASES]
)
def test_an_internal_error_while_judging_ends_in_a_recorded_verdict(
    doors: Doors, monkeypatch: pytest.MonkeyPatch, door: str, mapping: str | None, fault: str
) -> None:
    FAULTS[fault](doors.gateway, monkeypatch, "iwmo")
    body = TOEWIJZING if mapping else WMO301
    knock = DOORS[door]
    sent_as = str(uuid.uuid4())
    first = knock(doors, body, mapping, sent_as)
    message_id = first.receipt["message_id"]
    assert first.status == INTERNAL_STATUS[door], first
    assert first.receipt["status"] == "refused", first.receipt
    assert first.receipt["internal"] is True and first.receipt["forbidden"] is False
    (error,) = first.receipt["errors"]
    assert "internal error" in error and "new message id" in error
    assert SECRET not in json.dumps(first.receipt)
    history = doors.gateway.ledger.history(message_id)
    assert history[0].event is Event.RECEIVED
    assert history[-1].event is Event.REJECTED, [e.event for e in history]
    assert history[-1].detail["stage"] == "internal"
    assert history[-1].detail["errors"] == [error]
    assert doors.gateway.ledger.payload(history[0].payload_sha256 or "") == body  # not lost

    again = knock(doors, body, mapping, sent_as)
    assert again.status == first.status
    assert again.receipt["duplicate"] is True and again.receipt["errors"] == [error]
    assert again.receipt["internal"] is True
    assert len(doors.gateway.ledger.history(message_id)) == len(history)


def test_a_message_the_sender_got_wrong_is_not_answered_as_ours(doors: Doors) -> None:
    """The other side of the line: a refusal for the message's own fault stays 422, not
    internal (no rule broken here)."""
    broken = WMO301.replace(b"<iwmo:Eenheid>", b"<iwmo:Eenheidje>", 1)
    answer = DOORS["http"](doors, broken, None, str(uuid.uuid4()))
    assert answer.status == 422 and answer.receipt["status"] == "refused"
    assert answer.receipt["internal"] is False


def test_a_dry_run_that_fails_on_our_side_answers_500_and_records_nothing(
    doors: Doors, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_rule(doors.gateway, monkeypatch, "iwmo")
    before = doors.gateway.ledger.tree_size()
    response = doors.client.post(
        "/v1/messages/outbound?dry_run=true", content=WMO301, headers=as_("internal")
    )
    assert response.status_code == 500, response.text
    verdict = response.json()
    assert verdict["dry_run"] is True and verdict["internal"] is True
    assert verdict["status"] == "refused" and SECRET not in response.text
    assert doors.gateway.ledger.tree_size() == before


def test_a_batch_marks_only_the_item_refused_on_our_side(
    doors: Doors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One message of three fails on our side: it alone is marked (500, internal), the others
    are answered as ever, and the request is a 207, as for any batch not wholly accepted."""
    adapter = doors.gateway.registry.for_standard("iwmo")
    check = adapter.check
    poisoned = WMO301.replace(b"<iwmo:Eenheid>04", b"<iwmo:Eenheid>14", 1)
    assert poisoned != WMO301

    def check_unless_poisoned(doc: Any, *rest: Any) -> Any:
        if b"<iwmo:Eenheid>14" in etree.tostring(doc):
            raise KeyError(f"client {SECRET} not found")
        return check(doc, *rest)

    monkeypatch.setattr(adapter, "check", check_unless_poisoned)
    bodies = [WMO301, poisoned, WMO301.replace(b"<iwmo:Eenheid>", b"<iwmo:Eenheidje>", 1)]
    request = {"messages": [{"body": base64.b64encode(b).decode()} for b in bodies]}
    response = doors.client.post(
        "/v1/messages/outbound/batch", json=request, headers=as_("internal")
    )
    assert response.status_code == 207, response.text
    answer = response.json()
    results = answer["messages"]
    assert [r["http_status"] for r in results] == [202, 500, 422]
    assert [r["internal"] for r in results] == [False, True, False]
    assert [r["status"] for r in results] == ["accepted", "refused", "refused"]
    assert answer["counts"]["refused"] == 2 and answer["counts"]["not_recorded"] == 0
    history = doors.gateway.ledger.history(results[1]["message_id"])
    assert history[-1].detail["stage"] == "internal"
    assert SECRET not in response.text


# -- the counterparts' automatic fault answers -------------------------------------------------


@pytest.fixture
def counterparts(settings: Settings) -> Iterator[tuple[Gateway, TestClient]]:
    """A gemeente on the GGk and CORV, open (no identities): the ebMS adapter's doors."""
    adapters = ("adapters.istandaarden", "adapters.ggk", "adapters.corv")
    configured = counterpart_settings(
        settings, adapters=adapters, corv_organisatie=corv_messages.GEMEENTE
    )
    gateway = Gateway(configured)
    gateway.declare_topology()
    try:
        with TestClient(make_app(gateway), raise_server_exceptions=False) as client:
            yield gateway, client
    finally:
        gateway.close()


def _di01(payload: bytes, reference: str) -> bytes:
    return ggk_di01(payload, "WMO301", "0363", ontvanger="0599", ref=reference)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_ggk_zender_is_told_we_could_not_process_it_not_that_it_fails_the_xsd(
    counterparts: tuple[Gateway, TestClient], monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    gateway, client = counterparts
    FAULTS[fault](gateway, monkeypatch, "iwmo")
    reference = str(uuid.uuid4())
    response = client.post("/v1/ggk", content=_di01(WMO301, reference))
    # the ebMS adapter handed it in well: taken (202), the receipt says it is ours
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["status"] == "refused" and receipt["internal"] is True
    assert receipt["fo01_id"] and SECRET not in response.text
    # the Fo01 on its way to the zender, as recorded (what the worker sends)
    fo01 = gateway.ledger.history(receipt["fo01_id"])
    assert fo01[0].detail["direction"] == Direction.OUTBOUND.value
    assert fo01[0].detail["parent_id"] == receipt["message_id"]
    sg, fout = read_fout(etree.fromstring(gateway.ledger.payload(fo01[0].payload_sha256 or "")))
    # svb-cak-corv.md:51 (and iwmo-ijw.md:436): the Fo01 body's plek is client or server; the
    # Foutcodes ISD-keten list (svb-cak-corv.md:50, :54) gives a gemeente only StUF055, "Bericht
    # voldoet niet aan XSD", for what the sender got wrong. Judging failed on our side: StUF
    # 03.01's StUF058 "Proces voor afhandelen bericht geeft fout", plek server (not in the
    # reference folder; the StUF standard's server-side foutcode).
    assert (fout.code, fout.plek) == ("StUF058", "server")
    assert "XSD" not in fout.omschrijving and SECRET not in fout.omschrijving
    assert "opnieuw" in fout.omschrijving  # it may be sent again
    assert sg.cross_ref == reference and sg.ontvanger.organisatie == "0363"
    assert fout.details == "WMO301-00010000"


def test_the_ggk_zender_of_a_payload_failing_its_xsd_still_gets_stuf055(
    counterparts: tuple[Gateway, TestClient],
) -> None:
    gateway, client = counterparts
    bad = (EXAMPLES / "WMO301-zonder-producten.xml").read_bytes()
    receipt = client.post("/v1/ggk", content=_di01(bad, str(uuid.uuid4()))).json()
    assert receipt["status"] == "refused" and receipt["internal"] is False
    fo01 = gateway.ledger.history(receipt["fo01_id"])
    _, fout = read_fout(etree.fromstring(gateway.ledger.payload(fo01[0].payload_sha256 or "")))
    assert (fout.code, fout.plek) == ("StUF055", "client") and "XSD" in fout.omschrijving


def test_jubes_is_told_we_could_not_process_it_in_a_server_fault(
    counterparts: tuple[Gateway, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, client = counterparts
    _broken_rule(gateway, monkeypatch, "corv")  # (CORV's rules read no ledger)
    data = corv_messages.zorgmelding()
    message = corv_codec.encode(data["stuurgegevens"]["functie"], data)
    before = gateway.ledger.tree_size()
    response = client.post("/v1/corv", content=soap.wrap(message))
    assert response.status_code == 500, response.text  # a SOAP fault, as every refusal here
    found = soap.fault_of(soap.body_of(etree.fromstring(response.content)))
    assert found is not None and found.detail is not None
    assert found.code == "soapenv:Server"  # ours, not the message's (soapenv:Client)
    sg, fout = read_fout(found.detail)
    # the same foutcode as the GGk's (see above): StUF058, plek server
    assert (fout.code, fout.plek) == ("StUF058", "server")
    assert "XSD" not in fout.omschrijving and SECRET not in response.text
    assert sg.cross_ref == data["stuurgegevens"]["referentienummer"]
    assert ggk_codec.STUF_SCHEMA.errors(found.detail) == []  # a valid StUF 0301 Fo03Bericht
    # recorded: received, then refused at stage internal
    new = [gateway.ledger.entry(s) for s in range(before + 1, gateway.ledger.tree_size() + 1)]
    assert [(e.event, e.detail.get("stage")) for e in new if e] == [
        (Event.RECEIVED, None),
        (Event.REJECTED, "internal"),
    ]
