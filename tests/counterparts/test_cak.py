"""CAK eigen bijdrage (iEb 4.0): WMO405/407 derived per person from the toewijzingen or the
start/stop messages that pass the gateway, sent over the GGk to ``CAK``; the CAK's retours;
the public iEb 1.0 examples classified."""

from __future__ import annotations

import copy
import json

import pytest
import responses
from lxml import etree

from adapters.cak import catalogue
from adapters.cak.derive import REJECTED_KEY
from adapters.ggk import codec as ggk_codec
from adapters.lib.istandaard.codec import decode_message, encode_message, xsd_versions
from adapters.lib.istandaard.messages import recorded_root
from gateway.adapter import Unidentified
from gateway.envelope import Direction, Envelope
from gateway.receive import ACCEPTED, REFUSED
from tests.conftest import EXAMPLES, REFERENCE
from tests.counterparts.helpers import (
    GGK_URL,
    IEB10,
    assert_valid,
    counterpart_settings,
    make_parts,
    prime_toewijzing,
    public_ggk_schema,
    soap_body,
    xml_bestand,
)

WMO305 = REFERENCE / "jaapjunior-iwmo-3.2/voorbeeldberichten/WMO305.xml"
WMO307 = REFERENCE / "jaapjunior-iwmo-3.2/voorbeeldberichten/WMO307.xml"
BSN = "999990019"


def _parts(settings, **changes):
    options = {
        "adapters": ("adapters.istandaarden", "adapters.ggk", "adapters.cak"),
        "counterpart_transport": "outbox",
    }
    options.update(changes)
    return make_parts(counterpart_settings(settings, **options))


@pytest.fixture
def parts(settings):
    parts = _parts(settings)
    yield parts
    parts.ledger.close()


def _toewijzing(aanbieder="12345678", **product) -> bytes:
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    data["aanbieder"] = aanbieder
    data["toewijzingen"][0].update(product)
    return json.dumps(data).encode()


def _send(parts, body: bytes) -> str:
    envelope = Envelope(body=body, direction=Direction.OUTBOUND, source="test")
    receipt = parts.receiver.receive_mapped(envelope, "iwmo", "toewijzing")
    assert receipt.status == ACCEPTED, receipt.errors or receipt.findings
    return receipt.message_id


def _sent_to_cak(parts) -> list[dict]:
    """Every WMO405/407 the worker delivered to the CAK so far (outbox), decoded."""
    out = []
    for path in sorted(
        (parts.settings.outbox_dir / "CAK").glob("*.xml"), key=lambda p: p.stat().st_mtime_ns
    ):
        root = etree.parse(str(path)).getroot()
        message = catalogue.CATALOGUE[etree.QName(root).namespace.split("/")[-2].upper()]
        data = decode_message(root, message)
        out.append({"code": message.code, **data["Client"][catalogue.KLASSE[message.code]]})
    return out


def test_toewijzing_derives_one_start_per_person_and_changes_only_when_the_period_changes(parts):
    parent = _send(parts, _toewijzing())
    results = parts.drain()
    assert all(error is None for _, error in results)
    [start] = _sent_to_cak(parts)
    assert start["code"] == "WMO405" and start["StatusAanlevering"] == "1"
    assert (start["EbStartdatum"], start["EbStopdatum"]) == ("2026-12-01", "2027-11-30")
    follow_up = [
        e for e, _ in results if e.parent_id == parent and e.message_type.standard == "ieb"
    ]
    assert len(follow_up) == 1 and follow_up[0].correlation_id == parent
    # a second voorziening at another aanbieder inside the same period: nothing to tell the CAK
    _send(parts, _toewijzing("87654321", toewijzingnummer=6001, ingangsdatum="2027-01-01"))
    parts.drain()
    assert len(_sent_to_cak(parts)) == 1
    # one that runs longer moves the stop: a gewijzigde aanlevering of the same start
    _send(
        parts,
        _toewijzing(
            "87654321", toewijzingnummer=6001, ingangsdatum="2027-01-01", einddatum="2028-06-30"
        ),
    )
    parts.drain()
    changed = _sent_to_cak(parts)[-1]
    assert (
        changed["StatusAanlevering"] == "2" and changed["EbStartNummer"] == start["EbStartNummer"]
    )
    assert (changed["EbStartdatum"], changed["EbStopdatum"]) == ("2026-12-01", "2028-06-30")
    # both toewijzingen withdrawn (RedenWijziging 13, Einddatum = Ingangsdatum): so is the start
    for aanbieder, nummer, ingang, eind in (
        ("12345678", 5001, "2026-12-01", "2026-12-01"),
        ("87654321", 6001, "2027-01-01", "2027-01-01"),
    ):
        _send(
            parts,
            _toewijzing(
                aanbieder,
                toewijzingnummer=nummer,
                ingangsdatum=ingang,
                einddatum=eind,
                redenWijziging="13",
            ),
        )
    parts.drain()
    withdrawn = _sent_to_cak(parts)[-1]
    assert (
        withdrawn["StatusAanlevering"] == "3"
        and withdrawn["EbStartNummer"] == start["EbStartNummer"]
    )
    assert len(_sent_to_cak(parts)) == 3


