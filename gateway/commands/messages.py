"""``ketenpoort messages ...`` and ``ketenpoort identities ...``: the dashboard's actions from a
shell (the same functions, recorded the same way, as ``cli:<user>``).

::

    ketenpoort messages list [--status parked] [--code WMO301] [--party 0599] [--key NAME=VALUE]
                             [--bsn -] [--since ISO] [--until ISO] [--limit N] [--json]
    ketenpoort messages show ID [--json]
    ketenpoort messages replay ID [--reason TEXT]
    ketenpoort messages replay --all [--status parked] [--code ...] [--party ...] [--key ...]
                               [--reason TEXT] [--rate N]          # a bulk job, with progress
    ketenpoort messages replay --resume JOB [--rate N]
    ketenpoort messages discard ID --reason TEXT
    ketenpoort messages jobs
    ketenpoort identities new-key NAME [--roles viewer+operator] [--parties 0599]
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from gateway.arguments import moment, name_value, positive_float, positive_int
from gateway.config import Settings
from gateway.ledger import Query, Status, ledger_from_settings, no_sqlite_ledger
from gateway.ops import messages as ops
from gateway.ops import replay as jobs
from gateway.ops.auth import identity_line, new_key
from gateway.ops.messages import NotAllowed, NotFound

SettingsFn = Callable[[argparse.Namespace], Settings]


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


class ProgressBar:
    """One line on a terminal: ``[#####.....] 12/40 replayed 11, skipped 1``."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width

    def __call__(self, progress: jobs.Progress) -> None:
        total = max(progress.total, 1)
        filled = int(self.width * progress.done / total)
        self.out.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {progress.done}/{progress.total} "
            f"replayed {progress.replayed}, skipped {progress.skipped}"
        )
        self.out.flush()


def _print_states(states: list[Any]) -> None:
    print(f"{'message':36}  {'code':8}  {'status':20}  {'from':9}  {'to':9}  first seen")
    for s in states:
        print(
            f"{s.message_id:36}  {s.code or '-':8}  {s.status.value:20}  {s.sender or '-':9}  "
            f"{s.receiver or '-':9}  {s.first_at[:19]}"
        )


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    keys = dict(args.key)
    if args.bsn:
        keys["bsn"] = getpass.getpass("BSN: ") if args.bsn == "-" else args.bsn
    query = Query(
        status=Status(args.status) if args.status else None,
        code=args.code,
        party=args.party,
        keys=keys,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    ledger = ledger_from_settings(settings, create=False)
    try:
        found = ops.search(ledger, query)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps([ops.state_dict(s) for s in found], indent=2))
    else:
        _print_states(found)
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    ledger = ledger_from_settings(settings, create=False)
    try:
        message = ops.get(ledger, args.id)
    except NotFound:
        print(f"no message {args.id}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(message.to_dict(), indent=2))
        return 0
    s = message.state
    print(f"{s.code or 'unidentified'} {s.message_id}  {s.status.value}")
    print(f"route {s.route}  from {s.sender or '-'} to {s.receiver or '-'}  verdict {s.verdict}")
    for entry in message.history:
        detail = {k: v for k, v in entry.detail.items() if k not in ("findings", "failures")}
        print(f"  {entry.seq:>6} {entry.at[:23]} {entry.event.value:<12} {json.dumps(detail)}")
    if message.retour is not None:
        r = message.retour
        print(f"retour {r.code} {r.message_id}  {r.status.value}")
        for entry in message.retour_history:
            print(f"  {entry.seq:>6} {entry.at[:23]} {entry.event.value}")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import Gateway

    missing = no_sqlite_ledger(settings.ledger_dsn)
    if missing is not None:  # the gateway would start an empty one
        raise missing
    with Gateway(settings) as gateway:
        gateway.declare_topology()
        rate = args.rate if args.rate is not None else settings.ops_replay_rate
        if args.id:
            try:
                state = ops.replay(gateway.ledger, gateway.publish, args.id, _who(), args.reason)
            except NotFound:
                print(f"no message {args.id}", file=sys.stderr)
                return 1
            except NotAllowed as exc:
                print(f"not replayed: {exc}", file=sys.stderr)
                return 1
            print(f"replayed {args.id}: {state.status.value}")
            return 0
        if args.resume:
            job_id = args.resume
        else:
            job_filter = jobs.Filter(
                status=args.status,
                code=args.code,
                party=args.party,
                keys=dict(args.key),
                since=args.since,
                until=args.until,
            )
            try:
                job = jobs.create(gateway.ledger, _who(), job_filter, args.reason)
            except NotAllowed as exc:
                print(str(exc), file=sys.stderr)
                return 1
            job_id = job.job_id
            print(f"job {job_id}: {job.total} messages", file=sys.stderr)
        try:
            progress = jobs.run(
                gateway.ledger,
                gateway.publish,
                job_id,
                _who(),
                rate=rate,
                progress=ProgressBar(sys.stderr),
            )
        except NotFound:
            print(f"no job {job_id}", file=sys.stderr)
            return 1
        print(file=sys.stderr)
        for error in progress.errors:
            print(f"  {error}", file=sys.stderr)
        print(
            json.dumps(
                {
                    "job_id": job_id,
                    "total": progress.total,
                    "replayed": progress.replayed,
                    "skipped": progress.skipped,
                    "finished": progress.done == progress.total,
                }
            )
        )
        return 0 if progress.done == progress.total else 1


def cmd_discard(args: argparse.Namespace, settings: Settings) -> int:
    ledger = ledger_from_settings(settings, create=False)
    try:
        state = ops.discard(ledger, args.id, _who(), args.reason)
    except NotFound:
        print(f"no message {args.id}", file=sys.stderr)
        return 1
    except NotAllowed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        ledger.close()
    print(f"discarded {args.id}: {state.status.value}")
    return 0


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    ledger = ledger_from_settings(settings, create=False)
    try:
        for job in jobs.jobs(ledger, limit=args.limit):
            print(
                f"{job.job_id}  {job.created}  {job.by:20}  {len(job.replayed)}/{job.total}"
                f"  {job.reason}"
            )
    finally:
        ledger.close()
    return 0


def cmd_new_key(args: argparse.Namespace) -> int:
    key = new_key()
    roles = [r for r in args.roles.split("+") if r] if args.roles else []
    parties = [p for p in args.parties.split("+") if p] if args.parties else []
    try:
        line = identity_line(args.name, key, roles, parties)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"API key for {args.name} (give it to them; it is not stored anywhere):\n  {key}")
    print(f"Add this line to ops.identities (TOML) or KETENPOORT_OPS_IDENTITIES:\n  {line}")
    return 0


