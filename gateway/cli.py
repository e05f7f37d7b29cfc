"""The ``ketenpoort`` command.

- ``ketenpoort run``: HTTP ingress, workers, AMQP ingress, file drop and sweeper in one process.
- ``ketenpoort worker``: workers only (run several to compete on the same queues).
- ``ketenpoort topology declare|export``: declare the bus on the broker, or print it as RabbitMQ
  definitions JSON (``deploy/rabbitmq-definitions.json`` is this for the default settings).
- ``ketenpoort send FILE``: put one file through ingress (``--inbound``, ``--mapping M``).
- ``ketenpoort demo``: send the shipped sample messages (``examples/``) through the whole path
  and report (``--both-sides``: between a gemeente's and an aanbieder's gateway, ``demo.py``).
- ``ketenpoort import PATH... --ours CODE``: record messages exchanged before Ketenpoort (files,
  folders, zip or tar archives), so that the rules reading earlier messages know them
  (``imports.py``); prints progress and the rate on stderr.
- ``ketenpoort ledger ...``: verify, prove, checkpoint, search, retention
  (``commands/ledger.py``).
- ``ketenpoort messages ...``, ``ketenpoort identities new-key``: operations
  (``commands/messages.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import signal
import socket
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from examples import EXAMPLES
from gateway.adapter import Registry
from gateway.app import Gateway, topology_for
from gateway.arguments import (
    existing_file,
    existing_folder,
    existing_path,
    new_file,
    positive_float,
)
from gateway.bus.publisher import BrokerUnavailable, connect
from gateway.commands.ledger import add_ledger_commands
from gateway.commands.messages import add_messages_commands
from gateway.commands.monitor import add_monitor_commands, add_region_arguments, cmd_region_demo
from gateway.config import ConfigError, Settings, load_settings
from gateway.door import ANYONE, envelope_for
from gateway.envelope import Direction
from gateway.imports import ALREADY, IMPORTED, import_messages
from gateway.imports import REFUSED as REFUSED_IMPORT
from gateway.ledger import Entry, Event, Ledger, LedgerUnavailable
from gateway.logs import configure_logging, get_logger
from gateway.receive import ACCEPTED, REFUSED, Receipt
from gateway.service import Services

log = get_logger(__name__)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(path=args.config, on_this_machine=True)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def settle_memory() -> None:
    """Once a long-running process has loaded everything (adapters, schemas, rules), keep those
    objects out of the garbage collector's way: without this every full collection walks them
    again, a few percent of a worker's CPU at full load."""
    gc.collect()
    gc.freeze()


def _check_listen(host: str, port: int) -> None:
    """Before anything starts: the HTTP address can be listened on (it is not in use)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(
            f"http_host, http_port: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None


def server_options(settings: Settings) -> dict[str, Any]:
    """How ``ketenpoort run`` starts uvicorn. Forwarded headers are not applied by the server
    (uvicorn would believe ``X-Forwarded-For`` from loopback by default and so make any local
    process look like a trusted proxy): the client address is the connection's peer, and
    ``gateway/ops/auth.py`` believes a proxy's headers only from ``ops_trusted_proxies``."""
    return {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "server_header": False,
    }


def cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.ingress.http import make_app

    settings = _settings(args)
    from gateway.ops.auth import check_exposure

    try:
        check_exposure(settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    _check_listen(settings.http_host, settings.http_port)
    # uvicorn handles SIGTERM/SIGINT by shutting the server down, restoring the handlers it
    # found and raising the signal again: these handlers make that a no-op, so that after the
    # server stops, the workers finish the message in hand and the process exits cleanly.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    with Gateway(settings) as gateway:
        instance = gateway.ledger.lease("instance")
        if gateway.ledger.single_instance and not instance.acquire():
            raise LedgerUnavailable(
                f"another gateway (ketenpoort run) is running on the SQLite ledger "
                f"{settings.ledger_dsn.removeprefix('sqlite:///')}: SQLite serves one instance; "
                "for several, give them one postgresql:// ledger (setting ledger_url)"
            )
        gateway.declare_topology()
        with Services(gateway, operations=True):
            settle_memory()
            log.info("gateway.started", http=f"{settings.http_host}:{settings.http_port}")
            uvicorn.run(make_app(gateway), **server_options(settings))
        log.info("gateway.stopped")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        with Services(gateway, ingress=False, filedrop=False, sweeper=False):
            settle_memory()
            stop.wait()
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    settings = _settings(args)
    topology = topology_for(settings, Registry.load(settings.adapters, settings))
    if args.action == "export":
        text = json.dumps(topology.definitions(), indent=2) + "\n"
        if args.out:
            Path(args.out).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    connection = connect(settings.amqp_url, settings.amqp_connect_wait)
    try:
        topology.declare(connection.channel())
    finally:
        connection.close()
    print(f"declared {len(topology.queues())} queues under {topology.prefix}")
    return 0


def _send(gateway: Gateway, path: Path, direction: Direction, mapping: str | None) -> Receipt:
    envelope = envelope_for("cli", path.read_bytes(), direction, who=ANYONE)
    if mapping:
        standard, _, name = mapping.partition("/")
        return gateway.receiver.receive_mapped(envelope, standard, name)
    return gateway.receiver.receive(envelope)


def cmd_send(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = Path(args.file)
    if path.suffix == ".json" and not args.mapping:
        print("a JSON file needs --mapping, e.g. --mapping iwmo/toewijzing", file=sys.stderr)
        return 2
    direction = Direction.INBOUND if args.inbound else Direction.OUTBOUND
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        receipt = _send(gateway, path, direction, args.mapping)
    print(json.dumps(receipt.to_dict(), indent=2))
    return 0 if receipt.status != REFUSED else 1


ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


def _xml_files(paths: Sequence[str]) -> list[Path]:
    """The files named, the *.xml in the folders named (sorted), and the archives named."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        files += sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    return files


def _read(files: Sequence[Path]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each file, and of each *.xml member of an archive (``archive:member``),
    read one at a time."""
    for path in files:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if not member.is_dir() and member.filename.endswith(".xml"):
                        yield f"{path}:{member.filename}", archive.read(member)
        elif path.name.endswith(ARCHIVES):
            with tarfile.open(path, "r:*") as archive:
                for info in archive:
                    handle = archive.extractfile(info) if info.isfile() else None
                    if handle is not None and info.name.endswith(".xml"):
                        yield f"{path}:{info.name}", handle.read()
                    # tarfile keeps every member read (a million of them): let them go
                    archive.members = []  # type: ignore[attr-defined]
        else:
            yield str(path), path.read_bytes()


class Progress:
    """A line on stderr every few seconds: how many were read, imported, and the rate."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.start = self.last = time.monotonic()
        self.counts = {IMPORTED: 0, ALREADY: 0, REFUSED_IMPORT: 0}

    def add(self, status: str) -> None:
        self.counts[status] += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            print(self.line(), file=sys.stderr, flush=True)

    def line(self) -> str:
        done = sum(self.counts.values())
        seconds = max(time.monotonic() - self.start, 1e-9)
        return (
            f"{done:,} read: {self.counts[IMPORTED]:,} imported, {self.counts[ALREADY]:,} "
            f"imported before, {self.counts[REFUSED_IMPORT]:,} refused in {seconds:,.0f} s "
            f"({done / seconds:,.0f} messages/s)"
        )


def cmd_import(args: argparse.Namespace) -> int:
    """Record messages exchanged before Ketenpoort (``gateway/imports.py``)."""
    settings = _settings(args)
    files = _xml_files(args.paths)
    if not files:
        print(f"ketenpoort import: no *.xml in {' '.join(args.paths)}", file=sys.stderr)
        return 1
    progress = Progress()
    with Gateway(settings) as gateway:
        done = import_messages(
            gateway.ledger,
            gateway.registry,
            gateway.schemas,
            _read(files),
            frozenset(args.ours),
            settings.max_message_bytes,
        )
        for result in done:
            progress.add(result.status)
            if result.status == REFUSED_IMPORT:
                print(f"refused   {result.name}: {'; '.join(result.errors)}", file=sys.stderr)
            else:
                print(
                    f"{result.status:<9} {result.message_type} {result.direction:<8} "
                    f"{result.message_id}  {result.name}"
                )
    counts = progress.counts
    print(
        f"{counts[IMPORTED]} imported, {counts[ALREADY]} imported before, "
        f"{counts[REFUSED_IMPORT]} refused; {progress.line()}",
        file=sys.stderr,
    )
    return 1 if counts[REFUSED_IMPORT] else 0


# -- demo ------------------------------------------------------------------------------------


def _settled(ledger: Ledger, receipt: Receipt, direction: Direction) -> bool:
    """Whether the gateway has done all it will do with this message."""
    if receipt.status == REFUSED or not receipt.published:
        return receipt.status == REFUSED
    events = {e.event for e in ledger.history(receipt.message_id)}
    if Event.PARKED in events:
        return True
    if receipt.status == ACCEPTED and Event.DELIVERED not in events:
        return False
    if direction is Direction.INBOUND:
        retours = [e for e in ledger.history(receipt.message_id) if e.event is Event.RETOUR_SENT]
        if not retours:
            return False
        retour_events = {e.event for e in ledger.history(retours[-1].detail["retour_id"])}
        return Event.DELIVERED in retour_events
    return True


def _describe(entry: Entry) -> str:
    detail = dict(entry.detail)
    bits = []
    for key in ("stage", "to", "reference", "retour_id", "codes", "error", "reason"):
        if detail.get(key):
            bits.append(f"{key}={detail[key]}")
    if detail.get("findings"):
        bits.append("findings=" + ", ".join(f"{f['rule']}:{f['code']}" for f in detail["findings"]))
    return f"{entry.event.value:<12} {' '.join(bits)}"


def cmd_demo(args: argparse.Namespace) -> int:
    base = _settings(args)
    if args.region:
        return cmd_region_demo(args, base)
    examples = Path(args.examples) if args.examples else EXAMPLES
    if args.both_sides:  # two gateways, a gemeente's and an aanbieder's (``demo.py``)
        from gateway.demo import run_both_sides

        with tempfile.TemporaryDirectory(prefix="ketenpoort-demo-") as root:
            return run_both_sides(base, examples, Path(root), args.timeout)
    manifest = tomllib.loads((examples / "demo.toml").read_text())["message"]
    scratch = None
    settings = base
    if not args.keep_state:
        scratch = tempfile.TemporaryDirectory(prefix="ketenpoort-demo-")
        settings = dataclasses.replace(
            base,
            var_dir=Path(scratch.name),
            ledger_url="",
            bus_prefix=f"{base.bus_prefix}-demo-{uuid.uuid4().hex[:8]}",
        )
    failures = 0
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        results: list[tuple[dict[str, Any], Receipt, Direction]] = []
        with Services(gateway, workers=1, ingress=False, filedrop=False, sweeper=False):
            for item in manifest:
                direction = Direction(item["direction"])
                receipt = _send(gateway, examples / item["file"], direction, item.get("mapping"))
                results.append((item, receipt, direction))
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and not all(
                _settled(gateway.ledger, r, d) for _, r, d in results
            ):
                time.sleep(0.2)
        print(f"Ketenpoort demo: {len(results)} messages from {examples}/\n")
        for number, (item, receipt, direction) in enumerate(results, start=1):
            ok = receipt.status == item["expect"] and _settled(gateway.ledger, receipt, direction)
            failures += not ok
            print(f"{number}. {item['title']}")
            print(
                f"   file {item['file']} ({direction.value}) -> {receipt.status.upper()}"
                f"  {'ok' if ok else 'NOT AS EXPECTED: expected ' + item['expect']}"
            )
            print(f"   message {receipt.message_id}  {receipt.message_type or 'unidentified'}")
            for error in receipt.errors:
                print(f"   error: {error}")
            for finding in receipt.findings:
                print(
                    f"   rule {finding.rule} (retourcode {finding.code}) at {finding.path}: "
                    f"{finding.text}"
                )
            for entry in gateway.ledger.history(receipt.message_id):
                print(f"     - {_describe(entry)}")
                if entry.event is Event.RETOUR_SENT:
                    for sub in gateway.ledger.history(entry.detail["retour_id"]):
                        print(f"         retour {sub.code}: {_describe(sub)}")
            print()
        checkpoint = gateway.ledger.checkpoint(force=True)  # the demo's ledger, signed
        if checkpoint is not None:
            print(f"ledger checkpoint signed: the first {checkpoint.size} entries\n")
        if scratch is not None:
            connection = connect(settings.amqp_url)
            gateway.topology.delete(connection.channel())
            connection.close()
    if scratch is not None:
        scratch.cleanup()
    print("all messages came out as expected" if not failures else f"{failures} not as expected")
    return 0 if not failures else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ketenpoort", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML settings file (also KETENPOORT_CONFIG)")
    parser.add_argument(
        "--traceback", action="store_true", help="show where an unexpected error happened"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve ingress and run workers").set_defaults(func=cmd_run)
    sub.add_parser("worker", help="run workers only").set_defaults(func=cmd_worker)
    topology = sub.add_parser("topology", help="declare or export the RabbitMQ topology")
    topology.add_argument("action", choices=["declare", "export"])
    topology.add_argument(
        "--out", type=new_file, help="with export: write the definitions JSON here"
    )
    topology.set_defaults(func=cmd_topology)
    send = sub.add_parser("send", help="put one file through ingress")
    send.add_argument("file", type=existing_file)
    send.add_argument("--inbound", action="store_true", help="the file came from a counterpart")
    send.add_argument("--mapping", help="back-office JSON mapping, e.g. iwmo/toewijzing")
    send.set_defaults(func=cmd_send)
    imports = sub.add_parser(
        "import", help="record messages exchanged before Ketenpoort (for the rules' history)"
    )
    imports.add_argument(
        "paths",
        nargs="+",
        type=existing_path,
        help="XML files, folders read for *.xml, or archives (.zip, .tar, .tar.gz, .tgz)",
    )
    imports.add_argument(
        "--ours",
        action="append",
        required=True,
        help="a party code of this installation (repeatable): what it sent is outbound",
    )
    imports.set_defaults(func=cmd_import)
    demo = sub.add_parser("demo", help="send the sample messages through the whole path, report")
    demo.add_argument(
        "--examples", type=existing_folder, help="a folder with a demo.toml (default: the shipped)"
    )
    demo.add_argument("--timeout", type=positive_float, default=60.0)
    demo.add_argument(
        "--both-sides",
        action="store_true",
        help="a gemeente's and an aanbieder's gateway talking over the broker (both-sides.toml)",
    )
    demo.add_argument(
        "--keep-state",
        action="store_true",
        help="use the configured ledger and bus names instead of a private scratch set",
    )
    add_region_arguments(demo)
    demo.set_defaults(func=cmd_demo)
    add_ledger_commands(sub, _settings)
    add_messages_commands(sub, _settings)
    add_monitor_commands(sub, _settings)
    args = parser.parse_args(argv)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command, its failures as one line each on stderr: 2 for wrong settings, 1 when a
    service it needs is away or it failed otherwise, never a traceback (unless --traceback).
    An unexpected error shows only its type: its text might quote a message's contents."""
    command = " ".join(
        str(getattr(args, name)) for name in ("command", "action", "ledger_command") if name in args
    )
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        return 2
    except (BrokerUnavailable, LedgerUnavailable) as exc:
        print(f"ketenpoort {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ketenpoort {command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file it reads or writes
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"ketenpoort {command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.traceback:
            raise
        print(
            f"ketenpoort {command}: unexpected {type(exc).__name__}; this is a bug, please "
            "report it (with --traceback before the command, it shows where)",
            file=sys.stderr,
        )
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
