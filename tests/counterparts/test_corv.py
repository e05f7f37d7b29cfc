"""CORV (StUF-koppelvlak Jeugdzorg 1.0.9): messages after the public test set's scenarios
built, validated against our XSDs and the public resolved schema sets, received with a Bv03 or
Fo03 answer; the verzoek tot onderzoek mapped, sent to JUBES (mocked with ``responses``) and
answered with an asynchronous Fo01; CORV retention."""

from __future__ import annotations

import functools
import json
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from lxml import etree

from adapters.corv import codec, retention
from adapters.corv.catalogue import JZ, SOAP_ACTION
from adapters.corv.endpoint import CorvIntake
from adapters.corv.transport import REFERENCE_KEY, CorvTransport
from adapters.ggk import codec as ggk_codec
from adapters.lib import soap
from adapters.lib.stuf.messages import (
    STUF,
    Fout,
    Stuurgegevens,
    Systeem,
    bevestiging,
    foutbericht,
    read_fout,
    stuurgegevens_of,
)
from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import HttpPolicy
from gateway.adapter import Delivery
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger.retention import apply, parse_policies
from gateway.receive import ACCEPTED, REFUSED, REJECTED
from tests.conftest import REFERENCE
from tests.counterparts import corv_messages as m
from tests.counterparts.helpers import (
    CORV_URL,
    assert_valid,
    counterpart_settings,
    events,
    make_parts,
)

CORV_DATA = REFERENCE / "corv-stuf-jeugdzorg"
SETS = {
    "jr": (
        "StUF-koppelvlak_Jeugdzorg_-_jrberichtenversie_1.0.9_20251013_-_schemas__resolved.zip",
        "jz0100_msg_jzberichten_resolved2025.xsd",
    ),
    "vt": (
        "StUF-koppelvlak_Jeugdzorg_-_vtberichtenversie_1.0.9_20251013_-_schemas__resolved.zip",
        "jz0100_msg_vtberichten_resolved2025.xsd",
    ),
    "vv": (
        "StUF-koppelvlak_Jeugdzorg_-_vvberichtenversie_1.0.9_20251013_-_schemas__resolved.zip",
        "jz0100_msg_vvberichten_resolved2025.xsd",
    ),
}
# the public set that holds each Veilig Thuis message (oracle)
VT_SET = {
    "vtMeldingDi01": "vt",
    "zorgmeldingTerugkoppelingDi01": "vt",
    "vtTerugkoppelingDi01": "vt",
    "vcobDi01": "vv",
    "ucobDi01": "vv",
    "vciDi01": "vv",
    "uciDi01": "vv",
}
POLICY = HttpPolicy(attempts=3, backoff=0.001, max_wait=0.01, timeout=1.0)


@functools.cache
def public(kind: str) -> etree.XMLSchema:
    """A public resolved 1.0.9 schema set, unpacked from the reference zip (oracle only)."""
    archive, main = SETS[kind]
    folder = Path(tempfile.mkdtemp(prefix=f"kp-corv-{kind}-"))
    with zipfile.ZipFile(CORV_DATA / archive) as z:
        z.extractall(folder)
    return etree.XMLSchema(etree.parse(str(next(folder.rglob(main)))))


@pytest.fixture
def parts(settings):
    parts = make_parts(
        counterpart_settings(
            settings,
            adapters=("adapters.ggk", "adapters.corv"),
            corv_url=CORV_URL,
            corv_organisatie=m.GEMEENTE,
        )
    )
    yield parts
    parts.ledger.close()


def _element(data: dict) -> etree._Element:
    return codec.encode(data["stuurgegevens"]["functie"], data)


def _incoming():
    for name, data in m.NOTIFICATIES.items():
        yield f"notificatieDi01: {name}", data
    for name, data in m.NOTIFICATIES_JR.items():
        yield f"notificatiejrDi01: {name}", data
    yield "zorgmeldingDi01: van de politie met een document", m.zorgmelding()
    yield "vtMeldingDi01: van de politie, een kind en een ouder betrokken", m.vt_melding()


INCOMING = dict(_incoming())
# the two VT meldingen (politie, Halt -> Veilig Thuis), both in the public vt set
MELDINGEN = {"zorgmeldingDi01": m.zorgmelding, "vtMeldingDi01": m.vt_melding}


