"""Chaos soak: several gateways on the three-node RabbitMQ cluster and PostgreSQL, faults under
a mixed load; prints what was lost, what was doubled, and how fast it recovered.

    python bench/chaos.py                 # 20,000 messages, three gateways
    python bench/chaos.py --short         # 2,000 messages

What runs (all on this machine, 127.0.0.1 only):

- the private cluster of ``tools/cluster.py`` (three RabbitMQ nodes, a PostgreSQL), started
  here unless it already runs. Its node names and ports default to ``kpx`` and an offset of 100
  (``KETENPOORT_CLUSTER_NAME``/``_PORT_OFFSET``/``_DIR``), beside the test suite's own cluster;
- ``--gateways`` ``ketenpoort run`` processes, each on its own HTTP port, sharing one ledger
  schema, one bus prefix and one var folder, ``amqp_url`` listing the three nodes;
- a counterpart stand-in (a real HTTP server), configured as the GGk's ebMS adapter
  (``ggk_url``): it answers a share of calls with 503 and lets another share time out;
- the load: inbound WMO301 heenberichten (each answered by a WMO302 retour to the stand-in) in
  HTTP batches, as single posts and as batches raced to two gateways at once with the same ids;
  outbound toewijzingen from JSON (``POST /v1/messages/outbound/iwmo/toewijzing``). A client
  sends again (same ids, another gateway) whatever was not acknowledged with 202.

Faults, one after another while the load runs: kill -9 the node leading the work queue (it is
started again later), kill -9 a gateway (started again after a few seconds), stop PostgreSQL and
start it again. Recovery is the time from a fault (for PostgreSQL: from its restart) until a
probe heenbericht sent then is answered end to end (its retour recorded).

Figures, counted in the ledger afterwards: acknowledged; delivered; lost (acknowledged but
neither delivered nor parked, the heenbericht or its retour); delivered twice; retours per
heenbericht; duplicate ledger entries (an id with two ``received``, ``delivered``,
``retour-sent`` or ``parked``); ``ketenpoort ledger verify``; throughput before, during and
after the faults. The target is 0 lost, 0 twice, one retour each, verify OK, recovery < 30 s;
this prints the figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import http.server
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":
    # Beside the test suite's cluster (kpc, ports 5681...): names and ports of our own.
    os.environ.setdefault("KETENPOORT_CLUSTER_NAME", "kpx")
    os.environ.setdefault("KETENPOORT_CLUSTER_PORT_OFFSET", "100")
    os.environ.setdefault("KETENPOORT_CLUSTER_DIR", "/tmp/kp-chaos")


import psycopg  # noqa: E402
import requests  # noqa: E402

from gateway.config import Settings, environment, load_settings  # noqa: E402
from gateway.worker import retour_id  # noqa: E402
from tests.messages import wmo301  # noqa: E402
from tools import cluster as harness  # noqa: E402

TOEWIJZING = json.loads((ROOT / "examples" / "toewijzing.json").read_text())
ONCE = ("received", "delivered", "retour-sent", "parked")  # events an id has at most once


# -- the counterpart stand-in ----------------------------------------------------------------


class StandIn:
    """The GGk's ebMS adapter as a real HTTP server: 200 (taken), or a 503, or no answer within
    the gateway's ``http_timeout``, at random in the shares given."""

    def __init__(self, unavailable: float, slow: float, slow_seconds: float) -> None:
        self.calls: Counter[str] = Counter()
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                draw = random.random()
                if draw < unavailable:
                    kind, status = "503", 503
                elif draw < unavailable + slow:
                    kind, status = "timeout", 200
                    time.sleep(slow_seconds)
                else:
                    kind, status = "taken", 200
                with lock:
                    outer.calls[kind] += 1
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the gateway gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ebms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def soak_settings(cluster: harness.Cluster, schema: str, counterpart_url: str) -> Settings:
    """Gateways on ``cluster`` (every node listed in ``amqp_url``) sharing the ledger schema
    ``schema`` and one bus prefix, with the GGk at ``counterpart_url`` (quick timeouts and
    retries, so that a soak sees many of them)."""
    base = load_settings(
        env={
            "KETENPOORT_COUNTERPART_TRANSPORT": "ggk",
            "KETENPOORT_GGK_URL": counterpart_url,
            "KETENPOORT_GGK_ORGANISATIE": "0599",  # the gemeente of the heenberichten
            "KETENPOORT_HTTP_ATTEMPTS": "2",
            "KETENPOORT_HTTP_BACKOFF": "0.2",
            "KETENPOORT_HTTP_TIMEOUT": "1.0",
        }
    )
    return dataclasses.replace(
        base,
        amqp_url=",".join(cluster.amqp_urls),
        ledger_url=f"{cluster.pg_url}?schema={schema}",
        bus_prefix=f"kp-chaos-{schema[-8:]}",
        retry_tiers=("1s", "2s", "5s"),
        max_attempts=30,
    )


