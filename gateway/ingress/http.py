"""HTTP ingress (FastAPI; OpenAPI at ``/openapi.json``, docs at ``/docs``).

- ``POST /v1/messages/outbound``: a standard message (XML) from the back-office, to send.
- ``POST /v1/messages/outbound/{standard}/{mapping}``: back-office JSON, mapped to a message.
- ``POST /v1/messages/inbound``: a message (XML) from a counterpart.
- ``?dry_run=true`` on the two outbound routes: the verdict the message would get (200: status,
  findings with rule and retourcode), judged as a real send, nothing recorded or sent; refused
  (not a message the rules could judge, or a sender the caller may not send as) it is answered
  as a real send would be (422, 403, 500), with the errors.
- A message refused because judging it failed on the gateway's side (a bug in a rule, a failed
  ledger read; stage ``internal``) is answered 500 with its receipt (``internal: true``): it is
  recorded, the sender did nothing wrong that we know of and may send it again under a new
  message id. (503: not recorded at all; send it again with the same id.)
- ``POST /v1/messages/outbound/batch``, ``POST /v1/messages/inbound/batch``: several messages
  (base64 in a JSON object) in one request, received together, one result per message
  (``gateway/ingress/batch.py``).
- ``GET /v1/toewijzingen``: the grants a care provider received (``gateway/ingress/grants.py``).
- ``GET /health/live``, ``GET /health/ready`` (broker and ledger reachable).
- what the loaded adapters add (the capability ``Endpoints``: ``router``), e.g. ``POST /v1/ggk``
  where the ebMS adapter in front of us hands over what the GGk sent.
- the operations API (``/v1/messages`` queries, payloads, replay, discard, replay jobs,
  deadlines, ``/metrics``) and the dashboard (``/ui``): ``gateway/ops/``.

Callers authenticate (``gateway/ops/auth.py``) once identities are configured; a message whose
sender is not a party the caller may send as is refused with 403 and recorded.

An optional ``X-Message-Id`` header (a UUID) makes a POST idempotent: sending the same id again
returns the first receipt and does nothing twice; the same id from another identity is answered
409. ``X-Correlation-Id`` (``envelope.checked_id``: at most 128 safe characters; 400 otherwise)
is carried along.

:func:`make_app` wires one app for one gateway: it keeps the gateway, its authenticator and the
batch threads in ``app.state`` and includes the routers. The handlers are plain functions that
take the caller (:data:`gateway.endpoints.Sender`) and the gateway
(:data:`gateway.ops.runtime.AppGateway`) as FastAPI dependencies; the routers' factories take
only what the OpenAPI document says (identities configured, the mappings, the batch limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, cast

from fastapi import APIRouter, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway import __version__
from gateway.adapter import Endpoints, Mappings
from gateway.app import Gateway
from gateway.bus.publisher import probe
from gateway.door import Given, Speaker, envelope_for
from gateway.endpoints import Sender, TooLarge, judged, read_body
from gateway.envelope import BadId, Direction
from gateway.ingress import grants
from gateway.ingress.batch import BatchRefused, Limits, answer, parse_batch, request_schema
from gateway.ingress.batch import http_status as _status
from gateway.ingress.methods import allow_all_methods
from gateway.logs import get_logger
from gateway.openapi import (
    BatchAnswer,
    BatchRefusal,
    Contract,
    DryRun,
    Liveness,
    Problem,
    Readiness,
    Receipt,
    Unrecorded,
    xml_body,
)
from gateway.ops import mount
from gateway.ops.auth import Identity
from gateway.ops.runtime import AppGateway, operations
from gateway.receive import LARGE_AT_ONCE

log = get_logger(__name__)


def _ledger_errors() -> tuple[type[Exception], ...]:
    """What a ledger raises when its database cannot be used (locked, gone, disk I/O)."""
    errors: list[type[Exception]] = [sqlite3.OperationalError]
    with contextlib.suppress(ImportError):  # the postgres extra
        import psycopg

        errors.append(psycopg.OperationalError)
    return tuple(errors)


def unavailable_ledger_is_503(app: FastAPI) -> None:
    """A route that cannot read or write the ledger answers 503 (try again), not 500; the
    ingress routes answer it themselves, with the message id."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        log.error("api.ledger_unavailable", path=request.url.path, error=type(exc).__name__)
        detail = "the ledger is unavailable; nothing was done: try again"
        return JSONResponse({"detail": detail}, 503)

    for error in _ledger_errors():
        app.add_exception_handler(error, handler)


