"""What an adapter tells the core about a message: who sends it to whom, its business keys and
subjects, whether it expects an answer. The ledger records and indexes it; it is a type of its
own so that the ledger needs nothing else of the adapter interface (``adapter.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Description:
    """What the core records and indexes about a message, told by its adapter."""

    sender: str
    receiver: str
    # Business keys to index, e.g. {"BerichtIdentificatie": ("1234@2023-08-13",),
    # "ToewijzingNummer": ("101", "102")}. Values are plain; the ledger decides what to hash.
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Personal identifiers (BSNs) of the message's subjects: the ledger stores only a keyed hash.
    subjects: Sequence[str] = ()
    # Whether the standard requires an answer (retourbericht) to this message.
    expects_answer: bool = False
    # For an answer: the business key of the message it answers ("BerichtIdentificatie" value).
    answers: str | None = None
