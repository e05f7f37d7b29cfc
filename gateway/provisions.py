r"""The monitor's facts as adapters give them: an accepted message handed to a standard
(:class:`Accepted`), and what it folds them into (a :class:`Folder` of :class:`Provision` rows,
with their :class:`Claim`\ s). Part of the core's public interface for adapters (capability
``Reports`` in ``gateway/adapter.py``); the table and the figures are ``gateway/ops/``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Accepted:
    """One accepted (or imported) message, as a reporting adapter reads it."""

    message_id: str
    standard: str
    code: str
    sender: str
    receiver: str
    # The day the gateway received it (UTC); None for a message exchanged before the gateway
    # and imported (its arrival is not known; the adapter may use a date the message carries).
    arrived: dt.date | None
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What was billed against a provision for one period (negative for a credit)."""

    begin: dt.date
    volume: int
    cents: int


@dataclass(frozen=True)
class Provision:
    """One granted provision (a row of the fact table)."""

    key: str  # unique within its adapter: the grant's own number
    authority: str  # who granted it (a gemeente)
    provider: str  # who provides it (an aanbieder, or the budget's administrator)
    category: str
    product: str  # "" when the grant names no product code
    funding: str  # how it is funded, a label (e.g. "ZIN", "PGB")
    begin: dt.date
    end: dt.date | None  # the last day, after any stop; None: open-ended
    client: str  # keyed hash
    household: str | None  # keyed hash of the address; None: no address known
    decided_on: dt.date  # the date of the decision
    decided_lag: int | None  # days between the decision and its message's arrival
    started_on: dt.date | None = None  # when delivery started, if reported
    start_lag: int | None = None  # days between the start and its message's arrival
    stopped_on: dt.date | None = None  # the last day of delivery a stop reported, if any
    granted_volume: int = 0
    granted_cents: int = 0
    claims: tuple[Claim, ...] = ()


def household_key(postcode: str, number: str, letter: str = "", addition: str = "") -> str | None:
    """The one form of an address that households are counted by (before it is hashed), the
    same for every standard: postcode without spaces, house number, letter, addition."""
    postcode = postcode.replace(" ", "").upper()
    if not postcode or not number:
        return None
    return f"{postcode}|{number}|{letter.upper()}|{addition.upper()}"


class Folder(Protocol):
    """An adapter's fold of accepted messages into provisions."""

    def add(self, message: Accepted) -> None: ...

    def provisions(self) -> list[Provision]: ...