def mappings(gateway: Gateway) -> dict[str, list[str]]:
    """The back-office mappings per standard (adapters with the capability ``Mappings``)."""
    known: dict[str, list[str]] = {}
    for adapter in gateway.registry.standards():
        if isinstance(adapter, Mappings):
            for standard in adapter.standards:  # the first adapter of a standard maps it
                known.setdefault(standard, sorted(adapter.mappings()))
    return {standard: names for standard, names in known.items() if names}


MessageId = Annotated[
    str | None,
    Header(
        description="makes the POST idempotent: the same id again answers the first receipt",
        json_schema_extra={"format": "uuid"},
    ),
]
CorrelationId = Annotated[str | None, Header(description="carried along with the message")]
DryRunFlag = Annotated[
    str | None,
    Query(
        description="true: only judge: answer 200 with the verdict the message would get (its "
        "findings and retourcodes, the rules reading the ledger as for a real send); nothing is "
        "recorded or sent",
        json_schema_extra={"enum": ["true", "false"]},
    ),
]


def _dry_run(value: str | None) -> bool:
    if value not in (None, "true", "false"):
        raise HTTPException(400, "dry_run must be true or false")
    return value == "true"


# What the single routes call the ids a sender chooses (in a 400's text).
HEADERS = ("X-Message-Id", "X-Correlation-Id")
RECEIVED = "received and recorded: accepted (published), or, inbound, rejected with a retour"
REFUSED = "refused (recorded): not XML, not identifiable, not schema-valid"
INTERNAL = (
    "refused (recorded) because judging it failed on the gateway's side (internal: true): "
    "nothing known to be wrong with it; send it again later under a new message id"
)
XML = xml_body("the message (XML)")
JSON_OBJECT = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.batch_threads.shutdown(wait=False)
    app.state.large_threads.shutdown(wait=False)


def make_app(gateway: Gateway) -> FastAPI:
    """The HTTP app of ``gateway``: ingress, the adapters' endpoints, health, operations."""
    app = FastAPI(
        title="Ketenpoort",
        version=__version__,
        description="Message gateway for iWmo/iJw, SVB iPgb, CAK iEb and CORV.",
        lifespan=_lifespan,
    )
    auth = operations(gateway).auth
    app.state.gateway = gateway
    app.state.auth = auth
    # Batches are received on two threads of their own, not the request thread pool: each
    # thread compiles the schemas and opens its ledger connection once; while one batch waits
    # for its commit or its confirms the other is judged (and entries of both may share one
    # commit); further requests wait their turn instead of piling up.
    app.state.batch_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="batch-receive")
    # Large messages (``endpoints.judged``): ``LARGE_AT_ONCE`` judged at a time (the receiver's
    # turns); more threads than turns, so that those judged and waiting for their commit or
    # their publish confirm (a slow broker: up to its confirm timeout) do not keep the next
    # from its turn. The rest wait in the queue, holding no thread.
    app.state.large_threads = ThreadPoolExecutor(
        4 * LARGE_AT_ONCE, thread_name_prefix="large-receive"
    )
    allow_all_methods(app)
    unavailable_ledger_is_503(app)
    contract = Contract(secured=not auth.open)
    app.include_router(messages_router(contract, mappings(gateway)))
    app.include_router(batch_router(contract, batch_limits(gateway)))
    app.include_router(grants.router(gateway))  # GET /v1/toewijzingen
    for router in adapter_routers(gateway):
        app.include_router(router)
    app.include_router(health)
    mount(app, contract)
    return app


def adapter_routers(gateway: Gateway) -> list[APIRouter]:
    """The adapters' own endpoints (a counterpart's receiving endpoint, e.g. POST /v1/ggk)."""
    return [
        adapter.router(gateway) for adapter in gateway.registry if isinstance(adapter, Endpoints)
    ]


# -- one message ---------------------------------------------------------------------------


# What a route answers: its receipt (through its response_model, at the status set on the
# route's ``Response``), or an answer of its own (413, 503, a dry run's verdict).
Answer = dict[str, Any] | JSONResponse