def test_deriving_twice_sends_once(parts):
    _send(parts, _toewijzing())
    [toewijzing] = parts.bus.published
    parts.drain()
    parts.worker.process(toewijzing)  # the 301 redelivered after a crash: derived again
    assert parts.bus.published == []  # the follow-up was recognised, not published again
    parts.drain()
    assert len(_sent_to_cak(parts)) == 1


def test_beschermd_wonen_goes_in_a_wmo407(parts):
    _send(parts, _toewijzing(productcategorie="15", productcode="15A01"))
    parts.drain()
    [sent] = _sent_to_cak(parts)
    assert sent["code"] == "WMO407" and sent["StatusAanlevering"] == "1"


def test_a_start_the_cak_rejected_is_sent_again_as_a_first_start(parts):
    _send(parts, _toewijzing())
    parts.drain()
    [first] = _sent_to_cak(parts)
    root = etree.parse(str(next((parts.settings.outbox_dir / "CAK").glob("*.xml")))).getroot()
    data = decode_message(root, catalogue.WMO405)
    retour = copy.deepcopy(data)
    retour["Header"].update(
        BerichtCode=catalogue.WMO406.berichtcode,
        IdentificatieRetour="R1",
        DagtekeningRetour="2026-01-05",
        XsdVersieRetour=xsd_versions(catalogue.WMO406),
        RetourCodes={"RetourCode": ["0200"]},
    )
    retour["Client"]["EigenBijdrage"]["RetourCodes"] = {"RetourCode": ["S300"]}
    retour["Client"]["RetourCodes"] = {"RetourCode": ["0200"]}
    body = encode_message(catalogue.WMO406, retour)
    receipt = parts.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
    assert receipt.status == ACCEPTED
    assert parts.ledger.find(REJECTED_KEY, data["Header"]["BerichtIdentificatie"]["Identificatie"])
    parts.drain()  # the 406 goes to the back-office
    assert list((parts.settings.outbox_dir / "backoffice").glob("*WMO406.xml"))
    _send(parts, _toewijzing(commentaar="herzien"))
    parts.drain()
    first_again, again = _sent_to_cak(parts)
    assert first_again == first
    assert again["StatusAanlevering"] == "1" and again["EbStartNummer"] != first["EbStartNummer"]


def test_levering_trigger_uses_start_and_stop_messages(settings):
    parts = _parts(settings, cak_trigger="levering")
    try:
        prime_toewijzing(parts)
        # the public WMO307 stops StartProduct 2 with another Begindatum than the public WMO305
        # started it with (TR382 would reject it): ours stops what the 305 started
        stop = etree.parse(str(WMO307)).getroot()
        stop.findall(".//{*}StopProduct")[1].find("{*}Begindatum").text = "2025-04-04"
        for body in (
            WMO305.read_bytes(),
            etree.tostring(stop, xml_declaration=True, encoding="UTF-8"),
        ):
            receipt = parts.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
            assert receipt.status == ACCEPTED, receipt.findings
            parts.drain()
        start, stop = _sent_to_cak(parts)
        assert (start["StatusAanlevering"], start["EbStartdatum"]) == ("1", "2025-04-03")
        assert "EbStopdatum" not in start
        assert (stop["StatusAanlevering"], stop["EbStopdatum"]) == ("2", "2025-07-18")
        assert stop["EbStartNummer"] == start["EbStartNummer"]
    finally:
        parts.ledger.close()


