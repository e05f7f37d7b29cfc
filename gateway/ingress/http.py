"""HTTP ingress (FastAPI; OpenAPI at ``/openapi.json``, docs at ``/docs``).

- ``POST /v1/messages/outbound``: a standard message (XML) from the back-office, to send.
- ``POST /v1/messages/outbound/{standard}/{mapping}``: back-office JSON, mapped to a message.
- ``POST /v1/messages/inbound``: a message (XML) from a counterpart.
- ``POST /v1/messages/outbound/batch``, ``POST /v1/messages/inbound/batch``: several messages
  (base64 in a JSON object) in one request, received together, one result per message
  (``gateway/ingress/batch.py``).
- ``GET /health/live``, ``GET /health/ready`` (broker and ledger reachable).
- what the loaded adapters add (optional member ``router``), e.g. ``POST /v1/ggk`` where the
  ebMS adapter in front of us hands over what the GGk sent.
- the operations API (``/v1/messages`` queries, payloads, replay, discard, replay jobs,
  deadlines, ``/metrics``) and the dashboard (``/ui``): ``gateway/ops/``.

Callers authenticate (``gateway/ops/auth.py``) once identities are configured; a message whose
sender is not a party the caller may send as is refused with 403 and recorded.

An optional ``X-Message-Id`` header (a UUID) makes a POST idempotent: sending the same id again
returns the first receipt and does nothing twice. ``X-Correlation-Id`` is carried along.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway import __version__
from gateway.app import Gateway
from gateway.bus.publisher import probe
from gateway.envelope import Direction, Envelope, new_id
from gateway.ingress.batch import REQUEST_SCHEMA, BatchRefused, Limits, answer, parse_batch
from gateway.ingress.batch import http_status as _status
from gateway.logs import get_logger
from gateway.ops import mount
from gateway.ops.runtime import operations

log = get_logger(__name__)


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _message_id(request: Request) -> str:
    given = request.headers.get("x-message-id")
    if not given:
        return new_id()
    try:
        return str(uuid.UUID(given))
    except ValueError:
        raise HTTPException(400, "X-Message-Id must be a UUID") from None


def make_app(gateway: Gateway) -> FastAPI:
    # Batches are received on two threads of their own, not the request thread pool: each
    # thread compiles the schemas and opens its ledger connection once; while one batch waits
    # for its commit or its confirms the other is judged (and entries of both may share one
    # commit); further requests wait their turn instead of piling up.
    batch_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="batch-receive")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        batch_threads.shutdown(wait=False)

    app = FastAPI(
        title="Ketenpoort",
        version=__version__,
        description="Message gateway for iWmo/iJw, SVB iPgb, CAK iEb and CORV.",
        lifespan=lifespan,
    )
    limit = gateway.settings.max_message_bytes
    auth = operations(gateway).auth

    async def ingest(request: Request, direction: Direction, mapping: str | None) -> JSONResponse:
        identity = auth.require_sender(request)
        try:
            body = await read_body(request, limit)
        except TooLarge:
            return JSONResponse({"error": f"message is larger than {limit} bytes"}, 413)
        envelope = Envelope(
            body=body,
            direction=direction,
            message_id=_message_id(request),
            correlation_id=request.headers.get("x-correlation-id", ""),
            content_type=request.headers.get("content-type", ""),
            source="http",
            identity="" if auth.open else identity.name,
            may_send_as=identity.may_send_as,
        )
        if mapping is None:
            receipt = await run_in_threadpool(gateway.receiver.receive, envelope)
        else:
            standard, name = mapping.split("/", 1)
            receipt = await run_in_threadpool(
                gateway.receiver.receive_mapped, envelope, standard, name
            )
        return JSONResponse(receipt.to_dict(), _status(receipt, direction))

    @app.post("/v1/messages/outbound", status_code=202, tags=["messages"])
    async def post_outbound(request: Request) -> JSONResponse:
        """Send a standard message (XML) from the back-office to its counterpart."""
        return await ingest(request, Direction.OUTBOUND, None)

    @app.post("/v1/messages/outbound/{standard}/{mapping}", status_code=202, tags=["messages"])
    async def post_mapped(standard: str, mapping: str, request: Request) -> JSONResponse:
        """Send back-office JSON (e.g. ``iwmo/toewijzing``), mapped to the standard's message."""
        return await ingest(request, Direction.OUTBOUND, f"{standard}/{mapping}")

    @app.post("/v1/messages/inbound", status_code=202, tags=["messages"])
    async def post_inbound(request: Request) -> JSONResponse:
        """Receive a message (XML) from a counterpart."""
        return await ingest(request, Direction.INBOUND, None)

    batch_limits = Limits(
        messages=gateway.settings.http_batch_max_messages,
        request_bytes=gateway.settings.http_batch_max_bytes,
        message_bytes=limit,
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

    async def ingest_batch(request: Request, direction: Direction) -> JSONResponse:
        identity = auth.require_sender(request)
        who = "" if auth.open else identity.name
        try:
            raw = await read_body(request, batch_limits.request_bytes)
        except TooLarge:
            too_large = f"the request is larger than {batch_limits.request_bytes} bytes"
            return refuse_batch(BatchRefused(413, too_large), who)
        try:
            envelopes = parse_batch(
                raw, direction, batch_limits, identity=who, may_send_as=identity.may_send_as
            )
        except BatchRefused as refused:
            return refuse_batch(refused, who)
        results = await asyncio.get_running_loop().run_in_executor(
            batch_threads, gateway.receiver.receive_many, envelopes
        )
        body, status = answer(envelopes, results, direction)
        return JSONResponse(body, status)

    batch_doc: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": REQUEST_SCHEMA}},
        },
        "responses": {
            "202": {"description": "every message accepted (each result holds its receipt)"},
            "207": {"description": "not every message accepted: see each result's http_status"},
            "400": {"description": "not the documented shape; nothing was recorded"},
            "413": {"description": "too many messages, too many bytes, or a message too large"},
        },
    }

    @app.post(
        "/v1/messages/outbound/batch", status_code=202, tags=["messages"], openapi_extra=batch_doc
    )
    async def post_outbound_batch(request: Request) -> JSONResponse:
        """Send several standard messages (XML, base64) at once: recorded together before the
        answer, one result per message in the order sent."""
        return await ingest_batch(request, Direction.OUTBOUND)

    @app.post(
        "/v1/messages/inbound/batch", status_code=202, tags=["messages"], openapi_extra=batch_doc
    )
    async def post_inbound_batch(request: Request) -> JSONResponse:
        """Receive several messages (XML, base64) from a counterpart at once."""
        return await ingest_batch(request, Direction.INBOUND)

    # Adapters' own endpoints (a counterpart's receiving endpoint, e.g. POST /v1/ggk).
    for adapter in gateway.registry:
        make_router = getattr(adapter, "router", None)
        if callable(make_router):
            app.include_router(make_router(gateway))

    @app.get("/health/live", tags=["health"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    def ready() -> JSONResponse:
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

    mount(app, gateway)
    return app