@pytest.mark.parametrize("name", sorted(INCOMING))
def test_test_set_messages_validate_against_ours_and_the_public_schemas(parts, name) -> None:
    element = _element(INCOMING[name])
    functie = etree.QName(element).localname
    assert_valid(public(VT_SET.get(functie, "jr")), element)
    if functie in MELDINGEN:
        assert_valid(public("vt"), element)
    adapter = parts.registry.for_document(element)
    message_type = adapter.identify(element)
    schema = parts.receiver.schemas.get(adapter, message_type)
    assert schema.validate(element), schema.error_log
    # decoded and encoded again: the same document
    again = codec.encode(message_type.code, codec.decode(element, message_type.code))
    assert etree.tostring(again, method="c14n") == etree.tostring(element, method="c14n")


@pytest.mark.parametrize("name", sorted(INCOMING))
def test_incoming_messages_are_received_and_confirmed_with_a_bv03(parts, name) -> None:
    data = INCOMING[name]
    answer = CorvIntake(parts).take(soap.wrap(_element(data)))
    assert answer.status == 200 and answer.receipt.status == ACCEPTED
    bv03 = soap.body_of(etree.fromstring(answer.body))
    sg = stuurgegevens_of(bv03)
    assert (sg.berichtcode, sg.cross_ref) == ("Bv03", data["stuurgegevens"]["referentienummer"])
    assert ggk_codec.STUF_SCHEMA.errors(bv03) == []
    assert_valid(public("jr"), bv03)  # the public StUF 0301 Bv03Bericht
    history = parts.ledger.history(answer.receipt.message_id)
    assert history[0].detail["functie"] == data["stuurgegevens"]["functie"]
    if data["stuurgegevens"]["functie"] == "vtMeldingDi01":  # found by the melder's number
        [found] = parts.ledger.find("corv.vtMelding", data["object"]["identificatieVtMelding"])
        assert found.message_id == answer.receipt.message_id
    parts.drain()
    assert [e.event.value for e in parts.ledger.history(answer.receipt.message_id)][
        -1
    ] == "delivered"


def test_duplicate_and_invalid_messages_get_a_fo03(parts) -> None:
    data = m.zorgmelding()
    first = CorvIntake(parts).take(soap.wrap(_element(data)))
    assert first.status == 200
    bv03 = stuurgegevens_of(soap.body_of(etree.fromstring(first.body)))
    twice = CorvIntake(parts).take(soap.wrap(_element(data)))
    fault = soap.fault_of(soap.body_of(etree.fromstring(twice.body)))
    assert twice.status == 500 and fault is not None
    fo03, fout = read_fout(fault.detail)
    assert fout.code == "StUF016"  # testset: same zender and referentienummer again
    # each answer has a referentienummer of its own (StUF016 is what we demand of others)
    thrice = CorvIntake(parts).take(soap.wrap(_element(data)))
    again, _ = read_fout(soap.fault_of(soap.body_of(etree.fromstring(thrice.body))).detail)
    references = {bv03.referentienummer, fo03.referentienummer, again.referentienummer}
    assert len(references) == 3
    assert fo03.cross_ref == bv03.cross_ref == data["stuurgegevens"]["referentienummer"]
    broken = m.notificatie("Intake afgerond", m.kind(geslachtsnaam="X"))
    del broken["object"]["heeft"]
    answer = CorvIntake(parts).take(soap.wrap(_element(broken)))
    assert answer.receipt.status == REFUSED
    fault = soap.fault_of(soap.body_of(etree.fromstring(answer.body)))
    assert read_fout(fault.detail)[1].code == "StUF055"
    assert_valid(public("jr"), fault.detail)  # our Fo03 is a valid StUF Fo03Bericht


def test_a_message_we_failed_to_judge_gets_a_fo03_stuf058_in_a_server_fault(
    parts, monkeypatch
) -> None:
    """Judging failed on our side (a rule that raises): JUBES is told we could not process it
    (StUF058, plek server, a Server fault), not that it fails the XSD."""
    adapter = parts.registry.for_standard("corv")

    def broken(*_: object) -> list[object]:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(adapter, "check", broken)
    data = m.zorgmelding()
    answer = CorvIntake(parts).take(soap.wrap(_element(data)))
    assert answer.status == 500 and answer.receipt.status == REFUSED and answer.receipt.internal
    assert parts.ledger.history(answer.receipt.message_id)[-1].detail["stage"] == "internal"
    fault = soap.fault_of(soap.body_of(etree.fromstring(answer.body)))
    assert fault.code == "soapenv:Server" and "StUF058" in fault.text
    sg, fout = read_fout(fault.detail)
    assert (fout.code, fout.plek) == ("StUF058", "server")
    assert "XSD" not in fout.omschrijving and "bug" not in fout.omschrijving
    assert sg.cross_ref == data["stuurgegevens"]["referentienummer"]
    assert_valid(public("jr"), fault.detail)  # a valid StUF Fo03Bericht


