"""End-to-end throughput beside the raw broker ceiling, measured in the same run.

    python bench/throughput.py [--messages 5000] [--ingress 1] [--workers 1] [--runs 1]
                               [--e2e http,amqp] [--batch 100] [--connections 2]

- **raw**: pika alone. One process publishes ``--messages`` persistent 3 KB messages to a quorum
  queue with the gateway's confirm window (``publish_window``) kept in flight, and mandatory
  routing; another process consumes them with manual acks (same prefetch as a worker), one ack
  per message. Time from the first publish to the last ack.
- **the bus alone**: the gateway's own :class:`Publisher` (``publish_many``) and a
  :class:`Consumer` in another process whose handler only counts: what the bus layer costs
  compared with bare pika.
- **end to end over HTTP** (``--e2e http``): the issue's chain, ingress -> validate -> ledger ->
  publish -> consume -> deliver, one broker pass per message; **its ratio is the one that
  counts against the target**. A back-office process POSTs ``--messages`` unique 3 KB WMO301s,
  base64 in batches of ``--batch``, to ``POST /v1/messages/outbound/batch`` over
  ``--connections`` keep-alive connections, each waiting for its answer before its next batch;
  ``--ingress`` gateway HTTP processes (uvicorn, as in ``ketenpoort run``) take each batch
  (received and verdict entries in one transaction, parsed, identified, validated with the XSD
  and the rules, published with confirms, publications recorded, then the answer);
  ``--workers`` ``ketenpoort worker`` processes consume the work queue (batches: history read,
  delivered to the outbox stand-in with the files durable, deliveries recorded, acked).
- **end to end over AMQP** (``--e2e amqp``), printed beside it: the back-office publishes the
  same messages (persistent, each with its message id, the same confirm window, mandatory) to
  the AMQP ingress exchange; ``--ingress`` gateway processes consume the ingress queue (batches
  of what is prefetched, the same steps, then acked); the same workers. Every message crosses
  the broker twice (ingress queue, work queue).

Both end-to-end chains first send 50 messages through the whole path and wait for them (schemas
compiled, connections opened), then time from the first message the back-office sends to the
last file in the outbox; each has its own ledger and outbox. Everything runs on this machine
against the local RabbitMQ under a private bus prefix, which is deleted afterwards; the ledger is
SQLite (``synchronous=FULL``) in a temporary folder (``TMPDIR`` chooses the disk); logging as
configured (``--log-level``, default ``info``: the production default, JSON lines, to a file).
Prints the rates, each chain's ratio to the raw ceiling, and the CPU time each part used per
message while the clock ran (with its kernel share), the broker's read from its process:
everyone's use of the broker during the run counts there, so on a shared machine it is an upper
bound. The machine is shared: run it more than once (``--runs``), read the spread, not one
figure, and look at the load average printed with it. The raw ceiling moves most (4200-7700
msg/s between runs of one invocation at load 1-2); the CPU per message of each part is steadier.

What bounds end to end is CPU. The raw ceiling costs about 0.25-0.3 ms of CPU per message
(broker 0.12-0.18, pika 0.11-0.12). Over HTTP end to end costs about 2.3 ms per message
(November 2026, load 1-2.4, 5000 messages, batches of 100 over HTTP, worker batches of 25):

- the gateway HTTP process 0.98-1.05 (kernel 0.07-0.09): the rules about 0.3 (with their ledger
  reads: ``find`` by business key, 20-40 us each after a commit, as SQLite reads the pages again),
  the ledger's three Merkle-hashed entries in two transactions about 0.2, parse + identify + XSD
  + describe 0.15-0.2, publishing with confirms 0.1 (the publisher's I/O thread), HTTP
  (uvicorn on h11, JSON, base64) 0.08; one process holds the GIL about two thirds of the time;
- the worker 1.05-1.13, of it 0.74-0.76 in the kernel: creating the outbox files. On this VM's
  ext4 without a journal, creating a file skips every free inode of its block group deleted in
  the last minutes (``recently_deleted``: 80% of a create in ``perf``), and the test runs of
  everyone on the machine delete thousands under ``/tmp``: 370-720 us a create there, 50-400 us
  under ``/var/tmp`` on the same disk, 10 us on tmpfs (not durable: a diagnosis, not a figure).
  In user time the worker is 0.25-0.3 (ledger read and the ``delivered`` entry, parse, outbox);
  On a journaled ext4 (a loop device, ``TMPDIR=/mnt/jfs``; 23 November 2026) a create costs
  little (worker kernel 0.12-0.17), but each ``fdatasync`` of a new file waited for its own
  journal commit: one after the other they held the worker 40% of its time, and the worker, not
  the CPU, bounded the chain (about 1.2 of the 2 cores busy). The outbox now syncs a batch's files
  side by side (one commit for them all): 465-485 msg/s against 421-432 in alternating runs;
  with 2 ingress and 2 worker processes 542 msg/s, about 1.5 cores busy;
- the broker 0.19-0.21 (one pass; headers, topic routing);
- the back-office 0.03.

Over AMQP the ingress process costs 1.07-1.17 and the broker 0.38-0.6 (two passes). Before the
HTTP batches, the leaner ledger entries and the coalesced acks (same machine, same evening):
ingress 1.13-1.18, worker 1.05-1.12 (kernel 0.72-0.75), broker 0.39-0.42. With the rules at
about 0.3 ms and a create at several hundred microseconds here, 35% of the raw ceiling (under
0.9 ms per message in all) is out of reach of the bus, ledger and HTTP parts alone.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.adapters.select_connection import SelectConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from messages import wmo301  # noqa: E402

from gateway.adapter import Registry  # noqa: E402
from gateway.app import Gateway, topology_for  # noqa: E402
from gateway.bus.consumer import Consumer  # noqa: E402
from gateway.bus.publisher import connect  # noqa: E402
from gateway.cli import settle_memory  # noqa: E402
from gateway.config import Settings, environment, load_settings  # noqa: E402
from gateway.envelope import Direction, Envelope, MessageType  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.service import Services  # noqa: E402

WMO301 = MessageType("iwmo", "WMO301", "3.2")
WARMUP = 50  # messages through the whole path before the clock starts (end to end)


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


@dataclasses.dataclass
class Result:
    rate: float  # messages per second, from the first sent to the last done
    cpu: dict[str, float]  # seconds of CPU per message, per part, while the clock ran


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
    """Consume ``count`` messages, one ack each; says ``ready`` once subscribed, and at the end
    the CPU seconds it spent consuming."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    seen = [0]

    def on_message(
        channel: BlockingChannel, method: pika.spec.Basic.Deliver, _: object, __: bytes
    ) -> None:
        channel.basic_ack(method.delivery_tag)
        seen[0] += 1
        if seen[0] >= count:
            channel.stop_consuming()

    channel.basic_consume(queue, on_message)
    print("ready", flush=True)
    cpu = time.process_time()
    channel.start_consuming()
    print(time.process_time() - cpu, flush=True)
    connection.close()


