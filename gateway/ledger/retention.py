"""Retention: erase what the law says must go, keep what proves the ledger.

A policy is ``<standard>[@<party>]:<what>=<age>``. ``standard`` ``*`` means every standard
(also messages never identified); ``@<party>`` limits it to messages from or to one party (a
municipality's own policy, e.g. ``iwmo@0363:payload=365d``); ``what`` is ``payload`` (the raw
bytes) or ``traffic`` (the raw bytes and the personal traffic data of the entries: parties,
detail, business keys); ``age`` counts from the message's last activity: ``24h``, ``180d``,
``6mo`` (30 days a month), ``2w``, ``90m``. Only settled messages are touched (delivered,
answered, failed, discarded); parked ones and ones in flight keep everything. Examples:
``corv:payload=24h``, ``corv:traffic=6mo``, ``iwmo:payload=365d``.

Every erasure first records an ``erased`` entry on the message (which payloads, which entries
with their private digests, which policy), signed with the checkpoint key (``erasure.py``),
then empties the payload (its row and hash stay) or redacts those entries (their leaf hashes
stay, see ``records.py``). So the Merkle tree never changes and every proof keeps verifying,
and ``ledger verify`` accepts no erasure it did not sign.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.ledger import Event, LedgerError, erasure
from gateway.ledger.sql import SqlLedger, now
from gateway.ledger.state import SETTLED

_AGE = re.compile(r"^(\d+)(m|h|d|w|mo)$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}
_POLICY = re.compile(r"^([A-Za-z0-9_.-]+|\*)(?:@([A-Za-z0-9_.-]+))?:(payload|traffic)=(\S+)$")


@dataclass(frozen=True)
class Policy:
    standard: str
    what: str  # "payload" or "traffic"
    age: timedelta
    party: str = ""  # sender or receiver; empty = any

    def __str__(self) -> str:
        party = f"@{self.party}" if self.party else ""
        return f"{self.standard}{party}:{self.what}={int(self.age.total_seconds())}s"


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match:
        raise ValueError(f"retention age {text!r}: use e.g. 90m, 24h, 180d, 2w or 6mo")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def parse_policies(texts: Iterable[str]) -> list[Policy]:
    policies = []
    for text in texts:
        match = _POLICY.match(text.strip())
        if not match:
            raise ValueError(
                f"retention policy {text!r}: use <standard>[@<party>]:<payload|traffic>=<age>, "
                "e.g. corv:payload=24h"
            )
        policies.append(Policy(match[1], match[3], parse_age(match[4]), match[2] or ""))
    return policies


@dataclass
class Result:
    payloads_erased: int = 0
    messages_redacted: int = 0
    entries_redacted: int = 0
    messages: list[str] = field(default_factory=list)


def due(ledger: SqlLedger, policy: Policy, at: datetime | None = None) -> list[str]:
    """Message ids the policy applies to now and that still hold something it erases."""
    cutoff = ((at or datetime.now(UTC)) - policy.age).isoformat(timespec="microseconds")
    settled = sorted(s.value for s in SETTLED)
    marks = ", ".join("?" for _ in settled)
    sql = f"SELECT m.message_id FROM messages m WHERE m.last_at < ? AND m.status IN ({marks})"
    params: list[object] = [cutoff, *settled]
    if policy.standard != "*":
        sql += " AND m.standard = ?"
        params.append(policy.standard)
    if policy.party:
        sql += " AND (m.sender = ? OR m.receiver = ?)"
        params += [policy.party, policy.party]
    payload_left = (
        "EXISTS (SELECT 1 FROM entries e JOIN payloads p ON p.sha256 = e.payload_sha256 "
        "WHERE e.message_id = m.message_id AND p.content IS NOT NULL)"
    )
    traffic_left = (
        "EXISTS (SELECT 1 FROM entries e WHERE e.message_id = m.message_id AND e.redacted = 0 "
        f"AND e.event <> '{Event.ERASED.value}')"
    )
    sql += (
        f" AND {payload_left}"
        if policy.what == "payload"
        else f" AND ({payload_left} OR {traffic_left})"
    )
    return [r[0] for r in ledger.rows(sql + " ORDER BY m.first_seq", params)]


def _live_payloads(ledger: SqlLedger, message_id: str) -> list[str]:
    rows = ledger.rows(
        "SELECT DISTINCT e.payload_sha256 FROM entries e JOIN payloads p "
        "ON p.sha256 = e.payload_sha256 WHERE e.message_id = ? AND p.content IS NOT NULL",
        (message_id,),
    )
    return sorted(r[0] for r in rows)


def _shared_with_others(ledger: SqlLedger, digest: str, allowed: set[str]) -> bool:
    rows = ledger.rows(
        "SELECT DISTINCT message_id FROM entries WHERE payload_sha256 = ?", (digest,)
    )
    return any(r[0] not in allowed for r in rows)


def apply(
    ledger: SqlLedger, policies: Iterable[Policy], at: datetime | None = None, dry_run: bool = False
) -> Result:
    """Erase what the policies make due. ``dry_run``: only list the messages."""
    result = Result()
    for policy in policies:
        messages = due(ledger, policy, at)
        result.messages += messages
        if dry_run:
            continue
        allowed = set(messages)
        for message_id in messages:
            digests = [
                d
                for d in _live_payloads(ledger, message_id)
                if not _shared_with_others(ledger, d, allowed)
            ]
            redact = policy.what == "traffic"
            if not digests and not redact:
                continue
            detail: dict[str, object] = {"policy": str(policy), "payloads": digests, "at": now()}
            entries = ledger.redactable(message_id) if redact else {}
            if redact:
                detail["redacted"] = True
                detail["entries"] = [[seq, digest] for seq, digest in sorted(entries.items())]
            if ledger.options.signer is None:
                raise LedgerError("retention signs its erasures: it needs the checkpoint key")
            detail = erasure.signed(ledger.options.signer, message_id, detail)
            ledger.append_event(message_id, Event.ERASED, detail=detail)
            for digest in digests:
                result.payloads_erased += ledger.erase_payload(digest)
            if redact:
                result.messages_redacted += 1
                result.entries_redacted += ledger.redact(message_id, sorted(entries))
    return result