def _filters(parser: argparse.ArgumentParser, status_default: str | None) -> None:
    parser.add_argument("--status", default=status_default, choices=[s.value for s in Status])
    parser.add_argument("--code", help="message code, e.g. WMO301")
    parser.add_argument("--party", help="sender or receiver code")
    parser.add_argument(
        "--key", action="append", type=name_value, default=[], help="business key NAME=VALUE"
    )
    parser.add_argument("--since", type=moment, help="first seen at or after (ISO 8601)")
    parser.add_argument("--until", type=moment, help="first seen before (ISO 8601)")


def add_messages_commands(sub: Any, settings: SettingsFn) -> None:
    def with_settings(command: Callable[[argparse.Namespace, Settings], int]) -> Any:
        return lambda args: command(args, settings(args))

    messages = sub.add_parser("messages", help="list, show, replay and discard messages")
    actions = messages.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="messages matching a filter, newest first")
    _filters(listing, None)
    listing.add_argument("--bsn", help="a BSN, or - to be asked for it without echo")
    listing.add_argument("--limit", type=positive_int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=with_settings(cmd_list))
    show = actions.add_parser("show", help="a message's state, history and retour")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=with_settings(cmd_show))
    replay = actions.add_parser("replay", help="replay one message, or all matching as a job")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="one message id")
    which.add_argument("--all", action="store_true", help="every message matching the filter")
    which.add_argument("--resume", metavar="JOB", help="continue a bulk replay job")
    _filters(replay, Status.PARKED.value)
    replay.add_argument("--reason", default="")
    replay.add_argument("--rate", type=positive_float, help="messages per second (ops_replay_rate)")
    replay.set_defaults(func=with_settings(cmd_replay))
    discard = actions.add_parser("discard", help="give up on a message, with a reason")
    discard.add_argument("id")
    discard.add_argument("--reason", required=True)
    discard.set_defaults(func=with_settings(cmd_discard))
    listing_jobs = actions.add_parser("jobs", help="recent bulk replay jobs")
    listing_jobs.add_argument("--limit", type=positive_int, default=20)
    listing_jobs.set_defaults(func=with_settings(cmd_jobs))

    identities = sub.add_parser("identities", help="API keys for identities")
    id_actions = identities.add_subparsers(dest="action", required=True)
    new = id_actions.add_parser("new-key", help="make an API key and its settings line")
    new.add_argument("name")
    new.add_argument("--roles", default="", help="e.g. viewer+payload-viewer+operator")
    new.add_argument("--parties", default="", help="codes it may send as, e.g. 0599")
    new.set_defaults(func=cmd_new_key)