def _without_required_part(zaak: dict) -> None:
    """The vtMelding without its zorgelijke situatie, the zorgmelding without its initiator."""
    del zaak["betreft" if "betreft" in zaak else "heeftAlsInitiator"]


def _bsn_of_eight_digits(zaak: dict) -> None:
    """The first person's BSN (the jeugdige) one digit short."""
    if "betreft" in zaak:
        persoon = zaak["betreft"]["gerelateerde"]["heeftBetrokken"][0]["gerelateerde"]
    else:
        persoon = zaak["heeftBetrekkingOp"]["gerelateerde"]["natuurlijkPersoon"]
    persoon["inp.bsn"] = persoon["inp.bsn"][:8]


BREAKS = {
    "required part missing": _without_required_part,
    "BSN of eight digits": _bsn_of_eight_digits,
}


@pytest.mark.parametrize("functie", sorted(MELDINGEN))
@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_a_vt_melding_failing_the_xsd_gets_a_fo03_stuf055(parts, functie, fault) -> None:
    data = MELDINGEN[functie]()
    BREAKS[fault](data["object"])
    element = _element(data)
    assert not public("vt").validate(element)  # the public set refuses it too
    answer = CorvIntake(parts).take(soap.wrap(element))
    assert answer.status == 500 and answer.receipt.status == REFUSED
    assert parts.ledger.history(answer.receipt.message_id)[-1].detail["stage"] == "schema"
    fault_ = soap.fault_of(soap.body_of(etree.fromstring(answer.body)))
    assert read_fout(fault_.detail)[1].code == "StUF055"


@pytest.mark.parametrize("name", sorted(m.VTOS))
def test_vto_from_back_office_json_validates_against_the_public_schema(parts, name) -> None:
    body = json.dumps(m.VTOS[name]).encode()
    receipt = parts.receiver.receive_mapped(
        Envelope(body=body, direction=Direction.OUTBOUND, source="test"), "corv", "vto"
    )
    assert receipt.status == ACCEPTED, receipt.errors or receipt.findings
    [published] = parts.bus.published
    element = etree.fromstring(published.body)
    assert_valid(public("jr"), element)
    sg = stuurgegevens_of(element)
    assert (sg.functie, sg.zender.organisatie, sg.ontvanger.organisatie) == (
        "vtoDi01",
        m.GEMEENTE,
        m.RVDK,
    )
    dates = element.xpath("//*[local-name()='startdatum']/text()")
    assert dates == ["20260102"]  # a StUF date


def test_vto_rules_hold_what_the_public_schema_requires_of_a_gezaghebbende(parts) -> None:
    data = m.vto(
        belanghebbenden=[{"rol": "voogd", "persoon": {"telefoon": "0201234567"}}],
        kinderen=[{"rol": "Client (ongeboren kind)", "bsn": "999990019"}],
    )
    receipt = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(data).encode(), direction=Direction.OUTBOUND), "corv", "vto"
    )
    assert receipt.status == REJECTED
    assert sorted(f.rule for f in receipt.findings) == ["CV01", "CV01", "CV02"]
    missing = m.vto()
    del missing["medewerker"]
    refused = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(missing).encode(), direction=Direction.OUTBOUND), "corv", "vto"
    )
    assert refused.status == REFUSED and "medewerker" in refused.errors[0]


