"""What the HTTP API promises in its OpenAPI document beyond what FastAPI infers: the answers'
bodies, one shared table of error responses, and how callers authenticate.

Routes take their ``responses=`` (and, once identities are configured, their security
``dependencies=``) from :meth:`Contract.route`, so that every status a route can answer is
documented with the body it really carries. A route's main answer (the operations' bodies, a
receipt, a batch's answer) goes through its model as the route's ``response_model``
(``Contract.route(model=...)``): FastAPI validates and serializes it, so what goes out is what
is documented. The models of the other answers a route makes itself as a ``JSONResponse`` (too
large, not recorded, a batch refused, readiness) only document. Times are :data:`Moment`: text
as the ledger wrote it, documented as a date-time. ``tests/ops/test_openapi_contract.py`` holds
the running app to this document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Security
from fastapi.params import Depends
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, Field, WithJsonSchema

from gateway.ledger import Event, Status

# -- bodies --------------------------------------------------------------------------------

# A time as the ledger wrote it (ISO 8601, UTC): documented as a date-time, answered as written
# (a ``datetime`` field would be rewritten by the answer's serialization, ``+00:00`` as ``Z``).
Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Problem(BaseModel):
    """An error answered by the API itself (FastAPI's ``HTTPException``)."""

    detail: str


class Refusal(BaseModel):
    """A message refused before it was read (too large); nothing was recorded."""

    error: str


class MessageProblem(BaseModel):
    index: int = Field(description="the message's place in the batch, from 0")
    error: str


class BatchRefusal(BaseModel):
    """A batch refused whole; nothing of it was recorded."""

    error: str
    messages: list[MessageProblem] = Field(
        default_factory=list, description="the messages at fault, when some are"
    )


class Finding(BaseModel):
    rule: str = Field(description="e.g. CS002, TR056")
    code: str = Field(description="the retourcode the standard ties to the rule")
    path: str
    text: str
    source: str | None = Field(
        default=None,
        description="of back-office JSON: the JSON field or list item the class came from",
    )


class Receipt(BaseModel):
    """What became of a message handed in (``gateway.receive.Receipt``); it is recorded."""

    message_id: str
    correlation_id: str
    route: str
    status: Literal["accepted", "rejected", "refused"] = Field(
        description="accepted: valid, published; rejected: the standard's rules fired; "
        "refused: not XML, not identifiable, not schema-valid, not mappable, a sender the "
        "caller may not send as, or judging it failed on the gateway's side (internal)"
    )
    published: bool
    message_type: str | None
    errors: list[str]
    findings: list[Finding]
    duplicate: bool = Field(description="the message id was received before: its first receipt")
    forbidden: bool = Field(description="refused because the caller may not send as its sender")
    conflict: bool = Field(
        default=False,
        description="refused, not recorded: another identity used this message id before",
    )
    internal: bool = Field(
        default=False,
        description="refused because judging it failed on the gateway's side (HTTP 500): "
        "recorded; nothing is known to be wrong with it: send it again under a new message id",
    )


class DryRun(Receipt):
    """What a message would become (``?dry_run=true``), judged as a real send would be: its
    findings carry the rule and the retourcode. Nothing of it is recorded or published."""

    dry_run: Literal[True]


class Recorded(Receipt):
    """One message of a batch, recorded: its receipt and what the single endpoint answers."""

    index: int
    http_status: Literal[202, 403, 409, 422, 500]


class NotRecorded(BaseModel):
    """One message of a batch that could not be recorded: send it again with its message id."""

    index: int
    message_id: str
    http_status: Literal[503]
    error: str


class BatchCounts(BaseModel):
    messages: int
    accepted: int
    rejected: int
    refused: int
    not_recorded: int


class BatchAnswer(BaseModel):
    counts: BatchCounts
    messages: list[Recorded | NotRecorded] = Field(description="one per message, in order sent")


class Unrecorded(BaseModel):
    """A message that could not be recorded (ledger unavailable): send it again, with this id."""

    message_id: str
    error: str


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    broker: str = Field(description="ok, or unavailable: <error type>")
    ledger: str = Field(description="ok, or unavailable: <error type>")


class Liveness(BaseModel):
    status: Literal["ok"]


# -- operations bodies (``gateway/ops``) ----------------------------------------------------


class MessageState(BaseModel):
    """Where a message stands (``ops.messages.state_dict``): no payload, no personal data."""

    message_id: str
    correlation_id: str
    direction: Literal["inbound", "outbound", "operations", ""] = Field(
        description="inbound: came from a counterpart; outbound: goes to one; operations: a "
        "record of an operation (a bulk replay job); empty: none recorded"
    )
    route: str = Field(description="e.g. outbound.iwmo.WMO301")
    standard: str = Field(description="e.g. iwmo")
    code: str = Field(description="the message code, e.g. WMO301")
    sender: str = Field(description="the sender's code; empty: unknown, or erased by retention")
    receiver: str = Field(description="the receiver's code; empty: unknown, or erased")
    status: Status
    verdict: Literal["validated", "rejected", "imported", ""] = Field(
        description="validated: accepted; rejected: refused or rejected; imported: exchanged "
        "before Ketenpoort; empty: no verdict yet"
    )
    expects_answer: bool = Field(description="a heenbericht: a retour is due")
    answered_by: str | None = Field(description="the message id of its retour, once answered")
    first_seq: int = Field(description="the ledger entry that first recorded it")
    last_seq: int = Field(description="the ledger entry of its latest activity")
    first_at: Moment = Field(description="first recorded (UTC)")
    last_at: Moment = Field(description="its latest activity (UTC)")


class HistoryEntry(BaseModel):
    """One recorded step of a message (``ops.messages.entry_dict``)."""

    seq: int = Field(description="the entry's place in the ledger, from 1")
    message_id: str
    correlation_id: str
    event: Event
    at: Moment = Field(description="recorded (UTC)")
    route: str
    standard: str
    code: str
    version: str
    sender: str = Field(description="empty: not known at this step, or redacted")
    receiver: str = Field(description="empty: not known at this step, or redacted")
    detail: dict[str, Any] = Field(
        description="what the event recorded, by event (replayed: by, reason, previous ...); "
        "empty once redacted"
    )
    payload_sha256: str | None = Field(
        description="the payload this entry recorded (received, mapped); its bytes: "
        "GET /v1/messages/{message_id}/payload"
    )
    keys: dict[str, list[str]] = Field(
        description="business keys recorded with the entry (bsn: a keyed hash, never a BSN)"
    )
    redacted: bool = Field(
        description="its personal traffic data (parties, detail, keys) was erased by retention"
    )


class Message(BaseModel):
    """A message, its whole history and, for a heenbericht, its retour (``ops.messages``)."""

    message_id: str
    state: MessageState
    history: list[HistoryEntry] = Field(description="oldest first")
    retour: MessageState | None = Field(description="for a heenbericht: its retour, once sent")
    retour_history: list[HistoryEntry] = Field(description="the retour's; empty without one")


class MessageList(BaseModel):
    count: int = Field(description="how many messages follow (at most the limit asked)")
    messages: list[MessageState] = Field(description="newest first")


class ReplayJobFilter(BaseModel):
    """Which messages the job selected when it was created (all given criteria held)."""

    status: Status
    code: str | None
    party: str | None = Field(description="sender or receiver")
    keys: dict[str, str] = Field(description="business keys")
    since: str | None = Field(description="ISO 8601 bound on when a message was first recorded")
    until: str | None = Field(description="ISO 8601 bound on when a message was first recorded")


class ReplayJob(BaseModel):
    """A bulk replay (``ops.replay.Job``); its progress is the ledger's."""

    job_id: str
    by: str = Field(description="who created it")
    reason: str
    filter: ReplayJobFilter
    created: Moment = Field(description="UTC")
    total: int = Field(description="messages selected")
    replayed: int = Field(description="of those, replayed by this job so far")
    running: bool = Field(description="running now, in the process that answered")


class ReplayJobDetail(ReplayJob):
    selection: list[str] = Field(description="the selected message ids, oldest first")


class ReplayJobList(BaseModel):
    jobs: list[ReplayJob] = Field(description="the latest jobs, newest first")


class Breach(BaseModel):
    """An open deadline breach (``ops.deadlines.Breach``)."""

    breach_id: str = Field(description="stable: the same breach keeps its id")
    rule: str = Field(description="the standard's rule, e.g. OP090")
    text: str = Field(description="the deadline, readable")
    kind: Literal["answer", "report"] = Field(
        description="answer: still unanswered past its due date; report: sent too late"
    )
    message_id: str
    code: str
    route: str
    sender: str
    receiver: str
    started: dt.date = Field(description="the day its clock started (Europe/Amsterdam)")
    due: dt.date = Field(description="the day by whose end it was due")
    owed_by: str = Field(
        description="the party that owes it: the receiver of an unanswered message, the sender "
        "of a late report"
    )
    ours: bool = Field(description="whether that is this gateway's side (else the counterpart's)")


class BreachList(BaseModel):
    count: int
    breaches: list[Breach]


# -- responses -----------------------------------------------------------------------------

# Status -> (what it means, its body: a model, or an OpenAPI ``content`` as :func:`text` makes
# it). A route lists the statuses it can answer; a route whose
# body at a status differs from the table's says so in ``bodies``.
ERRORS: dict[int, tuple[str, Any]] = {
    400: ("the request is malformed (a body that is not JSON, a parameter refused)", Problem),
    401: (
        "no credentials, or unknown ones: an API key (Authorization: Bearer, X-API-Key) or a "
        "client certificate",
        Problem,
    ),
    403: ("the identity lacks the role this needs, or may not send messages", Problem),
    404: ("not found", Problem),
    409: ("the action does not apply to the message or job as it stands", Problem),
    413: ("the message is too large; nothing was recorded", Refusal),
    503: ("the ledger or the broker is unavailable; nothing was done: try again", Problem),
}
AUTH = (401, 403)  # answered only once identities are configured

_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer <key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


class Contract:
    """The documentation of one app's routes; ``secured``: identities are configured."""

    def __init__(self, secured: bool) -> None:
        self.secured = secured

    def responses(
        self,
        *statuses: int,
        bodies: dict[int, tuple[str, Any]] | None = None,
        auth: bool = True,
    ) -> dict[int | str, dict[str, Any]]:
        """The documented ``responses`` for ``statuses`` (and 401/403 for a route that checks
        the caller, when identities are configured); ``bodies`` overrides or adds statuses."""
        wanted: set[int] = set(statuses) | set(bodies or ())
        if auth and self.secured:
            wanted |= set(AUTH)
        elif not self.secured:
            wanted -= set(AUTH)  # an open API refuses no one
        table = {**ERRORS, **(bodies or {})}
        out: dict[int | str, dict[str, Any]] = {}
        for status in sorted(wanted):
            description, body = table[status]
            out[status] = {"description": description}
            out[status].update(body if isinstance(body, dict) else {"model": body})
        if 401 in out:
            out[401]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        return out

    def route(
        self,
        *statuses: int,
        bodies: dict[int, tuple[str, Any]] | None = None,
        auth: bool = True,
        model: type[BaseModel] | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for a route decorator: its responses and, for a route that checks
        the caller once identities are configured, the security schemes it takes. ``model``:
        the ``response_model`` its success answer is validated and serialized with; without
        one the bodies are documented only, and the answer goes out as the route made it."""
        return {
            "responses": self.responses(*statuses, bodies=bodies, auth=auth),
            "dependencies": self.security() if auth else [],
            "response_model": model,
        }

    def security(self) -> Sequence[Depends]:
        """Dependencies that only document how to authenticate (the route checks itself)."""
        if not self.secured:
            return []
        return [Security(_bearer), Security(_api_key)]


def text(media_type: str = "text/xml") -> dict[str, Any]:
    """A body that is not JSON (a SOAP envelope, say), for ``bodies``."""
    return {"content": {media_type: {"schema": {"type": "string"}}}}


NOTHING: dict[str, Any] = {"content": {}}  # an answer without a body, for ``bodies``


def xml_body(description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads an XML message from the body itself."""
    schema = {"type": "string", "minLength": 1, "description": description}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": schema}, "text/xml": {"schema": schema}},
        }
    }
