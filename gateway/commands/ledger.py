"""``ketenpoort ledger ...``: verify, prove, checkpoint, search and apply retention.

- ``verify``: recompute the whole tree and check every signed checkpoint and payload; exit 1 on
  any problem. ``--checkpoints FILE`` checks against an exported copy (default: the configured
  export file), ``--public-key`` lets an auditor verify without the private key.
- ``prove ENTRY``: inclusion proof (JSON) of entry number ENTRY, or of every entry of a message
  id, against the latest checkpoint covering it.
- ``consistency OLD [NEW]``: proof that the tree of OLD entries is a prefix of the one of NEW.
- ``check-proof FILE``: check a proof made by ``prove`` or ``consistency`` (``-`` = stdin).
- ``checkpoint``: sign and export a checkpoint now; ``--public-key`` prints the key auditors need.
- ``search``: messages by id, correlation id, business key, BSN (hashed), party, code, status,
  time range.
- ``retention``: apply the ``ledger.retention`` policies (``--dry-run`` lists what is due).
- ``recount``: rebuild the overview's counts from the entries (after an upgrade that added them).
- ``rebuild-domain``: refill the standards' domain tables (``ledger/domain.py``) from the recorded
  payloads (rows of messages whose payload was erased stay); ``verify`` compares them.
- ``backup DEST``: a consistent copy of the SQLite ledger (and its exported checkpoints), made
  while the gateway runs, then verified; for PostgreSQL use its own tools.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from gateway.adapter import Registry
from gateway.arguments import (
    existing_file,
    file_or_stdin,
    moment,
    name_value,
    non_negative_int,
    positive_int,
    public_key,
)
from gateway.config import Settings
from gateway.ledger import (
    LedgerError,
    Query,
    Status,
    counts,
    domain,
    ledger_from_settings,
    options_from_settings,
)
from gateway.ledger.audit import check_consistency, check_inclusion, consistency, inclusions, verify
from gateway.ledger.backup import BackupError, backup_sqlite
from gateway.ledger.checkpoint import Ed25519Verifier, Verifier, read_exported
from gateway.ledger.retention import apply, parse_policies
from gateway.ledger.sql import SqlLedger

SettingsLoader = Callable[[argparse.Namespace], Settings]


def _verifier(args: argparse.Namespace, ledger: SqlLedger) -> Verifier | None:
    if getattr(args, "public_key", None):
        return Ed25519Verifier.from_b64(args.public_key)
    return ledger.options.signer


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ledger:
        path = args.checkpoints or settings.ledger_checkpoint_path
        report = verify(
            ledger,
            verifier=_verifier(args, ledger),
            exported=read_exported(path),
            check_payloads=not args.no_payloads,
            check_states=not args.no_states,
            tables=None if args.no_states else _tabulating(settings),
        )
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def cmd_recount(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ledger:
        print(f"counts rebuilt: {counts.rebuild(ledger)} rows")
    return 0


def _tabulating(settings: Settings) -> dict[str, domain.Tabulates]:
    """The adapters that keep domain tables, by standard."""
    return dict(Registry.load(settings.adapters, settings).tabulating())


def cmd_rebuild_domain(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ledger:
        written = domain.rebuild(ledger, _tabulating(settings))
    for name, n in sorted(written.items()):
        print(f"domain table {name}: {n} rows")
    return 0


def cmd_prove(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ledger:
        if args.entry.isdigit():
            seqs = [int(args.entry)]
        else:
            seqs = [e.seq for e in ledger.history(args.entry)]
            if not seqs:
                print(f"no entries for message {args.entry}", file=sys.stderr)
                return 1
        try:
            proofs = inclusions(ledger, seqs, args.size)
        except ValueError as exc:  # an entry or size beyond the ledger
            print(f"ketenpoort ledger prove: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(proofs[0] if len(proofs) == 1 else proofs, indent=2))
    return 0


def cmd_consistency(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ledger:
        try:
            proof = consistency(ledger, args.old, args.new)
        except ValueError as exc:  # sizes beyond the ledger, or the old one the larger
            print(f"ketenpoort ledger consistency: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(proof, indent=2))
    return 0


def cmd_check_proof(args: argparse.Namespace, settings: Settings) -> int:
    not_a_proof = (
        f"ketenpoort ledger check-proof: {args.file} is not a proof made by "
        "`ketenpoort ledger prove` or `ketenpoort ledger consistency`"
    )
    data: Any
    try:
        if args.file == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as file:
                data = json.load(file)
    except ValueError:  # not UTF-8, not JSON
        print(not_a_proof, file=sys.stderr)
        return 1
    verifier: Verifier | None
    if args.public_key:
        verifier = Ed25519Verifier.from_b64(args.public_key)
    else:
        with _open(settings) as ledger:
            verifier = ledger.options.signer
    problems: list[str] = []
    try:
        for proof in data if isinstance(data, list) else [data]:
            check = check_consistency if "old_size" in proof else check_inclusion
            problems += check(proof, verifier)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):  # fields not a proof's
        print(not_a_proof, file=sys.stderr)
        return 1
    print("\n".join(problems) if problems else "proof holds")
    return 1 if problems else 0


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    if args.public_key:  # the key alone: an auditor may ask before the ledger holds anything
        signer = options_from_settings(settings).signer
        if not isinstance(signer, Ed25519Verifier):
            print("the checkpoint key is not an Ed25519 key", file=sys.stderr)
            return 1
        print(signer.public_b64)
        return 0
    with _open(settings) as ledger:
        try:
            checkpoint = ledger.checkpoint(force=True)
        except LedgerError as exc:  # a tail changed without its leaf hash: not signed
            print(f"ketenpoort ledger checkpoint: {exc}", file=sys.stderr)
            return 1
    if checkpoint is None:
        print("nothing new to sign (or another process is signing it now)")
    else:
        print(checkpoint.to_json())
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    keys = dict(args.key or [])
    if args.bsn:
        keys["bsn"] = getpass.getpass("BSN: ") if args.bsn == "-" else args.bsn
    query = Query(
        message_id=args.message_id,
        correlation_id=args.correlation_id,
        keys=keys,
        party=args.party,
        code=args.code,
        status=Status(args.status) if args.status else None,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    with _open(settings) as ledger:
        found = ledger.search(query)
    if args.json:
        print(json.dumps([asdict(s) for s in found], indent=2))
        return 0
    for s in found:
        answer = f" answered-by={s.answered_by}" if s.answered_by else ""
        print(
            f"{s.first_at}  {s.message_id}  {s.route:<24} {s.status:<20} "
            f"{s.sender or '-'} -> {s.receiver or '-'}{answer}"
        )
    print(f"{len(found)} message(s)", file=sys.stderr)
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    policies = parse_policies(settings.ledger_retention)
    if not policies:
        print("no retention policies configured (setting ledger.retention)")
        return 0
    with _open(settings) as ledger:
        result = apply(ledger, policies, dry_run=args.dry_run)
    if args.dry_run:
        print(f"{len(result.messages)} message(s) due: " + " ".join(result.messages))
    else:
        print(
            f"payloads erased: {result.payloads_erased}; messages redacted: "
            f"{result.messages_redacted} ({result.entries_redacted} entries)"
        )
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    dsn = settings.ledger_dsn
    if not dsn.startswith("sqlite:///"):
        print(
            "the ledger is on PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or "
            "base backups with WAL archiving); keep the exported checkpoints "
            f"({settings.ledger_checkpoint_path}) with it",
            file=sys.stderr,
        )
        return 2
    try:
        made = backup_sqlite(
            dsn.removeprefix("sqlite:///"),
            args.destination,
            settings.ledger_checkpoint_path,
            settings.bsn_hash_key,
            options_from_settings(settings),
        )
    except BackupError as exc:
        print(f"backup refused: {exc}", file=sys.stderr)
        return 2
    print(f"backup: {made.database}")
    if made.checkpoints is not None:
        print(f"exported checkpoints: {made.checkpoints}")
    print("\n".join(made.report.lines()))
    if not settings.ledger_checkpoint_key:
        print(
            f"keep the checkpoint key {settings.ledger_key_path} (once, somewhere safe, like the "
            "settings): a restored ledger is verified and signed on with it"
        )
    return 0 if made.report.ok else 1


class _open:
    """The installation's ledger, which must be there: a command reading it under a wrong
    ``var_dir`` or ``ledger_url`` must not make an empty one and report on that."""

    def __init__(self, settings: Settings) -> None:
        self.ledger = ledger_from_settings(settings, create=False)

    def __enter__(self) -> SqlLedger:
        return self.ledger

    def __exit__(self, *exc: object) -> None:
        self.ledger.close()


def add_ledger_commands(sub: Any, load: SettingsLoader) -> None:
    """Register ``ketenpoort ledger ...`` on the main parser's subparsers."""
    ledger = sub.add_parser("ledger", help="verify, prove, search the ledger; apply retention")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], text: str) -> Any:
        parser = commands.add_parser(name, help=text)
        parser.set_defaults(func=lambda args: handler(args, load(args)))
        return parser

    p = add("verify", cmd_verify, "recompute the tree; check every checkpoint and payload")
    p.add_argument(
        "--checkpoints", type=existing_file, help="exported checkpoints file to check against"
    )
    p.add_argument(
        "--public-key", type=public_key, help="Ed25519 public key (base64) to check signatures"
    )
    p.add_argument("--no-payloads", action="store_true", help="skip re-hashing the payloads")
    p.add_argument("--no-states", action="store_true", help="skip rebuilding every message's state")
    add("recount", cmd_recount, "rebuild the overview's counts from the entries")
    add("rebuild-domain", cmd_rebuild_domain, "refill the domain tables from the payloads")
    p = add("prove", cmd_prove, "inclusion proof of an entry number or of a message's entries")
    p.add_argument("entry", help="entry number (seq) or message id")
    p.add_argument(
        "--size", type=positive_int, help="tree size to prove against (a checkpoint's size)"
    )
    p = add("consistency", cmd_consistency, "proof that an older tree is a prefix of a newer")
    p.add_argument("old", type=non_negative_int)
    p.add_argument("new", type=non_negative_int, nargs="?")
    p = add("check-proof", cmd_check_proof, "check a proof made by prove or consistency")
    p.add_argument("file", type=file_or_stdin, help="proof JSON file, or - for stdin")
    p.add_argument("--public-key", type=public_key, help="Ed25519 public key (base64)")
    p = add("checkpoint", cmd_checkpoint, "sign and export a checkpoint now")
    p.add_argument("--public-key", action="store_true", help="print the public key instead")
    p = add("search", cmd_search, "find messages")
    p.add_argument("--message-id")
    p.add_argument("--correlation-id")
    p.add_argument(
        "--key", action="append", type=name_value, help="business key, e.g. ToewijzingNummer=101"
    )
    p.add_argument("--bsn", help="a BSN (looked up as its keyed hash); - to type it unseen")
    p.add_argument("--party", help="sender or receiver code")
    p.add_argument("--code", help="message code, e.g. WMO301")
    p.add_argument("--status", choices=[s.value for s in Status])
    p.add_argument("--since", type=moment, help="ISO 8601 time, inclusive")
    p.add_argument("--until", type=moment, help="ISO 8601 time, exclusive")
    p.add_argument("--limit", type=positive_int, default=100)
    p.add_argument("--json", action="store_true")
    p = add("retention", cmd_retention, "apply the retention policies")
    p.add_argument("--dry-run", action="store_true")
    p = add("backup", cmd_backup, "a verified copy of the SQLite ledger, taken while it runs")
    p.add_argument("destination", help="the new file to write (never overwritten)")
