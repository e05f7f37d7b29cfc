"""What an adapter tells the core about a message: who sends it to whom, its business keys and
subjects, whether it expects an answer. The ledger records and indexes it; it is a type of its
own so that the ledger needs nothing else of the adapter interface (``adapter.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


@dataclass(frozen=True)
class Table:
    """A table of a standard's domain facts (its read model), declared by its adapter
    (capability ``Tables`` in ``gateway/adapter.py``) and kept by the ledger as
    ``domain_<name>``: the rows a message's :class:`Description` carries are written in the
    transaction that records its verdict (``gateway/ledger/domain.py``).

    Besides ``columns`` (text; ``integers`` as whole numbers) every row has the columns the
    ledger fills itself: ``message_id``, ``seq`` and ``event`` of the verdict entry, ``at``,
    ``standard``, ``sender``, ``receiver``. ``personal`` columns (a BSN, an address) are
    stored only as the ledger's keyed hash of the value; a lookup on one hashes the values
    asked for. ``indexes`` are the lookups the adapter makes (one index per tuple)."""

    name: str
    columns: tuple[str, ...]
    integers: frozenset[str] = frozenset()
    personal: frozenset[str] = frozenset()
    indexes: tuple[tuple[str, ...], ...] = ()

    def __hash__(self) -> int:  # by its name alone: asked on every lookup, names are unique
        return hash(self.name)

    def __post_init__(self) -> None:
        names = (self.name, *self.columns)
        if not all(_NAME.fullmatch(n) for n in names) or len(set(self.columns)) != len(
            self.columns
        ):
            raise ValueError(f"table {self.name!r}: names are lower-case words, each once")
        unknown = (self.integers | self.personal | {c for i in self.indexes for c in i}) - set(
            self.columns
        )
        if unknown or self.integers & self.personal:
            raise ValueError(f"table {self.name!r}: unknown or doubly typed {sorted(unknown)}")


# A table's rows, each a tuple in the order of its ``columns``.
Rows = Mapping[Table, Sequence[tuple[Any, ...]]]


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
    # Domain rows to keep with the verdict (only a verdict entry's are written: ``validated``,
    # ``imported``, or ``rejected`` by the rules).
    rows: Rows = field(default_factory=dict)
