"""The operations HTTP API: query messages and their history, payloads, replay, discard, bulk
replay jobs, deadline breaches and Prometheus metrics. Roles: ``ops/auth.py``.

The handlers are plain functions; each takes the caller (with the role it needs), the gateway
and the operations as FastAPI dependencies. :func:`router` lays them out with their
documentation, which depends on the app's settings only (identities configured or not)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from gateway.bus.publisher import PublishError
from gateway.ledger import Query as LedgerQuery
from gateway.ledger import Status, time_bound
from gateway.openapi import (
    BreachList,
    Contract,
    Message,
    MessageList,
    MessageState,
    ReplayJob,
    ReplayJobDetail,
    ReplayJobList,
)
from gateway.ops import messages as ops
from gateway.ops import overview
from gateway.ops import replay as jobs
from gateway.ops.auth import Identity, Role
from gateway.ops.messages import NotAllowed, NotFound
from gateway.ops.metrics import render
from gateway.ops.runtime import AppGateway, AppOperations

# A bound on when a message was first recorded: an ISO 8601 date-time or date (without a zone:
# UTC), compared with the ledger's UTC times.
Moment = Annotated[
    str,
    AfterValidator(time_bound),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO 8601 (or a date); UTC"}
    ),
]


def _integer(value: object) -> object:
    if isinstance(value, str | bool):
        raise ValueError("expected a JSON integer")
    return value


# A JSON integer (224.0 is one; "224" and true are not).
Integer = Annotated[int, BeforeValidator(_integer)]
# A business key to search by, NAME=VALUE (``bsn`` only in the search body).
KeyPair = Annotated[str, StringConstraints(pattern=r"^[^=]+=.+$")]


class SearchBody(BaseModel):
    """Search criteria; all given ones must hold. ``bsn`` is looked up by its keyed hash and is
    taken in the body only, so that it never lands in a URL or an access log."""

    status: Status | None = None
    code: str | None = None
    party: str | None = None
    keys: dict[str, str] = Field(
        default_factory=dict, description="business keys, e.g. ToewijzingNummer"
    )
    bsn: str | None = None
    since: Moment | None = None
    until: Moment | None = None
    limit: Integer = Field(100, ge=1, le=1000)


class Reason(BaseModel):
    reason: str = ""


class JobRequest(BaseModel):
    status: Status = Status.PARKED
    code: str | None = None
    party: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    since: Moment | None = None
    until: Moment | None = None
    reason: str = ""
    start: StrictBool = True


# Headers for bytes a sender chose: never sniffed, never scripted, saved rather than shown.
_INERT = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Content-Disposition": "attachment",
}


def _keys(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise HTTPException(400, f"key must be NAME=VALUE, got {pair!r}")
        if name.lower() == "bsn":
            raise HTTPException(400, "search by BSN with POST /v1/messages/search (body)")
        out[name] = value
    return out


def _caller(role: Role) -> Any:
    """A dependency: the caller, having ``role`` (else 401 or 403)."""

    def caller(request: Request, runtime: AppOperations) -> Identity:
        return runtime.auth.require(request, role)

    return Depends(caller)


Viewer = Annotated[Identity, _caller(Role.VIEWER)]
PayloadViewer = Annotated[Identity, _caller(Role.PAYLOAD_VIEWER)]
Operator = Annotated[Identity, _caller(Role.OPERATOR)]


def _listing(gateway: AppGateway, query: LedgerQuery) -> dict[str, Any]:
    found = ops.search(gateway.ledger, query)
    return {"count": len(found), "messages": [ops.state_dict(s) for s in found]}


def list_messages(
    who: Viewer,
    gateway: AppGateway,
    status: Status | None = None,
    code: str | None = None,
    party: str | None = None,
    key: list[KeyPair] = Query(  # noqa: B008
        default_factory=list,
        description="NAME=VALUE, repeatable (a BSN only with POST /v1/messages/search: 400)",
    ),
    since: Moment | None = None,
    until: Moment | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Messages, newest first (no payloads, no personal data)."""
    query = LedgerQuery(
        status=status,
        code=code,
        party=party,
        keys=_keys(key),
        since=since,
        until=until,
        limit=limit,
    )
    return _listing(gateway, query)


