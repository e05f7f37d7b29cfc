"""How a counterpart's failure reaches the bus: retry it later, or park it now with a reason.

The bus parks a message at once when its handler raises :class:`Permanent` and retries any
other failure until its attempts run out (``gateway/bus``). Transports raise
:class:`Unavailable` (retry: timeouts, 5xx, 503 with Retry-After, malformed replies, a hub's
"try again later" code) or :class:`Refused` (park: 4xx, a code saying the message itself is
wrong). Both say in words what happened; that text is what operations read in the ledger. It
may quote the counterpart (a fault text, a problem title): a BSN quoted there is masked, as in a
log line.

``Permanent`` and ``Retryable`` are the bus's own failure classes (``gateway/bus/failures.py``):
a Refused message is parked at once, an Unavailable one waits in the next retry tier.
"""

from __future__ import annotations

from gateway.bus.failures import Permanent, Retryable
from gateway.logs import mask_bsns

__all__ = ["CounterpartError", "Permanent", "Refused", "Retryable", "Unavailable"]


class CounterpartError(Exception):
    """A counterpart did not take a message. ``str()`` is readable and free of personal data."""

    def __init__(
        self,
        counterpart: str,
        reason: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        reason = mask_bsns(reason)
        super().__init__(reason)
        self.counterpart = counterpart
        self.reason = reason
        self.status = status  # HTTP status, if there was an answer
        self.code = code  # the counterpart's error code (StUF055, IB103, CC08 ...), if any
        self.retry_after = retry_after  # seconds the counterpart asked us to wait
        self.attempts = 1

    def __str__(self) -> str:
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.counterpart}: {self.reason}{tries}"


class Unavailable(CounterpartError, Retryable):
    """Not taken now, may be taken later: retried in process, then by the bus, then parked."""


class Refused(CounterpartError, Permanent):
    """The counterpart refused the message itself: retrying cannot help; parked at once."""
