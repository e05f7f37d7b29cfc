"""The operations API on the real RabbitMQ and ledger: authentication, the Afzender check,
roles, recorded payload views, replay, discard, bulk replay jobs, the parking recorder, metrics."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import pika
import pytest
from fastapi.testclient import TestClient

from adapters.istandaarden import mapping
from gateway.app import Gateway
from gateway.bus.publisher import connect
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.ledger import Event, Status
from gateway.ops import messages
from gateway.ops import replay as jobs
from gateway.ops.parking import stranger_id
from gateway.receive import envelope_from_ledger
from tests.conftest import EXAMPLES
from tests.integration.busutil import depth
from tests.integration.helpers import events, wait_for
from tests.ops.helpers import (
    as_,
    block_delivery,
    ops_settings,
    running,
    toewijzing,
    unblock_delivery,
    wait_status,
)

pytestmark = pytest.mark.integration
MAPPED = "/v1/messages/outbound/iwmo/toewijzing"
JSON = {"content-type": "application/json"}


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[Gateway, TestClient]]:
    configured = ops_settings(settings)
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        yield gateway, client


def _send(client: TestClient, who: str, number: int = 5001) -> str:
    response = client.post(MAPPED, content=toewijzing(number), headers={**JSON, **as_(who)})
    assert response.status_code == 202, response.text
    return str(response.json()["message_id"])


def _parked(gateway: Gateway, client: TestClient, number: int) -> str:
    message_id = _send(client, "bo-0363", number)
    wait_status(gateway, message_id, Status.PARKED)
    return message_id


def test_a_party_sends_only_as_itself(live: tuple[Gateway, TestClient]) -> None:
    gateway, client = live
    assert client.post(MAPPED, content=toewijzing(), headers=JSON).status_code == 401
    nobody = client.post(MAPPED, content=toewijzing(), headers={**JSON, **as_("viewer")})
    assert nobody.status_code == 403 and "no parties" in nobody.json()["detail"]
    wrong = client.post(MAPPED, content=toewijzing(), headers={**JSON, **as_("bo-0599")})
    assert wrong.status_code == 403
    receipt = wrong.json()
    assert receipt["status"] == "refused" and receipt["published"] is False
    assert receipt["errors"] == [
        "the message's sender (Afzender) is 0363, but it was handed in by bo-0599 who may send "
        "only as: 0599"
    ]
    history = gateway.ledger.history(receipt["message_id"])
    assert [e.event for e in history] == [Event.RECEIVED, Event.MAPPED, Event.REJECTED]
    assert history[0].detail["identity"] == "bo-0599"
    assert history[-1].detail["stage"] == "sender"
    assert _send(client, "bo-0363")


@pytest.mark.parametrize("xml", [False, True], ids=["mapped", "xml"])
def test_a_dry_run_is_refused_to_whom_a_send_is_refused(
    live: tuple[Gateway, TestClient], xml: bool
) -> None:
    """Who may ask for a dry run, as whom: the same as who may send (a sending party, as
    itself); a refusal answers as a real send's does, and nothing is recorded either way."""
    gateway, client = live
    body = toewijzing()
    if xml:
        body = mapping.map_in("iwmo", "toewijzing", json.loads(body), dt.datetime.now())
    path = ("/v1/messages/outbound" if xml else MAPPED) + "?dry_run=true"
    headers = {"content-type": "application/xml" if xml else "application/json"}
    assert client.post(path, content=body, headers=headers).status_code == 401
    nobody = client.post(path, content=body, headers={**headers, **as_("viewer")})
    assert nobody.status_code == 403 and "no parties" in nobody.json()["detail"]
    wrong = client.post(path, content=body, headers={**headers, **as_("bo-0599")})
    assert wrong.status_code == 403
    assert wrong.json()["status"] == "refused" and wrong.json()["forbidden"] is True
    assert wrong.json()["errors"] == [
        "the message's sender (Afzender) is 0363, but it was handed in by bo-0599 who may send "
        "only as: 0599"
    ]
    own = client.post(path, content=body, headers={**headers, **as_("bo-0363")})
    assert own.status_code == 200 and own.json()["status"] == "accepted"
    assert own.json()["dry_run"] is True
    assert client.get("/v1/messages", headers=as_("op")).json()["count"] == 0