# -- the gateways ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Gateways:
    settings: Settings
    ports: list[int]
    log: Path
    processes: dict[int, subprocess.Popen[bytes]] = dataclasses.field(default_factory=dict)

    def env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
        env.update(environment(dataclasses.replace(self.settings, http_port=port)))
        env.update(KETENPOORT_LOG_FORMAT="json", PYTHONPATH=str(ROOT))
        return env

    def start(self, port: int) -> None:
        with open(self.log, "ab") as log:
            self.processes[port] = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "run"],
                cwd=ROOT,
                env=self.env(port),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def ready(self, port: int, seconds: float = 90) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.processes[port].poll() is not None:
                return False
            try:
                if requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).ok:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.3)
        return False

    def kill(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGKILL)
        self.processes[port].wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


# -- the load --------------------------------------------------------------------------------


@dataclasses.dataclass
class Job:
    kind: str  # "batch", "single", "race" (inbound) or "toewijzing" (outbound)
    messages: list[tuple[str, bytes]]  # (message id, body)


# The kinds of job, by the share of jobs (a draw below the first limit: the first kind ...).
MIX = ((0.30, "toewijzing"), (0.45, "single"), (0.60, "race"), (1.0, "batch"))


def jobs(count: int, seed: int = 15) -> Iterator[Job]:
    """About 65 % inbound heenberichten (batches of 10, single posts, batches raced to two
    gateways) and 35 % outbound toewijzingen from JSON (single posts), in a shuffled order."""
    rng = random.Random(seed)
    made = 0
    number = 0
    while made < count:
        draw = rng.random()
        kind = next(k for limit, k in MIX if draw < limit)
        size = 1 if kind == "single" else min(10, count - made)
        messages = []
        for _ in range(size):
            if kind == "toewijzing":
                body = json.loads(json.dumps(TOEWIJZING))
                body["toewijzingen"][0]["toewijzingnummer"] = 100_000 + number
                messages.append((str(uuid.uuid4()), json.dumps(body).encode()))
            else:
                messages.append((str(uuid.uuid4()), wmo301(300_000 + number)))
            number += 1
        yield Job(kind, messages)
        made += size


class Load:
    """Sends the jobs with ``threads`` clients over the gateways' ports, each message again (same
    id, next gateway) until a gateway acknowledges it with 202."""

    def __init__(self, ports: list[int], threads: int) -> None:
        self.ports = ports
        self.threads = threads
        self.acked: dict[str, str] = {}  # message id -> "inbound" or "outbound"
        self.acked_at: list[float] = []
        self.unacked: set[str] = set()
        self.refused: dict[str, int] = {}  # message id -> HTTP status
        self.sent = 0
        self._lock = threading.Lock()
        self._turn = 0
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _port(self) -> int:
        with self._lock:
            self._turn += 1
            return self.ports[self._turn % len(self.ports)]

    def _ack(self, message_id: str, direction: str) -> None:
        with self._lock:
            if message_id not in self.acked:
                self.acked[message_id] = direction
                self.acked_at.append(time.monotonic())

    def _answered(self, message_id: str, direction: str, status: int) -> None:
        """202: acknowledged; 503 (not recorded) or no answer: sent again; another status
        (refused): not sent again, and not acknowledged."""
        if status == 202:
            self._ack(message_id, direction)
        elif status != 503:
            with self._lock:
                self.refused[message_id] = status

    def _post_batch(self, port: int, messages: list[tuple[str, bytes]]) -> None:
        body = {
            "messages": [
                {"message_id": m, "body": base64.b64encode(b).decode()} for m, b in messages
            ]
        }
        answer = self._session().post(
            f"http://127.0.0.1:{port}/v1/messages/inbound/batch", json=body, timeout=60
        )
        if answer.status_code in (202, 207):
            for (message_id, _), result in zip(messages, answer.json()["messages"], strict=True):
                self._answered(message_id, "inbound", result["http_status"])

    def _post_one(self, port: int, path: str, message_id: str, body: bytes, kind: str) -> None:
        content = "application/json" if kind == "outbound" else "application/xml"
        answer = self._session().post(
            f"http://127.0.0.1:{port}{path}",
            data=body,
            headers={"content-type": content, "x-message-id": message_id},
            timeout=60,
        )
        self._answered(message_id, kind, answer.status_code)

    def send(self, job: Job, give_up: float = 300) -> None:
        deadline = time.monotonic() + give_up
        pending = list(job.messages)
        while pending and time.monotonic() < deadline:
            try:
                if job.kind in ("toewijzing", "single"):  # one POST a message
                    outbound = job.kind == "toewijzing"
                    path = "/v1/messages/" + ("outbound/iwmo/toewijzing" if outbound else "inbound")
                    for message_id, body in pending:
                        direction = "outbound" if outbound else "inbound"
                        self._post_one(self._port(), path, message_id, body, direction)
                elif job.kind == "race":
                    first, second = self._port(), self._port()
                    racer = threading.Thread(target=self._race, args=(second, pending))
                    racer.start()
                    self._race(first, pending)
                    racer.join()
                else:
                    self._post_batch(self._port(), pending)
            except (requests.RequestException, ValueError, KeyError):
                pass
            with self._lock:
                pending = [m for m in pending if m[0] not in self.acked | self.refused.keys()]
            if pending:
                time.sleep(0.5)
        with self._lock:
            self.sent += len(job.messages)
            self.unacked.update(m for m, _ in pending if m not in self.acked)

    def _race(self, port: int, messages: list[tuple[str, bytes]]) -> None:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            self._post_batch(port, messages)

    def run(self, all_jobs: list[Job]) -> threading.Thread:
        def work() -> None:
            with ThreadPoolExecutor(self.threads) as pool:
                list(pool.map(self.send, all_jobs))

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        return thread


