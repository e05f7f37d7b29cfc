"""Month end: many large declaraties at once, until the last declaratie-antwoord is delivered.

    python bench/month_end.py [--small] [--declaraties 50] [--min-mb 2] [--max-mb 25]
                              [--toewijzingen 200000] [--ledger sqlite,postgres]

For each ledger (SQLite in a temporary folder; PostgreSQL at 127.0.0.1:5432, db ``test``, in a
private schema ``kp_bench_<random>`` dropped afterwards):

1. the ledger is filled with a year of a region's toewijzingen: JW301s of gemeente 0363 to
   ``--declaraties`` aanbieders, ten products each, recorded through ``gateway.imports`` (as
   ``ketenpoort import`` does): the toewijzingen every declaratie refers to, plus others up to
   ``--toewijzingen`` in all;
2. ``ketenpoort run`` starts on that ledger (private bus prefix, outbox delivery, the local
   RabbitMQ);
3. every aanbieder POSTs its JW323 (sizes spread evenly from ``--min-mb`` to ``--max-mb``) to
   ``/v1/messages/inbound``, all at once, one connection each;
4. a back-office stand-in waits for each declaratie to be delivered to it and POSTs its verdict
   (granted in full) to ``/v1/messages/outbound/ijw/declaratie-antwoord``;
5. the clock stops when the last JW325 is delivered (its ``delivered`` entry in the ledger).

Prints the time from the first POST to the last 325 delivered, the time until every declaratie
was accepted, and the peak RSS of the gateway's processes (``ketenpoort run`` and its children,
VmHWM from /proc, read while they run). ``--small``: 5 declaraties of 0.2-1 MB against 20,000
toewijzingen. The machine is shared: read the load average printed with each figure.

December 2026, SQLite, the rules reading the domain tables: 50 declaraties (708 MB, 1,045,030
prestaties, against 1,045,030 toewijzingen), every one accepted after 617 s, the last 325
delivered after 668 s, peak RSS 3,034 MB (every body is held while the 50 are received at once),
at a load average of 3.6 to 7.9 on two shared cores. On PostgreSQL that night every sender's
600 s timeout ran out: all fifty were judged at once and answered together near the end.
4 December 2026, PostgreSQL, large messages judged two at a time (``receive.LARGE_AT_ONCE``) and
the rules reading each prestatie's facts once: every one accepted after 785 s, the last 325
delivered after 787 s, peak RSS 1,240 MB, at a load average of 1.9 to 2.8 (the ledger filled
with the toewijzingen in 257 s before). The same night on SQLite: the first accepted after 13 s,
every one after 546 s, the last 325 delivered after 548 s, peak RSS 1,218 MB (load 1.0-1.4).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from latency import _load  # noqa: E402
from running import BSN_HASH_KEY, RunningGateway  # noqa: E402

from adapters.istandaarden.adapter import IStandaardenAdapter  # noqa: E402
from gateway.adapter import Registry  # noqa: E402
from gateway.imports import IMPORTED, import_messages  # noqa: E402
from gateway.ledger import Event, open_ledger  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.validate import SchemaCache  # noqa: E402
from tools.istd_samples import declaratie, toewijzingen_301  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
GEMEENTE = "0363"
PRESTATIES = 10  # per client, each on a toewijzing of its own
MONTH = "2026-10"


def agb(index: int) -> str:
    return f"{12_000_000 + index:08d}"


def base(index: int) -> int:
    """The first ToewijzingNummer of aanbieder ``index`` (room for 10 million each)."""
    return 10_000_000 * (index + 1)


def clients_for(size: int) -> int:
    """Clients of a declaratie of about ``size`` bytes, not more: a client's bytes grow a little
    with its numbers, so 1% is kept free (the largest must stay under ``max_message_bytes``)."""
    one = len(declaratie("ijw", clients=1, prestaties=PRESTATIES))
    two = len(declaratie("ijw", clients=2, prestaties=PRESTATIES))
    return max(1, int(size * 0.99 - one) // (two - one) + 1)


def fill(url: str, clients: list[int], total: int) -> tuple[int, float]:
    """Record the toewijzingen through the importer; (toewijzingen, seconds)."""
    ledger = open_ledger(url, BSN_HASH_KEY)
    adapter = IStandaardenAdapter(None)  # type: ignore[arg-type]
    registry, schemas = Registry([adapter]), SchemaCache()
    needed = sum(clients) * PRESTATIES
    filler = max(0, total - needed) // PRESTATIES  # 301s of clients no declaratie names

    def messages() -> object:
        for index, count in enumerate(clients):
            for body in toewijzingen_301(
                count, PRESTATIES, "ijw", GEMEENTE, agb(index), base(index)
            ):
                yield "301", body
        per = -(-filler // len(clients))
        for index in range(len(clients)):
            start = base(index) + 5_000_000
            for body in toewijzingen_301(per, PRESTATIES, "ijw", GEMEENTE, agb(index), start):
                yield "301", body

    start = time.perf_counter()
    done = 0
    for result in import_messages(
        ledger,
        registry,
        schemas,
        messages(),
        frozenset({GEMEENTE}),
        10**8,  # type: ignore[arg-type]
    ):
        assert result.status == IMPORTED, result
        done += 1
    ledger.close()
    return done * PRESTATIES, time.perf_counter() - start


class Gateway(RunningGateway):
    """``ketenpoort run`` on a given ledger, in a process of its own, its peak memory watched."""

    def __init__(self, folder: Path, ledger_url: str) -> None:
        self.peak_mb = 0.0
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self.process: subprocess.Popen[bytes] | None = None
        self._watcher.start()
        super().__init__(folder, ledger_url)

    def _pids(self) -> list[int]:
        if self.process is None:  # not started yet
            return []
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as fh:
                        todo += [int(c) for c in fh.read().split()]
            except OSError:
                pass
        return found

    def _watch(self) -> None:
        """The sum of the processes' own peaks (VmHWM), as high as it got."""
        while self._watching:
            total = 0.0
            for pid in self._pids():
                try:
                    with open(f"/proc/{pid}/status") as fh:
                        for line in fh:
                            if line.startswith("VmHWM:"):
                                total += int(line.split()[1]) / 1024
                except OSError:
                    pass
            self.peak_mb = max(self.peak_mb, total)
            time.sleep(0.2)

    def post(self, path: str, body: bytes, content_type: str) -> dict[str, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        conn.request("POST", path, body, {"Content-Type": content_type})
        answer = conn.getresponse()
        text = answer.read()
        conn.close()
        if answer.status not in (200, 202):
            raise SystemExit(f"POST {path}: HTTP {answer.status} {text[:300]!r}")
        result: dict[str, object] = json.loads(text)
        return result

    def delivered(self, message_id: str) -> bool:
        return any(e.event is Event.DELIVERED for e in self.ledger.history(message_id))

    def answers_delivered(self, identificatie: str) -> bool:
        """Whether a 325 naming this declaratie was delivered."""
        for entry in self.ledger.find("DeclaratieIdentificatie", identificatie):
            if entry.code.endswith("325") and self.delivered(entry.message_id):
                return True
        return False

    def stop(self) -> None:
        self._watching = False
        super().stop()


def verdict(index: int, body: bytes) -> bytes:
    """The back-office's declaratie-antwoord: granted in full."""
    clients = body.count(b"<jw323:Client>")
    return json.dumps(
        {
            "gemeente": GEMEENTE,
            "aanbieder": agb(index),
            "declaratie": {
                "identificatie": f"D{index}",
                "dagtekening": f"{MONTH}-31",
                "xsdVersie": _versions(),
                "nummer": f"DN{index}",
                "totaalIngediendBedrag": clients * PRESTATIES * 5000,
                "debetCredit": "D",
            },
        }
    ).encode()


def _versions() -> dict[str, str]:
    from adapters.istandaarden.catalogue import Bericht
    from adapters.lib.istandaard.codec import xsd_versions

    v = xsd_versions(Bericht("ijw", 323))
    return {"basisschema": v["BasisschemaXsdVersie"], "bericht": v["BerichtXsdVersie"]}


def run(name: str, url: str, sizes: list[int], total: int, folder: Path) -> None:
    clients = [clients_for(s) for s in sizes]
    toewijzingen, seconds = fill(url, clients, total)
    print(
        f"[{name}] ledger filled: {toewijzingen:,} toewijzingen in {seconds:.0f} s "
        f"(load {_load()})",
        flush=True,
    )
    bodies = [
        declaratie(
            "ijw",
            clients=c,
            prestaties=PRESTATIES,
            afzender=agb(i),
            ontvanger=GEMEENTE,
            identificatie=f"D{i}",
            nummer=f"DN{i}",
            month=MONTH,
            toewijzing_base=base(i),
        )
        for i, c in enumerate(clients)
    ]
    gateway = Gateway(folder, url)
    try:
        ids: dict[int, str] = {}
        accepted: dict[int, float] = {}
        start = time.time()

        failed: list[str] = []  # a sender thread's SystemExit would end it without a word

        def send(i: int) -> None:
            try:
                result = gateway.post("/v1/messages/inbound", bodies[i], "application/xml")
            except SystemExit as exc:
                failed.append(f"declaratie {i}: {exc}")
                return
            if result.get("status") != "accepted":
                failed.append(f"declaratie {i}: {result}")
                return
            ids[i] = str(result["message_id"])
            accepted[i] = time.time()

        senders = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for t in senders:
            t.start()
        answered: set[int] = set()
        done: set[int] = set()
        deadline = time.monotonic() + 3600
        while len(done) < len(bodies) and time.monotonic() < deadline and not failed:
            for i, message_id in list(ids.items()):
                if i not in answered and gateway.delivered(message_id):
                    gateway.post(
                        "/v1/messages/outbound/ijw/declaratie-antwoord",
                        verdict(i, bodies[i]),
                        "application/json",
                    )
                    answered.add(i)
                if i in answered and i not in done and gateway.answers_delivered(f"D{i}"):
                    done.add(i)
            time.sleep(0.5)
        last = time.time()
        for t in senders:
            t.join()
        if failed:
            raise SystemExit(f"[{name}] " + "; ".join(failed))
        if len(done) < len(bodies):
            raise SystemExit(f"[{name}] only {len(done)} of {len(bodies)} 325s delivered")
        print(
            f"[{name}] {len(bodies)} declaraties, {sum(sizes) / 1e6:.0f} MB, "
            f"{sum(clients) * PRESTATIES:,} prestaties: the first accepted after "
            f"{min(accepted.values()) - start:.1f} s, every one accepted after "
            f"{max(accepted.values()) - start:.1f} s, the last 325 delivered after "
            f"{last - start:.1f} s (polled every 0.5 s); peak RSS of the gateway's processes "
            f"{gateway.peak_mb:.0f} MB (load {_load()})",
            flush=True,
        )
    finally:
        gateway.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="5 declaraties of 0.2-1 MB")
    parser.add_argument("--declaraties", type=int, default=50)
    parser.add_argument("--min-mb", type=float, default=2.0)
    parser.add_argument("--max-mb", type=float, default=25.0)
    parser.add_argument("--toewijzingen", type=int, default=200_000)
    parser.add_argument("--ledger", default="sqlite,postgres")
    args = parser.parse_args()
    if args.small:
        args.declaraties, args.min_mb, args.max_mb, args.toewijzingen = 5, 0.2, 1.0, 20_000
    configure_logging(level="warning")
    n = args.declaraties
    step = (args.max_mb - args.min_mb) / max(1, n - 1)
    sizes = [int((args.min_mb + i * step) * 1024 * 1024) for i in range(n)]
    print(f"month end: {n} declaraties of {args.min_mb}-{args.max_mb} MB, today {dt.date.today()}")
    for name in args.ledger.split(","):
        with tempfile.TemporaryDirectory() as folder:
            if name == "sqlite":
                run(
                    name,
                    f"sqlite:///{Path(folder) / 'ledger.sqlite3'}",
                    sizes,
                    args.toewijzingen,
                    Path(folder),
                )
                continue
            import psycopg

            schema = f"kp_bench_{uuid.uuid4().hex[:8]}"
            try:
                run(name, f"{PG}?schema={schema}", sizes, args.toewijzingen, Path(folder))
            finally:
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
