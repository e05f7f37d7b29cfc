"""The words a failing step raises to say what its failure means to the bus.

What the bus then does with the message (retry it in process, wait in a retry tier, park it)
is decided in one place: ``bus/redelivery.py``. Any other exception is classified there.
"""

from __future__ import annotations


class Permanent(Exception):
    """A failure that retrying cannot fix (e.g. a validation error): park the message now."""


class Retryable(Exception):
    """A failure that may pass later (a counterpart down, a timeout): retry in a later tier.

    ``retried`` is set on a failure that was already retried in process (by
    :func:`~gateway.bus.redelivery.call_outbound`, e.g. honouring Retry-After): an enclosing
    ``call_outbound`` does not retry it again, the broker tiers take over.
    """

    retried: bool = False


class Stranger(Permanent):
    """The message is not one the ledger holds (it cannot be read into an envelope, or its
    bytes, direction or type are not the ones recorded under its id): it is parked as it is,
    nothing is recorded on the way, and the parking recorder records it with its bytes."""
