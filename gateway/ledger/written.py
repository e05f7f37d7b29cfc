"""The entries this process wrote since the latest checkpoint, as it wrote them.

Before it signs, the checkpoint maker makes sure each new row still gives its stored leaf hash.
A row this process wrote itself, and finds exactly as it wrote it (leaf hash included, the leaf
computed from those very values), needs no hashing again: the comparison says the same thing at
a fraction of the cost. Any other row (written by another process, redacted, changed, or
forgotten here) is recomputed from its columns as before.

Bounded: rows are forgotten once a checkpoint covers them, and the oldest go when more than
``limit`` are held (another process may be making every checkpoint).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

# ``COLUMNS`` positions: the stored leaf hash, then the columns redaction fills in.
_LEAF, _PRIVATE, _REDACTED = 14, 15, 16


class Written:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows as inserted (``COLUMNS`` order up to the leaf hash), after their commit."""
        with self._lock:
            for row in rows:
                self._rows[row[0]] = row
            excess = len(self._rows) - self.limit
            if excess > 0:
                for seq in list(self._rows)[:excess]:  # inserted in seq order: the oldest
                    del self._rows[seq]

    def forget(self, upto: int) -> None:
        """Forget the rows a checkpoint of ``upto`` entries covers."""
        with self._lock:
            self._rows = {seq: row for seq, row in self._rows.items() if seq > upto}

    def unchanged(self, row: Sequence[Any]) -> bool:
        """Whether a stored row (``COLUMNS`` order) is one this process wrote, as it wrote it."""
        mine = self._rows.get(row[0])
        return (
            mine is not None
            and tuple(row[:_LEAF]) == mine[:_LEAF]
            and bytes(row[_LEAF]) == mine[_LEAF]
            and row[_PRIVATE] is None
            and not row[_REDACTED]
        )
