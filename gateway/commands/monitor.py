"""``ketenpoort monitor`` (the social-domain figures as CSV, XLSX or JSON, each export recorded)
and ``ketenpoort demo --region`` (a synthetic year of a small region in the ledger)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.adapter import Registry
from gateway.arguments import positive_int
from gateway.config import Settings
from gateway.ledger import ledger_from_settings
from gateway.logs import configure_logging
from gateway.ops.facts import FactTable
from gateway.ops.monitor import parse_peildata
from gateway.ops.monitor_export import FORMATS, export

SettingsFn = Callable[[argparse.Namespace], Settings]

# The standards the region demo writes: iWmo (the default adapter) and iPgb (the SVB's).
REGION_ADAPTERS = ("adapters.istandaarden", "adapters.svb")


def _who() -> str:
    """Who runs the command, as the ledger records it (as ``ketenpoort messages`` does)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _peildata(text: str) -> Any:
    try:
        return parse_peildata(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_monitor(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "xlsx" and not args.out:
        print("monitor: an xlsx goes to a file: --out monitor.xlsx", file=sys.stderr)
        return 1
    ledger = ledger_from_settings(settings, create=False)
    try:
        registry = Registry.load(settings.adapters, settings)
        _, body = export(
            ledger,
            FactTable(ledger, registry, settings.bsn_hash_key),
            _who(),
            args.peildatum,
            args.format,
            "cli",
            products=args.products,
        )
    finally:
        ledger.close()
    if args.out:
        Path(args.out).write_bytes(body)
        print(f"monitor: {len(body)} bytes written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
    return 0


def cmd_region_demo(args: argparse.Namespace, base: Settings) -> int:
    """Fill the configured ledger with a synthetic year of a small region (imported)."""
    from examples.region import GEMEENTEN, Region
    from gateway.imports import IMPORTED, import_messages
    from gateway.validate import SchemaCache

    configure_logging(base.log_format, "warning")  # not a line per imported message
    adapters = tuple(dict.fromkeys((*base.adapters, *REGION_ADAPTERS)))
    settings = dataclasses.replace(base, adapters=adapters)
    registry = Registry.load(settings.adapters, settings)
    ledger = ledger_from_settings(settings)
    started = time.monotonic()
    try:
        region = Region(clients=args.clients, aanbieders=args.aanbieders, seed=args.seed)
        counts: dict[str, int] = {}
        for result in import_messages(
            ledger,
            registry,
            SchemaCache(),
            region.messages(),
            frozenset(GEMEENTEN),
            settings.max_message_bytes,
        ):
            counts[result.status] = counts.get(result.status, 0) + 1
            done = sum(counts.values())
            if done % 5000 == 0:
                print(f"region demo: {done} messages recorded", file=sys.stderr)
            if result.status not in (IMPORTED, "already"):
                print(f"refused {result.name}: {'; '.join(result.errors)}", file=sys.stderr)
    finally:
        ledger.close()
    print(
        f"region demo: {len(GEMEENTEN)} gemeenten, {args.aanbieders} aanbieders, "
        f"{args.clients} clienten; messages: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f" ({time.monotonic() - started:.0f} s)",
    )
    print("figures: ketenpoort monitor --peildatum 2026-03-31,2026-06-30,2026-09-30,2026-12-31")
    if "adapters.svb" not in base.adapters:
        print("(add adapters.svb to the setting adapters to see the PGB figures in the gateway)")
    return 0 if counts.get("refused", 0) == 0 else 1


def add_monitor_commands(sub: Any, settings: SettingsFn) -> None:
    monitor = sub.add_parser(
        "monitor", help="social-domain figures per gemeente and product group (aggregates only)"
    )
    monitor.add_argument(
        "--peildatum",
        required=True,
        type=_peildata,
        help="one or more dates, comma-separated (quarter ends: 2026-03-31,2026-06-30)",
    )
    monitor.add_argument("--format", choices=FORMATS, default="csv")
    monitor.add_argument("--products", action="store_true", help="split by product code too")
    monitor.add_argument("--out", help="write to this file (required for xlsx)")
    monitor.set_defaults(func=lambda args: cmd_monitor(args, settings(args)))


def add_region_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--region",
        action="store_true",
        help="instead: fill the configured ledger (give it a var_dir of its own) with a "
        "synthetic year of a small region, for the monitor",
    )
    demo.add_argument("--clients", type=positive_int, default=10_000, help="with --region")
    demo.add_argument("--aanbieders", type=positive_int, default=50, help="with --region")
    demo.add_argument("--seed", type=int, default=17, help="with --region")
