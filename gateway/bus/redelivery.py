"""Redelivery: what happens to a message whose handling failed, decided and done in one place.

The consumer calls :meth:`Redelivery.settle` when a handler fails; handlers only raise. The
rules, as pure functions:

- :func:`is_permanent` classifies a failure: :class:`~gateway.bus.failures.Permanent` (bad data,
  a 4xx but 408/425/429, :data:`NOT_NOW_4XX`) parks at once; anything else may pass later;
- :func:`next_tier` chooses the wait after a failed attempt (``retry_tiers``, the last repeats),
  or none when ``max_attempts`` are used up;
- :func:`decide` puts them together with where the message was: retry in a tier, park, or (on
  the parking queue, after which nothing comes) hand it back to its queue; and whether the
  outcome is recorded in the ledger (not for a message the ledger does not hold: one from the
  AMQP ingress, which is what failed to be recorded, or a :class:`~gateway.bus.failures.Stranger`).

Two levels of retrying, each for what it is good at:

- in process, :func:`call_outbound` retries one call to a counterpart a few times within
  seconds with tenacity (the worker around every ``transport.deliver``, the HTTP helper of the
  adapters around every request): a dropped connection or a 503 often passes at once;
- on the broker, :meth:`Redelivery.settle` records ``retried`` and publishes a copy, confirmed,
  to the wait queue of its tier (``p.wait.<tier>``; header ``x-kp-attempt`` + 1, the failure
  appended to ``x-kp-history``), which returns it to its queue when the wait is over; after the
  last attempt it records ``parked`` and publishes the copy to parking. Then the consumer acks
  the original. If recording or publishing fails, :meth:`~Redelivery.settle` raises and the
  consumer hands the original back after a pause: at least once, never lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, Protocol, TypeVar

import pika
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from gateway.bus.failures import Permanent, Retryable, Stranger
from gateway.bus.topology import RetryTier, Topology
from gateway.bus.wire import ATTEMPT, HISTORY, attempt_of, from_amqp, history_of, to_amqp
from gateway.envelope import Envelope
from gateway.ledger import Event, Ledger
from gateway.logs import get_logger, message_context
from gateway.xmlsafe import XmlRejected

log = get_logger(__name__)

T = TypeVar("T")

# -- what a failure means ----------------------------------------------------------------------

# 4xx answers that mean "not now" rather than "never" (RFC 9110: timeout, too early, too many).
NOT_NOW_4XX = frozenset({408, 425, 429})


def is_refusal(status: int) -> bool:
    """Whether an HTTP status says the request itself is wrong: a 4xx but :data:`NOT_NOW_4XX`.
    Any other status is no verdict on the message and may pass: 5xx, the "not now" 4xx, a
    redirect or a 1xx as the final answer (RFC 9110 15.5)."""
    return 400 <= status < 500 and status not in NOT_NOW_4XX


def http_status(error: BaseException) -> int | None:
    """The HTTP status an error carries (``requests.HTTPError`` or a ``status_code`` attribute)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def is_permanent(error: BaseException) -> bool:
    """Classify a failure. Unknown errors count as retryable: bounded attempts still park them."""
    if isinstance(error, Permanent):
        return True
    if isinstance(error, Retryable):
        return False
    status = http_status(error)
    if status is not None:
        return is_refusal(status)
    if isinstance(error, requests.Timeout | requests.ConnectionError | TimeoutError | OSError):
        return False
    # Bad data does not get better: a message that fails to parse, map or validate.
    return isinstance(error, XmlRejected | ValueError | TypeError)


# -- in process ----------------------------------------------------------------------------------


def _worth_retrying_now(error: BaseException) -> bool:
    return not is_permanent(error) and not getattr(error, "retried", False)