def measure_raw(settings: Settings, count: int) -> Result:
    queue = f"{settings.bus_prefix}.raw"
    connection = connect(settings.amqp_url)
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    connection.close()
    body = wmo301(0)
    role = ["--role", "raw-consume", "--queue", queue, "--messages", str(count)]
    consumer = subprocess.Popen(
        [sys.executable, __file__, *role, "--prefetch", str(settings.prefetch)],
        env=_env(settings),
        stdout=subprocess.PIPE,
    )
    assert consumer.stdout is not None
    consumer.stdout.readline()  # subscribed
    broker = broker_pid(settings.amqp_url)
    broker_before, cpu = cpu_seconds(broker), time.process_time()
    start = time.perf_counter()
    raw_publish(settings.amqp_url, queue, body, count, settings.publish_window)
    published = time.process_time() - cpu
    consumed = float(consumer.stdout.readline() or 0)
    elapsed = time.perf_counter() - start
    used = {"publisher": published, "consumer": consumed}
    if broker is not None:
        used["broker"] = cpu_seconds(broker) - broker_before
    consumer.wait()
    connection = connect(settings.amqp_url)
    connection.channel().queue_delete(queue)
    connection.close()
    return Result(count / elapsed, {name: seconds / count for name, seconds in used.items()})


# -- the bus alone: the gateway's publisher and consumer, nothing else --------------------------