@responses.activate
def test_derived_messages_go_over_the_ggk_to_cak(settings):
    responses.post(GGK_URL, status=200, body=b"")
    parts = _parts(settings, counterpart_transport="ggk")
    try:
        _send(parts, _toewijzing())
        results = parts.drain()
        assert all(error is None for _, error in results)
        envelopes = [ggk_codec.read(soap_body(c.request.body)) for c in responses.calls]
        by_functie = {e.stuurgegevens.functie: e for e in envelopes}
        assert set(by_functie) == {"WMO301", "WMO405"}
        cak = by_functie["WMO405"]
        assert cak.stuurgegevens.ontvanger.organisatie == "CAK"
        assert cak.stuurgegevens.zender.organisatie == "0363"  # the 405's Afzender
        assert (cak.functie_versie, cak.functie_subversie) == ("0004", "0000")
        for call in responses.calls:
            assert_valid(public_ggk_schema(), soap_body(call.request.body))
        assert b"EbStartNummer" in xml_bestand(soap_body(responses.calls[-1].request.body))
    finally:
        parts.ledger.close()


def test_wmo405_rules(parts):
    sent = {
        "Header": {
            "BerichtCode": "474",
            "BerichtVersie": "4",
            "BerichtSubversie": "0",
            "Afzender": "0363",
            "BerichtIdentificatie": {"Identificatie": "X1", "Dagtekening": "2999-01-01"},
            "XsdVersie": xsd_versions(catalogue.WMO405),
        },
        "Client": {
            "Bsn": "123456789",
            "EigenBijdrage": {
                "EbStartNummer": "7",
                "EbStartdatum": "2026-02-01",
                "EbStopdatum": "2026-01-01",
                "StatusAanlevering": "1",
            },
        },
    }
    envelope = Envelope(body=encode_message(catalogue.WMO405, sent), direction=Direction.OUTBOUND)
    receipt = parts.receiver.receive(envelope)
    assert sorted(f.rule for f in receipt.findings) == ["8848", "CS002", "IEB01"]
    sent["Header"]["BerichtIdentificatie"]["Dagtekening"] = "2026-01-01"
    sent["Client"]["Bsn"] = BSN
    sent["Client"]["EigenBijdrage"]["EbStopdatum"] = "2026-03-01"
    first = parts.receiver.receive(
        Envelope(body=encode_message(catalogue.WMO405, sent), direction=Direction.OUTBOUND)
    )
    assert first.status == ACCEPTED
    sent["Header"]["BerichtIdentificatie"]["Identificatie"] = "X2"
    twice = parts.receiver.receive(
        Envelope(body=encode_message(catalogue.WMO405, sent), direction=Direction.OUTBOUND)
    )
    assert [f.rule for f in twice.findings] == ["IEB02"]


@pytest.mark.parametrize("name", ["WMO401.xml", "WMO402.xml", "WMO403.xml", "WMO404.xml"])
def test_public_ieb10_examples_are_read_and_refused_with_the_release_named(parts, name) -> None:
    body = (IEB10 / "examples" / name).read_bytes()
    public = etree.XMLSchema(etree.parse(str(IEB10 / "xsd" / name.replace(".xml", ".xsd"))))
    root = etree.fromstring(body)
    assert public.validate(root)  # the public 1.0 XSD agrees the example is valid
    adapter = parts.registry.for_document(root)
    assert adapter.name == "cak"
    with pytest.raises(Unidentified, match=f"ieb 1.0 {name[:6]} is not supported; .*ieb 4.0"):
        adapter.identify(root)
    receipt = parts.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
    assert receipt.status == REFUSED and "ieb 1.0" in receipt.errors[0]