def test_roles_and_every_payload_view_is_recorded(live: tuple[Gateway, TestClient]) -> None:
    gateway, client = live
    message_id = _send(client, "bo-0363", 7101)
    wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    shown = client.get(f"/v1/messages/{message_id}", headers=as_("viewer")).json()
    assert shown["state"]["status"] == "awaiting-answer" and shown["retour"] is None
    assert [h["event"] for h in shown["history"]][-1] == "delivered"
    listed = client.get("/v1/messages?key=ToewijzingNummer=7101", headers=as_("viewer")).json()
    assert [m["message_id"] for m in listed["messages"]] == [message_id]
    assert client.get("/v1/messages?key=bsn=999990019", headers=as_("viewer")).status_code == 400
    by_bsn = client.post(
        "/v1/messages/search", json={"bsn": "999990019", "code": "WMO301"}, headers=as_("viewer")
    ).json()
    assert message_id in [m["message_id"] for m in by_bsn["messages"]]
    assert "999990019" not in str(listed) + str(shown)

    payload = f"/v1/messages/{message_id}/payload"
    assert client.get(payload, headers=as_("viewer")).status_code == 403
    assert Event.VIEWED not in {e.event for e in gateway.ledger.history(message_id)}
    got = client.get(payload, headers=as_("pv"))
    assert got.status_code == 200 and got.content == toewijzing(7101)
    mapped = client.get(f"{payload}?which=mapped", headers=as_("pv"))
    assert mapped.headers["content-type"].startswith("application/xml")
    for answer in (got, mapped):  # the sender's bytes: a browser neither sniffs nor runs them
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"].startswith("sandbox")
        assert answer.headers["content-disposition"] == "attachment"
    views = [e for e in gateway.ledger.history(message_id) if e.event is Event.VIEWED]
    assert [v.detail["by"] for v in views] == ["pv", "pv"]
    state = gateway.ledger.state(message_id)
    assert state is not None and state.status is Status.AWAITING_ANSWER  # a view is no activity
    assert client.post(f"/v1/messages/{message_id}/replay", headers=as_("pv")).status_code == 403


