"""The ledger API on both backends: append, history, payloads, keys, state, search, group commit."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.adapter import Description
from gateway.envelope import Direction
from gateway.ledger import Event, Query, Status, keyed_hash
from gateway.ledger.audit import verify
from gateway.ledger.sql import SqlLedger
from tests.ledger.conftest import BSN_KEY, Backend
from tests.ledger.ledger_helpers import description, message

BSN = "999999990"


def test_append_history_payload_and_keys(ledger: SqlLedger) -> None:
    env = message()
    first = ledger.append(env, Event.RECEIVED, payload=b"<raw/>", detail={"size": 6})
    second = ledger.append(
        env,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(toewijzing=("101", "102"), bsn=(BSN,)),
    )
    assert (first.seq, second.seq) == (1, 2)
    history = ledger.history(env.message_id)
    assert [e.event for e in history] == [Event.RECEIVED, Event.VALIDATED]
    assert history[1].sender == "0363" and history[1].code == "WMO301"
    assert ledger.payload(history[0].payload_sha256 or "") == b"<raw/>"
    # the BSN is searchable, but only its keyed hash is stored anywhere
    assert [e.seq for e in ledger.find("bsn", BSN)] == [2]
    assert history[1].keys["bsn"] == [keyed_hash(BSN_KEY, BSN)]
    assert BSN not in repr(history)
    assert [e.seq for e in ledger.find("ToewijzingNummer", "102")] == [2]
    assert ledger.find("ToewijzingNummer", "103") == []


def test_plain_bsn_is_nowhere_in_the_database(backend: Backend) -> None:
    ledger = backend.open()
    ledger.append(message(), Event.VALIDATED, description=description(bsn=(BSN,)))
    for table in ("entries", "entry_keys", "messages"):
        for row in backend.raw(f"SELECT * FROM {table}"):
            assert all(BSN not in str(value) for value in row), table


def test_outbound_heenbericht_is_answered_by_the_inbound_retour(ledger: SqlLedger) -> None:
    heen = message("WMO301")
    ledger.append(heen, Event.RECEIVED, payload=b"<301/>", detail={"direction": "outbound"})
    assert ledger.state(heen.message_id).status is Status.RECEIVED  # type: ignore[union-attr]
    ledger.append(
        heen,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="B-301", expects_answer=True),
    )
    assert ledger.awaiting_publication() == [heen.message_id]
    ledger.append(heen, Event.PUBLISHED)
    assert ledger.awaiting_publication() == []
    # the worker records a counterpart's reference with a keys-only description (no parties):
    # that must not change whether the heenbericht expects an answer
    ledger.append(
        heen,
        Event.DELIVERED,
        detail={"to": "12345678"},
        description=Description("", "", {"Referentienummer": ("ref-1",)}),
    )
    state = ledger.state(heen.message_id)
    assert state is not None and state.status is Status.AWAITING_ANSWER
    assert [e.message_id for e in ledger.find("Referentienummer", "ref-1")] == [heen.message_id]

    retour = message("WMO302", Direction.INBOUND, correlation_id=heen.correlation_id)
    ledger.append(retour, Event.RECEIVED, detail={"direction": "inbound"})
    ledger.append(
        retour,
        Event.VALIDATED,
        detail={"publish": True},
        # the retour goes the other way: its receiver is the heenbericht's sender
        description=description(sender="12345678", receiver="0363", bericht="R-1", answers="B-301"),
    )
    state = ledger.state(heen.message_id)
    assert state is not None
    assert (state.status, state.answered_by) == (Status.ANSWERED, retour.message_id)
    assert ledger.search(Query(correlation_id=heen.correlation_id, limit=10))[0].message_id == (
        retour.message_id
    )


def test_a_retour_from_another_party_answers_nothing(ledger: SqlLedger) -> None:
    heen = message("WMO301")
    ledger.append(
        heen,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="B-9", expects_answer=True),
    )
    ledger.append(heen, Event.DELIVERED)
    other = message("WMO302", Direction.INBOUND)
    ledger.append(
        other,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(sender="99999999", receiver="0363", answers="B-9"),
    )
    assert ledger.state(heen.message_id).status is Status.AWAITING_ANSWER  # type: ignore[union-attr]


def test_inbound_heenbericht_states(ledger: SqlLedger) -> None:
    heen = message("WMO315", Direction.INBOUND)
    ledger.append(heen, Event.RECEIVED, detail={"direction": "inbound"})
    ledger.append(
        heen,
        Event.REJECTED,
        detail={"stage": "rules", "publish": True},
        description=description(expects_answer=True),
    )
    ledger.append(heen, Event.PUBLISHED)
    ledger.append(heen, Event.RETOUR_SENT, detail={"retour_id": "r-1"})
    state = ledger.state(heen.message_id)
    assert state is not None
    assert (state.status, state.verdict, state.answered_by) == (Status.ANSWERED, "rejected", "r-1")
    assert state.direction == "inbound"


def test_failed_retrying_and_parked(ledger: SqlLedger) -> None:
    refused = message()
    ledger.append(refused, Event.RECEIVED)
    ledger.append(refused, Event.REJECTED, detail={"stage": "schema", "publish": False})
    assert ledger.state(refused.message_id).status is Status.FAILED  # type: ignore[union-attr]
    flaky = message()
    ledger.append(flaky, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(flaky, Event.PUBLISHED)
    ledger.append(flaky, Event.RETRIED, detail={"error": "OSError"})
    assert ledger.state(flaky.message_id).status is Status.RETRYING  # type: ignore[union-attr]
    ledger.append(flaky, Event.PARKED, detail={"error": "OSError"})
    assert ledger.state(flaky.message_id).status is Status.PARKED  # type: ignore[union-attr]
    assert [s.message_id for s in ledger.search(Query(status=Status.PARKED))] == [flaky.message_id]


@pytest.mark.parametrize("last", [Event.DELIVERED, Event.PARKED, Event.RETRIED])
def test_a_late_published_entry_does_not_undo_what_the_worker_recorded(
    ledger: SqlLedger, last: Event
) -> None:
    """The worker may take a message the moment the broker has it, before receive records the
    broker's confirm: `published` then lands after `delivered`, `retried` or `parked`."""
    quick = message()
    ledger.append(quick, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(quick, last, detail={"to": "12345678", "reason": "x"})
    before = ledger.state(quick.message_id)
    ledger.append(quick, Event.PUBLISHED)
    after = ledger.state(quick.message_id)
    assert before is not None and after is not None
    assert after.status is before.status is not Status.PUBLISHED
    assert ledger.awaiting_publication() == []


def test_toewijzing_state_is_its_latest_message(ledger: SqlLedger) -> None:
    toewijzing = message("WMO301")
    ledger.append(
        toewijzing,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="B-1", toewijzing=("T-7",)),
    )
    ledger.append(toewijzing, Event.DELIVERED)
    start = message("WMO305", Direction.INBOUND)
    ledger.append(
        start,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(
            sender="12345678", receiver="0363", bericht="S-1", toewijzing=("T-7",)
        ),
    )
    found = ledger.search(Query(keys={"ToewijzingNummer": "T-7"}))
    assert [s.code for s in found] == ["WMO305", "WMO301"]  # newest first: the current state
    assert found[0].status is Status.AWAITING_PUBLICATION