def _starts(parts, code: str = "WMO405") -> list[str]:
    """Message ids of the first starts (StatusAanlevering 1) the ledger holds for BSN."""
    ids = {e.message_id for e in parts.ledger.find("bsn", BSN) if e.code == code}
    out = []
    for message_id in sorted(ids):
        root = recorded_root(parts.ledger, message_id)
        data = decode_message(root, catalogue.CATALOGUE[code])
        if data["Client"][catalogue.KLASSE[code]]["StatusAanlevering"] == "1":
            out.append(message_id)
    return out


def _racing(parts, monkeypatch, *, a_records_first: bool):
    """Two workers, each deriving from one toewijzing, that both plan the person's first start
    before either start is recorded. With ``a_records_first`` worker B waits (after planning)
    until A's start is recorded; otherwise both go on at once."""
    import threading

    from adapters.cak import derive

    a_planned, b_planned, a_recorded = threading.Event(), threading.Event(), threading.Event()
    plan, receive_many = derive.plan, parts.receiver.receive_many

    def racing_plan(*args, **kwargs):
        result = plan(*args, **kwargs)
        if threading.current_thread().name == "worker-a":
            a_planned.set()
            assert b_planned.wait(10)
        else:
            b_planned.set()
            assert a_planned.wait(10)
            if a_records_first:
                assert a_recorded.wait(10)
        return result

    def receive_and_tell(items, *args, **kwargs):  # the worker receives its follow-ups here
        receipts = receive_many(items, *args, **kwargs)
        if threading.current_thread().name == "worker-a":
            a_recorded.set()
        return receipts

    monkeypatch.setattr(derive, "plan", racing_plan)
    monkeypatch.setattr(parts.receiver, "receive_many", receive_and_tell)
    errors: list[BaseException] = []

    def process(envelope) -> None:
        try:
            parts.worker.process(envelope)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    def run(envelope, name: str) -> threading.Thread:
        thread = threading.Thread(target=process, args=(envelope,), name=name)
        thread.start()
        return thread

    return run, a_planned, errors


def test_two_toewijzingen_of_a_new_person_derived_at_once_make_one_start(parts, monkeypatch):
    """Two workers derive from two toewijzingen of a new person at the same moment, on the real
    SQLite ledger: both plan the first start and record it at once. It is one message (one id,
    one payload), sent to the CAK once."""
    _send(parts, _toewijzing())
    _send(parts, _toewijzing("87654321", toewijzingnummer=6001, ingangsdatum="2026-11-01"))
    envelope_a, envelope_b = parts.bus.published
    parts.bus.published.clear()
    run, _, errors = _racing(parts, monkeypatch, a_records_first=False)
    threads = [run(envelope_a, "worker-a"), run(envelope_b, "worker-b")]
    for thread in threads:
        thread.join(20)
    assert errors == [] and not any(t.is_alive() for t in threads)
    [start] = _starts(parts)  # one start message, whichever derived it
    bodies = {e.payload_sha256 for e in parts.ledger.history(start) if e.payload_sha256}
    assert len(bodies) == 1  # both derived the same message
    parts.drain()
    [sent] = _sent_to_cak(parts)
    assert (sent["StatusAanlevering"], sent["EbStartdatum"]) == ("1", "2026-11-01")