class _Count:
    def __init__(self, count: int, consumer_box: list[Consumer]) -> None:
        self.left = count
        self.box = consumer_box

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        self.left -= 1
        if self.left <= 0:
            self.box[0].stop()


def bus_consume(settings: Settings, count: int) -> None:
    """A gateway :class:`Consumer` (manual acks, prefetch) with a handler that only counts."""
    with Gateway(settings) as gateway:
        box: list[Consumer] = []
        box.append(gateway.consumer(gateway.topology.work_queues(), _Count(count, box), "bench"))
        threading.Thread(target=lambda: box[0].ready.wait() and print("ready", flush=True)).start()
        box[0].run()


def measure_bus(settings: Settings, count: int) -> float:
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        consumer = subprocess.Popen(
            [sys.executable, __file__, "--role", "bus-consume", "--messages", str(count)],
            env=_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert consumer.stdout is not None
        consumer.stdout.readline()  # subscribed
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


def ingress(settings: Settings) -> None:
    """One gateway ingress process: the AMQP ingress consumer only, until SIGTERM."""
    with Gateway(settings) as gateway:
        services = Services(
            gateway, workers=0, ingress=True, filedrop=False, sweeper=False, pollers=False
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with services:
            settle_memory()  # as `ketenpoort run` and `ketenpoort worker` do
            stop.wait()


def back_office(url: str, exchange: str, count: int, window: int, warmup: int) -> None:
    """A back-office system sending ``count`` WMO301s to the AMQP ingress, as fast as the
    broker confirms them (``window`` in flight), persistent, mandatory, each with its id;
    first, when told, ``warmup`` others (before the clock starts)."""
    bodies = [wmo301(i) for i in range(count)]
    print("ready", flush=True)
    sys.stdin.readline()  # warm up
    amqp_send(url, exchange, [wmo301(count + i) for i in range(warmup)], window)
    print("warmed", flush=True)
    sys.stdin.readline()  # the clock starts
    cpu = time.process_time()
    amqp_send(url, exchange, bodies, window)
    print(time.process_time() - cpu, flush=True)  # CPU seconds spent sending


def amqp_send(url: str, exchange: str, bodies: list[bytes], window: int) -> None:
    count = len(bodies)
    state = {"sent": 0, "confirmed": 0}
    channel_box: list[pika.channel.Channel] = []

    def pump() -> None:
        channel = channel_box[0]
        while state["sent"] < count and state["sent"] - state["confirmed"] < window:
            body = bodies[state["sent"]]
            state["sent"] += 1
            channel.basic_publish(
                exchange,
                "message",
                body,
                pika.BasicProperties(
                    message_id=str(uuid.uuid4()),
                    content_type="application/xml",
                    delivery_mode=pika.DeliveryMode.Persistent,
                ),
                mandatory=True,
            )

    def on_confirm(frame: pika.frame.Method) -> None:
        if isinstance(frame.method, pika.spec.Basic.Nack):
            raise SystemExit("the broker refused a back-office message")
        tag = frame.method.delivery_tag
        state["confirmed"] = tag if frame.method.multiple else max(state["confirmed"], tag)
        if state["confirmed"] >= count:
            connection.close()
        else:
            pump()

    def on_channel(channel: pika.channel.Channel) -> None:
        channel_box.append(channel)
        channel.add_on_return_callback(lambda *_: sys.exit("back-office message unroutable"))
        channel.confirm_delivery(on_confirm, callback=lambda _: pump())

    connection = SelectConnection(
        pika.URLParameters(url),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, e: c.ioloop.stop(),
    )
    connection.ioloop.start()


def http_ingress(settings: Settings, port: int) -> None:
    """One gateway HTTP process: the HTTP ingress (uvicorn, as ``ketenpoort run`` serves it)
    without workers, AMQP ingress or sweeper, until SIGTERM."""
    import uvicorn

    from gateway.ingress.http import make_app

    with Gateway(settings) as gateway:
        services = Services(
            gateway, workers=0, ingress=False, filedrop=False, sweeper=False, pollers=False
        )
        with services:
            app = make_app(gateway)
            settle_memory()
            uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def http_back_office(
    ports: list[int], count: int, batch: int, connections: int, warmup: int
) -> None:
    """A back-office system POSTing ``count`` WMO301s in batches of ``batch`` to
    ``/v1/messages/outbound/batch`` over ``connections`` keep-alive connections (spread over the
    gateway processes listening on ``ports``, as a load balancer would), each waiting for its
    answer (every message recorded and published) before it sends its next batch. First, when
    told, ``warmup`` others, a batch on each connection (before the clock starts)."""
    bodies = [wmo301(i) for i in range(count)]
    print("ready", flush=True)
    sys.stdin.readline()  # warm up
    warm = [wmo301(count + i) for i in range(warmup)]
    http_send(ports, warm, max(1, -(-warmup // connections)), connections)
    print("warmed", flush=True)
    sys.stdin.readline()  # the clock starts
    cpu = time.process_time()
    http_send(ports, bodies, batch, connections)
    print(time.process_time() - cpu, flush=True)  # CPU seconds spent sending


def http_send(ports: list[int], bodies: list[bytes], batch: int, connections: int) -> None:
    chunks = [bodies[i : i + batch] for i in range(0, len(bodies), batch)]
    failures: list[str] = []

    def send(port: int, mine: list[list[bytes]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for chunk in mine:
            request = json.dumps(
                {
                    "messages": [
                        {"body": base64.b64encode(b).decode(), "message_id": str(uuid.uuid4())}
                        for b in chunk
                    ]
                }
            ).encode()
            conn.request(
                "POST",
                "/v1/messages/outbound/batch",
                request,
                {"content-type": "application/json"},
            )
            response = conn.getresponse()
            answer = response.read()
            if response.status != 202:
                failures.append(f"{response.status} {answer[:300]!r}")
                return
        conn.close()

    threads = [
        threading.Thread(target=send, args=(ports[i % len(ports)], chunks[i::connections]))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"the gateway did not accept a batch: {failures[0]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the gateway HTTP process ended before it listened")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/live")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the gateway HTTP process did not listen in time")


def _files(folder: Path) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def _failed(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() not in (None, 0)


def _wait_files(
    folder: Path, count: int, children: list[subprocess.Popen[bytes]], log_path: Path
) -> None:
    """Until ``count`` files are in ``folder``; stops the bench if one of its processes fails."""
    while _files(folder) < count:
        if any(_failed(p) for p in children):
            tail = log_path.read_text().splitlines()[-20:]
            raise SystemExit("a bench process failed; the gateway log ends:\n" + "\n".join(tail))
        time.sleep(0.05)  # listing thousands of files takes CPU from what is measured


def measure_end_to_end(
    settings: Settings,
    count: int,
    ingresses: int,
    workers: int,
    kind: str = "amqp",
    batch: int = 100,
    connections: int = 2,
) -> Result:
    """``kind`` ``amqp``: back-office -> AMQP ingress queue -> ingress processes -> work queue
    -> workers; ``http``: back-office -> HTTP batches -> gateway HTTP process -> work queue ->
    workers."""
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        # The SQLite schema exists before several processes open the ledger at once.
    receiver_party = "87654321"  # Ontvanger of the WMO301s: their outbox folder
    outbox = settings.outbox_dir / receiver_party
    env = _env(settings)
    log_path = settings.var_dir / "gateway.log"
    children: list[subprocess.Popen[bytes]] = []
    try:
        with open(log_path, "ab") as log:
            worker_procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "gateway.cli", "worker"], env=env, cwd=ROOT, stderr=log
                )
                for _ in range(workers)
            ]
            children += worker_procs
            if kind == "http":
                ports = [_free_port() for _ in range(ingresses)]
                ingress_procs = [
                    subprocess.Popen(
                        [sys.executable, __file__, "--role", "http-ingress", "--port", str(port)],
                        env=env,
                        stderr=log,
                    )
                    for port in ports
                ]
                role = ["--role", "http-back-office", "--port", ",".join(map(str, ports))]
                role += ["--batch", str(batch), "--connections", str(connections)]
            else:
                ingress_procs = [
                    subprocess.Popen(
                        [sys.executable, __file__, "--role", "ingress"], env=env, stderr=log
                    )
                    for _ in range(ingresses)
                ]
                role = ["--role", "back-office"]
            children += ingress_procs
            sender = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    *role,
                    "--messages",
                    str(count),
                    "--warmup",
                    str(WARMUP),
                ],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            children.append(sender)
        assert sender.stdin is not None and sender.stdout is not None
        sender.stdout.readline()  # imported, messages made
        if kind == "http":
            for port, process in zip(ports, ingress_procs, strict=True):
                _wait_http(port, process)
        time.sleep(3.0)  # gateway processes connected and consuming
        # Warm up (schemas compiled, connections opened in every thread of the path), so that
        # the figures are those of a running gateway, not of its first seconds.
        sender.stdin.write(b"warm\n")
        sender.stdin.flush()
        sender.stdout.readline()  # warmed
        _wait_files(outbox, WARMUP, children, log_path)
        parts = {"ingress": ingress_procs, "workers": worker_procs}
        broker = broker_pid(settings.amqp_url)

        def kernel(procs: list[subprocess.Popen[bytes]]) -> float:
            return sum(cpu_seconds(p.pid, kernel_only=True) for p in procs)

        before = {name: sum(cpu_seconds(p.pid) for p in procs) for name, procs in parts.items()}
        before |= {f"{name}.kernel": kernel(procs) for name, procs in parts.items()}
        broker_before = cpu_seconds(broker)
        start = time.perf_counter()
        sender.stdin.write(b"go\n")
        sender.stdin.flush()
        _wait_files(outbox, WARMUP + count, children, log_path)
        elapsed = time.perf_counter() - start
        used = {
            name: sum(cpu_seconds(p.pid) for p in procs) - before[name]
            for name, procs in parts.items()
        }
        used |= {f"{n}.kernel": kernel(procs) - before[f"{n}.kernel"] for n, procs in parts.items()}
        if broker is not None:
            used["broker"] = cpu_seconds(broker) - broker_before
        used["back-office"] = float(sender.stdout.readline() or 0)
    finally:
        for process in children:
            if process.poll() is None:
                process.terminate()
        for process in children:
            process.wait()
    return Result(count / elapsed, {name: seconds / count for name, seconds in used.items()})


def broker_pid(url: str) -> int | None:
    """The local process listening on the broker's port (for its CPU time), if it can be found."""
    port = pika.URLParameters(url).port
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(
                os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
                for fd in os.listdir(f"/proc/{pid}/fd")
            ):
                return int(pid)
        except OSError:
            continue
    return None


def cpu_seconds(pid: int | None, kernel_only: bool = False) -> float:
    """User + system (or only system) CPU seconds a process has used so far (0 if unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[12]) if kernel_only else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument(
        "--ingress", type=int, default=1, help="gateway ingress processes (HTTP or AMQP)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--worker-threads", type=int, default=1, help="consumers (threads) per worker process"
    )
    parser.add_argument("--runs", type=int, default=1, help="measure this many times")
    parser.add_argument("--log-level", default="info", help="the gateway processes' log level")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--prefetch", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument(
        "--batch", type=int, default=100, help="messages per HTTP batch request (end to end)"
    )
    parser.add_argument(
        "--connections", type=int, default=2, help="back-office HTTP connections sending at once"
    )
    parser.add_argument("--port", default="", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument(
        "--e2e",
        default="http,amqp",
        help="end-to-end chains to measure: http (batches over HTTP, one broker pass), amqp "
        "(the AMQP ingress queue, two passes)",
    )
    args = parser.parse_args()
    kinds = [k for k in args.e2e.split(",") if k]
    if set(kinds) - {"http", "amqp"} or not kinds:
        parser.error("--e2e takes http, amqp or both")

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
        ingress(settings)
        return 0
    if args.role == "http-ingress":
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        http_ingress(settings, int(args.port))
        return 0
    if args.role == "http-back-office":
        ports = [int(p) for p in args.port.split(",")]
        http_back_office(ports, args.messages, args.batch, args.connections, args.warmup)
        return 0
    if args.role == "back-office":
        settings = load_settings()
        exchange = topology_for(settings, Registry.load(settings.adapters, settings)).ingress
        back_office(
            settings.amqp_url, exchange, args.messages, settings.publish_window, args.warmup
        )
        return 0

    configure_logging("console", "warning")
    size = len(wmo301(0))
    print(f"message: WMO301, {size} bytes, persistent; quorum queues; {os.cpu_count()} cores")
    results = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="ketenpoort-bench-") as scratch:
            prefix = f"kp-bench-{uuid.uuid4().hex[:8]}"
            settings = dataclasses.replace(
                _settings(prefix, Path(scratch)),
                workers=args.worker_threads,
                log_level=args.log_level,
                log_format="json",
            )
            load_before = _load()
            try:
                raw = measure_raw(settings, args.messages)
                bus = measure_bus(settings, args.messages)
                e2e: dict[str, Result] = {}
                for kind in kinds:
                    own = dataclasses.replace(settings, var_dir=Path(scratch) / kind)
                    e2e[kind] = measure_end_to_end(
                        own,
                        args.messages,
                        args.ingress,
                        args.workers,
                        kind,
                        args.batch,
                        args.connections,
                    )
            finally:
                with Gateway(settings) as gateway:
                    connection = connect(settings.amqp_url)
                    gateway.topology.delete(connection.channel())
                    connection.close()
        if run == 1:
            print(
                f"confirm window {settings.publish_window}, prefetch {settings.prefetch}; "
                f"{args.workers} workers x {args.worker_threads} threads; log level "
                f"{args.log_level}\n"
                f"end to end over HTTP: back-office -> POST batches of {args.batch} "
                f"({args.connections} keep-alive connections) -> {args.ingress} gateway HTTP "
                f"process(es) (ledger, validate, publish) -> work queue -> worker (ledger, "
                f"outbox): one broker pass\n"
                f"end to end over AMQP: back-office -> ingress queue -> {args.ingress} ingress "
                f"process(es) -> work queue -> worker: two broker passes"
            )

        def shares(result: Result) -> str:
            return ", ".join(
                f"{name} {sec * 1e3:.3f}"
                + (f" (kernel {k * 1e3:.3f})" if (k := result.cpu.get(f"{name}.kernel")) else "")
                for name, sec in result.cpu.items()
                if not name.endswith(".kernel")
            )

        print(
            f"run {run} (load {load_before} -> {_load()}):\n"
            f"  raw broker ceiling (pika publish + consume/ack): {raw.rate:6.0f} msg/s"
            f"   CPU ms/msg: {shares(raw)}\n"
            f"  gateway bus alone (Publisher + Consumer, no-op): {bus:6.0f} msg/s"
            f"   ({bus / raw.rate:.1%})\n"
            + "".join(
                f"  end to end, {kind.upper()} ingress:{' ' * (28 - len(kind))}"
                f"{result.rate:6.0f} msg/s   ({result.rate / raw.rate:.1%})"
                f"   CPU ms/msg: {shares(result)}\n"
                for kind, result in e2e.items()
            )
            + (
                f"  ratio (the issue's chain: HTTP ingress -> validate -> ledger -> publish -> "
                f"consume -> deliver): {e2e['http'].rate / raw.rate:.1%} of the raw ceiling"
                if "http" in e2e
                else ""
            )
        )
        main_kind = "http" if "http" in e2e else kinds[0]
        results.append(
            {
                "raw": raw.rate,
                "bus": bus,
                "end_to_end": {kind: result.rate for kind, result in e2e.items()},
                "ratio": e2e[main_kind].rate / raw.rate,
                "ratio_amqp": e2e["amqp"].rate / raw.rate if "amqp" in e2e else None,
                "cpu_raw": raw.cpu,
                "cpu_end_to_end": {kind: result.cpu for kind, result in e2e.items()},
                "load": load_before,
            }
        )
    if len(results) > 1:
        ratios = sorted(float(r["ratio"]) for r in results)  # type: ignore[arg-type]
        print(
            f"ratio over {len(results)} runs: min {ratios[0]:.1%}, "
            f"median {statistics.median(ratios):.1%}, max {ratios[-1]:.1%}"
        )
    if args.json:
        print(json.dumps({"bytes": size, "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
