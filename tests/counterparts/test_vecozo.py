"""VECOZO (aanbieder side): the SOAP IndienenBericht (public fixture read, ours built), REST push
with its failures, and REST pull (list, download, checksum, unzip, receive, confirm) with
VECOZO mocked by ``responses``."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import uuid
import zipfile
from email.parser import BytesParser

import pytest
import requests
import responses
from lxml import etree

from adapters.lib.refs import uuid4_for
from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import HttpPolicy
from adapters.vecozo import codec
from adapters.vecozo.poller import VecozoPoller
from adapters.vecozo.transport import REFERENCE_KEY, VecozoTransport
from gateway.adapter import Delivery
from gateway.config import replace
from gateway.envelope import Direction, Envelope, MessageType
from gateway.receive import ACCEPTED
from tests.conftest import REFERENCE
from tests.counterparts.helpers import (
    counterpart_settings,
    events,
    jw301_without_verzoek,
    make_parts,
)

FIXTURES = REFERENCE / "comm_server-vecozo-ijw-3.0"
JW = REFERENCE / "jaapjunior-ijw-3.2/voorbeeldberichten"
PUSH = "https://tst-api.vecozo.test/berichten/rest-push/v1"
PULL = "https://tst-api.vecozo.test/berichten/rest-pull/v1"
SOAP_URL = "https://vsp.vecozo.test/berichtuitwisseling/v3"
POLICY = HttpPolicy(attempts=3, backoff=0.001, max_wait=0.01, timeout=1.0)
AGB = "22227338"


def _transport(**kw) -> VecozoTransport:
    options = {"push_url": PUSH, "agb": AGB, "policy": POLICY, "sleep": lambda _s: None}
    options.update(kw)
    return VecozoTransport(**options)


def _jw315_envelope(**kw) -> Envelope:
    return Envelope(
        body=(JW / "JW315.xml").read_bytes(),
        direction=Direction.OUTBOUND,
        message_type=MessageType("ijw", "JW315", "3.2"),
        **kw,
    )


def _delivery() -> Delivery:
    return Delivery("0344", (JW / "JW315.xml").read_bytes(), "application/xml", "JW315.xml")


def test_public_indienen_bericht_is_read_and_its_payload_classified() -> None:
    root = etree.parse(str(FIXTURES / "IndienenBericht.xml")).getroot()
    bericht = codec.read_indienen_bericht(root)
    assert bericht.afzender == codec.Relatie("Instelling", "22227338")
    assert bericht.geadresseerden == (codec.Relatie("Gemeente", "0344"),)
    assert (bericht.berichttype, bericht.berichtsubtype, bericht.actie) == (
        "JW",
        "JW315",
        "VerzoekToewijzing",
    )
    assert (bericht.berichtversie, bericht.berichtsubversie) == (3, 0)
    assert bericht.verwerkingscontext["Applicatie"] == ("JWApplicatie",)
    [decoded] = FIXTURES.glob("IndienenBericht.payload.*.xml")
    assert bericht.payload.strip() == decoded.read_bytes().strip()
    payload = etree.fromstring(bericht.payload)
    # an iJw 3.0 JW315 (BerichtCode 446): VECOZO's envelope is read; the payload's release is
    # older than the 3.2 Ketenpoort speaks, which receive refuses with that reason
    assert payload.tag == "{http://www.istandaarden.nl/ijw/3_0/jw315/schema}Bericht"
    assert payload.findtext(".//{*}BerichtCode") == "446"


def test_our_indienen_bericht_has_the_fixtures_shape_and_round_trips() -> None:
    transport = _transport(push_url="", soap_url=SOAP_URL)
    bericht = transport.bericht_for(_jw315_envelope(), _delivery())
    ours = etree.fromstring(codec.indienen_bericht(bericht))
    theirs = etree.parse(str(FIXTURES / "IndienenBericht.xml")).getroot()

    def paths(root: etree._Element) -> set[str]:
        return {
            "/".join(etree.QName(e).localname for e in [*reversed([*x.iterancestors()]), x])
            for x in root.iter()
            if isinstance(x.tag, str)
        }

    assert paths(ours) == paths(theirs)
    back = codec.read_indienen_bericht(ours)
    assert back.payload == (JW / "JW315.xml").read_bytes()
    assert (back.berichtsubtype, back.actie, back.berichtversie, back.berichtsubversie) == (
        "JW315",
        "VerzoekToewijzing",
        3,
        2,
    )
    assert back.conversatie_id == back.traceer_id  # a heenbericht opens its conversation


def test_zip_rules() -> None:
    name, xml = codec.unzip_payload(codec.zip_payload(b"<a/>", "t"))
    assert (name, xml) == ("t.xml", b"<a/>")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.xml", "<a/>")
        archive.writestr("b.xml", "<b/>")
    with pytest.raises(codec.VecozoCodecError, match="holds 2 files"):
        codec.unzip_payload(two.getvalue())
    with pytest.raises(codec.VecozoCodecError, match="not a ZIP"):
        codec.unzip_payload(b"plain")
    bomb = codec.zip_payload(b"<a>" + b"x" * 5000 + b"</a>", "t")
    with pytest.raises(codec.VecozoCodecError, match="larger than 1000"):
        codec.unzip_payload(bomb, max_bytes=1000)


@responses.activate
def test_rest_push_sends_metadata_and_a_zip_with_one_xml() -> None:
    responses.post(f"{PUSH}/berichten", status=204)
    handover = _transport().deliver(_jw315_envelope(), _delivery())
    [call] = responses.calls
    body = call.request.body
    content_type = call.request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data")
    message = BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.get_payload()}
    meta = json.loads(parts["berichtMetadata"].get_payload(decode=True))
    stroom = meta["routeringgegevens"]["berichtstroom"]
    assert stroom == {
        "berichttype": "JW",
        "berichtsubtype": "JW315",
        "berichtversie": 3,
        "berichtsubversie": 2,
        "actie": "VerzoekToewijzing",
    }
    assert meta["routeringgegevens"]["geadresseerden"] == [{"rol": "Gemeente", "code": "0344"}]
    traceer = meta["referentiegegevens"]["traceerId"]
    name, xml = codec.unzip_payload(parts["payload"].get_payload(decode=True))
    assert name == f"{traceer}.xml" and xml == (JW / "JW315.xml").read_bytes()
    assert handover.reference == traceer and handover.keys == {REFERENCE_KEY: [traceer]}


@responses.activate
def test_rest_push_failures() -> None:
    responses.post(f"{PUSH}/berichten", status=422, json={"title": "Ongeldige berichtstroom"})
    with pytest.raises(Refused, match="Ongeldige berichtstroom"):
        _transport().deliver(_jw315_envelope(), _delivery())
    assert len(responses.calls) == 1
    responses.replace(responses.POST, f"{PUSH}/berichten", body=requests.ConnectionError())
    with pytest.raises(Unavailable, match="cannot connect") as caught:
        _transport().deliver(_jw315_envelope(), _delivery())
    assert caught.value.attempts == 3


@responses.activate
def test_soap_submit_judges_faults() -> None:
    responses.post(SOAP_URL, status=500, body=b"<x")
    with pytest.raises(Unavailable):
        _transport(push_url="", soap_url=SOAP_URL).deliver(_jw315_envelope(), _delivery())
    fault = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        b"<faultcode>s:Client</faultcode><faultstring>BRS05</faultstring></s:Fault></s:Body>"
        b"</s:Envelope>"
    )
    responses.replace(responses.POST, SOAP_URL, status=500, body=fault)
    with pytest.raises(Refused, match="BRS05"):
        _transport(push_url="", soap_url=SOAP_URL).deliver(_jw315_envelope(), _delivery())


# -- pull --------------------------------------------------------------------------------------


def _meta(
    traceer: str,
    zipped: bytes,
    checksum: str | None = None,
    subtype: str = "JW301",
    afzender: str = "0384",  # the Afzender of the public JW301 example
) -> dict:
    return {
        "basisgegevens": {
            "ontvangenOp": "2026-01-05T12:00:00Z",
            "payload": {
                "url": f"{PULL}/berichten/{traceer}/payload",
                "grootte": len(zipped),
                "checksum": {
                    "algoritme": "SHA256",
                    "waarde": checksum or hashlib.sha256(zipped).hexdigest(),
                },
            },
        },
        "routeringgegevens": {
            "afzender": {"rol": "Gemeente", "code": afzender},
            "geadresseerden": [{"rol": "Instelling", "code": AGB}],
            "berichtstroom": {
                "berichttype": "JW",
                "berichtsubtype": subtype,
                "berichtversie": 3,
                "berichtsubversie": 2,
                "actie": "Toewijzing",
            },
        },
        "referentiegegevens": {"conversatieId": traceer, "traceerId": traceer},
    }


@pytest.fixture
def aanbieder(settings):
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


@responses.activate
def test_pull_receives_then_confirms_and_the_retour_goes_back_in_the_conversation(aanbieder):
    good, bad_sum, bad_zip = (str(uuid.uuid4()) for _ in range(3))
    zipped = codec.zip_payload(jw301_without_verzoek(), good)
    responses.get(
        f"{PULL}/berichten",
        json=[
            _meta(good, zipped),
            _meta(bad_sum, zipped, checksum="00" * 32),
            _meta(bad_zip, b"not a zip"),
        ],
    )
    responses.get(f"{PULL}/berichten/{good}/payload", body=zipped)
    responses.get(f"{PULL}/berichten/{bad_sum}/payload", body=zipped)
    responses.get(f"{PULL}/berichten/{bad_zip}/payload", body=b"not a zip")
    for traceer in (good, bad_zip):
        responses.delete(f"{PULL}/berichten/{traceer}", status=202)
    responses.post(f"{PUSH}/berichten", status=204)
    poller = VecozoPoller(aanbieder, pull_url=PULL, policy=POLICY, sleep=lambda _s: None)
    outcome = poller.poll_once()
    assert outcome.confirmed == [good, bad_zip] and outcome.skipped == [bad_sum]
    [message_id] = outcome.received
    refused = aanbieder.ledger.history(uuid4_for("vecozo", bad_zip))
    assert [e.event.value for e in refused] == ["received", "rejected"]
    assert "not a ZIP" in refused[-1].detail["errors"][0]
    assert aanbieder.ledger.payload(refused[0].payload_sha256) == b"not a zip"  # kept as it came
    history = aanbieder.ledger.history(message_id)
    assert [e.event.value for e in history][:3] == ["received", "validated", "published"]
    assert history[0].detail["traceerId"] == good and history[0].correlation_id == good
    # the confirmation came after the message was recorded
    order = [c.request.method for c in responses.calls]
    assert order.index("DELETE") > order.index("GET")
    # the aanbieder's back-office gets the JW301, VECOZO the JW302 in the same conversation
    aanbieder.drain()
    [push] = [c for c in responses.calls if c.request.method == "POST"]
    assert b'"conversatieId": "' + good.encode() + b'"' in push.request.body
    assert b'"actie": "RetourToewijzing"' in push.request.body
    # fetched again (the confirmation got lost): recognised, confirmed again, nothing doubled
    responses.replace(responses.GET, f"{PULL}/berichten", json=[_meta(good, zipped)])
    again = poller.poll_once()
    assert again.received == [message_id] and again.confirmed == [good]
    assert events(aanbieder.ledger, message_id).count("received") == 1


@responses.activate
def test_a_pulled_message_whose_inner_afzender_is_not_vecozos_afzender_is_refused(aanbieder):
    traceer = str(uuid.uuid4())
    zipped = codec.zip_payload(jw301_without_verzoek(), traceer)  # its Afzender is 0384
    responses.get(f"{PULL}/berichten", json=[_meta(traceer, zipped, afzender="0363")])
    responses.get(f"{PULL}/berichten/{traceer}/payload", body=zipped)
    responses.delete(f"{PULL}/berichten/{traceer}", status=202)
    poller = VecozoPoller(aanbieder, pull_url=PULL, policy=POLICY, sleep=lambda _s: None)
    outcome = poller.poll_once()
    assert outcome.confirmed == [traceer]  # recorded, so taken off VECOZO's list
    history = aanbieder.ledger.history(uuid4_for("vecozo", traceer))
    assert [e.event.value for e in history] == ["received", "rejected"]
    assert history[-1].detail["stage"] == "sender" and history[-1].detail["door"] == "vecozo"
    assert "0384" in history[-1].detail["errors"][0]


@responses.activate
def test_pull_failures_are_retried_and_reported(aanbieder):
    responses.get(f"{PULL}/berichten", status=503, headers={"Retry-After": "1"})
    poller = VecozoPoller(aanbieder, pull_url=PULL, policy=POLICY, sleep=lambda _s: None)
    with pytest.raises(Unavailable, match="HTTP 503"):
        poller.poll_once()
    assert len(responses.calls) == 3
    elsewhere = _meta(str(uuid.uuid4()), b"x")
    elsewhere["basisgegevens"]["payload"]["url"] = "https://evil.test/steal"
    responses.replace(responses.GET, f"{PULL}/berichten", json=[elsewhere])
    outcome = poller.poll_once()
    assert outcome.skipped and not outcome.confirmed
    assert all("evil" not in c.request.url for c in responses.calls)
    # nor through a redirect from VECOZO's own host (or from the list itself)
    moved = str(uuid.uuid4())
    zipped = codec.zip_payload(jw301_without_verzoek(), moved)
    responses.replace(responses.GET, f"{PULL}/berichten", json=[_meta(moved, zipped)])
    steal = {"Location": "https://evil.test/steal"}
    responses.get(f"{PULL}/berichten/{moved}/payload", status=302, headers=steal)
    responses.get("https://evil.test/steal", body=zipped)
    outcome = poller.poll_once()
    assert outcome.skipped == [moved] and not outcome.confirmed and not outcome.received
    responses.replace(responses.GET, f"{PULL}/berichten", status=307, headers=steal)
    with pytest.raises(Unavailable, match="HTTP 307"):
        poller.poll_once()
    assert all("evil" not in c.request.url for c in responses.calls)


def test_pulled_payload_record_is_accepted(aanbieder) -> None:
    envelope = Envelope(body=jw301_without_verzoek(), direction=Direction.INBOUND, source="vecozo")
    assert aanbieder.receiver.receive(envelope, {"transport": "vecozo"}).status == ACCEPTED


@responses.activate
def test_the_poller_runs_as_a_service_loop_until_stopped(aanbieder) -> None:
    from adapters.vecozo.channel import VecozoChannel

    assert VecozoChannel(replace(aanbieder.settings, vecozo_pull_url="")).pollers(aanbieder) == []
    [(name, loop)] = VecozoChannel(aanbieder.settings).pollers(aanbieder)
    assert name == "vecozo-pull"
    stop = threading.Event()
    responses.get(f"{PULL}/berichten", json=[])
    thread = threading.Thread(target=loop, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 5
    while not responses.calls and time.monotonic() < deadline:
        stop.wait(0.01)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and responses.calls


@pytest.mark.parametrize("name", ["jw301.xml", "jw315.xml", "jw315_with_multiple_products.xml"])
def test_vecozo_fixture_payloads_are_classified_as_ijw_30(aanbieder, name) -> None:
    body = (FIXTURES / name).read_bytes()
    root = etree.fromstring(body)
    assert root.tag.startswith("{http://www.istandaarden.nl/ijw/3_0/")
    receipt = aanbieder.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
    assert receipt.status == "refused" and "ijw 3.0 is not supported" in receipt.errors[0]
