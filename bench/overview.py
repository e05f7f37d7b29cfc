"""Overview benchmark: the dashboard's home on a ledger of N messages (default 1M and 10M).

    python bench/overview.py [--sizes 1000000,10000000] [--counterparts 50] [--routes 12]

The overview reads the ledger's ``counts`` (one row per hour x route x counterpart x outcome,
kept as entries are appended) and the heenberichten awaiting an answer; it never reads the
entries. So the ledger (SQLite, in a temporary folder) is filled with what those tables would
hold after N messages, written straight into them with SQL rather than by appending N messages
(appending 10M messages takes hours; the appending transaction's cost of the counts is the
ledger benchmark's):

- ``counts`` (hourly, daily and the hourly totals): N messages spread evenly over a year of
  hours, over ``routes`` x ``counterparts`` (each hour the N/8760 messages go to as many
  route/counterpart pairs as there are messages, up to all of them), each message received,
  accepted and delivered; one in 20 also retried, one in 50 rejected, one in 100 refused, one in
  200 parked;
- ``messages``: the heenberichten awaiting an answer, one in 200 of N (the rest of the table is
  never read by the page: it asks for one status through the status index);
- a few real messages appended through the ledger (entries, a checkpoint).

It prints the time to read the overview (``overview.read``: all its SQL) and to render the page
(the Jinja template and the chart), the median of 5 after one warm-up, and the rows involved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.adapter import Description
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event, LedgerOptions, Record, open_ledger
from gateway.ops.dashboard import TEMPLATES
from gateway.ops.overview import OUTCOMES, chart_svg, link, read

HOURS = 365 * 24
# Outcome -> messages per 1000 that have it.
SHARE = {
    "received": 1000,
    "accepted": 980,
    "delivered": 975,
    "retrying": 50,
    "rejected": 20,
    "refused": 10,
    "parked": 5,
}


def fill(ledger: object, size: int, routes: int, counterparts: int) -> tuple[int, int]:
    """Counts and waiting heenberichten as ``size`` messages leave them; returns the rows."""
    pairs = routes * counterparts
    per_hour = size / HOURS
    active = max(1, min(pairs, round(per_hour)))  # pairs with messages in an hour
    per_pair = per_hour / active
    waiting = size // 200
    conn = ledger._writer  # type: ignore[attr-defined]
    shares = " UNION ALL ".join(f"SELECT '{o}', {n}" for o, n in SHARE.items())
    conn.execute(
        "INSERT INTO counts (span, bucket, route, counterpart, outcome, n) "
        "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < ?), "
        "p(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM p WHERE j < ?), "
        f"o(outcome, share) AS ({shares}) "
        "SELECT 'hour', strftime('%Y-%m-%dT%H', 'now', '-' || i || ' hours'), "
        "'outbound.iwmo.WMO3' || printf('%02d', ((j + i) % ?)), "
        "printf('%08d', 10000000 + ((j / ? + i) % ?)), outcome, "
        "MAX(1, CAST(ROUND(? * share / 1000.0) AS INTEGER)) "
        "FROM h, p, o "
        "WHERE ? * share / 1000.0 >= 0.5 OR (j + i) % CAST(1000 / share AS INTEGER) = 0 "
        "ORDER BY 2, 3, 4, 5",
        (HOURS - 1, active - 1, routes, routes, counterparts, per_pair, per_pair),
    )
    # The daily counts and the hourly totals, as the ledger keeps them beside the hourly ones.
    conn.execute(
        "INSERT INTO counts (span, bucket, route, counterpart, outcome, n) "
        "SELECT 'day', substr(bucket, 1, 10), route, counterpart, outcome, SUM(n) FROM counts "
        "WHERE span = 'hour' GROUP BY 2, 3, 4, 5"
    )
    conn.execute(
        "INSERT INTO counts (span, bucket, route, counterpart, outcome, n) "
        "SELECT 'total', bucket, '', '', outcome, SUM(n) FROM counts "
        "WHERE span = 'hour' GROUP BY 2, 5"
    )
    conn.execute(
        "INSERT INTO messages (message_id, correlation_id, direction, route, standard, code, "
        "sender, receiver, status, verdict, expects_answer, answered_by, first_seq, last_seq, "
        "first_at, last_at) "
        "WITH RECURSIVE w(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM w WHERE k < ?) "
        "SELECT 'waiting-' || k, 'waiting-' || k, 'outbound', 'outbound.iwmo.WMO301', 'iwmo', "
        "'WMO301', '0363', printf('%08d', 10000000 + (k % ?)), 'awaiting-answer', 'validated', "
        "1, NULL, 1000000000 + k, 1000000000 + k, "
        "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now', '-' || (k % 2000) || ' hours'), "
        "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now', '-' || (k % 2000) || ' hours') "
        "FROM w",
        (waiting, counterparts),
    )
    conn.commit()
    rows = conn.execute("SELECT COUNT(*) FROM counts").fetchone()[0]
    return int(rows), waiting


def real_messages(ledger: object, count: int = 100) -> None:
    records = []
    for index in range(count):
        envelope = Envelope(
            b"<Bericht/>", Direction.OUTBOUND, message_type=MessageType("iwmo", "WMO301", "3.2")
        )
        told = Description("0363", f"{10000000 + index % 50:08d}", {}, (), True, None)
        records += [
            Record(envelope, Event.RECEIVED, payload=envelope.body),
            Record(envelope, Event.VALIDATED, {"publish": True}, description=told),
        ]
    ledger.append_many(records)  # type: ignore[attr-defined]
    ledger.checkpoint(force=True)  # type: ignore[attr-defined]


def page(ledger: object, template: Any) -> str:
    """The overview page as the dashboard renders it (queues and breaches left out: neither
    grows with the ledger)."""
    found = read(ledger, list, list)
    return str(template.render(o=found, chart=chart_svg(found.hours), link=link, outcomes=OUTCOMES))


def timed(run: object, times: int = 5) -> float:
    run()  # type: ignore[operator]
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--routes", type=int, default=12)
    parser.add_argument("--counterparts", type=int, default=50)
    args = parser.parse_args()
    template = TEMPLATES.get_template("overview.html")
    print(f"{'messages':>12} {'count rows':>11} {'waiting':>8} {'read ms':>8} {'page ms':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            ledger = open_ledger(
                f"sqlite:///{Path(folder) / 'ledger.sqlite3'}", "bench-key", LedgerOptions()
            )
            try:
                rows, waiting = fill(ledger, size, args.routes, args.counterparts)
                real_messages(ledger)
                read_s = timed(partial(read, ledger, list, list))
                page_s = timed(partial(page, ledger, template))
            finally:
                ledger.close()
        print(f"{size:>12,} {rows:>11,} {waiting:>8,} {read_s * 1000:>8.1f} {page_s * 1000:>8.1f}")


if __name__ == "__main__":
    main()
