r"""The monitor's facts as adapters give them: what the core hands a standard (the rows of its
domain tables, or an accepted message: :class:`Accepted`), and what the standard folds them into
(a :class:`RowFolder` or :class:`Folder` of :class:`Provision` rows, with their
:class:`Claim`\ s). Part of the core's public interface for adapters (capabilities
``TableReports`` and ``Reports`` in ``gateway/adapter.py``); the table and the figures are
``gateway/ops/``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.description import Table

# A row of a domain table as the monitor hands it (``gateway/ledger/domain.py``): the table's
# columns and the ones the ledger fills (``message_id``, ``seq``, ``event``, ``at``,
# ``standard``, ``sender``, ``receiver``); a personal column holds the ledger's keyed hash.
Row = Mapping[str, Any]


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


def arrived(row: Row) -> dt.date | None:
    """The day (UTC) the gateway received the message a domain row comes from (its verdict
    entry is recorded in one transaction with its ``received`` entry); None for a message
    exchanged before the gateway and imported (its arrival is not known)."""
    if row["event"] == "imported":
        return None
    return dt.datetime.fromisoformat(str(row["at"])).date()


class RowFolder(Protocol):
    """An adapter's fold of the rows of its domain tables into provisions: the rows of the
    accepted (and imported) messages, table by table, each table's in ledger order."""

    def tables(self) -> Sequence[Table]: ...

    def add(self, table: Table, row: Row) -> None: ...

    def provisions(self) -> list[Provision]: ...
