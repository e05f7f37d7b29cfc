"""Fewer cyclic garbage-collector passes while a large message streams through its rules.

A streamed declaratie allocates millions of short-lived objects (a record's dicts, the rules'
tuples) that reference counting frees; the cyclic collector, run every 700 allocations, then
rescans a heap that grows with the rules' per-message caches, and took about a quarter of the
CPU of a 26 MB JW323 (``bench/validate.py --ledger``). While any stream runs, the first
generation's threshold is raised; the old thresholds return when the last one ends. Cycles are
still collected, only less often, so memory stays flat.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STREAMING_THRESHOLD = 100_000  # allocations between first-generation passes while streaming


class _Quiet:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved: tuple[int, int, int] = gc.get_threshold()

    @contextmanager
    def while_streaming(self) -> Iterator[None]:
        with self.lock:
            if self.running == 0:
                self.saved = gc.get_threshold()
                first, *rest = self.saved
                gc.set_threshold(max(first, STREAMING_THRESHOLD), *rest)
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1
                if self.running == 0:
                    gc.set_threshold(*self.saved)


_QUIET = _Quiet()
while_streaming = _QUIET.while_streaming