def test_replay_delivers_a_parked_message_and_sends_a_delivered_one_again(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    block_delivery(gateway.settings)
    message_id = _parked(gateway, client, 7201)
    # (`published` may land after `parked`: the worker can be quicker than the confirm)
    parked = next(e for e in gateway.ledger.history(message_id) if e.event is Event.PARKED)
    assert parked.detail["error"] == "FileExistsError"
    unblock_delivery(gateway.settings)
    replay = f"/v1/messages/{message_id}/replay"
    response = client.post(replay, json={"reason": "outbox fixed"}, headers=as_("op"))
    assert response.status_code == 200, response.text
    wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    replayed = [e for e in gateway.ledger.history(message_id) if e.event is Event.REPLAYED]
    assert replayed[0].detail == {"by": "op", "previous": "parked", "reason": "outbox fixed"}
    # a delivered message replayed is delivered again, not skipped as done
    assert client.post(replay, headers=as_("op")).status_code == 200
    wait_for(lambda: events(gateway.ledger, message_id).count("delivered") == 2, 20, "redelivery")
    after = events(gateway.ledger, message_id)
    # (the worker may record `delivered` before the replay records the broker's confirm)
    assert after[-3] == "replayed" and sorted(after[-2:]) == ["delivered", "published"]


def test_discard_and_a_bulk_replay_job(live: tuple[Gateway, TestClient]) -> None:
    gateway, client = live
    block_delivery(gateway.settings)
    parked = [_parked(gateway, client, 7300 + i) for i in range(3)]
    assert (
        client.post(f"/v1/messages/{parked[0]}/discard", json={}, headers=as_("op")).status_code
        == 409
    )
    discarded = client.post(
        f"/v1/messages/{parked[0]}/discard", json={"reason": "sent by mistake"}, headers=as_("op")
    )
    assert discarded.json()["status"] == "discarded"
    assert client.post(f"/v1/messages/{parked[0]}/replay", headers=as_("op")).status_code == 409
    unblock_delivery(gateway.settings)
    created = client.post(
        "/v1/replay-jobs", json={"status": "parked", "reason": "outbox back"}, headers=as_("op")
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    assert created.json()["total"] == 2  # the discarded one is not selected
    for message_id in parked[1:]:
        wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    job = client.get(f"/v1/replay-jobs/{job_id}", headers=as_("viewer")).json()
    assert job["replayed"] == 2 and sorted(job["selection"]) == sorted(parked[1:])
    # resuming a finished job replays nothing twice
    before = [events(gateway.ledger, m).count("replayed") for m in parked[1:]]
    progress = jobs.run(gateway.ledger, gateway.publish, job_id, "op", rate=1000)
    assert (progress.replayed, progress.skipped, progress.total) == (2, 0, 2)
    assert [events(gateway.ledger, m).count("replayed") for m in parked[1:]] == before == [1, 1]
    linked = gateway.ledger.find(jobs.JOB_KEY, job_id)
    assert sorted(e.message_id for e in linked) == sorted(parked[1:])
    assert events(gateway.ledger, parked[0])[-1] == "discarded"


def test_a_bulk_job_is_rate_limited_and_resumes_where_it_stopped(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    block_delivery(gateway.settings)
    parked = [_parked(gateway, client, 7400 + i) for i in range(4)]
    job = jobs.create(gateway.ledger, "op", jobs.Filter(code="WMO301"))
    assert job.selection == parked  # oldest first, each once
    stop_after_two: list[int] = []

    class StopAfter:
        def is_set(self) -> bool:
            return len(stop_after_two) >= 2

    def published(envelope: object) -> None:
        gateway.publish(envelope)  # type: ignore[arg-type]
        stop_after_two.append(1)

    first = jobs.run(gateway.ledger, published, job.job_id, "op", rate=1000, stop=StopAfter())  # type: ignore[arg-type]
    assert first.replayed == 2
    started = time.monotonic()
    rest = jobs.run(gateway.ledger, gateway.publish, job.job_id, "op", rate=5)
    elapsed = time.monotonic() - started
    assert (rest.replayed, rest.done) == (4, 4)  # two before, two now
    assert elapsed >= 0.19  # two publishes at 5 per second: one interval between them
    counts = [events(gateway.ledger, m).count("replayed") for m in parked]
    assert counts == [1, 1, 1, 1]


def test_the_parking_recorder_records_what_the_broker_parked_once(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    message_id = _send(client, "bo-0363", 7501)
    wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    body = envelope_from_ledger(gateway.ledger, message_id).body  # as the worker had it
    connection = connect(gateway.settings.amqp_url)
    channel = connection.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(
        message_id=message_id,
        headers={
            "x-kp-direction": "outbound",
            "x-kp-standard": "iwmo",
            "x-kp-code": "WMO301",
            "x-kp-version": "3.2",
            "x-death": [
                {"reason": "delivery_limit", "queue": "somewhere.outbound.iwmo", "count": 1}
            ],
        },
    )
    for _ in range(2):  # the broker's dead-lettering is at least once
        channel.basic_publish(gateway.topology.parking, "", body, properties)
    connection.close()
    wait_status(gateway, message_id, Status.PARKED)
    wait_for(lambda: depth(gateway.settings.amqp_url, gateway.topology.parking) == 0, 20, "drained")
    parked = [e for e in gateway.ledger.history(message_id) if e.event is Event.PARKED]
    assert len(parked) == 1
    assert parked[0].detail["by"] == "broker"
    assert parked[0].detail["reason"] == "delivery_limit in somewhere.outbound.iwmo"
    assert parked[0].payload_sha256 is None  # the message's bytes are its received payload


def test_the_parking_recorder_records_a_message_the_ledger_does_not_have(
    live: tuple[Gateway, TestClient],
) -> None:
    """Not dropped: what is not one of the ledger's messages (an unknown id, or other bytes
    under a known one) is recorded parked with its bytes, once; the known message is untouched."""
    gateway, client = live
    known = _send(client, "bo-0363", 7502)
    wait_status(gateway, known, Status.AWAITING_ANSWER)
    unknown = str(uuid.uuid4())
    other = pika.BasicProperties(message_id=known)
    connection = connect(gateway.settings.amqp_url)
    channel = connection.channel()
    channel.confirm_delivery()
    for _ in range(2):  # the same message parked twice is recorded once
        channel.basic_publish(
            gateway.topology.parking, "", b"<x/>", pika.BasicProperties(message_id=unknown)
        )
        channel.basic_publish(gateway.topology.parking, "", b"<y/>", other)
    connection.close()
    wait_for(lambda: depth(gateway.settings.amqp_url, gateway.topology.parking) == 0, 20, "drained")
    for message_id, body in ((unknown, b"<x/>"), (stranger_id(other, b"<y/>"), b"<y/>")):
        wait_status(gateway, message_id, Status.PARKED)
        [parked] = gateway.ledger.history(message_id)
        assert parked.detail["reason"] == (
            "not a message of the ledger: published to parking without a failure"
        )
        assert gateway.ledger.payload(parked.payload_sha256 or "") == body
    assert gateway.ledger.history(stranger_id(other, b"<y/>"))[0].detail["sent_id"] == known
    assert messages.get(gateway.ledger, known).state.status is Status.AWAITING_ANSWER
    with pytest.raises(messages.NotAllowed, match="never taken in"):
        messages.replay(gateway.ledger, gateway.publish, unknown, "op")


def test_metrics_and_health(settings: Settings) -> None:
    retried_once = ops_settings(settings, max_attempts=2)  # one retry (tier 1s), then parked
    with running(retried_once) as gateway, TestClient(make_app(gateway)) as client:
        block_delivery(gateway.settings)
        _parked(gateway, client, 7601)
        assert client.get("/metrics").status_code == 401
        text = client.get("/metrics", headers=as_("viewer")).text
        assert 'ketenpoort_messages{route="outbound.iwmo.WMO301",status="parked"} 1.0' in text
        assert "ketenpoort_parked_messages 1.0" in text
        assert "ketenpoort_retries_total 1.0" in text
        lines = {x.split()[0]: float(x.split()[1]) for x in text.splitlines() if x[:1] != "#"}
        assert 0 <= lines["ketenpoort_oldest_parked_age_seconds"] < 60
        assert lines["ketenpoort_ledger_entries"] == gateway.ledger.tree_size()  # type: ignore[attr-defined]
        assert lines["ketenpoort_retour_latency_seconds_gcount"] == 0
        inbound = client.post(
            "/v1/messages/inbound",
            content=(EXAMPLES / "WMO301-ontvangen.xml").read_bytes(),
            headers=as_("bo-0599"),  # the gemeente 0599 sending its toewijzing to us
        )
        assert inbound.status_code == 202, inbound.text
        wait_status(gateway, inbound.json()["message_id"], Status.ANSWERED)
        again = client.get("/metrics", headers=as_("viewer")).text
        assert "ketenpoort_retries_total 1.0" in again  # counted incrementally, not twice
        assert "ketenpoort_retour_latency_seconds_gcount 1.0" in again
        assert 'ketenpoort_retour_latency_seconds_bucket{le="60.0"} 1.0' in again
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready").json()
        assert ready == {"status": "ok", "broker": "ok", "ledger": "ok"}


def test_a_replay_cut_off_before_publishing_is_published_by_the_sweeper(
    live: tuple[Gateway, TestClient],
) -> None:
    """The process dies between recording ``replayed`` and publishing: the message must not
    look as if it were on the bus; the sweeper publishes it and the worker delivers it."""
    gateway, client = live
    block_delivery(gateway.settings)
    message_id = _parked(gateway, client, 7401)
    unblock_delivery(gateway.settings)

    def killed(_: object) -> None:
        raise SystemExit("process killed before the publish reached the broker")

    with pytest.raises(SystemExit):
        messages.replay(gateway.ledger, killed, message_id, "op", reason="outbox fixed")
    state = gateway.ledger.state(message_id)
    assert state is not None and state.status is Status.AWAITING_PUBLICATION
    assert message_id in gateway.ledger.awaiting_publication()
    assert gateway.receiver.republish_pending() >= 1  # on the real broker, confirmed
    wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    after = events(gateway.ledger, message_id)
    assert after[after.index("replayed") :].count("delivered") == 1
    assert "published" in after[after.index("replayed") :]