def call_outbound(
    call: Callable[[], T],
    *,
    attempts: int = 3,
    first_wait: float = 0.1,
    max_wait: float = 2.5,
    within: float | None = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``, retrying a retryable failure up to ``attempts`` times in all.

    The waits double from ``first_wait`` up to ``max_wait``; a failure that carries
    ``retry_after`` (a counterpart's Retry-After) waits that long instead, capped by
    ``max_wait``. With ``within``, no new attempt starts after that many seconds. A permanent
    failure, or the last retryable one, is raised; a :class:`Retryable` one marked ``retried``,
    so that a ``call_outbound`` around this one (the worker's around a transport that retries
    its requests) does not retry it again: the broker tiers take over.
    """

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, int | float):
            return min(float(asked), max_wait)
        return float(min(first_wait * 2 ** (state.attempt_number - 1), max_wait))

    stop = stop_after_attempt(attempts)
    retrying = Retrying(
        retry=retry_if_exception(_worth_retrying_now),
        stop=stop if within is None else stop | stop_after_delay(within),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(call)
    except Retryable as exc:
        exc.retried = True
        raise


# -- on the broker: the decision -----------------------------------------------------------------

# The outcomes, as ``x-kp-history`` names them.
RETRY: Final = "retry"
PARK: Final = "parked"
REQUEUE: Final = "requeue"


@dataclass(frozen=True)
class Decision:
    """What becomes of a message whose handling failed."""

    outcome: Literal["retry", "parked", "requeue"]
    tier: RetryTier | None = None  # the wait before the next attempt (outcome "retry")
    record: bool = False  # whether ``retried`` / ``parked`` is recorded in the ledger


def next_tier(attempt: int, *, max_attempts: int, topology: Topology) -> RetryTier | None:
    """The wait after failed attempt ``attempt`` (1-based), or None when it was the last."""
    return None if attempt >= max_attempts else topology.tier_after(attempt)


def decide(
    error: BaseException, *, attempt: int, queue: str, max_attempts: int, topology: Topology
) -> Decision:
    """Retry, park or hand back: from the failure, the attempt and the queue it came from."""
    if queue == topology.parking:
        return Decision(REQUEUE)  # nothing comes after parking: it goes back after a pause
    record = queue != topology.ingress and not isinstance(error, Stranger)
    tier = (
        None
        if is_permanent(error)
        else next_tier(attempt, max_attempts=max_attempts, topology=topology)
    )
    if tier is None:
        return Decision(PARK, record=record)
    return Decision(RETRY, tier, record)


# Set by the broker on the way (dead-lettering, quorum redelivery count): not carried on.
_BROKER_HEADERS = ("x-death", "x-first-death", "x-last-death", "x-delivery-count")


def after_failure(
    properties: pika.BasicProperties, *, queue: str, error: BaseException, outcome: str
) -> pika.BasicProperties:
    """The properties for the message's next stop (a retry tier or parking): the failure
    appended to ``x-kp-history``; ``x-kp-attempt`` + 1 when it is retried."""
    attempt = attempt_of(properties)
    entry: dict[str, object] = {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "queue": queue,
        "error": type(error).__name__,
        "reason": str(error)[:300],
        "outcome": outcome,
    }
    headers = {
        k: v
        for k, v in (properties.headers if isinstance(properties.headers, dict) else {}).items()
        if not (isinstance(k, str) and k.startswith(_BROKER_HEADERS))
    }
    headers[HISTORY] = [*history_of(properties), entry]
    headers[ATTEMPT] = attempt + 1 if outcome == RETRY else attempt
    return pika.BasicProperties(
        message_id=properties.message_id,
        correlation_id=properties.correlation_id,
        content_type=properties.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        headers=headers,
    )


# -- on the broker: doing it ---------------------------------------------------------------------


class Publishes(Protocol):
    def publish_raw(
        self, exchange: str, key: str, body: bytes, properties: pika.BasicProperties
    ) -> None:
        """Publish and wait for the broker's confirm; raise when it is not confirmed."""
        ...


class NotSettled(RuntimeError):
    """The failure was not settled: the consumer hands the message back to its queue."""


class Redelivery:
    """The redelivery policy of a gateway: its tiers, its ``max_attempts``, its ledger."""

    def __init__(
        self, publisher: Publishes, topology: Topology, ledger: Ledger, *, max_attempts: int
    ) -> None:
        self.publisher = publisher
        self.topology = topology
        self.ledger = ledger
        self.max_attempts = max_attempts

    def settle(
        self, queue: str, properties: pika.BasicProperties, body: bytes, error: BaseException
    ) -> None:
        """Record and move a message from ``queue`` whose handling raised ``error``; when this
        returns, the original can be acked. Raises when it could not (the ledger or the broker
        away, or a failure on the parking queue): the original then goes back to its queue."""
        attempt = attempt_of(properties)
        decision = decide(
            error,
            attempt=attempt,
            queue=queue,
            max_attempts=self.max_attempts,
            topology=self.topology,
        )
        if decision.outcome == REQUEUE:
            raise NotSettled(f"{queue}: {type(error).__name__}") from error
        if decision.record:
            self._record(properties, body, error, attempt, decision)
        elif isinstance(error, Stranger):
            log.warning("message.not_ours", reason=str(error)[:200])
        onward = after_failure(properties, queue=queue, error=error, outcome=decision.outcome)
        if decision.tier is None:
            self.publisher.publish_raw(self.topology.parking, queue, body, onward)
        else:
            key = self.topology.retry_key(decision.tier, queue)
            self.publisher.publish_raw(self.topology.retry_exchange, key, body, onward)

    def _record(
        self,
        properties: pika.BasicProperties,
        body: bytes,
        error: BaseException,
        attempt: int,
        decision: Decision,
    ) -> None:
        envelope = from_amqp(properties, body)
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            event = Event.RETRIED if decision.tier is not None else Event.PARKED
            detail: dict[str, object] = {
                "attempt": attempt,
                "error": type(error).__name__,
                "reason": str(error)[:500],
            }
            if decision.tier is not None:
                detail["retry_in"] = decision.tier.seconds
            self.ledger.append(envelope, event, detail=detail)
            log.warning(f"message.{event.value}", error=type(error).__name__, attempt=attempt)

    def tier_after(self, attempt: int) -> RetryTier | None:
        """The wait before sending again after send ``attempt``; None when they are used up."""
        return next_tier(attempt, max_attempts=self.max_attempts, topology=self.topology)

    def send_later(self, envelope: Envelope, attempt: int) -> None:
        """Publish ``envelope`` to wait out the tier after ``attempt`` (:meth:`tier_after`)
        before it returns to its work queue as attempt ``attempt + 1``, as :meth:`settle` does
        with a failed message (a counterpart's "send again later" answer)."""
        tier = self.tier_after(attempt)
        if tier is None:
            raise ValueError(f"attempt {attempt} of {self.max_attempts}: no send left")
        if envelope.message_type is None:
            raise ValueError("only an identified message can wait in a retry tier")
        queue = self.topology.work_queue(envelope.direction, envelope.message_type.standard)
        properties, body = to_amqp(envelope)
        properties.headers = {**(properties.headers or {}), ATTEMPT: attempt + 1}
        self.publisher.publish_raw(
            self.topology.retry_exchange, self.topology.retry_key(tier, queue), body, properties
        )
