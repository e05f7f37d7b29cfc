"""What the HTTP API promises in its OpenAPI document beyond what FastAPI infers: the answers'
bodies, one shared table of error responses, and how callers authenticate.

Routes take their ``responses=`` (and, once identities are configured, their security
``dependencies=``) from :meth:`Contract.route`, so that every status a route can answer is
documented with the body it really carries. ``tests/ops/test_openapi_contract.py`` holds the
running app to this document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi import Security
from fastapi.params import Depends
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, Field

# -- bodies --------------------------------------------------------------------------------


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
        "refused: not XML, not identifiable, not schema-valid, not mappable, or a sender the "
        "caller may not send as"
    )
    published: bool
    message_type: str | None
    errors: list[str]
    findings: list[Finding]
    duplicate: bool = Field(description="the message id was received before: its first receipt")
    forbidden: bool = Field(description="refused because the caller may not send as its sender")


class Recorded(Receipt):
    """One message of a batch, recorded: its receipt and what the single endpoint answers."""

    index: int
    http_status: Literal[202, 403, 422]


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
    ) -> dict[str, Any]:
        """Keyword arguments for a route decorator: its responses and, for a route that checks
        the caller once identities are configured, the security schemes it takes."""
        return {
            "responses": self.responses(*statuses, bodies=bodies, auth=auth),
            "dependencies": self.security() if auth else [],
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