def _bv03_reply() -> bytes:
    sg = Stuurgegevens(
        "Bv03",
        Systeem("JUBES", "JUBES"),
        Systeem(m.GEMEENTE, "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105120000",
        cross_ref=str(uuid.uuid4()),
    )
    return soap.wrap(bevestiging(sg))


@responses.activate
def test_vto_goes_to_jubes_and_an_async_fo01_parks_it(parts) -> None:
    responses.post(CORV_URL, status=503, headers={"Retry-After": "0"})
    responses.post(CORV_URL, status=200, body=_bv03_reply())
    receipt = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(m.vto()).encode(), direction=Direction.OUTBOUND), "corv", "vto"
    )
    parts.drain()
    assert [c.request.headers["SOAPAction"] for c in responses.calls] == [
        f'"{SOAP_ACTION.format(functie="vtoDi01")}"'
    ] * 2
    delivered = parts.ledger.history(receipt.message_id)[-1]
    assert delivered.event.value == "delivered" and delivered.detail["attempts"] == 2
    ref = delivered.detail["referentienummer"]
    assert parts.ledger.find(REFERENCE_KEY, ref)
    sg = Stuurgegevens(
        "Fo01",
        Systeem("JUBES", "JUBES"),
        Systeem(m.GEMEENTE, "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105130000",
        cross_ref=ref,
    )
    fo01 = soap.wrap(foutbericht(sg, Fout("StUF058", "client", "Onbekende zaak")))
    answer = CorvIntake(parts).take(fo01)
    assert answer.status == 200 and answer.receipt.status == ACCEPTED
    parked = parts.ledger.history(receipt.message_id)[-1]
    assert parked.event.value == "parked" and parked.detail["foutcode"] == "StUF058"
    assert parked.detail["state"] == "refused" and parked.detail["by"] == "CORV"
    bv01 = Stuurgegevens(
        "Bv01",
        Systeem("RvdK", "RvdK"),
        Systeem(m.GEMEENTE, "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105140000",
        cross_ref=ref,
    )
    confirmed = CorvIntake(parts).take(soap.wrap(bevestiging(bv01)))
    assert confirmed.status == 202
    assert (
        parts.ledger.history(confirmed.receipt.message_id)[0].detail["answers"]
        == receipt.message_id
    )


def _vto_envelope(parts) -> tuple[Envelope, Delivery]:
    receipt = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(m.vto()).encode(), direction=Direction.OUTBOUND), "corv", "vto"
    )
    [envelope] = parts.bus.published
    assert envelope.message_id == receipt.message_id
    return envelope, Delivery(m.RVDK, envelope.body, "application/xml", "vtoDi01.xml")


@responses.activate
def test_corv_transport_failures(parts) -> None:
    envelope, delivery = _vto_envelope(parts)
    transport = CorvTransport(CORV_URL, policy=POLICY, sleep=lambda _s: None)
    responses.post(CORV_URL, body=requests.Timeout())
    with pytest.raises(Unavailable, match="no answer") as caught:
        transport.deliver(envelope, delivery)
    assert caught.value.attempts == 3
    sg = stuurgegevens_of(etree.fromstring(envelope.body))
    fo03 = foutbericht(
        sg.answer("Fo03", str(uuid.uuid4()), "20260105120000"), Fout("StUF055", "client", "XSD")
    )
    responses.replace(responses.POST, CORV_URL, status=500, body=soap.fault("Client", "x", fo03))
    with pytest.raises(Refused, match="StUF055"):
        transport.deliver(envelope, delivery)


@pytest.mark.parametrize("functie", sorted(MELDINGEN))
def test_corv_payloads_are_erased_24_hours_after_routing(parts, functie) -> None:
    adapter = parts.registry.by_name("corv")
    assert adapter.retention[:2] == ("corv:payload=24h", "corv:traffic=6mo")
    policies = parse_policies([retention.PAYLOAD_AFTER_ROUTING])  # the ledger's own grammar
    answer = CorvIntake(parts).take(soap.wrap(_element(MELDINGEN[functie]())))
    message_id = answer.receipt.message_id
    payload = parts.ledger.history(message_id)[0].payload_sha256
    later = datetime.now(UTC) + timedelta(hours=23)
    assert apply(parts.ledger, policies, at=later).messages == []  # in flight: kept
    parts.drain()  # routed: delivered to the back-office
    assert apply(parts.ledger, policies, at=later).messages == []  # not 24 hours yet
    assert parts.ledger.payload(payload) is not None
    erased = apply(parts.ledger, policies, at=datetime.now(UTC) + timedelta(hours=25))
    assert erased.messages == [message_id] and erased.payloads_erased == 1
    assert parts.ledger.payload(payload) is None
    assert events(parts.ledger, message_id)[-1] == "erased"
    assert MessageType("corv", "vtoDi01", "1.0.9").standard == adapter.standards[0]


