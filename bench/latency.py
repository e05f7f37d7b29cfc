"""Latency of a retour: from posting an inbound heenbericht to its retourbericht delivered.

    python bench/latency.py [--warmup 50] [--max-messages 1000] [--seconds 20]
                            [--loads 10,50,80] [--senders 16]

One ``ketenpoort run`` (embedded defaults: SQLite ledger, outbox delivery, one worker per
setting ``workers``) on a private bus prefix and a temporary var folder, against the local
RabbitMQ. A counterpart (a gemeente's system) POSTs unique 3 KB WMO301s, one per request, to
``POST /v1/messages/inbound``; the gateway records, validates, publishes, the worker delivers the
301 to the back-office, makes the WMO302, receives it as an outbound message, and the worker
delivers that to the gemeente's outbox. The latency of one message is from just before its POST
to the ``delivered`` entry of its retour (the ledger's own time, after the file is durable).

First the maximum rate: ``--max-messages`` posted as fast as ``--senders`` connections can, the
rate from the first POST to the last retour delivered. Then, for each of ``--loads`` (percent of
that maximum), messages posted open loop at that steady rate for ``--seconds`` (a sender that
falls behind its schedule posts at once, never skipping one), and p50, p95 and p99 of their
latencies. The target (issue "Performance, restated"): p99 under 50 ms at 50% load. Prints the
machine's load average beside every figure: on a shared machine read the spread of runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from messages import wmo301  # noqa: E402
from running import RunningGateway  # noqa: E402

from gateway.ledger import Event  # noqa: E402
from gateway.worker import retour_id  # noqa: E402

GEMEENTE = "0599"  # Afzender of the WMO301s: the retours go to its outbox


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Gateway(RunningGateway):
    """``ketenpoort run`` on embedded defaults, in a process of its own."""

    def delivered_at(self, heen_id: str) -> float | None:
        """Wall-clock time the retour of ``heen_id`` was delivered, if it was."""
        for entry in self.ledger.history(retour_id(heen_id)):
            if entry.event is Event.DELIVERED:
                return dt.datetime.fromisoformat(entry.at).timestamp()
        return None


class Sender:
    """Counterpart connections posting WMO301s; ``sent`` holds (message id, wall time)."""

    def __init__(self, port: int, senders: int) -> None:
        self.port = port
        self.jobs: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self.sent: list[tuple[str, float]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(senders)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while (job := self.jobs.get()) is not None:
            message_id, body = job
            started = time.time()
            try:
                conn.request(
                    "POST",
                    "/v1/messages/inbound",
                    body,
                    {"Content-Type": "application/xml", "X-Message-Id": message_id},
                )
                answer = conn.getresponse()
                answer.read()
                if answer.status != 202:
                    raise OSError(f"HTTP {answer.status}")
            except OSError as exc:
                with self._lock:
                    self.errors.append(str(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            with self._lock:
                self.sent.append((message_id, started))
        conn.close()

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


_counter = iter(range(10**9))


def _message() -> tuple[str, bytes]:
    number = next(_counter)
    return str(uuid.uuid4()), wmo301(10_000_000 + number)


def _settle(gateway: Gateway, sent: list[tuple[str, float]], timeout: float) -> dict[str, float]:
    """Latency in seconds per message, once every retour is delivered (or the time is up)."""
    deadline = time.monotonic() + timeout
    latencies: dict[str, float] = {}
    while time.monotonic() < deadline:
        for message_id, started in sent:
            if message_id not in latencies:
                at = gateway.delivered_at(message_id)
                if at is not None:
                    latencies[message_id] = at - started
        if len(latencies) == len(sent):
            return latencies
        time.sleep(0.5)
    raise SystemExit(f"only {len(latencies)} of {len(sent)} retours delivered in {timeout:.0f} s")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def maximum_rate(gateway: Gateway, count: int, senders: int) -> float:
    sender = Sender(gateway.port, senders)
    start = time.time()
    for _ in range(count):
        sender.jobs.put(_message())
    sender.close()
    latencies = _settle(gateway, sender.sent, timeout=max(120.0, count / 5))
    last = max(started + latency for (_, started), latency in zip(
        sender.sent, (latencies[m] for m, _ in sender.sent), strict=True
    ))  # fmt: skip
    return len(latencies) / (last - start)


def at_rate(gateway: Gateway, rate: float, seconds: float, senders: int) -> list[float]:
    sender = Sender(gateway.port, senders)
    count = max(1, int(rate * seconds))
    start = time.monotonic()
    for i in range(count):
        due = start + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        sender.jobs.put(_message())
    sender.close()
    if sender.errors:
        print(f"  {len(sender.errors)} posts failed, e.g. {sender.errors[0]}")
    return list(_settle(gateway, sender.sent, timeout=max(120.0, count / 5)).values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--max-messages", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--loads", default="10,50,80")
    parser.add_argument("--senders", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kp-latency-") as folder:
        gateway = Gateway(Path(folder))
        try:
            print(f"load average before: {_load()}")
            at_rate(gateway, rate=25.0, seconds=args.warmup / 25.0, senders=4)
            top = maximum_rate(gateway, args.max_messages, args.senders)
            print(f"maximum: {top:.0f} msg/s (single POSTs, {args.senders} connections)")
            print(f"load average: {_load()}")
            for percent in (float(p) for p in args.loads.split(",")):
                rate = top * percent / 100
                values = [v * 1000 for v in at_rate(gateway, rate, args.seconds, args.senders)]
                print(
                    f"{percent:.0f}% ({rate:.0f} msg/s, {len(values)} messages): "
                    f"p50 {_percentile(values, 50):.1f} ms, p95 {_percentile(values, 95):.1f} ms, "
                    f"p99 {_percentile(values, 99):.1f} ms, max {max(values):.1f} ms, "
                    f"mean {statistics.fmean(values):.1f} ms; load average {_load()}"
                )
        finally:
            gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
