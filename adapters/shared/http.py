"""Outbound HTTP calls to counterparts: retried in process, then judged.

One call is retried a few times within seconds when it fails in a way that may pass (a timeout,
a refused connection, an answer that broke off, 5xx, 408/425/429, a redirect, a malformed
reply); a 503 (or 429) with ``Retry-After`` waits as long as the counterpart asks, capped by
``http_max_wait`` (the gateway's one in-process retry, ``redelivery.call_outbound``, with the
waits of :class:`HttpPolicy`). What still fails is raised as
:class:`~adapters.shared.failures.Unavailable` (the bus retries the message in a later tier) or
:class:`~adapters.shared.failures.Refused` (parked at once: only a 4xx, or a counterpart's code
saying the message itself is wrong). Waits are settings, so tests run with milliseconds.

Redirects are not followed (:func:`post`): a message holding personal data goes to the configured
endpoint only, and requests would turn a redirected POST into a GET, whose answer says nothing
about the message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from adapters.shared.failures import CounterpartError, Refused, Unavailable
from gateway.bus.redelivery import call_outbound, is_refusal

T = TypeVar("T")


@dataclass(frozen=True)
class HttpPolicy:
    attempts: int = 3
    backoff: float = 0.5  # first wait; doubles per attempt
    max_wait: float = 30.0  # longest wait, also the cap on Retry-After
    timeout: float = 30.0  # one call

    @classmethod
    def from_settings(cls, settings: Any) -> HttpPolicy:
        from adapters.shared.settings import CounterpartSettings

        calls = CounterpartSettings.of(settings)
        return cls(
            attempts=max(1, calls.http_attempts),
            backoff=calls.http_backoff,
            max_wait=calls.http_max_wait,
            timeout=calls.http_timeout,
        )


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def status_error(counterpart: str, response: requests.Response) -> CounterpartError:
    """The failure an unsuccessful HTTP status stands for (no response text: it may hold data).

    Only a 4xx (but 408/425/429) says our request is wrong (RFC 9110 15.5): Refused. Anything
    else is no verdict on the message and may pass: 5xx and the "not now" 4xx; a redirect (not
    followed: the endpoint moved or is down for maintenance, see the URL setting); a 1xx as the
    final answer (a broken intermediary). One rule with the bus's: ``redelivery.is_refusal``.
    """
    status = response.status_code
    reason = f"HTTP {status} {response.reason or ''}".strip()
    if is_refusal(status):
        return Refused(counterpart, reason, status=status)
    if 300 <= status < 400:
        reason += " (a redirect, not followed: check the counterpart's URL)"
    elif status < 200:
        reason += " (not a final answer)"
    wait = retry_after(response)
    if wait is not None:
        reason += f", Retry-After {wait:g} s"
    return Unavailable(counterpart, reason, status=status, retry_after=wait)


def post(session: requests.Session, url: str, timeout: float, **kwargs: Any) -> requests.Response:
    """POST to a counterpart without following redirects (see the module's docstring)."""
    response: requests.Response = session.post(
        url, timeout=timeout, allow_redirects=False, **kwargs
    )
    return response


def call(
    counterpart: str,
    send: Callable[[float], requests.Response],
    judge: Callable[[requests.Response], T],
    policy: HttpPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """Run ``send(timeout)`` and ``judge`` its response, retrying what may pass.

    ``judge`` returns the result or raises a :class:`CounterpartError`. Returns the result and
    the number of attempts it took.
    """
    attempts = 0

    def once() -> T:
        nonlocal attempts
        attempts += 1
        try:
            response = send(policy.timeout)
        except requests.Timeout:
            raise Unavailable(counterpart, f"no answer within {policy.timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise Unavailable(counterpart, f"cannot connect ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            # The answer broke off or could not be decoded (ChunkedEncodingError,
            # ContentDecodingError; also a 1xx with a body): whether it was taken is unknown.
            raise Unavailable(counterpart, f"no readable answer ({type(exc).__name__})") from None
        return judge(response)

    try:
        result = call_outbound(
            once,
            attempts=policy.attempts,
            first_wait=policy.backoff,
            max_wait=policy.max_wait,
            within=None,
            sleep=sleep,
        )
        return result, attempts
    except CounterpartError as exc:
        exc.attempts = attempts
        raise
