"""GGk: the StUF-GGk envelope we build and read, the transport's answers and failures (the GGk
mocked with ``responses``), and the receiving endpoint's Di01/Du01/Fo01 handling."""

from __future__ import annotations

import base64
import dataclasses
import uuid

import pytest
import requests
import responses
from fastapi.testclient import TestClient
from lxml import etree

from adapters.ggk import codec
from adapters.ggk.endpoint import GgkIntake, make_router
from adapters.ggk.transport import REFERENCE_KEY, GgkTransport
from adapters.lib import soap
from adapters.lib.refs import is_uuid4
from adapters.lib.stuf.messages import STUF, Fout, Stuurgegevens, Systeem, foutbericht, read_fout
from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import HttpPolicy
from gateway.adapter import Delivery
from gateway.bus.failures import Permanent
from gateway.envelope import Direction, Envelope, MessageType
from gateway.receive import ACCEPTED, REFUSED
from tests.conftest import EXAMPLES, REFERENCE
from tests.counterparts.helpers import (
    GGK_EXAMPLES,
    GGK_URL,
    IEB10,
    assert_valid,
    counterpart_settings,
    events,
    ggk_di01,
    make_parts,
    prime_toewijzing,
    public_ggk_schema,
    soap_body,
    xml_bestand,
)

WMO305 = REFERENCE / "jaapjunior-iwmo-3.2/voorbeeldberichten/WMO305.xml"
POLICY = HttpPolicy(attempts=3, backoff=0.001, max_wait=0.05, timeout=1.0)


@pytest.fixture
def parts(settings):
    parts = make_parts(counterpart_settings(settings))
    yield parts
    parts.ledger.close()