async def ingest(
    request: Request,
    response: Response,
    gateway: Gateway,
    who: Identity,
    direction: Direction,
    mapping: tuple[str, str] | None,
    headers: tuple[str | None, str | None],
    dry_run: bool = False,
) -> Answer:
    """Receive the body as one message (``mapping``: back-office JSON, standard and name);
    ``headers``: the X-Message-Id and X-Correlation-Id given; ``dry_run``: only judge it."""
    limit = gateway.settings.max_message_bytes
    try:
        body = await read_body(request, limit)
    except TooLarge:
        return JSONResponse({"error": f"message is larger than {limit} bytes"}, 413)
    message_id, correlation_id = headers
    given = Given(message_id or None, correlation_id, HEADERS, uuid=True)
    try:
        envelope = envelope_for(
            "http",
            body,
            direction,
            who=Speaker.caller(who),
            given=given,
            content_type=request.headers.get("content-type", ""),
        )
    except BadId as exc:
        raise HTTPException(400, str(exc)) from None
    receiver = gateway.receiver
    large = len(body) > receiver.stream_above
    try:
        if mapping is None:
            receipt = await judged(request, large, receiver.receive, envelope, None, dry_run)
        else:
            receipt = await judged(
                request, large, receiver.receive_mapped, envelope, *mapping, dry_run
            )
    except Exception as exc:  # not recorded: nothing may be acknowledged
        log.error("ingress.not_recorded", error=type(exc).__name__)
        not_recorded = "not recorded (ledger unavailable); send it again with this message_id"
        return JSONResponse({"message_id": envelope.message_id, "error": not_recorded}, 503)
    if dry_run:  # the verdict, 200 once the rules judged it; else answered as if sent
        status = _status(receipt, direction)
        verdict = {**receipt.to_dict(), "dry_run": True}
        return JSONResponse(verdict, 200 if receipt.status != "refused" else status)
    response.status_code = _status(receipt, direction)
    return receipt.to_dict()


async def post_outbound(
    request: Request,
    response: Response,
    who: Sender,
    gateway: AppGateway,
    x_message_id: MessageId = None,
    x_correlation_id: CorrelationId = None,
    dry_run: DryRunFlag = None,
) -> Answer:
    """Send a standard message (XML) from the back-office to its counterpart."""
    judge_only = _dry_run(dry_run)
    headers = (x_message_id, x_correlation_id)
    return await ingest(
        request, response, gateway, who, Direction.OUTBOUND, None, headers, judge_only
    )


async def post_inbound(
    request: Request,
    response: Response,
    who: Sender,
    gateway: AppGateway,
    x_message_id: MessageId = None,
    x_correlation_id: CorrelationId = None,
) -> Answer:
    """Receive a message (XML) from a counterpart."""
    headers = (x_message_id, x_correlation_id)
    return await ingest(request, response, gateway, who, Direction.INBOUND, None, headers)


def mapped_endpoint(known: dict[str, list[str]]) -> Callable[..., Awaitable[Answer]]:
    """The handler of ``POST /v1/messages/outbound/{standard}/{mapping}``, its path parameters
    documented with the ``known`` mappings (another pair answers 404)."""
    standard_path = Path(json_schema_extra={"enum": sorted(known)})
    mapping_path = Path(
        description="the mappings of each standard: "
        + "; ".join(f"{s}: {', '.join(n)}" for s, n in sorted(known.items()))
        + " (another pair answers 404)",
        json_schema_extra={"enum": sorted({name for listed in known.values() for name in listed})},
    )

    async def post_mapped(
        request: Request,
        response: Response,
        who: Sender,
        gateway: AppGateway,
        standard: str = standard_path,
        mapping: str = mapping_path,
        x_message_id: MessageId = None,
        x_correlation_id: CorrelationId = None,
        dry_run: DryRunFlag = None,
    ) -> Answer:
        """Send back-office JSON (e.g. ``iwmo/toewijzing``), mapped to the standard's
        message."""
        judge_only = _dry_run(dry_run)
        if mapping not in known.get(standard, ()):
            raise HTTPException(404, f"no mapping {standard}/{mapping}")
        headers = (x_message_id, x_correlation_id)
        mapped = (standard, mapping)
        return await ingest(
            request, response, gateway, who, Direction.OUTBOUND, mapped, headers, judge_only
        )

    return post_mapped


def messages_router(contract: Contract, known: dict[str, list[str]]) -> APIRouter:
    """``POST /v1/messages/outbound``, ``.../outbound/{standard}/{mapping}`` (when there are
    ``known`` mappings) and ``.../inbound``."""

    def doc(refused: str, *statuses: int, dry_run: bool = False) -> dict[str, Any]:
        judged = "dry_run=true: the verdict it would get; nothing recorded or sent"
        receipt: Any = Receipt | DryRun if dry_run else Receipt  # refused, in a dry run too
        return contract.route(
            400,
            413,
            *statuses,
            bodies={
                **({200: (judged, DryRun)} if dry_run else {}),
                202: (RECEIVED, Receipt),
                403: ("may not send messages, or not as the message's sender", Problem | receipt),
                409: ("the message id was used before by another identity", Receipt),
                422: (refused, receipt),
                500: (INTERNAL, receipt),
                503: ("not recorded (ledger unavailable): send it again, same id", Unrecorded),
            },
            model=Receipt,
        )

    router = APIRouter(tags=["messages"])
    outbound = doc(f"{REFUSED}, or rejected by the standard's rules", dry_run=True)
    router.add_api_route(
        "/v1/messages/outbound",
        post_outbound,
        methods=["POST"],
        status_code=202,
        openapi_extra=XML,
        **outbound,
    )
    if known:
        router.add_api_route(
            "/v1/messages/outbound/{standard}/{mapping}",
            mapped_endpoint(known),
            methods=["POST"],
            status_code=202,
            openapi_extra=JSON_OBJECT,
            **doc(
                f"{REFUSED}, not mappable, or rejected by the standard's rules", 404, dry_run=True
            ),
        )
    router.add_api_route(
        "/v1/messages/inbound",
        post_inbound,
        methods=["POST"],
        status_code=202,
        openapi_extra=XML,
        **doc(REFUSED),
    )
    return router


