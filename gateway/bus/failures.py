"""What a failure means: retry it (timeouts, 5xx, connections) or park it (validation, 4xx).

Two levels of retrying, each for what it is good at:

- in process, :func:`call_outbound` retries one outbound call (a transport's ``deliver``) a few
  times within a second or two with tenacity: a dropped connection or a 503 often passes at once;
- on the broker, a message whose handling failed retryably waits in a retry tier (10 s, 1 min,
  10 min, 1 h ...; ``bus/topology.py``) and comes back; after ``max_attempts`` it is parked.

A permanent failure skips both and parks the message at once: retrying cannot fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from gateway.xmlsafe import XmlRejected

T = TypeVar("T")


class Permanent(Exception):
    """A failure that retrying cannot fix (e.g. a validation error): park the message now."""


class Retryable(Exception):
    """A failure that may pass later (a counterpart down, a timeout): retry in a later tier.

    ``retried`` is set by a raiser that already retried in process (e.g. honouring Retry-After):
    :func:`call_outbound` then does not retry it again, the broker tiers take over.
    """

    retried: bool = False


# 4xx answers that mean "not now" rather than "never".
_RETRYABLE_4XX = frozenset({408, 425, 429})


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
        return 400 <= status < 500 and status not in _RETRYABLE_4XX
    if isinstance(error, requests.Timeout | requests.ConnectionError | TimeoutError | OSError):
        return False
    # Bad data does not get better: a message that fails to parse, map or validate.
    return isinstance(error, XmlRejected | ValueError | TypeError)


def _worth_retrying_here(error: BaseException) -> bool:
    return not is_permanent(error) and not getattr(error, "retried", False)


def call_outbound(
    call: Callable[[], T], *, attempts: int = 3, within: float = 5.0, first_wait: float = 0.1
) -> T:
    """Run ``call``, retrying retryable failures up to ``attempts`` times within ``within`` s.

    A permanent failure, or the last retryable one, is raised to the caller (the consumer then
    parks the message, or sends it to the next broker retry tier).
    """
    retrying = Retrying(
        retry=retry_if_exception(
            lambda e: not is_permanent(e) and not getattr(e, "retried", False)
        ),
        stop=stop_after_attempt(attempts) | stop_after_delay(within),
        wait=wait_exponential(multiplier=first_wait, max=within / 2) + wait_random(0, first_wait),
        reraise=True,
    )
    return retrying(call)