def test_a_start_derived_from_an_older_view_is_corrected_by_the_next_message(parts, monkeypatch):
    """Worker B saw a toewijzing worker A did not (recorded while A was deriving); both planned
    a first start before A recorded its own. B's start is the same message as A's (a
    duplicate), so the CAK gets one start, from A's view; the next message for the person
    corrects its period with a gewijzigde aanlevering."""
    first = _send(parts, _toewijzing())  # 2026-12-01 .. 2027-11-30 at 12345678
    [envelope_a] = parts.bus.published
    parts.bus.published.clear()
    run, a_planned, errors = _racing(parts, monkeypatch, a_records_first=True)
    worker_a = run(envelope_a, "worker-a")
    assert a_planned.wait(10)
    second = _send(parts, _toewijzing("87654321", toewijzingnummer=6001, ingangsdatum="2026-11-01"))
    [envelope_b] = parts.bus.published
    parts.bus.published.clear()
    worker_b = run(envelope_b, "worker-b")
    worker_a.join(20)
    worker_b.join(20)
    assert errors == [] and not worker_a.is_alive() and not worker_b.is_alive()
    monkeypatch.undo()
    [start] = _starts(parts)
    received = [e for e in parts.ledger.history(start) if e.event.value == "received"]
    assert [e.detail["parent_id"] for e in received] == [first]  # B's was a duplicate
    parts.drain()
    [sent] = _sent_to_cak(parts)
    assert (sent["StatusAanlevering"], sent["EbStartdatum"]) == ("1", "2026-12-01")
    _send(
        parts,
        _toewijzing(
            "87654321", toewijzingnummer=6001, ingangsdatum="2026-11-01", commentaar="herzien"
        ),
    )
    parts.drain()
    last = _sent_to_cak(parts)[-1]
    assert (last["StatusAanlevering"], last["EbStartNummer"]) == ("2", sent["EbStartNummer"])
    assert (last["EbStartdatum"], last["EbStopdatum"]) == ("2026-11-01", "2027-11-30")
    assert len(_starts(parts)) == 1 and second


def _hulpmiddel(aanbieder, nummer, ingangsdatum, budget, categorie="12", **changes) -> bytes:
    """A toewijzing of a hulpmiddel (or woningaanpassing) with its kostprijs as Budget."""
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    data["aanbieder"] = aanbieder
    product = data["toewijzingen"][0]
    del product["omvang"]  # Omvang xor Budget (CD077/CD078)
    product.update(
        toewijzingnummer=nummer,
        productcategorie=categorie,
        productcode=f"{categorie}A01",
        ingangsdatum=ingangsdatum,
        einddatum="2027-11-30",
        budget=budget,
    )
    product.update(changes)
    return json.dumps(data).encode()


def test_a_hulpmiddel_reports_its_kostprijs_and_a_later_dearer_one_a_new_kostprijs(parts):
    _send(parts, _hulpmiddel("12345678", 5001, "2026-12-01", 150000))
    parts.drain()
    [start] = _sent_to_cak(parts)
    assert start["StatusAanlevering"] == "1"
    assert start["EbKostprijs"] == {
        "KostprijsBedrag": "150000",
        "KostprijsStartdatum": "2026-12-01",
    }
    # a later, cheaper woningaanpassing: not above what was reported, nothing to tell
    _send(parts, _hulpmiddel("87654321", 6001, "2027-02-01", 90000, categorie="13"))
    parts.drain()
    assert len(_sent_to_cak(parts)) == 1
    # a later, dearer rolstoel: a mutation with its kostprijs, same start and period
    _send(parts, _hulpmiddel("11223344", 7001, "2027-03-01", 320000, categorie="11"))
    parts.drain()
    mutation = _sent_to_cak(parts)[-1]
    assert (mutation["StatusAanlevering"], mutation["EbStartNummer"]) == (
        "2",
        start["EbStartNummer"],
    )
    assert mutation["EbKostprijs"] == {
        "KostprijsBedrag": "320000",
        "KostprijsStartdatum": "2027-03-01",
    }
    # a change of the period repeats the kostprijs the CAK has
    _send(
        parts,
        _hulpmiddel("11223344", 7001, "2027-03-01", 320000, categorie="11", einddatum="2028-01-31"),
    )
    parts.drain()
    moved = _sent_to_cak(parts)[-1]
    assert moved["EbStopdatum"] == "2028-01-31"
    assert moved["EbKostprijs"] == mutation["EbKostprijs"]
    assert len(_sent_to_cak(parts)) == 3


def test_no_kostprijs_with_the_setting_empty(settings):
    parts = _parts(settings, cak_kostprijs=())
    try:
        _send(parts, _hulpmiddel("12345678", 5001, "2026-12-01", 150000))
        parts.drain()
        [sent] = _sent_to_cak(parts)
        assert "EbKostprijs" not in sent
    finally:
        parts.ledger.close()


