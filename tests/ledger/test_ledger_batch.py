"""append_many and histories on both backends: one transaction, all or nothing, in order."""

from __future__ import annotations

import os
import threading
import zlib

import pytest

from gateway.adapter import Description
from gateway.ledger import Event, Record, Status, payloads
from gateway.ledger.audit import verify
from gateway.ledger.sql import SqlLedger
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description, message


def _bad() -> Description:
    """A description whose key value no database driver can store: its insert fails."""
    return Description("0363", "12345678", {"ToewijzingNummer": (object(),)})  # type: ignore[dict-item]


def test_append_many_records_in_order_in_one_transaction(ledger: SqlLedger) -> None:
    one, two = message(), message()
    entries = ledger.append_many(
        [
            Record(one, Event.RECEIVED, detail={"size": 3}, payload=b"<1/>"),
            Record(two, Event.RECEIVED, detail={"size": 3}, payload=b"<2/>"),
            Record(one, Event.VALIDATED, {"publish": True}, description=description(bericht="A")),
            Record(two, Event.VALIDATED, {"publish": True}, description=description(bericht="B")),
        ]
    )
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [(e.message_id, e.event) for e in entries] == [
        (one.message_id, Event.RECEIVED),
        (two.message_id, Event.RECEIVED),
        (one.message_id, Event.VALIDATED),
        (two.message_id, Event.VALIDATED),
    ]
    # what append_many returns is what the ledger gives back later
    histories = ledger.histories([one.message_id, two.message_id, "no-such-message"])
    assert set(histories) == {one.message_id, two.message_id}
    assert histories[one.message_id] == ledger.history(one.message_id) == [entries[0], entries[2]]
    assert ledger.payload(entries[1].payload_sha256 or "") == b"<2/>"
    assert [e.message_id for e in ledger.find("BerichtIdentificatie", "B")] == [two.message_id]
    assert ledger.awaiting_publication() == [one.message_id, two.message_id]
    assert ledger.append_many([]) == []
    assert verify(ledger).ok


def test_append_many_is_all_or_nothing(ledger: SqlLedger) -> None:
    good = message()
    ledger.append(good, Event.RECEIVED)
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        ledger.append_many(
            [
                Record(message(), Event.RECEIVED, payload=b"<lost/>"),
                Record(good, Event.VALIDATED, {"publish": True}, description=_bad()),
            ]
        )
    assert ledger.tree_size() == 1
    assert [e.event for e in ledger.history(good.message_id)] == [Event.RECEIVED]
    assert ledger.state(good.message_id).status is Status.RECEIVED  # type: ignore[union-attr]
    after = ledger.append(good, Event.VALIDATED, detail={"publish": True})
    assert after.seq == 2  # no gap where the failed transaction was
    assert verify(ledger).ok


def test_concurrent_groups_are_merged_but_each_stays_whole(backend: Backend) -> None:
    """Threads appending groups at once: the group commit writes several groups in one
    transaction; a group that cannot be written fails alone and leaves no trace."""
    ledger = backend.open(checkpoint_every=40)
    written: list[list[str]] = []
    failed: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for round_ in range(10):
            envelopes = [message() for _ in range(3)]
            records = [Record(e, Event.RECEIVED, payload=e.message_id.encode()) for e in envelopes]
            if (index + round_) % 4 == 0:
                records.append(Record(envelopes[0], Event.VALIDATED, description=_bad()))
            try:
                entries = ledger.append_many(records)
            except Exception:
                with lock:
                    failed.extend(e.message_id for e in envelopes)
                continue
            assert [e.message_id for e in entries] == [e.message_id for e in envelopes]
            with lock:
                written.append([e.message_id for e in envelopes])

    pool = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert failed and written
    histories = ledger.histories([m for group in written for m in group] + failed)
    assert not set(failed) & set(histories)  # nothing of a failed group
    for group in written:  # each written group in one piece, in its order
        seqs = [histories[m][0].seq for m in group]
        assert seqs == list(range(seqs[0], seqs[0] + len(group)))
    total = 3 * len(written)
    assert [r[0] for r in backend.raw("SELECT seq FROM entries ORDER BY seq")] == list(
        range(1, total + 1)
    )
    assert verify(ledger).ok


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 3261, 4096, 32767, 32768, 200_000])
def test_payloads_of_every_size_come_back(size: int) -> None:
    """Small payloads are compressed with a window their size; any zlib reader opens them."""
    plain = (os.urandom(size // 3) + b"<Bsn>999990032</Bsn>" * size)[:size]
    digest = "d" * 64
    for key in (None, os.urandom(32)):
        sealing, stored = payloads.seal(plain, digest, key)
        assert payloads.open_sealed(sealing, stored, digest, key) == plain
    assert zlib.decompress(payloads.compress(plain)) == plain


def test_find_many_and_payloads_answer_as_find_and_payload_one_by_one(ledger: SqlLedger) -> None:
    one, two, three = message(), message(), message()
    ledger.append_many(
        [
            Record(one, Event.RECEIVED, detail={"size": 3}, payload=b"<1/>"),
            Record(two, Event.RECEIVED, detail={"size": 3}, payload=b"<2/>"),
            Record(one, Event.VALIDATED, description=description(toewijzing=("T1", "T2"))),
            Record(two, Event.VALIDATED, description=description(toewijzing=("T2",), bsn=("X",))),
            Record(three, Event.VALIDATED, description=description(toewijzing=("T3",))),
        ]
    )
    values = ["T2", "T1", "T9", *(f"N{n}" for n in range(600))]  # more than one statement's
    many = ledger.find_many("ToewijzingNummer", values)
    assert set(many) == set(values)
    for value in values:
        assert many[value] == ledger.find("ToewijzingNummer", value)
    assert [e.message_id for e in many["T2"]] == [one.message_id, two.message_id]
    assert ledger.find_many("bsn", ["X"])["X"] == ledger.find("bsn", "X") != []
    shas = [e.payload_sha256 for m in (one, two) for e in ledger.history(m.message_id)]
    known = [s for s in shas if s]
    found = ledger.payloads([*known, "0" * 64])
    assert found == {s: ledger.payload(s) for s in known}
    assert sorted(found.values()) == [b"<1/>", b"<2/>"]