def test_search_by_every_criterion(ledger: SqlLedger) -> None:
    a, b, c = (
        message("WMO301"),
        message("WMO305", Direction.INBOUND),
        message("JW301", standard="ijw"),
    )
    ledger.append(
        a,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="A", toewijzing=("1",), bsn=(BSN,)),
    )
    ledger.append(
        b,
        Event.VALIDATED,
        detail={"publish": False},
        description=description(sender="55555555", receiver="0363", bericht="B"),
    )
    ledger.append(
        c,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(sender="0599", receiver="55555555", bericht="C"),
    )
    ids = lambda q: {s.message_id for s in ledger.search(q)}  # noqa: E731
    assert ids(Query(message_id=a.message_id)) == {a.message_id}
    assert ids(Query(correlation_id=b.correlation_id)) == {b.message_id}
    assert ids(Query(keys={"BerichtIdentificatie": "C"})) == {c.message_id}
    assert ids(Query(keys={"bsn": BSN})) == {a.message_id}
    assert ids(Query(keys={"bsn": "111222333"})) == set()
    assert ids(Query(party="55555555")) == {b.message_id, c.message_id}
    assert ids(Query(code="WMO305")) == {b.message_id}
    assert ids(Query(status=Status.FAILED)) == {b.message_id}
    first_at = ledger.state(b.message_id).first_at  # type: ignore[union-attr]
    assert ids(Query(since=first_at)) == {b.message_id, c.message_id}
    assert ids(Query(until=first_at)) == {a.message_id}
    assert ids(Query(party="55555555", code="JW301")) == {c.message_id}
    assert len(ledger.search(Query(limit=2))) == 2


