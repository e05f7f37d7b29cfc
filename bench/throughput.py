"""End-to-end throughput beside the raw broker ceiling, measured in the same run.

    python bench/throughput.py [--messages 5000] [--ingress 1] [--threads 16] [--workers 2]

- **raw**: pika alone. One process publishes ``--messages`` persistent 3 KB messages to a quorum
  queue with the gateway's confirm window (``publish_window``) kept in flight, and mandatory
  routing; another process consumes them with manual acks (same prefetch as a worker). Time from
  the first publish to the last ack.
- **end to end**: ``--ingress`` processes with ``--threads`` threads each put unique 3 KB WMO301s
  through the gateway's receive path (record in the ledger, parse, identify, validate with the
  XSD and the rules, record the verdict, publish with a confirm, record the publication);
  ``--workers`` ``ketenpoort worker`` processes consume, read the history, deliver to the outbox
  stand-in, record the delivery and ack. Time from the first message in to the last file out.

- **the bus alone**: the gateway's own :class:`Publisher` (``publish_many``) and a
  :class:`Consumer` in another process whose handler only counts: what the bus layer costs
  compared with bare pika.

Everything runs on this machine against the local RabbitMQ under a private bus prefix, which is
deleted afterwards; the ledger is SQLite in a temporary folder (``TMPDIR`` chooses the disk).
Prints the rates and the ratio of end to end to the raw ceiling. The machine is shared: run it
more than once and read the spread, not one figure.

What bounds end to end is not the bus: each message costs about 1 ms of Python in receive
(parse, XSD, rules, three ledger commits) and about as much in the worker (ledger read and
commit, outbox file written and fsynced), and the SQLite ledger takes one writer at a time
across all processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika
from pika.adapters.select_connection import SelectConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from messages import wmo301  # noqa: E402

from gateway.app import Gateway  # noqa: E402
from gateway.bus.consumer import Consumer  # noqa: E402
from gateway.bus.publisher import connect  # noqa: E402
from gateway.config import Settings, environment, load_settings  # noqa: E402
from gateway.envelope import Direction, Envelope, MessageType  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402

WMO301 = MessageType("iwmo", "WMO301", "3.2")


def _settings(prefix: str, var_dir: Path) -> Settings:
    base = load_settings()
    return dataclasses.replace(
        base, bus_prefix=prefix, var_dir=var_dir, ledger_url="", log_level="warning"
    )


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
    env.update(environment(settings))
    env.update(KETENPOORT_LOG_FORMAT="json")
    return env


# -- raw ceiling -----------------------------------------------------------------------------


def raw_publish(url: str, queue: str, body: bytes, count: int, window: int) -> None:
    """Publish ``count`` messages with up to ``window`` unconfirmed, as fast as pika can."""
    state = {"sent": 0, "confirmed": 0}
    channel_box: list[pika.channel.Channel] = []

    def pump() -> None:
        channel = channel_box[0]
        while state["sent"] < count and state["sent"] - state["confirmed"] < window:
            state["sent"] += 1
            channel.basic_publish(
                "",
                queue,
                body,
                pika.BasicProperties(
                    message_id=str(state["sent"]), delivery_mode=pika.DeliveryMode.Persistent
                ),
                mandatory=True,
            )

    def on_confirm(frame: pika.frame.Method) -> None:
        tag = frame.method.delivery_tag
        state["confirmed"] = tag if frame.method.multiple else max(state["confirmed"], tag)
        if state["confirmed"] >= count:
            connection.close()
        else:
            pump()

    def on_channel(channel: pika.channel.Channel) -> None:
        channel_box.append(channel)
        channel.confirm_delivery(on_confirm, callback=lambda _: pump())

    connection = SelectConnection(
        pika.URLParameters(url),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, e: c.ioloop.stop(),
    )
    connection.ioloop.start()


def raw_consume(url: str, queue: str, count: int, prefetch: int) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    for seen, (method, _, _) in enumerate(channel.consume(queue), start=1):
        channel.basic_ack(method.delivery_tag)
        if seen >= count:
            break
    channel.cancel()
    connection.close()


def measure_raw(settings: Settings, count: int) -> float:
    queue = f"{settings.bus_prefix}.raw"
    connection = connect(settings.amqp_url)
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    connection.close()
    body = wmo301(0)
    consumer = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--role",
            "raw-consume",
            "--queue",
            queue,
            "--messages",
            str(count),
            "--prefetch",
            str(settings.prefetch),
        ],
        env=_env(settings),
    )
    time.sleep(0.5)  # let it subscribe
    start = time.perf_counter()
    raw_publish(settings.amqp_url, queue, body, count, settings.publish_window)
    consumer.wait()
    elapsed = time.perf_counter() - start
    connection = connect(settings.amqp_url)
    connection.channel().queue_delete(queue)
    connection.close()
    return count / elapsed


# -- the bus alone: the gateway's publisher and consumer, nothing else --------------------------


class _Count:
    def __init__(self, count: int, consumer_box: list[Consumer]) -> None:
        self.left = count
        self.box = consumer_box

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        self.left -= 1
        if self.left <= 0:
            self.box[0].stop()

    def failed(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the bench handler does not fail")


def bus_consume(settings: Settings, count: int) -> None:
    """A gateway :class:`Consumer` (manual acks, prefetch) with a handler that only counts."""
    with Gateway(settings) as gateway:
        box: list[Consumer] = []
        box.append(gateway.consumer(gateway.topology.work_queues(), _Count(count, box), "bench"))
        box[0].run()


def measure_bus(settings: Settings, count: int) -> float:
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        consumer = subprocess.Popen(
            [sys.executable, __file__, "--role", "bus-consume", "--messages", str(count)],
            env=_env(settings),
        )
        time.sleep(1.0)
        envelopes = [
            Envelope(wmo301(i), Direction.OUTBOUND, message_type=WMO301) for i in range(count)
        ]
        publisher = gateway.publisher()
        publisher.publish_many(envelopes[:1])
        start = time.perf_counter()
        errors = [e for e in publisher.publish_many(envelopes[1:]) if e is not None]
        if errors:
            raise SystemExit(f"bus bench: {len(errors)} not published: {errors[0]}")
        consumer.wait()
        return (count - 1) / (time.perf_counter() - start)


# -- end to end ------------------------------------------------------------------------------


def ingress(settings: Settings, start: int, count: int, threads: int) -> None:
    """Put ``count`` WMO301s through receive with ``threads`` threads (one ingress process)."""
    bodies = [wmo301(start + i) for i in range(count)]
    with Gateway(settings) as gateway:
        gateway.publisher()  # connect before the clock matters

        def run(part: list[bytes]) -> None:
            for body in part:
                receipt = gateway.receiver.receive(
                    Envelope(body, Direction.OUTBOUND, source="bench")
                )
                if not receipt.published:
                    raise SystemExit(f"not published: {receipt.status} {receipt.errors}")

        workers = [threading.Thread(target=run, args=(bodies[i::threads],)) for i in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()


def _files(folder: Path) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def measure_end_to_end(
    settings: Settings, count: int, ingresses: int, threads: int, workers: int
) -> float:
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        # The SQLite schema exists before several processes open the ledger at once.
    receiver_party = "87654321"  # Ontvanger of the WMO301s: their outbox folder
    outbox = settings.outbox_dir / receiver_party
    env = _env(settings)
    worker_procs = [
        subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker"], env=env, cwd=ROOT)
        for _ in range(workers)
    ]
    time.sleep(2.0)  # workers connected and consuming
    share = count // ingresses
    start = time.perf_counter()
    ingress_procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                "ingress",
                "--start",
                str(i * share),
                "--messages",
                str(share),
                "--threads",
                str(threads),
            ],
            env=env,
        )
        for i in range(ingresses)
    ]
    total = share * ingresses
    while _files(outbox) < total:
        if any(p.poll() not in (None, 0) for p in ingress_procs + worker_procs):
            raise SystemExit("a bench process failed")
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    for process in ingress_procs:
        process.wait()
    for process in worker_procs:
        process.terminate()
        process.wait()
    return total / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--ingress", type=int, default=1, help="ingress processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per ingress process")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--worker-threads", type=int, default=1, help="consumers (threads) per worker process"
    )
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--prefetch", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args()

    if args.role == "raw-consume":
        raw_consume(load_settings().amqp_url, args.queue, args.messages, args.prefetch)
        return 0
    if args.role == "bus-consume":
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        bus_consume(settings, args.messages)
        return 0
    if args.role == "ingress":
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        ingress(settings, args.start, args.messages, args.threads)
        return 0

    configure_logging("console", "warning")
    with tempfile.TemporaryDirectory(prefix="ketenpoort-bench-") as scratch:
        prefix = f"kp-bench-{uuid.uuid4().hex[:8]}"
        settings = dataclasses.replace(
            _settings(prefix, Path(scratch)), workers=args.worker_threads
        )
        try:
            raw = measure_raw(settings, args.messages)
            bus = measure_bus(settings, args.messages)
            e2e = measure_end_to_end(
                settings, args.messages, args.ingress, args.threads, args.workers
            )
        finally:
            with Gateway(settings) as gateway:
                connection = connect(settings.amqp_url)
                gateway.topology.delete(connection.channel())
                connection.close()
    size = len(wmo301(0))
    print(f"message: WMO301, {size} bytes, persistent; quorum queues; {os.cpu_count()} cores")
    print(f"confirm window {settings.publish_window}, prefetch {settings.prefetch}")
    print(f"raw broker ceiling (pika publish + consume/ack): {raw:8.0f} msg/s")
    print(
        f"gateway bus alone (Publisher + Consumer, no-op handler): {bus:8.0f} msg/s"
        f"  ({bus / raw:.1%})"
    )
    print(
        f"end to end ({args.ingress} ingress x {args.threads} threads, "
        f"{args.workers} workers x {args.worker_threads} threads): "
        f"{e2e:8.0f} msg/s"
    )
    print(f"ratio: {e2e / raw:.1%} of the raw ceiling")
    if args.json:
        print(
            json.dumps(
                {"raw": raw, "bus": bus, "end_to_end": e2e, "ratio": e2e / raw, "bytes": size}
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
