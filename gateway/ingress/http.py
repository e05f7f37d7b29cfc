"""HTTP ingress (FastAPI; OpenAPI at ``/openapi.json``, docs at ``/docs``).

- ``POST /v1/messages/outbound``: a standard message (XML) from the back-office, to send.
- ``POST /v1/messages/outbound/{standard}/{mapping}``: back-office JSON, mapped to a message.
- ``POST /v1/messages/inbound``: a message (XML) from a counterpart.
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

import uuid

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway import __version__
from gateway.app import Gateway
from gateway.bus.publisher import probe
from gateway.envelope import Direction, Envelope, new_id
from gateway.ops import mount
from gateway.ops.runtime import operations
from gateway.receive import ACCEPTED, REJECTED, Receipt


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


def _status(receipt: Receipt, direction: Direction) -> int:
    if receipt.forbidden:
        return 403
    if receipt.status == ACCEPTED:
        return 202
    if receipt.status == REJECTED and direction is Direction.INBOUND:
        return 202  # received; the retourbericht tells the sender what is wrong
    return 422


def make_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(
        title="Ketenpoort",
        version=__version__,
        description="Message gateway for iWmo/iJw, SVB iPgb, CAK iEb and CORV.",
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
