"""Bulk replay: a filtered set of messages replayed as one job, recorded in the ledger.

A job is created from a filter (by default: every parked message). Its selection (the message
ids, in order, each once) is fixed at creation and recorded in the ledger as the payload of the
job's own record (a ``received`` entry on the job id, direction ``operations``, indexed under the
business key ``operation=replay-job``). Running the job replays each selected message
(``ops/messages.replay``) with the job id in its ``replayed`` entry, indexed under
``ReplayJob=<job id>``, which links each replay to the job and the job to the originals.

- **idempotent**: a message already replayed by this job is skipped (its ``replayed`` entry says
  so), and the selection holds each message once: running or resuming a job twice replays
  nothing twice;
- **skips** what is no longer replayable when its turn comes (discarded meanwhile, on its way
  again, delivered by someone else's replay of a parked message ...);
- **rate-limited**: at most ``rate`` messages per second (setting ``ops_replay_rate``);
- **resumable**: progress is the ledger's, not the process's: after a crash or a stop, running
  the job again continues where it was (``POST /v1/replay-jobs/{id}/resume``, the dashboard's
  resume button, ``ketenpoort messages replay --resume JOB``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.adapter import Description
from gateway.bus.publisher import PublishError
from gateway.envelope import Envelope, MessageType, record_envelope
from gateway.ledger import OPERATIONS, Event, Ledger, Query, Status
from gateway.logs import get_logger
from gateway.ops import messages as ops
from gateway.ops.messages import NotAllowed, NotFound

log = get_logger(__name__)

JOB_KEY = "ReplayJob"  # business key on each replayed entry: the job id
JOB_TYPE = MessageType("operations", "replay-job", "1")
MAX_SELECTION = 10_000


@dataclass(frozen=True)
class Filter:
    """Which messages a job replays (all given criteria must hold)."""

    status: str = Status.PARKED.value
    code: str | None = None
    party: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    since: str | None = None
    until: str | None = None

    def query(self, limit: int = MAX_SELECTION) -> Query:
        return Query(
            code=self.code or None,
            party=self.party or None,
            keys=dict(self.keys),
            status=Status(self.status) if self.status else None,
            since=self.since or None,
            until=self.until or None,
            limit=limit,
        )


@dataclass
class Job:
    job_id: str
    by: str
    reason: str
    filter: Filter
    selection: list[str]
    created: str
    replayed: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return len(self.selection)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "by": self.by,
            "reason": self.reason,
            "filter": asdict(self.filter),
            "created": self.created,
            "total": self.total,
            "replayed": len(self.replayed),
            "running": self.job_id in _running,
        }


@dataclass
class Progress:
    done: int = 0  # replayed or skipped
    replayed: int = 0
    skipped: int = 0
    total: int = 0
    errors: list[str] = field(default_factory=list)


_running: set[str] = set()
_running_lock = threading.Lock()


def _job_envelope(job_id: str) -> Envelope:
    return record_envelope(job_id, JOB_TYPE, correlation_id=job_id, source="operations")


def create(ledger: Ledger, who: str, job_filter: Filter, reason: str = "") -> Job:
    """Select the messages and record the job; nothing is replayed yet (see :func:`run`)."""
    if job_filter.status and Status(job_filter.status) not in ops.REPLAYABLE:
        raise NotAllowed(
            f"{job_filter.status} messages are not replayed; choose one of "
            + ", ".join(sorted(s.value for s in ops.REPLAYABLE))
        )
    selection: list[str] = []
    for state in ops.search(ledger, job_filter.query()):
        if state.status in ops.REPLAYABLE and state.message_id not in selection:
            selection.append(state.message_id)
    selection.reverse()  # oldest first
    job = Job(
        job_id=str(uuid.uuid4()),
        by=who,
        reason=reason,
        filter=job_filter,
        selection=selection,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    definition = {k: v for k, v in job.to_dict().items() if k not in ("replayed", "running")}
    definition["selection"] = selection
    ledger.append(
        _job_envelope(job.job_id),
        Event.RECEIVED,
        payload=json.dumps(definition, sort_keys=True).encode(),
        detail={
            "direction": OPERATIONS,
            "kind": "replay-job",
            "by": who,
            "count": len(selection),
            "filter": asdict(job_filter),
            "content_type": "application/json",
        },
        description=Description("", "", keys={"operation": ["replay-job"]}),
    )
    log.info("ops.replay_job_created", job=job.job_id, by=who, count=len(selection))
    return job


def load(ledger: Ledger, job_id: str) -> Job:
    history = ledger.history(job_id)
    if not history or history[0].detail.get("kind") != "replay-job":
        raise NotFound(job_id)
    body = ledger.payload(history[0].payload_sha256 or "")
    if body is None:
        raise NotFound(job_id)
    data = json.loads(body)
    flt = data["filter"]
    job = Job(
        job_id=job_id,
        by=data["by"],
        reason=data.get("reason", ""),
        filter=Filter(**{**flt, "keys": dict(flt.get("keys") or {})}),
        selection=list(data["selection"]),
        created=data["created"],
    )
    job.replayed = {e.message_id for e in ledger.find(JOB_KEY, job_id)}
    return job


def jobs(ledger: Ledger, limit: int = 20) -> list[Job]:
    found = ledger.search(Query(keys={"operation": "replay-job"}, limit=limit))
    return [load(ledger, s.message_id) for s in found]


def is_running(job_id: str) -> bool:
    return job_id in _running


def run(
    ledger: Ledger,
    publish: Callable[[Envelope], None],
    job_id: str,
    who: str,
    *,
    rate: float = 20.0,
    stop: threading.Event | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Replay the job's messages not yet replayed by it, at most ``rate`` per second."""
    with _running_lock:
        if job_id in _running:
            raise NotAllowed("the job is already running in this process")
        _running.add(job_id)
    try:
        job = load(ledger, job_id)
        state = Progress(total=job.total)
        interval = 1.0 / rate if rate > 0 else 0.0
        next_at = time.monotonic()
        for message_id in job.selection:
            if stop is not None and stop.is_set():
                break
            if message_id in job.replayed:
                state.done += 1
                state.replayed += 1
                continue
            current = ledger.state(message_id)
            try:
                if current is None:
                    raise NotAllowed("not in the ledger")
                ops.check_replayable(current)
            except NotAllowed:
                state.done += 1
                state.skipped += 1
                continue
            wait = next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            next_at = max(next_at + interval, time.monotonic() - 1.0)
            try:
                _replay_one(ledger, publish, message_id, who, job)
            except PublishError as exc:
                state.errors.append(f"{message_id}: {exc}")
                log.error("ops.replay_job_stopped", job=job_id, error=type(exc).__name__)
                break  # the broker is away: stop here; resuming continues from this message
            except NotAllowed as exc:
                state.done += 1
                state.skipped += 1
                state.errors.append(f"{message_id}: {exc}")
                continue
            state.done += 1
            state.replayed += 1
            if progress is not None:
                progress(state)
        if progress is not None:
            progress(state)
        log.info(
            "ops.replay_job_ran",
            job=job_id,
            replayed=state.replayed,
            skipped=state.skipped,
            total=state.total,
        )
        return state
    finally:
        with _running_lock:
            _running.discard(job_id)


def _replay_one(
    ledger: Ledger, publish: Callable[[Envelope], None], message_id: str, who: str, job: Job
) -> None:
    reason = f"bulk replay {job.job_id}" + (f": {job.reason}" if job.reason else "")
    ops.replay(
        ledger, publish, message_id, who, reason, job=job.job_id, keys={JOB_KEY: [job.job_id]}
    )


def start(
    ledger: Ledger,
    publish: Callable[[Envelope], None],
    job_id: str,
    who: str,
    rate: float,
) -> threading.Thread:
    """Run a job in a background thread (the API and dashboard answer at once)."""

    def work() -> None:
        try:
            run(ledger, publish, job_id, who, rate=rate)
        except NotAllowed:
            pass  # already running here
        except Exception:
            log.exception("ops.replay_job_failed", job=job_id)

    thread = threading.Thread(target=work, name=f"replay-{job_id[:8]}", daemon=True)
    thread.start()
    return thread