# -- a batch -------------------------------------------------------------------------------


def batch_limits(gateway: Gateway) -> Limits:
    settings = gateway.settings
    return Limits(
        messages=settings.http_batch_max_messages,
        request_bytes=settings.http_batch_max_bytes,
        message_bytes=settings.max_message_bytes,
    )


def refuse_batch(refused: BatchRefused, who: str) -> JSONResponse:
    # Nothing of it reaches the ledger, so this line is where operations see it.
    log.warning(
        "ingress.batch_refused",
        status=refused.status,
        error=refused.error[:200],
        messages_at_fault=len(refused.problems),
        identity=who,
    )
    return JSONResponse(refused.to_dict(), refused.status)


async def ingest_batch(
    request: Request,
    response: Response,
    gateway: Gateway,
    identity: Identity,
    direction: Direction,
) -> Answer:
    """Receive the body as a batch: refused whole, or each message received (in order)."""
    who = Speaker.caller(identity)
    limits = batch_limits(gateway)
    try:
        raw = await read_body(request, limits.request_bytes)
    except TooLarge:
        too_large = f"the request is larger than {limits.request_bytes} bytes"
        return refuse_batch(BatchRefused(413, too_large), who.identity)
    try:
        envelopes = parse_batch(raw, direction, limits, who)
    except BatchRefused as refused:
        return refuse_batch(refused, who.identity)
    threads = cast(ThreadPoolExecutor, request.app.state.batch_threads)
    results = await asyncio.get_running_loop().run_in_executor(
        threads, gateway.receiver.receive_many, envelopes
    )
    body, response.status_code = answer(envelopes, results, direction)
    return body


async def post_outbound_batch(
    request: Request, response: Response, who: Sender, gateway: AppGateway
) -> Answer:
    """Send several standard messages (XML, base64) at once: recorded together before the
    answer, one result per message in the order sent."""
    return await ingest_batch(request, response, gateway, who, Direction.OUTBOUND)


async def post_inbound_batch(
    request: Request, response: Response, who: Sender, gateway: AppGateway
) -> Answer:
    """Receive several messages (XML, base64) from a counterpart at once."""
    return await ingest_batch(request, response, gateway, who, Direction.INBOUND)


def batch_router(contract: Contract, limits: Limits) -> APIRouter:
    """``POST /v1/messages/outbound/batch`` and ``.../inbound/batch``, their request body
    documented with ``limits``."""
    doc: dict[str, Any] = {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema(limits)}},
            }
        },
        **contract.route(
            bodies={
                202: ("every message accepted (each result holds its receipt)", BatchAnswer),
                207: ("not every message accepted: see each result's http_status", BatchAnswer),
                400: ("not the documented shape; nothing was recorded", BatchRefusal),
                413: (
                    "too many messages, too many bytes, or a message too large",
                    BatchRefusal,
                ),
            },
            model=BatchAnswer,
        ),
    }
    router = APIRouter(tags=["messages"])
    for path, endpoint in (
        ("/v1/messages/outbound/batch", post_outbound_batch),
        ("/v1/messages/inbound/batch", post_inbound_batch),
    ):
        router.add_api_route(path, endpoint, methods=["POST"], status_code=202, **doc)
    return router


# -- health --------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get(
    "/health/live",
    response_model=Liveness,
    responses={200: {"description": "the process answers"}},
)
def live() -> Liveness:
    return Liveness(status="ok")


@health.get(
    "/health/ready",
    responses={
        200: {"model": Readiness, "description": "the broker and the ledger are reachable"},
        503: {"model": Readiness, "description": "the broker or the ledger is not"},
    },
)
def ready(gateway: AppGateway) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        probe(gateway.settings.amqp_url)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"unavailable: {type(exc).__name__}"
    try:
        gateway.ledger.history("00000000-0000-0000-0000-000000000000")
        checks["ledger"] = "ok"
    except Exception as exc:
        checks["ledger"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)