# -- what the ledger says --------------------------------------------------------------------


class Ledger:
    """Reads the shared ledger schema directly (counting, not through the gateway)."""

    def __init__(self, pg_url: str, schema: str) -> None:
        self.url = pg_url
        self.schema = schema

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=3) as db:
            db.execute(f"SET search_path TO {self.schema}")
            return list(db.execute(sql, params).fetchall())

    def delivered(self) -> int | None:
        try:
            return int(self._query("SELECT count(*) FROM entries WHERE event='delivered'")[0][0])  # type: ignore[call-overload]
        except psycopg.Error:
            return None  # PostgreSQL is down (a fault): no sample

    def answered(self, message_id: str) -> bool:
        try:
            rows = self._query(
                "SELECT 1 FROM entries WHERE message_id=%s AND event='retour-sent'", (message_id,)
            )
        except psycopg.Error:
            return False
        return bool(rows)

    def counts(self) -> dict[str, Counter[str]]:
        rows = self._query(
            "SELECT message_id, event, count(*) FROM entries WHERE event = ANY(%s) "
            "GROUP BY message_id, event",
            ([*ONCE, "published"],),
        )
        found: dict[str, Counter[str]] = {}
        for message_id, event, n in rows:
            found.setdefault(str(message_id), Counter())[str(event)] = int(n)  # type: ignore[call-overload]
        return found


# -- the soak --------------------------------------------------------------------------------


@dataclasses.dataclass
class Fault:
    name: str
    at: float  # monotonic: when it began
    recovered: float | None = None  # seconds from ``since`` until a probe was answered
    note: str = ""


_probes = itertools.count(900_000)  # the probes' WMO301 numbers (the load's are below)


def probe(load: Load, ledger: Ledger, since: float) -> float | None:
    """Seconds from ``since`` until a heenbericht sent now (and again each second, to the next
    gateway) is answered end to end; None after 120 s. The probes count as load."""
    deadline = since + 120
    sent: list[str] = []
    while time.monotonic() < deadline:
        message_id = str(uuid.uuid4())
        job = Job("single", [(message_id, wmo301(next(_probes)))])
        threading.Thread(target=load.send, args=(job, 100), daemon=True).start()
        sent.append(message_id)
        for _ in range(4):
            time.sleep(0.25)
            if any(ledger.answered(m) for m in sent[-5:]):
                return time.monotonic() - since
    return None


