"""Ledger benchmark: append and verify rates as the ledger grows, on SQLite and PostgreSQL.

    python bench/ledger.py                       # 1k, 100k and 1M entries, both backends
    python bench/ledger.py --sizes 1000,100000 --backends sqlite

The ledger is grown with concurrent appenders (group commit) to each size; at each size it
measures, on the ledger as it is:

- ``append 1x``: one thread, one durable commit per entry (the latency-bound case);
- ``append 16x``: sixteen threads appending at once (what group commit achieves);
- ``verify``: recompute every leaf and the tree, check all checkpoints, re-hash every payload;
- ``prove``: one inclusion proof against the latest checkpoint (reads all leaf hashes).

Messages are realistic in shape: per message ``received`` (a 1.3 KB XML payload), ``validated``
(parties, three business keys, a hashed BSN), ``published``, ``delivered``. PostgreSQL runs in a
private schema that is dropped afterwards. Targets: append cost flat as the ledger grows; verify
of 1M entries under a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.adapter import Description
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event, LedgerOptions, open_ledger
from gateway.ledger.audit import check_inclusion, inclusion, verify
from gateway.ledger.checkpoint import HmacSigner
from gateway.ledger.sql import SqlLedger

PG_URL = os.environ.get("KETENPOORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TYPE = MessageType("iwmo", "WMO301", "3.2")
BODY = (
    b"<?xml version='1.0' encoding='UTF-8'?><Bericht xmlns='http://www.istandaarden.nl/iwmo/3_2/"
    b"wmo301/schema'>" + b"<ToegewezenProduct><ToewijzingNummer>%d</ToewijzingNummer>"
    b"<Product><Categorie>02</Categorie><Code>02A01</Code></Product><Omvang><Volume>8</Volume>"
    b"</Omvang></ToegewezenProduct>" * 8 + b"</Bericht>"
)


def one_message(ledger: SqlLedger, number: int) -> int:
    env = Envelope(b"", Direction.OUTBOUND, message_type=TYPE)
    ledger.append(env, Event.RECEIVED, payload=BODY.replace(b"%d", str(number).encode()))
    ledger.append(
        env,
        Event.VALIDATED,
        detail={"stage": "rules", "findings": [], "publish": True},
        description=Description(
            sender="0363",
            receiver=f"{number % 500:08d}",
            keys={
                "BerichtIdentificatie": (f"B{number}",),
                "ToewijzingNummer": (str(number), str(number + 1)),
            },
            subjects=(f"{100000000 + number}",),
            expects_answer=True,
        ),
    )
    ledger.append(env, Event.PUBLISHED)
    ledger.append(env, Event.DELIVERED, detail={"to": "x", "reference": "y"})
    return 4


def concurrently(ledger: SqlLedger, entries: int, threads: int, start: int) -> float:
    """Append about ``entries`` entries with ``threads`` appenders; returns entries/s."""
    counter = iter(range(start, start + entries // 4 + threads))
    lock = threading.Lock()
    done = [0]

    def work() -> None:
        while True:
            with lock:
                if done[0] >= entries:
                    return
                done[0] += 4
                number = next(counter)
            one_message(ledger, number)

    began = time.perf_counter()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return done[0] / (time.perf_counter() - began)


def run(name: str, opener: Callable[[], SqlLedger], sizes: list[int]) -> None:
    ledger = opener()
    number = 0
    print(f"\n{name}")
    print(
        f"{'entries':>9} {'append 1x/s':>12} {'append 16x/s':>13} {'verify s':>9} "
        f"{'verify /s':>10}  {'checkpoints':>11} {'prove s':>8}"
    )
    for size in sizes:
        single_n, group_n = min(1200, size // 2), min(4000, size // 2)
        grow = size - ledger.tree_size() - single_n - group_n
        if grow > 0:
            concurrently(ledger, grow, 16, number)
            number += grow // 4 + 16
        began = time.perf_counter()
        for _ in range(single_n // 4):  # one commit per entry
            number += 1
            one_message(ledger, number)
        single = single_n / (time.perf_counter() - began)
        grouped = concurrently(ledger, group_n, 16, number)
        number += group_n // 4 + 16
        ledger.checkpoint(force=True)
        began = time.perf_counter()
        report = verify(ledger)
        took = time.perf_counter() - began
        assert report.ok, report.problems
        began = time.perf_counter()
        proof = inclusion(ledger, 1)
        proved = time.perf_counter() - began
        assert check_inclusion(proof, ledger.options.signer) == []
        print(
            f"{report.size:>9} {single:>12.0f} {grouped:>13.0f} {took:>9.1f} "
            f"{report.size / took:>10.0f}  {report.checkpoints:>11} {proved:>8.2f}",
            flush=True,
        )
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    options = LedgerOptions(signer=HmacSigner(b"bench"), checkpoint_every=1000)
    print(f"ledger benchmark: sizes {sizes}; {os.cpu_count()} cores")
    if "sqlite" in args.backends:
        with tempfile.TemporaryDirectory(prefix="kp-bench-") as tmp:
            run(
                "sqlite (WAL, synchronous=FULL)",
                lambda: open_ledger(f"sqlite:///{tmp}/ledger.sqlite3", "bench", options),
                sizes,
            )
    if "postgres" in args.backends:
        import psycopg

        schema = f"kp_bench_{uuid.uuid4().hex[:10]}"
        try:
            run(
                "postgresql",
                lambda: open_ledger(f"{PG_URL}?schema={schema}", "bench", options),
                sizes,
            )
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
