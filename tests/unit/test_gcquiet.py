"""The collector's thresholds while streams run, and after."""

from __future__ import annotations

import gc
import threading

import pytest

from gateway.gcquiet import STREAMING_THRESHOLD, while_streaming


def test_raised_while_streams_run_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    with while_streaming():
        assert gc.get_threshold() == (STREAMING_THRESHOLD, *before[1:])
        with while_streaming():  # a second stream at the same time (another thread)
            pass
        assert gc.get_threshold()[0] == STREAMING_THRESHOLD  # the first one still runs
    assert gc.get_threshold() == before


def test_restored_when_the_stream_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(ValueError), while_streaming():
        raise ValueError("a schema error")
    assert gc.get_threshold() == before


def test_streams_in_threads_leave_the_thresholds_as_they_were() -> None:
    before = gc.get_threshold()
    start = threading.Barrier(4)
    seen: list[int] = []

    def stream() -> None:
        start.wait()
        for _ in range(200):
            with while_streaming():
                seen.append(gc.get_threshold()[0])

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [STREAMING_THRESHOLD] * 800
    assert gc.get_threshold() == before