def soak(args: argparse.Namespace) -> int:
    base = harness.BASE
    started_cluster = False
    if len(harness.running_nodes()) != len(harness.NODES) or not harness.port_open(harness.PG_PORT):
        print(f"starting the private cluster under {base} ...", flush=True)
        harness.down(base)
        harness.up(base)
        started_cluster = True
    cluster = harness.describe(base)
    schema = f"kp_chaos_{uuid.uuid4().hex[:8]}"
    var_dir = Path(args.var or f"/tmp/kp-chaos-var-{schema}")
    var_dir.mkdir(parents=True, exist_ok=True)
    stand_in = StandIn(args.unavailable, args.slow, slow_seconds=2.5)
    settings = dataclasses.replace(
        soak_settings(cluster, schema, stand_in.url),
        var_dir=var_dir,
        workers=args.workers,
        log_level="warning",
        bsn_hash_key="the chaos soak's own bsn key",
    )
    ports = [free_port() for _ in range(args.gateways)]
    gateways = Gateways(settings, ports, var_dir / "gateways.log")
    ledger = Ledger(cluster.pg_url, schema)
    faults: list[Fault] = []
    samples: list[tuple[float, int]] = []  # (monotonic, delivered so far)
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(1.0):
            delivered = ledger.delivered()
            if delivered is not None:
                samples.append((time.monotonic(), delivered))

    all_jobs = list(jobs(args.messages))
    load = Load(ports, args.threads)
    try:
        gateways.start(ports[0])  # the first makes the schema and topology alone
        if not gateways.ready(ports[0]):
            raise SystemExit(f"the first gateway did not come up; see {gateways.log}")
        for port in ports[1:]:
            gateways.start(port)
        for port in ports[1:]:
            if not gateways.ready(port):
                raise SystemExit(f"a gateway did not come up; see {gateways.log}")
        print(
            f"{args.gateways} gateways on ports {ports}, {len(all_jobs)} jobs, "
            f"ledger schema {schema}, log {gateways.log}",
            flush=True,
        )
        threading.Thread(target=sample, daemon=True).start()
        began = time.monotonic()
        sender = load.run(all_jobs)
        total = args.messages

        def wait_share(share: float) -> None:
            while len(load.acked) < share * total and sender.is_alive():
                time.sleep(0.2)

        # 1. kill -9 the node leading the work queue; it comes back 15 s later.
        wait_share(0.2)
        queue = f"{settings.bus_prefix}.inbound.iwmo"
        leader = harness.queue_leader(queue)
        harness.kill_node(base, leader)
        fault = Fault(f"kill -9 RabbitMQ node {leader} (leader of {queue})", time.monotonic())
        faults.append(fault)
        restart = threading.Timer(15, harness.start_node, args=(base, leader))
        restart.start()
        fault.recovered = probe(load, ledger, fault.at)
        restart.join()

        # 2. kill -9 a gateway; it starts again 5 s later.
        wait_share(0.45)
        victim = ports[1]
        gateways.kill(victim)
        fault = Fault(f"kill -9 gateway :{victim}", time.monotonic())
        faults.append(fault)
        fault.recovered = probe(load, ledger, fault.at)
        time.sleep(max(0.0, fault.at + 5 - time.monotonic()))
        gateways.start(victim)
        fault.note = f"back in {gateways.ready(victim) and time.monotonic() - fault.at:.1f} s"

        # 3. stop PostgreSQL, start it 5 s later.
        wait_share(0.7)
        stopped = time.monotonic()
        harness.pg_stop(base, mode="immediate")
        time.sleep(5)
        harness.pg_start(base)
        fault = Fault("PostgreSQL stopped (immediate), started 5 s later", time.monotonic())
        fault.note = f"down {fault.at - stopped:.1f} s"
        faults.append(fault)
        fault.recovered = probe(load, ledger, fault.at)
        faults_over = time.monotonic()
        for fault in faults:
            print(f"  {fault.name}: recovered in {fault.recovered} s {fault.note}", flush=True)

        sender.join()
        load_done = time.monotonic()
        settle(load, ledger, args.settle)
        settled = time.monotonic()
        sampling.set()
    finally:
        gateways.stop()
        stand_in.close()
    verified = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "ledger", "verify"],
        cwd=ROOT,
        env=gateways.env(ports[0]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    report(
        load,
        ledger,
        faults,
        samples,
        (began, faults[0].at, faults_over, load_done, settled),
        verified,
        stand_in,
    )
    if not args.keep:
        with psycopg.connect(cluster.pg_url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if started_cluster:
            harness.down(base)
    return 0


def settle(load: Load, ledger: Ledger, seconds: float) -> None:
    """Until every acknowledged message is delivered or parked (an inbound one also answered,
    its retour delivered or parked), or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not unsettled(load.acked, ledger.counts()):
            return
        time.sleep(2)


def unsettled(acked: dict[str, str], counts: dict[str, Counter[str]]) -> list[str]:
    empty: Counter[str] = Counter()

    def done(message_id: str) -> bool:
        events = counts.get(message_id, empty)
        return bool(events["delivered"] or events["parked"])

    return [
        m
        for m, direction in acked.items()
        if not done(m) or (direction == "inbound" and not done(retour_id(m)))
    ]


def report(
    load: Load,
    ledger: Ledger,
    faults: list[Fault],
    samples: list[tuple[float, int]],
    marks: tuple[float, float, float, float, float],
    verified: subprocess.CompletedProcess[str],
    stand_in: StandIn,
) -> None:
    counts = ledger.counts()
    empty: Counter[str] = Counter()
    inbound = [m for m, d in load.acked.items() if d == "inbound"]
    outbound = [m for m, d in load.acked.items() if d == "outbound"]
    ids = [*load.acked, *(retour_id(m) for m in inbound)]
    delivered = sum(1 for m in ids if counts.get(m, empty)["delivered"])
    parked = sum(1 for m in ids if counts.get(m, empty)["parked"])
    twice = sum(1 for m in ids if counts.get(m, empty)["delivered"] > 1)
    retours = Counter(counts.get(m, empty)["retour-sent"] for m in inbound)
    duplicates = sum(1 for c in counts.values() for event in ONCE if c[event] > 1)
    published_twice = sum(1 for c in counts.values() if c["published"] > 1)
    lost = unsettled(load.acked, counts)
    began, first_fault, faults_over, load_done, settled = marks

    def rate(start: float, end: float) -> str:
        inside = [(t, n) for t, n in samples if start <= t <= end]
        acked = sum(1 for t in load.acked_at if start <= t <= end)
        span = max(end - start, 1e-9)
        done = (
            (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
            if len(inside) > 1 and inside[-1][0] > inside[0][0]
            else 0.0
        )
        return f"{acked / span:6.1f} acknowledged/s, {done:6.1f} delivered/s  ({span:.0f} s)"

    print()
    print("chaos soak")
    print(f"  messages sent                {load.sent} ({len(inbound)} inbound heenberichten, "
          f"{len(outbound)} outbound toewijzingen acknowledged)")  # fmt: skip
    print(
        f"  acknowledged (202)           {len(load.acked)}   refused: "
        f"{dict(Counter(load.refused.values()))}   given up: {len(load.unacked)}"
    )
    print(f"  delivered (incl. retours)    {delivered} of {len(ids)}   parked: {parked}")
    print(f"  lost                         {len(lost)}")
    print(f"  delivered twice              {twice}")
    print(f"  retours per heenbericht      {dict(sorted(retours.items()))}")
    print(f"  duplicate ledger entries     {duplicates}   (ids published more than once: "
          f"{published_twice})")  # fmt: skip
    verdict = "OK" if verified.returncode == 0 else f"FAILED ({verified.returncode})"
    print(f"  ledger verify                {verdict}")
    if verified.returncode != 0:
        print("    " + (verified.stdout + verified.stderr).strip()[-1500:].replace("\n", "\n    "))
    print("  faults (recovery: a probe heenbericht answered end to end)")
    for fault in faults:
        took = "NOT within 120 s" if fault.recovered is None else f"{fault.recovered:5.1f} s"
        print(f"    {fault.name:58} recovered {took}  {fault.note}")
    print("  throughput")
    print(f"    before the faults   {rate(began, first_fault)}")
    print(f"    during the faults   {rate(first_fault, faults_over)}")
    print(f"    after the faults    {rate(faults_over, load_done)}")
    print(f"    settling            {rate(load_done, settled)}")
    print(f"  counterpart stand-in calls   {dict(stand_in.calls)}")
    if lost:
        print(f"  lost ids (first 10)          {lost[:10]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--short", action="store_true", help="2,000 messages")
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="consumer threads per gateway")
    parser.add_argument("--threads", type=int, default=6, help="client threads sending")
    parser.add_argument("--unavailable", type=float, default=0.10, help="share answered 503")
    parser.add_argument("--slow", type=float, default=0.03, help="share that times out")
    parser.add_argument("--settle", type=float, default=600, help="seconds to wait at the end")
    parser.add_argument("--var", default="", help="the gateways' var folder")
    parser.add_argument("--keep", action="store_true", help="keep the schema (and the cluster)")
    args = parser.parse_args(argv)
    if args.short:
        args.messages = 2_000
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