def test_a_budget_for_other_support_is_no_kostprijs(parts):
    # begeleiding toegewezen as a budget: a Budget, but not a hulpmiddel's kostprijs
    _send(parts, _hulpmiddel("12345678", 5001, "2026-12-01", 150000, categorie="02"))
    parts.drain()
    [sent] = _sent_to_cak(parts)
    assert sent["StatusAanlevering"] == "1" and "EbKostprijs" not in sent


def test_a_kostprijs_outside_the_period_is_refused_by_ieb03(parts):
    sent = {
        "Header": {
            "BerichtCode": "474",
            "BerichtVersie": "4",
            "BerichtSubversie": "0",
            "Afzender": "0363",
            "BerichtIdentificatie": {"Identificatie": "K1", "Dagtekening": "2026-01-01"},
            "XsdVersie": xsd_versions(catalogue.WMO405),
        },
        "Client": {
            "Bsn": BSN,
            "EigenBijdrage": {
                "EbStartNummer": "8",
                "EbStartdatum": "2026-02-01",
                "EbStopdatum": "2026-06-30",
                "EbKostprijs": {"KostprijsBedrag": "1000", "KostprijsStartdatum": "2026-07-01"},
                "StatusAanlevering": "1",
            },
        },
    }
    envelope = Envelope(body=encode_message(catalogue.WMO405, sent), direction=Direction.OUTBOUND)
    assert [f.rule for f in parts.receiver.receive(envelope).findings] == ["IEB03"]
    sent["Header"]["BerichtIdentificatie"]["Identificatie"] = "K2"
    sent["Client"]["EigenBijdrage"]["EbKostprijs"]["KostprijsStartdatum"] = "2026-03-01"
    envelope = Envelope(body=encode_message(catalogue.WMO405, sent), direction=Direction.OUTBOUND)
    assert parts.receiver.receive(envelope).status == ACCEPTED


def test_going_live_with_the_cak_s_history_imported_derives_no_second_start(settings, tmp_path):
    """Before Ketenpoort the CAK got a start for this person (toewijzing 5001). After go-live a
    second voorziening in the same period is nothing to tell the CAK, once the earlier
    toewijzing and start are imported; without them the gateway would derive a second start."""
    import dataclasses

    from gateway.imports import IMPORTED, import_messages
    from gateway.validate import SchemaCache

    before = _parts(dataclasses.replace(settings, var_dir=tmp_path / "old-system"))
    toewijzing_id = _send(before, _toewijzing())
    before.drain()
    [start_file] = (before.settings.outbox_dir / "CAK").glob("*.xml")
    history = [
        ("301.xml", recorded_root_bytes(before, toewijzing_id)),
        ("405.xml", start_file.read_bytes()),
    ]
    before.ledger.close()

    later = _toewijzing("87654321", toewijzingnummer=6001, ingangsdatum="2027-01-01")
    alone = _parts(dataclasses.replace(settings, var_dir=tmp_path / "no-import"))
    _send(alone, later)
    alone.drain()
    assert [s["StatusAanlevering"] for s in _sent_to_cak(alone)] == ["1"]  # a second start
    alone.ledger.close()

    after = _parts(settings)
    try:
        done = list(
            import_messages(
                after.ledger,
                after.registry,
                SchemaCache(),
                history,
                frozenset({"0363"}),
                settings.max_message_bytes,
            )
        )
        assert [(d.status, d.direction) for d in done] == [(IMPORTED, "outbound")] * 2
        _send(after, later)
        after.drain()
        assert _sent_to_cak(after) == []
    finally:
        after.ledger.close()


def recorded_root_bytes(parts, message_id: str) -> bytes:
    """The XML a message was recorded as (a mapped toewijzing: the XML made from its JSON)."""
    carrying = [e for e in parts.ledger.history(message_id) if e.payload_sha256]
    body = parts.ledger.payload(carrying[-1].payload_sha256)
    assert body is not None
    return body