def _wmo301() -> bytes:
    return (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()


def _outbound(body: bytes, code: str = "WMO301", **kw) -> Envelope:
    return Envelope(
        body=body,
        direction=Direction.OUTBOUND,
        message_type=MessageType("iwmo", code, "3.2"),
        **kw,
    )


def _transport(sleeps: list[float] | None = None) -> GgkTransport:
    return GgkTransport(
        GGK_URL,
        organisatie="0599",
        policy=POLICY,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def _di01(payload: bytes, functie: str, zender: str = "65656055", ref: str | None = None) -> bytes:
    return ggk_di01(payload, functie, zender, ref=ref)


# -- the public examples ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in GGK_EXAMPLES.glob("*.xml")),
)
def test_every_public_ggk_example_is_read_and_classified(name: str) -> None:
    root = etree.parse(str(GGK_EXAMPLES / name)).getroot()
    assert public_ggk_schema().validate(root)  # the oracle agrees it is valid
    if root.tag == f"{{{STUF}}}Fo01Bericht":
        assert codec.STUF_SCHEMA.errors(root) == []
        sg, fout = read_fout(root)
        assert (sg.berichtcode, fout.code, fout.plek) == ("Fo01", "IB210", "client")
        return
    assert codec.ENVELOPE_SCHEMA.errors(root) == []
    envelope = codec.read(root)
    expected = {
        "envelopHeenbericht-ggk_Di01_v21-xml.xml": ("Di01", "WMO301", b"iWmo/iJw-heenbericht"),
        "envelopHeenbericht-ggk_Di01_v21-tekst.xml": ("Di01", "Dummy", b"dummy-tekstbericht"),
        "envelopRetourbericht-ggk_Du01-v21.xml": ("Du01", "WMO302", b"iWmo/iJw-retourbericht"),
    }[name]
    assert (envelope.berichtcode, envelope.stuurgegevens.functie) == expected[:2]
    assert expected[2] in envelope.payload
    assert bool(envelope.bestandsnaam) == ("tekst" in name)


def test_messagestub_soap_envelopes_unwrap() -> None:
    folder = IEB10 / "ggk-soap-examples"
    di01 = codec.read(soap.body_of(etree.parse(str(folder / "soap-envelope-di01.xml")).getroot()))
    assert (di01.berichtcode, di01.stuurgegevens.functie) == ("Di01", "WMO301")
    payload = etree.fromstring(di01.payload)  # an iWmo 2.3 WMO301
    assert payload.tag == "{http://www.istandaarden.nl/iwmo/2_3/wmo301/schema}Bericht"
    du01 = codec.read(soap.body_of(etree.parse(str(folder / "soap-envelope-du01.xml")).getroot()))
    assert (du01.berichtcode, du01.stuurgegevens.functie) == ("Du01", "WMO302")
    assert du01.payload == b"Hier staat een iWmo/iJw-retourbericht."  # a placeholder, not XML


def test_messagestub_soap_fo01_is_read() -> None:
    root = etree.parse(str(IEB10 / "ggk-soap-examples" / "soap-envelope-fo01.xml")).getroot()
    inner = soap.body_of(root)
    assert codec.STUF_SCHEMA.errors(inner) == []
    sg, fout = read_fout(inner)
    assert (fout.code, fout.plek, sg.cross_ref) == (
        "fout",
        "server",
        "9c0f7b90-5c69-41e5-a837-0800200c9a66",
    )


# -- what we build ----------------------------------------------------------------------------


def test_di01_we_build_validates_against_the_public_xsd_and_carries_the_payload() -> None:
    transport = _transport()
    body = _wmo301()
    envelope = _outbound(body)
    ggk = transport.envelope_for(envelope, Delivery("12345678", body, "application/xml", "x"))
    element = codec.build(ggk)
    assert_valid(public_ggk_schema(), element)
    sg = ggk.stuurgegevens
    assert sg.berichtcode == "Di01" and sg.functie == "WMO301"
    assert sg.ontvanger == Systeem("12345678", "GGk")
    assert sg.zender.organisatie == "0599"  # the payload's Afzender (the other party is 12345678)
    assert (ggk.functie_versie, ggk.functie_subversie) == ("0003", "0002")
    assert is_uuid4(sg.referentienummer)
    # the same message always gets the same reference (a re-send is recognised)
    again = transport.envelope_for(envelope, Delivery("12345678", body, "application/xml", "x"))
    assert again.stuurgegevens.referentienummer == sg.referentienummer
    assert codec.read(element).payload == body


def test_retour_goes_in_a_du01_quoting_the_di01_and_routes_by_party_kind() -> None:
    transport = _transport()
    di01_ref = str(uuid.uuid4())
    retour = _outbound(_wmo301(), "WMO302", correlation_id=di01_ref)
    ggk = transport.envelope_for(retour, Delivery("12345678", _wmo301(), "application/xml", "x"))
    assert ggk.berichtcode == "Du01" and ggk.stuurgegevens.cross_ref == di01_ref
    assert_valid(public_ggk_schema(), codec.build(ggk))
    for to in ("SVB", "CAK", "0363"):
        ggk = transport.envelope_for(
            _outbound(_wmo301()), Delivery(to, _wmo301(), "application/xml", "x")
        )
        assert ggk.stuurgegevens.ontvanger.organisatie == to
    with pytest.raises(Refused, match="no gemeentecode"):
        transport.envelope_for(_outbound(_wmo301()), Delivery("123", _wmo301(), "a", "x"))
    with pytest.raises(Refused, match="did not come through the GGk"):
        transport.envelope_for(
            _outbound(_wmo301(), "WMO302", correlation_id="case-17"),
            Delivery("12345678", _wmo301(), "application/xml", "x"),
        )


def test_fo01_we_build_validates_against_the_public_xsd() -> None:
    sg = Stuurgegevens(
        "Fo01",
        Systeem("0363", "Ketenpoort"),
        Systeem("65656055", "GGk"),
        str(uuid.uuid4()),
        "20260105120000",
        cross_ref=str(uuid.uuid4()),
    )
    fout = Fout("StUF055", "client", "x" * 500, details="WMO305-00010000")
    element = foutbericht(sg, fout)
    assert_valid(public_ggk_schema(), element)  # omschrijving was cut to 200 characters


def test_oversize_envelope_is_refused_before_sending() -> None:
    transport = _transport()
    transport.max_bytes = 40 * 1024 * 1024
    body = _wmo301().replace(
        b"</wmo301:Bericht>", b"<!--" + b"x" * (19 * 1024 * 1024) + b"--></wmo301:Bericht>"
    )
    with responses.RequestsMock() as mock:
        with pytest.raises(Refused, match="at most 26214400"):
            transport.deliver(_outbound(body), Delivery("12345678", body, "application/xml", "x"))
        assert not mock.calls


# -- the transport's answers ------------------------------------------------------------------


def _deliver(transport: GgkTransport):
    return transport.deliver(
        _outbound(_wmo301()), Delivery("12345678", _wmo301(), "application/xml", "x")
    )


@responses.activate
def test_taken_delivery_records_the_envelope_data_and_indexes_the_reference() -> None:
    responses.post(GGK_URL, status=202, body=b"")
    handover = _deliver(_transport())
    [call] = responses.calls
    assert call.request.headers["SOAPAction"] == f'"{codec.GGK}/ggk_Di01"'
    inner = soap_body(call.request.body)
    assert_valid(public_ggk_schema(), inner)
    assert xml_bestand(inner) == _wmo301()
    assert handover.keys == {REFERENCE_KEY: [handover.reference]}
    assert handover.detail["berichtcode"] == "Di01" and handover.detail["attempts"] == 1


@responses.activate
def test_timeouts_and_5xx_are_retried_then_raised_as_retryable() -> None:
    responses.post(GGK_URL, body=requests.Timeout("slow"))
    responses.post(GGK_URL, status=500)
    responses.post(GGK_URL, status=502)
    with pytest.raises(Unavailable) as caught:
        _deliver(_transport())
    assert len(responses.calls) == 3
    assert caught.value.attempts == 3 and "HTTP 502" in str(caught.value)
    assert not isinstance(caught.value, Permanent)


@responses.activate
def test_503_with_retry_after_is_honoured_then_taken() -> None:
    responses.post(GGK_URL, status=503, headers={"Retry-After": "0"})
    responses.post(GGK_URL, status=503, headers={"Retry-After": "2"})
    responses.post(GGK_URL, status=200, body=b"")
    sleeps: list[float] = []
    handover = _deliver(_transport(sleeps))
    assert handover.detail["attempts"] == 3
    assert sleeps == [0.0, 0.05]  # asked 0 s, then 2 s capped at max_wait


@responses.activate
def test_malformed_reply_is_retryable() -> None:
    responses.post(GGK_URL, status=200, body=b"<html><body>proxy says hi")
    with pytest.raises(Unavailable, match="malformed reply"):
        _deliver(_transport())
    assert len(responses.calls) == 3


def _fault(code: str, plek: str = "client", berichtcode: str = "Fo03") -> bytes:
    sg = Stuurgegevens(
        berichtcode,
        Systeem("IB", "GGK"),
        Systeem("0599", "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105120000",
        cross_ref=str(uuid.uuid4()),
    )
    return soap.fault("Client", "fout", foutbericht(sg, Fout(code, plek, "omschrijving")))


@responses.activate
def test_fault_codes_decide_between_parking_and_retrying() -> None:
    responses.post(GGK_URL, status=500, body=_fault("IB102"))
    with pytest.raises(Refused, match="IB102 \\(not-routed\\)") as refused:
        _deliver(_transport())
    assert isinstance(refused.value, Permanent) and len(responses.calls) == 1
    responses.replace(responses.POST, GGK_URL, status=500, body=_fault("IB103"))
    with pytest.raises(Unavailable, match="release freeze"):
        _deliver(_transport())
    responses.replace(responses.POST, GGK_URL, status=500, body=_fault("X999", "server"))
    with pytest.raises(Unavailable, match="counterpart failed"):
        _deliver(_transport())
    responses.replace(responses.POST, GGK_URL, status=400)
    with pytest.raises(Refused, match="HTTP 400"):
        _deliver(_transport())
    responses.replace(responses.POST, GGK_URL, status=429, headers={"Retry-After": "0"})
    with pytest.raises(Unavailable, match="HTTP 429"):
        _deliver(_transport())


# -- the receiving endpoint -------------------------------------------------------------------


@responses.activate
def test_received_di01_goes_to_the_back_office_and_its_retour_back_in_a_du01(parts) -> None:
    responses.post(GGK_URL, status=200, body=b"")
    prime_toewijzing(parts)
    ref = str(uuid.uuid4())
    outcome = GgkIntake(parts).take(_di01(WMO305.read_bytes(), "WMO305", ref=ref))
    assert outcome.status == 202 and outcome.receipt.status == ACCEPTED
    message_id = outcome.receipt.message_id
    received = parts.ledger.history(message_id)[0]
    assert received.correlation_id == ref
    assert received.detail["referentienummer"] == ref and received.detail["functie"] == "WMO305"
    assert parts.ledger.payload(received.payload_sha256) == WMO305.read_bytes()
    assert GgkIntake(parts).take(_di01(WMO305.read_bytes(), "WMO305", ref=ref)).receipt.duplicate
    results = parts.drain()
    assert [error for _, error in results] == [None, None]
    assert (parts.settings.outbox_dir / "backoffice").exists()
    [call] = responses.calls
    du01 = soap_body(call.request.body)
    assert_valid(public_ggk_schema(), du01)
    read = codec.read(du01)
    assert (read.berichtcode, read.stuurgegevens.functie) == ("Du01", "WMO306")
    assert read.stuurgegevens.cross_ref == ref
    assert read.stuurgegevens.ontvanger.organisatie == "65656055"
    assert etree.fromstring(read.payload).findtext(".//{*}BerichtCode") == "419"


@responses.activate
def test_payload_failing_its_xsd_is_answered_with_fo01_stuf055(parts) -> None:
    responses.post(GGK_URL, status=200, body=b"")
    bad = (EXAMPLES / "WMO301-zonder-producten.xml").read_bytes()
    ref = str(uuid.uuid4())
    outcome = GgkIntake(parts).take(_di01(bad, "WMO301", zender="0363", ref=ref))
    assert outcome.status == 202 and outcome.receipt.status == REFUSED
    assert outcome.fo01_id is not None
    assert events(parts.ledger, outcome.fo01_id)[:3] == ["received", "validated", "published"]
    parts.drain()
    [call] = responses.calls
    assert call.request.headers["SOAPAction"] == f'"{STUF}/Fo01"'
    fo01 = soap_body(call.request.body)
    assert_valid(public_ggk_schema(), fo01)
    sg, fout = read_fout(fo01)
    assert (fout.code, sg.cross_ref, sg.ontvanger.organisatie) == ("StUF055", ref, "0363")
    assert fout.details == "WMO301-00010000"
    assert "ToegewezenProducten" in fout.omschrijving
    # detailsXML: the original message with its StUF envelope (not only the iWmo payload)
    [original] = fout.details_xml
    sent = soap.body_of(etree.fromstring(_di01(bad, "WMO301", zender="0363", ref=ref)))
    assert original.tag == sent.tag
    assert codec.read(original).stuurgegevens.referentienummer == ref
    assert codec.read(original).payload == bad
    assert events(parts.ledger, outcome.fo01_id)[-1] == "delivered"


@responses.activate
def test_payload_we_failed_to_judge_is_answered_with_fo01_stuf058(parts, monkeypatch) -> None:
    """Judging failed on our side (here a rule that raises): the zender is told we could not
    process it (StUF058, plek server), not that it fails the XSD: nothing is known to be wrong
    with it. svb-cak-corv.md:51: the Fo01 body's plek is client or server."""
    responses.post(GGK_URL, status=200, body=b"")
    adapter = parts.registry.for_standard("iwmo")

    def broken(*_: object) -> list[object]:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(adapter, "check", broken)
    ref = str(uuid.uuid4())
    outcome = GgkIntake(parts).take(_di01(_wmo301(), "WMO301", zender="0363", ref=ref))
    assert outcome.status == 202 and outcome.receipt.status == REFUSED
    assert outcome.receipt.internal and outcome.fo01_id is not None
    parts.drain()
    [call] = responses.calls
    fo01 = soap_body(call.request.body)
    assert_valid(public_ggk_schema(), fo01)
    sg, fout = read_fout(fo01)
    assert (fout.code, fout.plek, sg.cross_ref) == ("StUF058", "server", ref)
    assert "XSD" not in fout.omschrijving and "bug" not in fout.omschrijving
    assert fout.details == "WMO301-00010000" and len(fout.details_xml) == 1
    assert events(parts.ledger, outcome.fo01_id)[-1] == "delivered"


@responses.activate
def test_async_fo01_parks_the_message_it_answers_with_a_clear_state(parts) -> None:
    responses.post(GGK_URL, status=200, body=b"")
    toewijzing = _outbound(_wmo301())
    receipt = parts.receiver.receive(
        Envelope(body=_wmo301(), direction=Direction.OUTBOUND, message_id=toewijzing.message_id)
    )
    assert receipt.status == ACCEPTED
    parts.drain()
    delivered = parts.ledger.history(receipt.message_id)[-1]
    ref = delivered.detail["referentienummer"]
    sg = Stuurgegevens(
        "Fo01",
        Systeem("IB", "GGK"),
        Systeem("0599", "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105120000",
        cross_ref=ref,
    )
    # the hub's omschrijving quotes a BSN: it is kept for operators, with the BSN masked
    fo01 = soap.wrap(foutbericht(sg, Fout("IB102", "client", "Geen route voor 999990032")))
    outcome = GgkIntake(parts).take(fo01)
    assert outcome.status == 202 and outcome.receipt.status == ACCEPTED
    last = parts.ledger.history(receipt.message_id)[-1]
    assert last.event.value == "parked"
    assert last.detail["state"] == "not-routed" and last.detail["foutcode"] == "IB102"
    assert last.detail["omschrijving"] == "Geen route voor *********"
    assert "no route" in last.detail["reason"]
    fo01_history = parts.ledger.history(outcome.receipt.message_id)
    assert fo01_history[0].detail["answers"] == receipt.message_id
    GgkIntake(parts).take(fo01)  # delivered twice by the ebMS adapter: parked once
    assert events(parts.ledger, receipt.message_id).count("parked") == 1
    parts.drain()  # the Fo01 itself goes to the back-office
    assert list((parts.settings.outbox_dir / "backoffice").glob("*Fo01.xml"))


def test_bad_envelopes_are_recorded_and_get_a_soap_fault(parts) -> None:
    not_uuid = _di01(_wmo301(), "WMO301").replace(
        b"<StUF:referentienummer>", b"<StUF:referentienummer>x"
    )
    for raw, expected in (
        (b"not xml", "not a StUF-GGk message"),
        (not_uuid, "does not match the StUF-GGk XSD"),
        (soap.wrap(etree.Element(f"{{{STUF}}}Bv03Bericht")), "neither receives nor answers"),
    ):
        outcome = GgkIntake(parts).take(raw)
        assert outcome.status == 400 and expected in outcome.fault
    assert len(parts.bus.published) == 0


def test_endpoint_over_http(parts) -> None:
    from fastapi import FastAPI

    from gateway.ops.auth import Authenticator

    prime_toewijzing(parts)
    app = FastAPI()
    app.state.auth = Authenticator.from_settings(parts.settings)  # as make_app keeps it
    app.include_router(make_router(parts))
    with TestClient(app) as client:
        ok = client.post("/v1/ggk", content=_di01(WMO305.read_bytes(), "WMO305"))
        assert ok.status_code == 202 and ok.json()["status"] == "accepted"
        bad = client.post("/v1/ggk", content=b"<x/>")
        assert bad.status_code == 400 and b"Fault" in bad.content
        huge = client.post("/v1/ggk", content=b"x" * (parts.settings.max_message_bytes + 1))
        assert huge.status_code == 413


def test_payload_bom_is_removed_and_base64_checked() -> None:
    body = codec.BOM + _wmo301()
    element = codec.build(
        codec.GgkEnvelope(
            Stuurgegevens(
                "Di01",
                Systeem("0599", "Ketenpoort"),
                Systeem("12345678", "GGk"),
                str(uuid.uuid4()),
                "20260105120000",
                functie="WMO301",
            ),
            "0001",
            "0000",
            "0003",
            "0002",
            body,
        )
    )
    [holder] = element.iter(f"{{{codec.GGK}}}xmlBestand")
    assert not base64.b64decode(holder.text).startswith(codec.BOM)
    holder.text = "@@@"
    with pytest.raises(codec.EnvelopeError, match="not valid base64"):
        codec.read(element)


def test_the_receiving_endpoint_needs_an_identity_that_may_send(parts) -> None:
    """With identities configured, only the ebMS adapter's identity (parties=*) may post."""
    from fastapi import FastAPI

    from gateway.ops.auth import Authenticator, identity_line

    relay_key, viewer_key = "relay-key-" + "r" * 32, "viewer-key-" + "v" * 32
    settings = dataclasses.replace(
        parts.settings,
        ops_identities=(
            identity_line("ebms-adapter", relay_key, [], ["*"]),
            identity_line("dashboard-user", viewer_key, ["viewer"], []),
        ),
    )
    prime_toewijzing(parts)
    app = FastAPI()
    app.state.auth = Authenticator.from_settings(settings)  # as make_app keeps it
    app.include_router(make_router(dataclasses.replace(parts, settings=settings)))
    body = _di01(WMO305.read_bytes(), "WMO305")
    with TestClient(app) as client:
        assert client.post("/v1/ggk", content=body).status_code == 401
        viewer = {"Authorization": f"Bearer {viewer_key}"}
        assert client.post("/v1/ggk", content=body, headers=viewer).status_code == 403
        relay = {"Authorization": f"Bearer {relay_key}"}
        ok = client.post("/v1/ggk", content=body, headers=relay)
        assert ok.status_code == 202 and ok.json()["status"] == "accepted"
    assert len(parts.bus.published) == 1  # only the authenticated post was taken
