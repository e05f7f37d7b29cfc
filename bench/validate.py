"""Validation throughput and memory: identify + XSD + rules beside bare lxml, in the same run.

Prints, for a typical WMO301 (examples/WMO301-ontvangen.xml: one client, one toewijzing) and a
typical JW323 (20 clients x 5 prestaties), messages/s of

- bare: ``etree.fromstring`` + ``XMLSchema.validate`` of the same bytes (the floor);
- ours: the gateway's path without the ledger write: safe parse, identify, XSD, decode, every
  rule (state rules against an empty state: they look, find nothing; ``--ledger`` runs them
  against a SQLite ledger holding the toewijzingen the declaratie refers to);

and the ratio ours/bare. Then a ~25 MB JW323 read streaming (identify from the first element,
iterparse with the XSD attached, rules per client) in a fresh process, with its wall time and
peak RSS, beside a bare lxml parse + validate of the same file in another fresh process; with
``--ledger`` its toewijzingen are in a SQLite ledger first (one JW301 of ten products per
client), as at a real month end. Wall and CPU time of both: on a shared machine CPU is steadier.

Under each ratio: the microseconds per message of ours and of each of its steps alone (parse,
identify, XSD, decode to the canonical dict with its class index, rules).

Run: ``.venv/bin/python bench/validate.py [--seconds 2] [--size-mb 25] [--ledger]``.
Targets (issue #3): within 1.5x of bare lxml for the WMO301; 25 MB JW323 under 200 MB peak RSS.
Issue 16: the 26 MB JW323 against its toewijzingen within 3x bare lxml, under 200 MB peak RSS.
December 2026, CPU time, main and this one after the other on the shared two cores (load
average 1.2-2.2, ten pairs): before (branch bigdecl) 3.7-5.8 s against bare 0.37-0.54 s, median
11.3x, 178 MB; after, each Prestatie's facts read once per part (``facts.py``), TR101 without
``repr`` and the toewijzingen looked up once per part: 2.8-4.3 s, median 8.8x (the streamed path
23% less CPU, pair by pair), 176 MB. What is left, in CPU of the streamed path: the parse with
the XSD attached alone is ~1.5x bare (0.55 s); decoding each client to its dict ~0.35 s; the
ledger ~0.75 s (the lookahead's queries ~0.3 s of it, building the toewijzingen ~0.25 s); some
thirty rules and folds at 0.01-0.1 s each, the collector ~0.17 s, the read-model rows ~0.12 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.istandaarden.adapter import IStandaardenAdapter  # noqa: E402
from adapters.istandaarden.catalogue import Bericht  # noqa: E402
from adapters.lib.istandaard import codec  # noqa: E402
from gateway.adapter import Registry  # noqa: E402
from gateway.identify import identify, identify_bytes  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.validate import SchemaCache, validate, validate_stream  # noqa: E402
from gateway.xmlsafe import parse  # noqa: E402
from tools.istd_samples import declaratie, declaratie_of_size, toewijzingen_301  # noqa: E402

TODAY = dt.date(2026, 11, 22)
LIMIT = 30 * 1024 * 1024


def peak_mb() -> float:
    """This process's peak resident set (VmHWM), in MB. Not ``ru_maxrss``: that one keeps the
    parent's high-water mark across fork and exec, so a child would report its parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(fn: Callable[[], object], seconds: float) -> float:
    fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / elapsed


def compare(name: str, body: bytes, seconds: float, state: object) -> None:
    adapter = IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]
    registry = Registry([adapter])
    schemas = SchemaCache()
    doc = parse(body, LIMIT)
    owner, message_type = identify(doc, registry)
    schema = schemas.get(owner, message_type)
    verdict = validate(doc, message_type, owner, schemas, state)  # type: ignore[arg-type]
    assert verdict.schema_valid, verdict.schema_errors

    def bare() -> None:
        schema.validate(etree.fromstring(body).getroottree())

    def ours() -> None:
        tree = parse(body, LIMIT)
        adapter_, type_ = identify(tree, registry)
        validate(tree, type_, adapter_, schemas, state)  # type: ignore[arg-type]

    bare_rate, our_rate = rate(bare, seconds), rate(ours, seconds)
    rules = sorted({f.rule for f in verdict.findings}) or ["none"]
    print(
        f"{name:<28} {len(body):>9,} B  bare {bare_rate:>9,.0f} msg/s  "
        f"ours {our_rate:>9,.0f} msg/s  ratio {bare_rate / our_rate:4.2f}x  "
        f"(rules fired: {', '.join(rules)})"
    )
    # Where ours goes, step by step on the parsed tree. Each step alone runs with warm caches;
    # one after the other in the whole path they cost more (about 30% for a WMO301), so the
    # steps add up to less than ours.
    bericht = Bericht(message_type.standard, int(message_type.code[-3:]))
    data, index = codec.decode_message_indexed(doc.getroot(), bericht)
    steps = {
        "parse": lambda: parse(body, LIMIT),
        "identify": lambda: identify(doc, registry),
        "XSD": lambda: schema.validate(doc),
        "decode": lambda: codec.decode_message_indexed(doc.getroot(), bericht),
        "rules": lambda: owner.check_data(bericht, data, state, dict(index)),  # type: ignore[attr-defined]
    }
    spent = {step: 1e6 / rate(fn, seconds / 4) for step, fn in steps.items()}
    print(
        f"{'':<28} us per message: ours {1e6 / our_rate:.0f} = "
        + ", ".join(f"{step} {us:.1f}" for step, us in spent.items())
        + f" (bare {1e6 / bare_rate:.0f})"
    )


