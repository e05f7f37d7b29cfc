"""The redelivery policy as pure decisions: classify, tier, attempts -> retry, park or hand back;
and the one in-process retry both the worker and the adapters' HTTP helper use."""

from __future__ import annotations

import pytest
import requests

from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import status_error
from gateway.bus.failures import Permanent, Retryable, Stranger
from gateway.bus.redelivery import (
    NOT_NOW_4XX,
    Decision,
    call_outbound,
    decide,
    is_permanent,
    is_refusal,
    next_tier,
)
from gateway.bus.topology import RetryTier, Topology
from gateway.bus.wire import Unreadable
from gateway.envelope import Direction
from gateway.worker import NotRecorded

TOPOLOGY = Topology("p", ("iwmo",), retry_tiers=("10s", "1m"))
WORK = TOPOLOGY.work_queue(Direction.OUTBOUND, "iwmo")
TEN_S, ONE_M = RetryTier("10s", 10.0), RetryTier("1m", 60.0)


def _decide(error: BaseException, attempt: int, queue: str = WORK) -> Decision:
    return decide(error, attempt=attempt, queue=queue, max_attempts=4, topology=TOPOLOGY)


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        *((s, True) for s in (400, 401, 404, 422, 451)),
        *((s, False) for s in (408, 425, 429, 500, 503, 301, 101)),
    ],
)
def test_only_a_4xx_but_not_now_is_a_refusal(status: int, refusal: bool) -> None:
    assert is_refusal(status) is refusal
    assert {408, 425, 429} == NOT_NOW_4XX


def test_the_bus_and_the_adapters_judge_a_status_by_one_rule() -> None:
    for status in range(100, 600):
        judged = status_error("X", _response(status))
        assert isinstance(judged, Refused | Unavailable)
        bus = is_permanent(requests.HTTPError(str(status), response=_response(status)))
        assert isinstance(judged, Refused) is bus is is_permanent(judged), status


def test_the_tiers_follow_the_attempts_and_the_last_repeats_until_the_attempts_run_out() -> None:
    tiers = [next_tier(a, max_attempts=4, topology=TOPOLOGY) for a in (1, 2, 3, 4, 5)]
    assert tiers == [TEN_S, ONE_M, ONE_M, None, None]


def test_a_retryable_failure_waits_its_tier_then_is_parked_recorded_each_time() -> None:
    outcomes = [_decide(TimeoutError("slow"), attempt) for attempt in (1, 2, 3, 4)]
    assert outcomes == [
        Decision("retry", TEN_S, record=True),
        Decision("retry", ONE_M, record=True),
        Decision("retry", ONE_M, record=True),
        Decision("parked", record=True),
    ]


@pytest.mark.parametrize(
    "error",
    [Permanent("bad"), ValueError("bad field"), Refused("X", "HTTP 422")],
)
def test_a_permanent_failure_is_parked_at_the_first_attempt(error: Exception) -> None:
    assert _decide(error, 1) == Decision("parked", record=True)


@pytest.mark.parametrize(
    "error", [Unreadable("no message id"), NotRecorded("other bytes"), Stranger("?")]
)
def test_what_is_not_the_ledgers_is_parked_as_it_is_and_nothing_is_recorded(
    error: Exception,
) -> None:
    assert _decide(error, 1) == Decision("parked", record=False)


def test_at_the_ingress_nothing_is_recorded_the_recording_is_what_failed() -> None:
    assert _decide(ConnectionError("ledger away"), 1, TOPOLOGY.ingress) == Decision(
        "retry", TEN_S, record=False
    )
    assert _decide(Permanent("bad"), 1, TOPOLOGY.ingress) == Decision("parked", record=False)


def test_a_failure_on_the_parking_queue_goes_back_to_it() -> None:
    for error in (Permanent("bad"), TimeoutError("slow"), Unreadable("?")):
        assert _decide(error, 9, TOPOLOGY.parking) == Decision("requeue")


# -- in process ------------------------------------------------------------------------------


def test_a_retry_after_is_honoured_up_to_the_longest_wait() -> None:
    sleeps: list[float] = []
    asked = iter([0.5, 100.0])

    def busy() -> str:
        wait = next(asked, None)
        if wait is None:
            return "ok"
        raise Unavailable("X", "HTTP 503", retry_after=wait)

    assert call_outbound(busy, attempts=3, max_wait=2.0, sleep=sleeps.append) == "ok"
    assert sleeps == [0.5, 2.0]


def test_the_waits_double_up_to_the_longest() -> None:
    sleeps: list[float] = []

    def down() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        call_outbound(
            down, attempts=5, first_wait=0.5, max_wait=1.5, within=None, sleep=sleeps.append
        )
    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_a_call_retried_inside_another_is_not_retried_again_by_the_outer() -> None:
    """The worker retries ``transport.deliver``; a transport retrying its own requests leaves
    the message to the broker tiers once its tries are used up, not tries x tries."""
    calls = []

    def request() -> None:
        calls.append(1)
        raise Unavailable("X", "HTTP 502")

    def deliver() -> None:
        call_outbound(request, attempts=3, sleep=lambda _: None)

    with pytest.raises(Unavailable) as caught:
        call_outbound(deliver, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3 and caught.value.retried
    assert not is_permanent(caught.value)  # still retryable: the broker tiers take it


def test_only_the_bus_failure_classes_are_marked_retried() -> None:
    """Another error is left as it is: raised again (the same object, by a stand-in), it is
    retried again."""
    error = ConnectionError("down")

    def down() -> None:
        raise error

    with pytest.raises(ConnectionError):
        call_outbound(down, attempts=2, sleep=lambda _: None)
    assert not getattr(error, "retried", False)
    assert Retryable.retried is False
