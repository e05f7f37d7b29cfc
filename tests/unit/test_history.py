"""The History read model (gateway/ledger/history.py): pure, from entries made by hand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from hashlib import sha256
from typing import Any

import pytest

from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Entry, Event, Status
from gateway.ledger.history import read_history

WMO301 = MessageType("iwmo", "WMO301", "3.2")
BODY = b"<WMO301/>"
MAPPED = b"<mapped/>"


def entry(
    seq: int,
    event: Event,
    *,
    typed: bool = True,
    direction: str = "outbound",
    detail: Mapping[str, Any] | None = None,
    payload: bytes | None = None,
    correlation_id: str = "c-1",
) -> Entry:
    mt = WMO301 if typed else None
    route = f"{direction}.{mt.standard}.{mt.code}" if mt else f"{direction}.unidentified"
    return Entry(
        seq=seq,
        message_id="m-1",
        correlation_id=correlation_id,
        event=event,
        at=f"2026-01-01T00:00:{seq:02d}+00:00",
        route=route,
        standard=mt.standard if mt else "",
        code=mt.code if mt else "",
        version=mt.version if mt else "",
        sender="",
        receiver="",
        detail=dict(detail or {}),
        payload_sha256=sha256(payload).hexdigest() if payload is not None else None,
    )


def received(direction: str = "outbound", **detail: Any) -> Entry:
    return entry(
        1,
        Event.RECEIVED,
        typed=False,
        direction=direction,
        detail={"direction": direction, "source": "http", "content_type": "text/xml", **detail},
        payload=BODY,
    )


def validated(seq: int = 2, direction: str = "outbound", **detail: Any) -> Entry:
    return entry(
        seq,
        Event.VALIDATED,
        direction=direction,
        detail={"stage": "rules", "findings": [], "publish": True, **detail},
    )


def accepted(direction: str = "outbound") -> list[Entry]:
    return [
        received(direction),
        validated(direction=direction),
        entry(3, Event.PUBLISHED, direction=direction),
    ]


# -- direction: one rule ---------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_the_direction_is_what_the_received_entry_recorded(direction: str) -> None:
    history = read_history(accepted(direction))
    assert history.direction is Direction(direction)
    assert history.route == f"{direction}.iwmo.WMO301"


def test_the_received_entry_decides_the_direction_not_the_first_or_the_last() -> None:
    # a later entry appended under another route does not change what the message is
    later = entry(4, Event.RETRIED, direction="outbound", detail={"direction": "outbound"})
    odd_first = entry(0, Event.PARKED, typed=False, direction="outbound")
    history = read_history([odd_first, *accepted("inbound"), later])
    assert history.direction is Direction.INBOUND


def test_a_redacted_received_entry_keeps_its_direction_in_the_route() -> None:
    redacted = replace(received("inbound"), detail={}, redacted=True)
    assert read_history([redacted, validated(direction="inbound")]).direction is Direction.INBOUND


def test_a_message_parked_as_it_arrived_takes_the_direction_of_that_entry() -> None:
    parked = entry(
        1, Event.PARKED, typed=False, direction="inbound", detail={"by": "parking-recorder"}
    )
    history = read_history([parked])
    assert history.direction is Direction.INBOUND
    assert (history.verdict, history.message_type, history.status) == (None, None, Status.PARKED)


def test_an_operations_record_reads_as_outbound() -> None:
    job = entry(1, Event.RECEIVED, detail={"direction": "operations", "kind": "replay-job"})
    assert read_history([job]).direction is Direction.OUTBOUND


def test_no_entries_is_no_history() -> None:
    with pytest.raises(ValueError):
        read_history([])


# -- type, body, envelope --------------------------------------------------------------------


def test_the_body_is_the_latest_received_or_mapped_payload_and_the_type_the_latest_named() -> None:
    raw = received(content_type="application/json", mapping="iwmo/toewijzing")
    mapped = entry(2, Event.MAPPED, typed=False, payload=MAPPED)
    viewed = entry(4, Event.VIEWED, payload=b"not the body")
    history = read_history([raw, mapped, validated(3), viewed])
    assert history.body_sha256 == sha256(MAPPED).hexdigest()
    assert history.message_type == WMO301
    assert history.content_type == "application/xml"  # typed: the XML it became
    untyped = read_history([raw])
    assert (untyped.message_type, untyped.content_type) == (None, "application/json")
    assert untyped.body_sha256 == sha256(BODY).hexdigest()


def test_the_envelope_names_the_message_as_recorded() -> None:
    first = received("inbound", parent_id="p-1")
    history = read_history([first, validated(direction="inbound")])
    envelope = history.envelope(BODY)
    assert envelope == Envelope(
        body=BODY,
        direction=Direction.INBOUND,
        message_id="m-1",
        correlation_id="c-1",
        content_type="application/xml",
        message_type=WMO301,
        source="http",
        parent_id="p-1",
        received_at=envelope.received_at,
    )
    assert history.envelope().body == b""
    record = history.record(Event.DISCARDED, detail={"by": "op"})
    assert (record.envelope.route, record.event, record.detail) == (
        "inbound.iwmo.WMO301",
        Event.DISCARDED,
        {"by": "op"},
    )


def test_what_is_republished_is_what_the_worker_takes_for_the_recorded_message() -> None:
    """The worker's NotRecorded check and the envelope receive, replay and the sweeper publish
    come from one History: they cannot disagree."""
    for direction in ("inbound", "outbound"):
        history = read_history(accepted(direction))
        republished = history.envelope(BODY)
        assert history.holds(republished)
        assert not history.holds(replace(republished, body=b"<other/>"))
        assert not history.holds(replace(republished, message_type=None))
        other = Direction.OUTBOUND if direction == "inbound" else Direction.INBOUND
        assert not history.holds(replace(republished, direction=other))
        assert not history.holds(replace(republished, message_id="m-2"))


# -- verdict ---------------------------------------------------------------------------------


def test_the_verdict_is_the_latest_one_recorded() -> None:
    finding = {"rule": "TR001", "code": "8001", "path": "/x", "text": "t", "source": None}
    rejected = entry(
        3, Event.REJECTED, detail={"stage": "rules", "findings": [finding], "publish": True}
    )
    verdict = read_history([received(), validated(), rejected]).verdict
    assert verdict is not None
    assert (verdict.accepted, verdict.refused, verdict.publish) == (False, False, True)
    assert verdict.findings == (finding,)
    assert read_history(accepted()).verdict.accepted  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stage", "forbidden"), [("intake", False), ("schema", False), ("sender", True)]
)
def test_refused_before_the_rules(stage: str, forbidden: bool) -> None:
    refused = entry(
        2,
        Event.REJECTED,
        typed=stage != "intake",
        detail={"stage": stage, "errors": ["bad"], "publish": False},
    )
    history = read_history([received(), refused])
    verdict = history.verdict
    assert verdict is not None
    assert (verdict.refused, verdict.forbidden, verdict.publish) == (True, forbidden, False)
    assert verdict.errors == ("bad",)
    assert history.status is Status.FAILED


def test_not_yet_judged() -> None:
    history = read_history([received()])
    assert (history.verdict, history.status, history.published) == (None, Status.RECEIVED, False)


# -- what was done, and the replay cut -------------------------------------------------------


def test_a_replay_means_do_it_again() -> None:
    delivered = entry(4, Event.DELIVERED, detail={"to": "backoffice"})
    sent = entry(5, Event.RETOUR_SENT, detail={"retour_id": "r-1"})
    before = read_history([*accepted("inbound"), delivered, sent])
    assert (before.delivered, before.retour_sent) == (True, True)
    assert before.done == {Event.RECEIVED, Event.VALIDATED, Event.PUBLISHED, Event.DELIVERED,
                           Event.RETOUR_SENT}  # fmt: skip
    replayed = entry(6, Event.REPLAYED, detail={"by": "op"})
    again = entry(7, Event.PUBLISHED)
    after = read_history([*before.entries, replayed, again])
    assert (after.delivered, after.retour_sent, after.done) == (False, False, {Event.PUBLISHED})
    assert after.since_replay == (again,)
    redelivered = read_history([*after.entries, replace(delivered, seq=8)])
    assert (redelivered.delivered, redelivered.retour_sent) == (True, False)


def test_failed_attempts_and_parking_count_since_the_latest_replay() -> None:
    retried = entry(4, Event.RETRIED, detail={"attempt": 1})
    parked = entry(5, Event.PARKED, detail={"attempt": 2})
    history = read_history([*accepted(), retried, parked])
    assert (history.attempts, history.parked, history.status) == (2, True, Status.PARKED)
    replayed = read_history([*history.entries, entry(6, Event.REPLAYED)])
    assert (replayed.attempts, replayed.parked) == (0, False)
    assert replayed.awaiting_publication


# -- status and answer -----------------------------------------------------------------------


def test_status_and_answer_as_the_messages_table_derives_them() -> None:
    expects = validated(direction="inbound", described={"expects_answer": True})
    steps = [received("inbound"), expects]
    assert read_history(steps).awaiting_publication
    steps.append(entry(3, Event.PUBLISHED, direction="inbound"))
    published = read_history(steps)
    assert (published.status, published.published) == (Status.PUBLISHED, True)
    steps.append(entry(4, Event.DELIVERED, direction="inbound"))
    assert read_history(steps).status is Status.AWAITING_ANSWER
    steps.append(entry(5, Event.RETOUR_SENT, direction="inbound", detail={"retour_id": "r-1"}))
    answered = read_history(steps)
    assert (answered.status, answered.answered_by) == (Status.ANSWERED, "r-1")
    no_answer = read_history([received(), validated(), entry(3, Event.DELIVERED)])
    assert (no_answer.status, no_answer.answered_by) == (Status.DELIVERED, None)