def test_concurrent_appends_are_group_committed_gap_free(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=50)
    threads, per_thread = 8, 40

    def work() -> None:
        for _ in range(per_thread):
            env = message()
            ledger.append(env, Event.RECEIVED, payload=env.message_id.encode())
            ledger.append(env, Event.VALIDATED, detail={"publish": True}, description=description())

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = threads * per_thread * 2
    assert ledger.tree_size() == total
    seqs = [r[0] for r in backend.raw("SELECT seq FROM entries ORDER BY seq")]
    assert seqs == list(range(1, total + 1))
    report = verify(ledger)
    assert report.ok, report.problems
    assert report.checkpoints >= total // 50 - 1


def test_two_ledger_objects_share_one_database(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    env = message()
    one.append(env, Event.RECEIVED)
    two.append(replace(env), Event.PUBLISHED)
    assert [e.seq for e in one.history(env.message_id)] == [1, 2]
    assert verify(two).ok


def test_unsupported_url_is_refused() -> None:
    from gateway.ledger import LedgerError, open_ledger

    with pytest.raises(LedgerError):
        open_ledger("mysql://x", "k")


def test_a_ledger_of_the_old_format_is_refused_clearly(tmp_path: Path) -> None:
    import sqlite3

    from gateway.ledger import LedgerError, open_ledger

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, message_id TEXT)")
    with pytest.raises(LedgerError, match="earlier, unverifiable format"):
        open_ledger(f"sqlite:///{path}", "k")


def test_processes_opening_one_postgres_schema_at_once(backend: Backend) -> None:
    opened: list[SqlLedger] = []
    pool = [threading.Thread(target=lambda: opened.append(backend.open())) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(opened) == 4


def test_an_event_is_appended_to_a_known_message_by_its_id(ledger: SqlLedger) -> None:
    heen = message("WMO315", Direction.INBOUND)
    ledger.append(heen, Event.RECEIVED, payload=b"<315/>", detail={"direction": "inbound"})
    ledger.append(heen, Event.VALIDATED, detail={"publish": True}, description=description())
    added = ledger.append_event(heen.message_id, Event.DISCARDED, detail={"by": "op"})
    assert (added.message_id, added.correlation_id, added.route) == (
        heen.message_id,
        heen.correlation_id,
        "inbound.iwmo.WMO315",
    )
    assert (added.code, added.version, dict(added.detail)) == ("WMO315", "3.2", {"by": "op"})
    assert ledger.state(heen.message_id).status is Status.DISCARDED  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        ledger.append_event("no-such-message", Event.VIEWED)
    assert verify(ledger).ok