def child_stream(path: str, ledger_url: str | None) -> None:
    """In a fresh process: the streaming path on one large file; print JSON figures.
    ``ledger_url``: the rules read the toewijzingen from this ledger (else: empty state)."""
    from gateway.ledger import open_ledger

    body = Path(path).read_bytes()
    state = open_ledger(ledger_url, "bench") if ledger_url else None
    adapter = IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]
    registry = Registry([adapter])
    codec.shape(Bericht("ijw", 323))  # start-up work (schema introspection), not per message
    before = peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    owner, message_type = identify_bytes(body, registry, LIMIT)
    tag = owner.record_tag(message_type)
    assert tag is not None
    verdict, description = validate_stream(
        body,
        message_type,
        owner,
        SchemaCache(),
        state,  # type: ignore[arg-type]
        LIMIT,
        tag,  # type: ignore[arg-type]
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert verdict.schema_valid and description is not None
    peak = peak_mb()
    figures = {"seconds": elapsed, "cpu": cpu, "peak_mb": peak, "before_mb": before}
    figures |= {"findings": len(verdict.findings), "subjects": len(description.subjects)}
    print(json.dumps(figures))


def child_bare(path: str) -> None:
    """In a fresh process: bare lxml parse + validate of one large file."""
    body = Path(path).read_bytes()
    schema = etree.XMLSchema(etree.parse(str(Bericht("ijw", 323).schema_path)))
    start, cpu = time.perf_counter(), time.process_time()
    parser = etree.XMLParser(huge_tree=True)
    valid = schema.validate(etree.fromstring(body, parser).getroottree())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert valid
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb()}))


def large(size_mb: float, with_ledger: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "JW323.xml"
        body = declaratie_of_size("ijw", int(size_mb * 1024 * 1024))
        path.write_bytes(body)
        size = path.stat().st_size
        extra = []
        if with_ledger:  # its toewijzingen recorded, as at a real month end
            clients = body.count(b"<jw323:Client>")
            ledger_state(clients, 10, Path(folder))
            extra = ["--child-ledger", f"sqlite:///{Path(folder) / 'bench.sqlite3'}"]
        figures = {}
        for mode in ("stream", "bare"):
            out = subprocess.run(
                [sys.executable, __file__, f"--child-{mode}", str(path)]
                + (extra if mode == "stream" else []),
                check=True,
                capture_output=True,
                text=True,
            )
            figures[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        s, b = figures["stream"], figures["bare"]
        where = "toewijzingen in a SQLite ledger" if with_ledger else "empty state"
        print(
            f"JW323 streaming ({where}) {size / 1e6:5.1f} MB: {s['seconds']:.2f} s "
            f"({s['cpu']:.2f} s CPU), peak RSS "
            f"{s['peak_mb']:.0f} MB (before parsing, with the bytes read and the adapter loaded: "
            f"{s['before_mb']:.0f} MB), {s['findings']} findings, {s['subjects']} clients"
        )
        print(
            f"JW323 bare lxml  {size / 1e6:5.1f} MB: {b['seconds']:.2f} s "
            f"({b['cpu']:.2f} s CPU), peak RSS "
            f"{b['peak_mb']:.0f} MB (one tree, XSD only, no rules)"
        )
        print(
            f"JW323 ratio ours/bare: {s['seconds'] / b['seconds']:.2f}x wall, "
            f"{s['cpu'] / b['cpu']:.2f}x CPU (on a shared machine CPU time is the steadier)"
        )


def ledger_state(clients: int, prestaties: int, folder: Path) -> object:
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import Receiver

    ledger = open_ledger(f"sqlite:///{folder / 'bench.sqlite3'}", "bench")
    adapter = IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]
    receiver = Receiver(Registry([adapter]), SchemaCache(), ledger, lambda e: None, LIMIT)
    configure_logging(level="warning")
    for body in toewijzingen_301(clients, prestaties):
        receipt = receiver.receive(Envelope(body=body, direction=Direction.OUTBOUND))
        assert receipt.status == "accepted", receipt
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--size-mb", type=float, default=25.0, help="the large JW323")
    parser.add_argument("--ledger", action="store_true", help="state rules on a SQLite ledger")
    parser.add_argument("--child-stream")
    parser.add_argument("--child-bare")
    parser.add_argument("--child-ledger")
    args = parser.parse_args()
    if args.child_stream:
        return child_stream(args.child_stream, args.child_ledger)
    if args.child_bare:
        return child_bare(args.child_bare)

    wmo301 = (ROOT / "examples" / "WMO301-ontvangen.xml").read_bytes()
    jw323 = declaratie("ijw", clients=20, prestaties=5)
    with tempfile.TemporaryDirectory() as folder:
        state = ledger_state(20, 5, Path(folder)) if args.ledger else None
        where = "SQLite ledger" if args.ledger else "empty state"
        print(f"identify + XSD + rules ({where}) beside bare lxml parse + XMLSchema.validate")
        compare("WMO301 (1 client, 1 product)", wmo301, args.seconds, state)
        compare("JW323 (20 clients x 5)", jw323, args.seconds, state)
    large(args.size_mb, args.ledger)


if __name__ == "__main__":
    main()
