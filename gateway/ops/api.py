"""The operations HTTP API: query messages and their history, payloads, replay, discard, bulk
replay jobs, deadline breaches and Prometheus metrics. Roles: ``ops/auth.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
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

from gateway.app import Gateway
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
from gateway.ops import replay as jobs
from gateway.ops.auth import Identity, Role
from gateway.ops.messages import NotAllowed, NotFound
from gateway.ops.metrics import registry, render
from gateway.ops.runtime import operations

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


def router(gateway: Gateway) -> APIRouter:
    api = APIRouter()
    runtime = operations(gateway)
    ledger = gateway.ledger
    metrics = registry(ledger, runtime.breaches, lambda: gateway.receiver.not_recorded)
    contract = Contract(secured=not runtime.auth.open)

    def who(request: Request, role: Role) -> Identity:
        return runtime.auth.require(request, role)

    def listing(query: LedgerQuery) -> dict[str, Any]:
        found = ops.search(ledger, query)
        return {"count": len(found), "messages": [ops.state_dict(s) for s in found]}

    listed = {200: ("the messages found, newest first", MessageList)}

    @api.get("/v1/messages", tags=["operations"], **contract.route(400, 503, bodies=listed))
    def list_messages(
        request: Request,
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
        who(request, Role.VIEWER)
        return listing(
            LedgerQuery(
                status=status,
                code=code,
                party=party,
                keys=_keys(key),
                since=since,
                until=until,
                limit=limit,
            )
        )

    @api.post("/v1/messages/search", tags=["operations"], **contract.route(400, 503, bodies=listed))
    def search_messages(body: SearchBody, request: Request) -> dict[str, Any]:
        """Search, also by BSN (hashed before the lookup)."""
        who(request, Role.VIEWER)
        keys = dict(body.keys)
        if body.bsn:
            keys["bsn"] = body.bsn.strip()
        return listing(
            LedgerQuery(
                status=body.status,
                code=body.code,
                party=body.party,
                keys=keys,
                since=body.since,
                until=body.until,
                limit=body.limit,
            )
        )

    @api.get(
        "/v1/messages/{message_id}",
        tags=["operations"],
        **contract.route(404, 503, bodies={200: ("the message", Message)}),
    )
    def get_message(message_id: str, request: Request) -> dict[str, Any]:
        """A message's state, its whole history and, for a heenbericht, its retour."""
        caller = who(request, Role.VIEWER)
        try:  # the BSN's keyed hash links one person's messages: only for payload-viewers
            return ops.get(ledger, message_id).to_dict(caller.has(Role.PAYLOAD_VIEWER))
        except NotFound:
            raise HTTPException(404, "no such message") from None

    payload_doc = contract.route(404, 503)
    payload_doc["responses"][200] = {
        "description": "the bytes, with the content type they were handed in with",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            # back-office JSON, sent back as it came: any JSON value, not a JSON string
            "application/json": {"schema": {"description": "the JSON as it was handed in"}},
            "*/*": {"schema": {"type": "string"}},
        },
    }

    @api.get("/v1/messages/{message_id}/payload", tags=["operations"], **payload_doc)
    def get_payload(
        message_id: str,
        request: Request,
        which: str = Query("received", pattern="^(received|mapped)$"),
    ) -> Response:
        """The recorded bytes (``received``: as handed in; ``mapped``: the XML made from JSON).
        Payload-viewers only; the view is recorded in the ledger before the bytes are sent."""
        identity = who(request, Role.PAYLOAD_VIEWER)
        try:
            found = ops.payloads(ledger, message_id, identity.name)
        except NotFound:
            raise HTTPException(404, "no such message") from None
        chosen = [p for p in found if p.event == which]
        if not chosen:
            raise HTTPException(404, f"no {which} payload (never recorded, or erased)")
        # The bytes are the sender's, and so is their content type: a browser that opens this
        # URL with the dashboard's cookie must not run them (text/html with a script in it).
        return Response(chosen[-1].body, media_type=chosen[-1].content_type, headers=_INERT)

    @api.post(
        "/v1/messages/{message_id}/replay",
        tags=["operations"],
        **contract.route(
            400, 404, 409, 503, bodies={200: ("replayed: the message now", MessageState)}
        ),
    )
    async def replay_message(
        message_id: str, request: Request, body: Reason | None = None
    ) -> dict[str, Any]:
        """Re-publish the recorded message under its own id (parked, or delivered and to be sent
        again); recorded as ``replayed`` with who and why."""
        identity = who(request, Role.OPERATOR)
        try:
            state = await run_in_threadpool(
                ops.replay,
                ledger,
                gateway.publish,
                message_id,
                identity.name,
                body.reason if body else "",
            )
        except NotFound:
            raise HTTPException(404, "no such message") from None
        except NotAllowed as exc:
            raise HTTPException(409, str(exc)) from None
        except PublishError as exc:
            raise HTTPException(503, f"the broker did not take the replay: {exc}") from None
        return ops.state_dict(state)

    @api.post(
        "/v1/messages/{message_id}/discard",
        tags=["operations"],
        **contract.route(
            400,
            404,
            409,
            503,
            bodies={200: ("discarded (now or before): the message now", MessageState)},
        ),
    )
    def discard_message(message_id: str, body: Reason, request: Request) -> dict[str, Any]:
        """Give up on a message (a reason is required); bulk replays skip it from now on."""
        identity = who(request, Role.OPERATOR)
        try:
            return ops.state_dict(ops.discard(ledger, message_id, identity.name, body.reason))
        except NotFound:
            raise HTTPException(404, "no such message") from None
        except NotAllowed as exc:
            raise HTTPException(409, str(exc)) from None

    @api.post(
        "/v1/replay-jobs",
        status_code=202,
        tags=["operations"],
        **contract.route(
            400,
            409,
            503,
            bodies={202: ("the job, recorded (and started unless start is false)", ReplayJob)},
        ),
    )
    def create_job(body: JobRequest, request: Request) -> dict[str, Any]:
        """Replay every message matching the filter (default: all parked), as one resumable,
        rate-limited job; each message once, discarded ones never."""
        identity = who(request, Role.OPERATOR)
        job_filter = jobs.Filter(
            status=body.status.value,
            code=body.code,
            party=body.party,
            keys=body.keys,
            since=body.since,
            until=body.until,
        )
        try:
            job = jobs.create(ledger, identity.name, job_filter, body.reason)
        except NotAllowed as exc:
            raise HTTPException(409, str(exc)) from None
        if body.start:
            jobs.start(
                ledger, gateway.publish, job.job_id, identity.name, gateway.settings.ops_replay_rate
            )
        return job.to_dict()

    @api.get(
        "/v1/replay-jobs",
        tags=["operations"],
        **contract.route(503, bodies={200: ("the latest jobs", ReplayJobList)}),
    )
    def list_jobs(request: Request) -> dict[str, Any]:
        who(request, Role.VIEWER)
        return {"jobs": [j.to_dict() for j in jobs.jobs(ledger)]}

    @api.get(
        "/v1/replay-jobs/{job_id}",
        tags=["operations"],
        **contract.route(404, 503, bodies={200: ("the job and its selection", ReplayJobDetail)}),
    )
    def get_job(job_id: str, request: Request) -> dict[str, Any]:
        who(request, Role.VIEWER)
        try:
            job = jobs.load(ledger, job_id)
        except NotFound:
            raise HTTPException(404, "no such job") from None
        return {**job.to_dict(), "selection": job.selection}

    @api.post(
        "/v1/replay-jobs/{job_id}/resume",
        status_code=202,
        tags=["operations"],
        **contract.route(404, 503, bodies={202: ("the job, as it was resumed", ReplayJob)}),
    )
    def resume_job(job_id: str, request: Request) -> dict[str, Any]:
        """Run the job again: what it replayed already is skipped."""
        identity = who(request, Role.OPERATOR)
        try:
            job = jobs.load(ledger, job_id)
        except NotFound:
            raise HTTPException(404, "no such job") from None
        if not jobs.is_running(job_id):
            jobs.start(
                ledger, gateway.publish, job_id, identity.name, gateway.settings.ops_replay_rate
            )
        return job.to_dict()

    @api.get(
        "/v1/deadlines",
        tags=["operations"],
        **contract.route(503, bodies={200: ("the open breaches", BreachList)}),
    )
    def deadline_breaches(request: Request) -> dict[str, Any]:
        """Open deadline breaches: unanswered past their due date, or reported late."""
        who(request, Role.VIEWER)
        found = runtime.breaches()
        return {"count": len(found), "breaches": [b.to_dict() for b in found]}

    metrics_doc = contract.route()
    metrics_doc["responses"][200] = {
        "description": "Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }

    @api.get("/metrics", tags=["health"], response_class=Response, **metrics_doc)
    def prometheus(request: Request) -> Response:
        """Prometheus text format (viewer role: give Prometheus an identity of its own)."""
        who(request, Role.VIEWER)
        return Response(render(metrics), media_type="text/plain; version=0.0.4; charset=utf-8")

    return api
