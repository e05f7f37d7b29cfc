"""Deadline monitor benchmark: one check of every deadline rule over a ledger of N messages.

    python bench/deadlines.py [--sizes 10000,100000]

The ledger (SQLite, in a temporary folder) holds N heenberichten of the kinds the iWmo/iJw
deadline rules watch, as a busy region sends them: WMO301 toewijzingen received from a gemeente
(OP090: a WMO302 within 3 werkdagen), three in four answered by their retour; WMO315 verzoeken
(OP274: a WMO301 or WMO319 within 5 werkdagen); WMO305 starts (OP271: reported within 5
werkdagen after the Begindatum, read from the payload). The check runs 30 days after they were
recorded, over the default horizon, as the monitor and ``GET /v1/deadlines`` run it; it prints
the time of the first check, per message, and of the next one (the monitor remembers what is
settled: answered heenberichten, judged reports), and how many breaches it found (every
unanswered one, so the count is also a check that nothing past the first page was left out).
Unanswered heenberichten are re-checked every time (an answer may still come): this ledger,
with a quarter of the 301s and all 315s unanswered, is a worse case than a real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.adapter import Description, Registry
from gateway.config import load_settings
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event, LedgerOptions, Record, open_ledger
from gateway.ops.deadlines import Settled, breaches, deadlines_of
from gateway.ops.workdays import Calendar

GEMEENTE, AANBIEDER = "0363", "12345678"
START_305 = b"""<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo305/schema"
 xmlns:b="http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"><Client><StartProducten>
<StartProduct><Begindatum>%s</Begindatum><StatusAanlevering>1</StatusAanlevering></StartProduct>
</StartProducten></Client></Bericht>"""


def _type(code: str) -> MessageType:
    return MessageType("iwmo", code, "3.2")


def fill(ledger: object, count: int) -> tuple[int, int]:
    """``count`` heenberichten (and the retouren of three in four 301s); returns the breaches a
    check must find: (unanswered, reported late). Every unanswered 301 misses OP090; every 315
    misses OP090 (no 316) and OP274 (no 301/319); every 305 misses OP090 (no 306) and OP271
    (its Begindatum is months before it was sent)."""
    open_ones = late = 0
    records: list[Record] = []
    for index in range(count):
        kind = ("WMO301", "WMO301", "WMO301", "WMO315", "WMO305")[index % 5]
        inbound = kind == "WMO301"
        sender, receiver = (GEMEENTE, AANBIEDER) if inbound else (AANBIEDER, GEMEENTE)
        heen = Envelope(
            b"<Bericht/>" if kind != "WMO305" else START_305 % b"2026-01-05",
            Direction.INBOUND if inbound else Direction.OUTBOUND,
            message_type=_type(kind),
        )
        ident = f"B{index}"
        keys = {"BerichtIdentificatie": (ident,)}
        if kind == "WMO315":
            keys["ReferentieAanbieder"] = (f"VOT-{index}",)
        described = Description(sender, receiver, keys, (), kind != "WMO305", None)
        records += [
            Record(heen, Event.RECEIVED, payload=heen.body, detail={"direction": heen.direction}),
            Record(heen, Event.VALIDATED, detail={"publish": True}, description=described),
            Record(heen, Event.PUBLISHED),
            Record(heen, Event.DELIVERED),
        ]
        answered = kind == "WMO301" and index % 4 != 0
        if answered:
            retour = Envelope(b"<Bericht/>", Direction.OUTBOUND, message_type=_type("WMO302"))
            # the retour copies the heenbericht's header, BerichtIdentificatie included
            keys_retour = {"BerichtIdentificatie": (ident,), "IdentificatieRetour": (f"R{index}",)}
            told = Description(receiver, sender, keys_retour, (), False, ident)
            records += [
                Record(retour, Event.RECEIVED, payload=b"<r/>", detail={"direction": "outbound"}),
                Record(retour, Event.VALIDATED, detail={"publish": True}, description=told),
                Record(retour, Event.PUBLISHED),
                Record(retour, Event.DELIVERED),
            ]
        elif kind == "WMO301":
            open_ones += 1
        else:
            open_ones += 2 if kind == "WMO315" else 1
            late += kind == "WMO305"
        if len(records) >= 4000:
            ledger.append_many(records)  # type: ignore[attr-defined]
            records = []
    ledger.append_many(records)  # type: ignore[attr-defined]
    return open_ones, late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    settings = load_settings(env={})
    rules = deadlines_of(Registry.load(settings.adapters, settings))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{uuid.uuid4().hex}.sqlite3"
            ledger = open_ledger(f"sqlite:///{path}", "k", LedgerOptions())
            start = time.perf_counter()
            unanswered, late = fill(ledger, size)
            filled = time.perf_counter() - start
            settled: Settled = {}
            start = time.perf_counter()
            found = breaches(ledger, rules, Calendar(), now=later, settled=settled)
            took = time.perf_counter() - start
            start = time.perf_counter()
            again = breaches(ledger, rules, Calendar(), now=later, settled=settled)
            took_again = time.perf_counter() - start
            assert len(again) == len(found)
            answer_kind = sum(b.kind == "answer" for b in found)
            print(
                f"{size:>8,} messages (filled in {filled:5.1f} s): first check {took:6.2f} s "
                f"({took / size * 1e6:4.0f} us per message), the monitor's next "
                f"{took_again:6.2f} s; breaches: {answer_kind:,} unanswered (of {unanswered:,}), "
                f"{len(found) - answer_kind:,} reported late (of {late:,})"
            )
            ledger.close()


if __name__ == "__main__":
    main()