def search_messages(body: SearchBody, who: Viewer, gateway: AppGateway) -> dict[str, Any]:
    """Search, also by BSN (hashed before the lookup)."""
    keys = dict(body.keys)
    if body.bsn:
        keys["bsn"] = body.bsn.strip()
    query = LedgerQuery(
        status=body.status,
        code=body.code,
        party=body.party,
        keys=keys,
        since=body.since,
        until=body.until,
        limit=body.limit,
    )
    return _listing(gateway, query)


def get_message(message_id: str, who: Viewer, gateway: AppGateway) -> dict[str, Any]:
    """A message's state, its whole history and, for a heenbericht, its retour."""
    try:  # the BSN's keyed hash links one person's messages: only for payload-viewers
        return ops.get(gateway.ledger, message_id).to_dict(who.has(Role.PAYLOAD_VIEWER))
    except NotFound:
        raise HTTPException(404, "no such message") from None


def get_payload(
    message_id: str,
    who: PayloadViewer,
    gateway: AppGateway,
    which: str = Query("received", pattern="^(received|mapped)$"),
) -> Response:
    """The recorded bytes (``received``: as handed in; ``mapped``: the XML made from JSON).
    Payload-viewers only; the view is recorded in the ledger before the bytes are sent."""
    try:
        found = ops.payloads(gateway.ledger, message_id, who.name)
    except NotFound:
        raise HTTPException(404, "no such message") from None
    chosen = [p for p in found if p.event == which]
    if not chosen:
        raise HTTPException(404, f"no {which} payload (never recorded, or erased)")
    # The bytes are the sender's, and so is their content type: a browser that opens this
    # URL with the dashboard's cookie must not run them (text/html with a script in it).
    return Response(chosen[-1].body, media_type=chosen[-1].content_type, headers=_INERT)


async def replay_message(
    message_id: str, who: Operator, gateway: AppGateway, body: Reason | None = None
) -> dict[str, Any]:
    """Re-publish the recorded message under its own id (parked, or delivered and to be sent
    again); recorded as ``replayed`` with who and why."""
    reason = body.reason if body else ""
    try:
        state = await run_in_threadpool(
            ops.replay, gateway.ledger, gateway.publish, message_id, who.name, reason
        )
    except NotFound:
        raise HTTPException(404, "no such message") from None
    except NotAllowed as exc:
        raise HTTPException(409, str(exc)) from None
    except PublishError as exc:
        raise HTTPException(503, f"the broker did not take the replay: {exc}") from None
    return ops.state_dict(state)


def discard_message(
    message_id: str, body: Reason, who: Operator, gateway: AppGateway
) -> dict[str, Any]:
    """Give up on a message (a reason is required); bulk replays skip it from now on."""
    try:
        return ops.state_dict(ops.discard(gateway.ledger, message_id, who.name, body.reason))
    except NotFound:
        raise HTTPException(404, "no such message") from None
    except NotAllowed as exc:
        raise HTTPException(409, str(exc)) from None


def create_job(body: JobRequest, who: Operator, gateway: AppGateway) -> dict[str, Any]:
    """Replay every message matching the filter (default: all parked), as one resumable,
    rate-limited job; each message once, discarded ones never."""
    job_filter = jobs.Filter(
        status=body.status.value,
        code=body.code,
        party=body.party,
        keys=body.keys,
        since=body.since,
        until=body.until,
    )
    try:
        job = jobs.create(gateway.ledger, who.name, job_filter, body.reason)
    except NotAllowed as exc:
        raise HTTPException(409, str(exc)) from None
    if body.start:
        _start(gateway, job.job_id, who)
    return job.to_dict()


def _start(gateway: AppGateway, job_id: str, who: Identity) -> None:
    rate = gateway.settings.ops_replay_rate
    jobs.start(gateway.ledger, gateway.publish, job_id, who.name, rate)


def list_jobs(who: Viewer, gateway: AppGateway) -> dict[str, Any]:
    return {"jobs": [j.to_dict() for j in jobs.jobs(gateway.ledger)]}


def get_job(job_id: str, who: Viewer, gateway: AppGateway) -> dict[str, Any]:
    try:
        job = jobs.load(gateway.ledger, job_id)
    except NotFound:
        raise HTTPException(404, "no such job") from None
    return {**job.to_dict(), "selection": job.selection}


def resume_job(job_id: str, who: Operator, gateway: AppGateway) -> dict[str, Any]:
    """Run the job again: what it replayed already is skipped."""
    try:
        job = jobs.load(gateway.ledger, job_id)
    except NotFound:
        raise HTTPException(404, "no such job") from None
    if not jobs.is_running(job_id):
        _start(gateway, job_id, who)
    return job.to_dict()


