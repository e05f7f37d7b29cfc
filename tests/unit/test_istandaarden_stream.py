"""The streaming path for large declaraties gives the same verdicts as the whole-document path.

Two receivers on real SQLite ledgers: one streams every 323 (``stream_above=0``), the other
never does. Each message must come out with the same status, findings, schema errors and
indexed business keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.domain import TABLES
from gateway.adapter import Registry
from gateway.config import Settings
from gateway.description import Table
from gateway.envelope import Direction, Envelope
from gateway.ledger import domain, domain_check, open_ledger
from gateway.receive import ACCEPTED, REFUSED, REJECTED, Receiver
from gateway.validate import SchemaCache
from gateway.xmlsafe import RecordStream, SchemaInvalid, XmlRejected, parse_skeleton, peek_root
from tests.busstub import StubBus
from tests.integration.busutil import wait_for
from tools.istd_samples import declaratie, sample_bsns

NS = "http://www.istandaarden.nl/ijw/3_2/jw323/schema"


@pytest.fixture
def receivers(settings: Settings, tmp_path: Path):
    registry = Registry.load(settings.adapters, settings)
    made = []
    for name, above in (("stream", 0), ("whole", 10**9)):
        ledger = open_ledger(f"sqlite:///{tmp_path / name}.sqlite3", "k")
        made.append((Receiver(registry, SchemaCache(), ledger, StubBus(), 10**8, above), ledger))
    yield made
    for _, ledger in made:
        ledger.close()


def _all(table: Table) -> str:
    return f"SELECT {', '.join(domain.columns(table))} FROM {domain.name(table)}"


def _same(receivers, body: bytes) -> tuple:
    outcomes = []
    for receiver, ledger in receivers:
        receipt = receiver.receive(Envelope(body=body, direction=Direction.INBOUND, source="t"))
        keys = sorted(e.message_id for e in ledger.find("ReferentieNummer", "R000000001"))
        outcomes.append(
            (receipt.status, receipt.findings, receipt.errors, receipt.message_type, len(keys))
        )
    # the same domain rows on both paths, and the ones the recorded payload gives again
    tables = []
    for _, ledger in receivers:
        tabulating = {s: IStandaardenAdapter(None) for s in ("iwmo", "ijw")}  # type: ignore[arg-type]
        assert domain_check.problems(ledger, tabulating) == []
        tables.append(
            {t.name: sorted(tuple(r[4:]) for r in ledger.rows(_all(t))) for t in TABLES}
        )  # (without message id, seq, event and time)
    assert tables[0] == tables[1]
    streamed, whole = outcomes
    # A streamed schema error has no line or path (libxml2 validates without a tree).
    assert len(streamed[2]) == len(whole[2])
    assert all(w.endswith(s) for s, w in zip(streamed[2], whole[2], strict=True))
    assert streamed[:2] + streamed[3:] == whole[:2] + whole[3:]
    return streamed


def _bad_second_bsn(body: bytes) -> bytes:
    second = sample_bsns(2)[1]
    return body.replace(f"<jw323:Bsn>{second}<".encode(), b"<jw323:Bsn>123456789<")


MUTATIONS = {
    "valid": (lambda b: b, REJECTED, {"TR338"}),  # no toewijzingen in an empty ledger
    "total": (
        lambda b: b.replace(b"<ijw:TotaalBedrag>60000<", b"<ijw:TotaalBedrag>60001<"),
        REJECTED,
        {"TR338", "TR358"},
    ),
    "bsn": (_bad_second_bsn, REJECTED, {"TR338", "CS002"}),
    "duplicate referentie": (
        lambda b: b.replace(b"R000000012<", b"R000000001<"),
        REJECTED,
        {"TR338", "TR314"},
    ),
    "schema, last client": (
        lambda b: b[::-1].replace(b"<40>", b"<99>", 1)[::-1],
        REFUSED,
        set(),
    ),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_streaming_and_whole_give_the_same_verdict(receivers, case: str) -> None:
    mutate, status, rules = MUTATIONS[case]
    body = mutate(declaratie("ijw", clients=3, prestaties=4))
    got, findings, errors, message_type, indexed = _same(receivers, body)
    assert got == status
    assert {f.rule for f in findings} == rules
    assert message_type == "ijw 3.2 JW323"
    if status == REFUSED:
        assert errors and "Eenheid" in errors[0] and "99" not in errors[0]
    else:
        assert indexed == 1  # the prestaties' ReferentieNummers are indexed on both paths


def test_a_declaratie_referring_to_known_toewijzingen_is_accepted_on_both_paths(
    receivers, settings: Settings
) -> None:
    from adapters.istandaarden.catalogue import Bericht
    from adapters.lib.istandaard import codec
    from tests.conftest import EXAMPLES

    # One toewijzing per prestatie, sent by the gemeente before (accepted, so it is state).
    base = codec.decode_message(
        etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml")).getroot(), Bericht("iwmo", 301)
    )
    bsns = sample_bsns(2)
    for index, bsn in enumerate(bsns):
        message = {
            **base,
            "Header": {**base["Header"], "Afzender": "0363", "Ontvanger": "12345678"},
        }
        message["Header"]["BerichtCode"] = "436"
        message["Header"]["BerichtIdentificatie"] = {
            "Identificatie": f"T{index}",
            "Dagtekening": "2026-09-01",
        }
        client = dict(message["Client"], Bsn=bsn)
        products = []
        for k in range(2):
            product = dict(client["ToegewezenProducten"]["ToegewezenProduct"][0])
            product.update(
                ToewijzingNummer=str(500_000 + index * 2 + k),
                Product={"Categorie": "45", "Code": f"45A{k + 1:02d}"},
                Toewijzingsdatum="2026-08-31",
                Ingangsdatum=f"2026-0{k + 1}-01",
                Einddatum="2026-12-31",
                Omvang={"Volume": "10", "Eenheid": "04", "Frequentie": "4"},
            )
            products.append(product)
        client["ToegewezenProducten"] = {"ToegewezenProduct": products}
        message["Client"] = client
        xml = codec.encode_message(Bericht("ijw", 301), message)
        for receiver, _ in receivers:
            receipt = receiver.receive(Envelope(body=xml, direction=Direction.OUTBOUND))
            assert receipt.status == ACCEPTED, receipt.findings
    got, findings, *_ = _same(receivers, declaratie("ijw", clients=2, prestaties=2))
    assert (got, findings) == (ACCEPTED, ())


def test_record_stream_drops_records_and_still_sees_late_schema_errors() -> None:
    from adapters.istandaarden.catalogue import Bericht

    body = declaratie("ijw", clients=50, prestaties=2)
    tag = f"{{{NS}}}Client"
    stream = RecordStream(body, 10**8, tag)
    seen = 0
    for element in stream:
        seen += 1
        # earlier records are gone (the parser may have read a little ahead)
        assert element.getprevious() is None
    assert seen == 50 and stream.skeleton is not None
    assert len(stream.skeleton.getroot().findall(f".//{tag}")) <= 1
    header = parse_skeleton(body, 10**8, tag).getroot()[0]
    assert etree.QName(header).localname == "Header"

    schema = etree.XMLSchema(etree.parse(str(Bericht("ijw", 323).schema_path)))
    late = body[::-1].replace(b"<40>", b"<99>", 1)[::-1]  # in the very last prestatie
    with pytest.raises(SchemaInvalid) as caught:
        list(RecordStream(late, 10**8, tag, schema))
    assert len(caught.value.errors) == 1
    assert list(RecordStream(body, 10**8, tag, schema))  # the schema's error log starts clean


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a/>', "DOCTYPE"),
        (b"<a><b></a>", "not well-formed"),
        (b"", "empty"),
    ],
)
def test_streaming_refuses_what_the_safe_parser_refuses(body: bytes, error: str) -> None:
    with pytest.raises(XmlRejected, match=error):
        list(RecordStream(body, 10**8, "{x}Client"))
    if error != "not well-formed":  # the first element of <a><b></a> is fine
        with pytest.raises(XmlRejected, match=error):
            peek_root(body, 10**8)


@pytest.mark.parametrize("entry", ["receive", "receive_many"])
@pytest.mark.parametrize("at_once", [1, 2])
def test_large_messages_are_judged_a_few_at_a_time(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_once: int, entry: str
) -> None:
    """Month end: many large declaraties arrive together; a receiver judges ``at_once`` of them
    at a time (gateway.receive.LARGE_AT_ONCE) and the rest wait their turn, so the first senders
    are answered early and the streams' memory is not all held together. Every one is answered.
    ``receive_many``: as the AMQP ingress, the file drop and HTTP batches hand them in."""
    import threading
    import time

    import gateway.receive as receive_module

    inside, most, lock = 0, 0, threading.Lock()
    real = receive_module.validate_stream

    def counted(*args, **kwargs):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.2)  # long enough for every waiting thread to try to get in
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(receive_module, "validate_stream", counted)
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l'}.sqlite3", "k")
    receiver = Receiver(registry, SchemaCache(), ledger, StubBus(), 10**8, 0, large_at_once=at_once)
    bodies = [
        declaratie("ijw", clients=2, prestaties=1, identificatie=f"DECL{i}", nummer=f"DN{i}")
        for i in range(4)
    ]
    receipts: list = []
    threads = [
        threading.Thread(
            target=lambda b=b: receipts.append(
                receiver.receive(Envelope(body=b, direction=Direction.INBOUND, source="t"))
                if entry == "receive"
                else receiver.receive_many([Envelope(body=b, direction=Direction.INBOUND)])[0]
            )
        )
        for b in bodies
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ledger.close()
    assert len(receipts) == 4 and all(r.message_type is not None for r in receipts)
    assert most == at_once


def test_a_large_message_waiting_for_its_publish_confirm_gives_up_its_turn(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn (``LARGE_AT_ONCE``) is for judging: a large message that is judged and recorded
    and waits for the broker's confirm (up to ``confirm_timeout``, 60 s, when the broker is slow
    or blocked at month end) no longer holds it, or every large message after it would wait a
    confirm timeout per two. Here two wait on a held broker while a third is still judged."""
    import threading

    import gateway.receive as receive_module

    judged, release = [], threading.Event()
    real = receive_module.validate_stream

    def counted(*args, **kwargs):
        judged.append(1)
        return real(*args, **kwargs)

    class HeldBus(StubBus):
        def publish(self, envelope: Envelope) -> None:
            release.wait(timeout=60)
            super().publish(envelope)

        __call__ = publish

    monkeypatch.setattr(receive_module, "validate_stream", counted)
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l'}.sqlite3", "k")
    receiver = Receiver(registry, SchemaCache(), ledger, HeldBus(), 10**8, 0, large_at_once=2)
    bodies = [
        declaratie("ijw", clients=2, prestaties=1, identificatie=f"DECL{i}", nummer=f"DN{i}")
        for i in range(3)
    ]
    threads = [
        threading.Thread(
            target=receiver.receive,
            args=(Envelope(body=b, direction=Direction.INBOUND, source="t"),),
        )
        for b in bodies
    ]
    try:
        for t in threads:
            t.start()
        wait_for(lambda: len(judged) == 3, 10, 0.05)
        while_held = len(judged)
    finally:
        release.set()
        for t in threads:
            t.join(timeout=60)
        ledger.close()
    assert while_held == 3  # the third was judged while two waited for the broker


@pytest.mark.parametrize(
    ("mutation", "internal"),
    [("valid", True), ("schema, last client", False)],
)
def test_a_rule_failing_on_a_record_waits_for_the_schema_verdict(
    receivers, monkeypatch: pytest.MonkeyPatch, mutation: str, internal: bool
) -> None:
    """A bug of ours (a ValueError) on the first record of a streamed declaratie: when the XSD
    refuses the document further on, the verdict is that refusal (the sender's fault, as on the
    whole-document path, where no rule runs on an invalid document); otherwise it is an
    internal refusal, not "could not be read"."""
    from adapters.istandaarden import engine

    def broken(self, *_: object, **__: object) -> None:
        raise ValueError("invalid literal for int() with base 10: 'ours'")

    monkeypatch.setattr(engine.Checker, "record", broken)
    body = MUTATIONS[mutation][0](declaratie("ijw", clients=3, prestaties=2))
    receiver, _ = receivers[0]  # streams every 323
    receipt = receiver.receive(Envelope(body=body, direction=Direction.INBOUND, source="t"))
    assert receipt.status == REFUSED
    assert receipt.internal is internal
    assert bool(receipt.errors) and ("ValueError" in receipt.errors[0]) is internal