@responses.activate
def test_corv_foutberichten_fall_under_the_corv_retention(parts) -> None:
    """A Fo01 from JUBES holding the original message in detailsXML is a StUF message (standard
    ``stuf``), not a CORV one: its payload is erased 24 hours after routing all the same, by
    the party policy the CORV adapter names; a GGk Fo01 (to our CBS gemeentecode) is kept."""
    adapter = parts.registry.by_name("corv")
    assert adapter.retention == (
        "corv:payload=24h",
        "corv:traffic=6mo",
        f"stuf@{m.GEMEENTE}:payload=24h",
        f"stuf@{m.GEMEENTE}:traffic=6mo",
    )
    policies = parse_policies([p for p in adapter.retention if ":payload=" in p])
    responses.post(CORV_URL, status=200, body=_bv03_reply())
    envelope, _ = _vto_envelope(parts)
    parts.drain()
    ref = parts.ledger.history(envelope.message_id)[-1].detail["referentienummer"]
    original = etree.fromstring(envelope.body)
    sg = Stuurgegevens(
        "Fo01",
        Systeem("JUBES", "JUBES"),
        Systeem(m.GEMEENTE, "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105130000",
        cross_ref=ref,
    )
    fout = Fout("StUF058", "client", "Onbekende zaak", details_xml=(original,))
    fo01 = CorvIntake(parts).take(soap.wrap(foutbericht(sg, fout))).receipt
    assert fo01.status == ACCEPTED and fo01.message_type == "stuf 0301 Fo01"
    ggk = Stuurgegevens(
        "Fo01",
        Systeem("IB", "GGk"),
        Systeem("0599", "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105130000",
        cross_ref=str(uuid.uuid4()),
    )
    ggk_fo01 = parts.receiver.receive(
        Envelope(
            body=etree.tostring(foutbericht(ggk, Fout("IB102", "server", "geen route"))),
            direction=Direction.INBOUND,
        )
    )
    assert ggk_fo01.status == ACCEPTED
    parts.drain()  # both Fo01s go to the back-office: routed
    payload = parts.ledger.history(fo01.message_id)[0].payload_sha256
    assert b"999990019" in parts.ledger.payload(payload)  # the original's BSN, in detailsXML
    later = datetime.now(UTC) + timedelta(hours=23)
    assert apply(parts.ledger, policies, at=later).messages == []
    erased = apply(parts.ledger, policies, at=datetime.now(UTC) + timedelta(hours=25))
    assert erased.messages == [fo01.message_id]
    assert parts.ledger.payload(payload) is None
    assert events(parts.ledger, fo01.message_id)[-1] == "erased"
    kept = parts.ledger.history(ggk_fo01.message_id)[0].payload_sha256
    assert parts.ledger.payload(kept) is not None
    # the VTO the Fo01 parked keeps its payload: parked messages are not settled
    assert events(parts.ledger, envelope.message_id)[-1] == "parked"


@pytest.mark.parametrize("name", sorted(m.VT_OUT))
def test_veilig_thuis_messages_we_send_validate_against_ours_and_the_public_schema(
    parts, name
) -> None:
    """Back-office JSON for a terugkoppeling or a verrijkingsverzoek (or its answer) is mapped,
    accepted (our XSD and rules), and valid against the public resolved 1.0.9 set."""
    receipt = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(m.VT_OUT[name]).encode(), direction=Direction.OUTBOUND),
        "corv",
        name,
    )
    assert receipt.status == ACCEPTED, receipt.errors or receipt.findings
    [published] = parts.bus.published
    element = etree.fromstring(published.body)
    functie = etree.QName(element).localname
    assert_valid(public(VT_SET[functie]), element)
    sg = stuurgegevens_of(element)
    assert (sg.functie, sg.zender.organisatie) == (functie, m.GEMEENTE)
    if functie in ("ucobDi01", "uciDi01"):  # the answer names the verzoek it answers
        assert sg.cross_ref == m.VT_OUT[name]["verzoek"]["referentienummer"]


@responses.activate
def test_a_verzoek_goes_to_jubes_and_a_bad_bsn_is_rejected(parts) -> None:
    responses.post(CORV_URL, status=200, body=_bv03_reply())
    receipt = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(m.VT_OUT["vcob"]).encode(), direction=Direction.OUTBOUND),
        "corv",
        "vcob",
    )
    parts.drain()
    [call] = responses.calls
    assert call.request.headers["SOAPAction"] == f'"{SOAP_ACTION.format(functie="vcobDi01")}"'
    assert events(parts.ledger, receipt.message_id)[-1] == "delivered"
    bad = json.loads(json.dumps(m.VT_OUT["vcob"]))
    bad["persoon"]["bsn"] = "123456789"
    rejected = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(bad).encode(), direction=Direction.OUTBOUND), "corv", "vcob"
    )
    assert [f.rule for f in rejected.findings] == ["CS002"]
    vreemdeling = json.loads(json.dumps(m.VT_OUT["vci"]))
    vreemdeling["persoon"]["vreemdelingennummer"] = "1234567890"
    rejected = parts.receiver.receive_mapped(
        Envelope(body=json.dumps(vreemdeling).encode(), direction=Direction.OUTBOUND), "corv", "vci"
    )
    assert [f.rule for f in rejected.findings] == ["CV04"]