def deadline_breaches(who: Viewer, runtime: AppOperations) -> dict[str, Any]:
    """Open deadline breaches: unanswered past their due date, or reported late."""
    found = runtime.breaches()
    return {"count": len(found), "breaches": [b.to_dict() for b in found]}


def get_overview(who: Viewer, gateway: AppGateway) -> overview.Overview:
    """Counts per route and counterpart (last hour, day, week), per hour over the week, queue
    depths, deadlines, the oldest unanswered heenbericht per counterpart, checkpoint freshness
    (``gateway/ops/overview.py``)."""
    return overview.of(gateway)


def prometheus(who: Viewer, runtime: AppOperations) -> Response:
    """Prometheus text format (viewer role: give Prometheus an identity of its own)."""
    text = render(runtime.metrics)
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


_PAYLOAD = {
    "description": "the bytes, with the content type they were handed in with",
    "content": {
        "application/xml": {"schema": {"type": "string"}},
        # back-office JSON, sent back as it came: any JSON value, not a JSON string
        "application/json": {"schema": {"description": "the JSON as it was handed in"}},
        "*/*": {"schema": {"type": "string"}},
    },
}
_METRICS = {
    "description": "Prometheus text format",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def _answering(
    contract: Contract, status: int, description: str, model: type[BaseModel], *errors: int
) -> dict[str, Any]:
    """A route's documentation and its ``response_model``: its answer at ``status`` goes
    through ``model`` (validated, serialized); ``errors``: the other statuses it answers."""
    bodies = {status: (description, model)}
    return {"status_code": status, **contract.route(*errors, bodies=bodies, model=model)}


def router(contract: Contract) -> APIRouter:
    """The operations routes, documented by ``contract`` (secured or open)."""
    payload_doc = contract.route(404, 503)
    payload_doc["responses"][200] = _PAYLOAD
    metrics_doc = contract.route()
    metrics_doc["responses"][200] = _METRICS
    found = "the messages found, newest first"
    now = "the message now"
    routes: list[tuple[str, str, Any, dict[str, Any]]] = [
        (
            "GET",
            "/v1/messages",
            list_messages,
            _answering(contract, 200, found, MessageList, 400, 503),
        ),
        (
            "POST",
            "/v1/messages/search",
            search_messages,
            _answering(contract, 200, found, MessageList, 400, 503),
        ),
        (
            "GET",
            "/v1/messages/{message_id}",
            get_message,
            _answering(contract, 200, "the message", Message, 404, 503),
        ),
        ("GET", "/v1/messages/{message_id}/payload", get_payload, payload_doc),
        (
            "POST",
            "/v1/messages/{message_id}/replay",
            replay_message,
            _answering(contract, 200, f"replayed: {now}", MessageState, 400, 404, 409, 503),
        ),
        (
            "POST",
            "/v1/messages/{message_id}/discard",
            discard_message,
            _answering(
                contract, 200, f"discarded (now or before): {now}", MessageState, 400, 404, 409, 503
            ),
        ),
        (
            "POST",
            "/v1/replay-jobs",
            create_job,
            _answering(
                contract,
                202,
                "the job, recorded (and started unless start is false)",
                ReplayJob,
                400,
                409,
                503,
            ),
        ),
        (
            "GET",
            "/v1/replay-jobs",
            list_jobs,
            _answering(contract, 200, "the latest jobs", ReplayJobList, 503),
        ),
        (
            "GET",
            "/v1/replay-jobs/{job_id}",
            get_job,
            _answering(contract, 200, "the job and its selection", ReplayJobDetail, 404, 503),
        ),
        (
            "POST",
            "/v1/replay-jobs/{job_id}/resume",
            resume_job,
            _answering(contract, 202, "the job, as it was resumed", ReplayJob, 404, 503),
        ),
        (
            "GET",
            "/v1/deadlines",
            deadline_breaches,
            _answering(contract, 200, "the open breaches", BreachList, 503),
        ),
        (
            "GET",
            "/v1/overview",
            get_overview,
            _answering(contract, 200, "the overview", overview.Overview, 503),
        ),
        (
            "GET",
            "/metrics",
            prometheus,
            {"tags": ["health"], "response_class": Response, **metrics_doc},
        ),
    ]
    api = APIRouter()
    for method, path, endpoint, doc in routes:
        api.add_api_route(path, endpoint, methods=[method], **{"tags": ["operations"], **doc})
    return api