@pytest.mark.parametrize("functie", ["vcobDi01", "ucobDi01", "vciDi01", "uciDi01"])
def test_incoming_verrijkingsverzoeken_are_confirmed_or_refused(parts, functie) -> None:
    data = m.verrijking_in(functie)
    element = _element(data)
    assert_valid(public("vv"), element)
    again = codec.encode(functie, codec.decode(element, functie))
    assert etree.tostring(again, method="c14n") == etree.tostring(element, method="c14n")
    answer = CorvIntake(parts).take(soap.wrap(element))
    assert answer.status == 200 and answer.receipt.status == ACCEPTED
    sg = stuurgegevens_of(soap.body_of(etree.fromstring(answer.body)))
    assert (sg.berichtcode, sg.cross_ref) == ("Bv03", data["stuurgegevens"]["referentienummer"])
    parts.drain()
    assert events(parts.ledger, answer.receipt.message_id)[-1] == "delivered"
    assert list((parts.settings.outbox_dir / "backoffice").glob(f"*{functie}.xml"))
    # the same message without the person it is about fails the XSD: a Fo03 StUF055
    broken = m.verrijking_in(functie)
    zaak = broken["object"][0] if isinstance(broken["object"], list) else broken["object"]
    del zaak["heeftBetrekkingOp"]
    refused = CorvIntake(parts).take(soap.wrap(_element(broken)))
    assert refused.status == 500 and refused.receipt.status == REFUSED
    fault = soap.fault_of(soap.body_of(etree.fromstring(refused.body)))
    assert read_fout(fault.detail)[1].code == "StUF055"


@responses.activate
def test_veilig_thuis_payloads_are_erased_24_hours_after_routing(parts) -> None:
    responses.post(CORV_URL, status=200, body=_bv03_reply())
    policies = parse_policies([retention.PAYLOAD_AFTER_ROUTING])
    answer = CorvIntake(parts).take(soap.wrap(_element(m.verrijking_in("uciDi01"))))
    receipt = parts.receiver.receive_mapped(
        Envelope(
            body=json.dumps(m.VT_OUT["vt-terugkoppeling"]).encode(), direction=Direction.OUTBOUND
        ),
        "corv",
        "vt-terugkoppeling",
    )
    parts.drain()  # routed: to the back-office, and to JUBES
    ids = sorted([answer.receipt.message_id, receipt.message_id])
    assert apply(parts.ledger, policies, at=datetime.now(UTC) + timedelta(hours=23)).messages == []
    erased = apply(parts.ledger, policies, at=datetime.now(UTC) + timedelta(hours=25))
    assert sorted(erased.messages) == ids
    for message_id in ids:
        assert events(parts.ledger, message_id)[-1] == "erased"


def test_unknown_jz_messages_are_refused_with_the_handled_list(parts) -> None:
    element = etree.Element(f"{{{JZ}}}meldingGeneriekDi01")
    receipt = parts.receiver.receive(
        Envelope(body=etree.tostring(element), direction=Direction.INBOUND)
    )
    assert receipt.status == REFUSED and "notificatieDi01" in receipt.errors[0]
    assert STUF


def test_the_receiving_endpoint_needs_an_identity_that_may_send(parts) -> None:
    """With identities configured, only the ebMS adapter's identity (parties=*) may post."""
    import dataclasses

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from adapters.corv.endpoint import make_router
    from gateway.ops.auth import Authenticator, identity_line

    relay_key = "relay-key-" + "r" * 32
    settings = dataclasses.replace(
        parts.settings, ops_identities=(identity_line("ebms-adapter", relay_key, [], ["*"]),)
    )
    app = FastAPI()
    app.state.auth = Authenticator.from_settings(settings)  # as make_app keeps it
    app.include_router(make_router(dataclasses.replace(parts, settings=settings)))
    body = soap.wrap(_element(m.zorgmelding()))
    with TestClient(app) as client:
        assert client.post("/v1/corv", content=body).status_code == 401
        ok = client.post("/v1/corv", content=body, headers={"X-API-Key": relay_key})
        assert ok.status_code == 200 and b"Bv03Bericht" in ok.content
