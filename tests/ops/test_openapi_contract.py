"""The HTTP API answers what its OpenAPI document promises (``/openapi.json``), held to it by
schemathesis in process (ASGI) on the real RabbitMQ and SQLite ledger: no server error, every
status and content type documented, every JSON body valid against its documented schema, and
requests the document calls invalid refused. Open (no identities); with identities (then
401/403 and the security schemes are part of the document, and the operator calls, on a ledger
holding messages of every kind and a replay job, so that every operations route answers its
success body too); and with the adapters that have endpoints of their own (``/v1/ggk``,
``/v1/corv``).

Every JSON success body is documented by a model (``gateway/openapi.py``), and real answers of
a gateway that delivered, answered, rejected, refused, parked, replayed and discarded messages
hold to it exactly: no field missing, none undocumented, every type and enum as documented.

The engine runs every phase the ``schemathesis run`` command does (examples, coverage, fuzzing,
stateful); its pytest loader (``schemathesis.pytest.from_fixture``) fails under pytest 9.2."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from contextlib import ExitStack
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi.testclient import TestClient
from pydantic import BaseModel
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from adapters.ggk.endpoint import GgkReceipt
from adapters.istandaarden.mapping import mapping_names
from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.ledger import Status
from gateway.openapi import (
    BreachList,
    Liveness,
    Message,
    MessageList,
    MessageState,
    ReplayJob,
    ReplayJobDetail,
    ReplayJobList,
)
from gateway.openapi import Receipt as ReceiptDoc
from gateway.ops import messages as ops
from gateway.ops import replay as jobs
from gateway.ops.overview import Overview
from gateway.ops.runtime import operations as operations_of
from gateway.receive import Receipt
from tests.conftest import EXAMPLES
from tests.counterparts.helpers import counterpart_settings
from tests.integration.helpers import wait_for
from tests.ledger.conftest import Backend
from tests.ops.helpers import (
    as_,
    block_delivery,
    ops_settings,
    running,
    toewijzing,
    unblock_delivery,
    wait_status,
)

pytestmark = pytest.mark.integration

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
)
# Deterministic and small: a fixed seed, few generated examples per operation beside the
# coverage phase's own cases (the empty, the too long, the missing, the wrong type ...).
CONFIG: dict[str, Any] = {
    "seed": 20240501,
    "generation": {"max-examples": 8, "database": "none"},
    "checks": {
        "enabled": False,
        **{name: {"enabled": True} for name in CHECKS},
        # A request over a documented limit (maxItems, the sizes) is refused with 413.
        "negative_data_rejection": {
            "enabled": True,
            "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422],
        },
    },
}
SHOWN = 600  # characters of a failing request shown (a batch can be long)
# Which caller the generated requests come from, per mode.
CALLERS = {"open": {}, "identities": as_("op"), "counterparts": {}}


def _settings(settings: Settings, mode: str) -> Settings:
    if mode == "identities":
        return ops_settings(settings)
    if mode == "counterparts":  # the adapters with endpoints of their own (/v1/ggk, /v1/corv)
        adapters = ("adapters.istandaarden", "adapters.ggk", "adapters.svb", "adapters.corv")
        return counterpart_settings(settings, adapters=adapters, corv_organisatie="0599")
    return settings


# Each route whose JSON success body is its own (the operations routes, and /health/live): its
# success status and the model documenting that body.
BODIES: dict[str, tuple[int, type[BaseModel]]] = {
    "GET /v1/messages": (200, MessageList),
    "POST /v1/messages/search": (200, MessageList),
    "GET /v1/messages/{message_id}": (200, Message),
    "POST /v1/messages/{message_id}/replay": (200, MessageState),
    "POST /v1/messages/{message_id}/discard": (200, MessageState),
    "POST /v1/replay-jobs": (202, ReplayJob),
    "GET /v1/replay-jobs": (200, ReplayJobList),
    "GET /v1/replay-jobs/{job_id}": (200, ReplayJobDetail),
    "POST /v1/replay-jobs/{job_id}/resume": (202, ReplayJob),
    "GET /v1/deadlines": (200, BreachList),
    "GET /v1/overview": (200, Overview),
    "GET /health/live": (200, Liveness),
}
PAYLOAD = "GET /v1/messages/{message_id}/payload"  # the bytes a sender handed in, as they were
LATER = dt.timedelta(days=10)  # past the retour's due date (OP090): the deadlines breached


@dataclasses.dataclass
class Seeded:
    """Messages of every kind, recorded through the real path (a worker delivers or parks)."""

    delivered: str  # outbound heenbericht awaiting its retour
    answered: str  # inbound heenbericht, answered by its retour
    rejected: str  # inbound, rejected by the standard's rules (and answered so)
    refused: str  # inbound, not schema-valid: failed
    parked: list[str]

    @property
    def messages(self) -> list[str]:
        return [self.delivered, self.answered, self.rejected, self.refused, *self.parked]


def _send(client: TestClient, path: str, body: bytes, who: str, status: str) -> str:
    headers = {**as_(who), "content-type": "application/json" if body[:1] == b"{" else "text/xml"}
    receipt = client.post(path, content=body, headers=headers).json()
    assert receipt["status"] == status, receipt
    return str(receipt["message_id"])


def _seed(gateway: Gateway, client: TestClient, parked: int) -> Seeded:
    """Fill a running gateway's ledger (identities: ``ops_settings``) with messages of every
    kind; ``parked`` of them are parked (their delivery failed)."""
    mapped = "/v1/messages/outbound/iwmo/toewijzing"

    def inbound(example: str, status: str) -> str:  # from the gemeente 0599
        body = (EXAMPLES / example).read_bytes()
        return _send(client, "/v1/messages/inbound", body, "bo-0599", status)

    seeded = Seeded(
        delivered=_send(client, mapped, toewijzing(8001), "bo-0363", "accepted"),
        answered=inbound("WMO301-ontvangen.xml", "accepted"),
        rejected=inbound("WMO301-bsn-fout.xml", "rejected"),
        refused=inbound("WMO301-zonder-producten.xml", "refused"),
        parked=[],
    )
    wait_status(gateway, seeded.delivered, Status.AWAITING_ANSWER)
    wait_status(gateway, seeded.answered, Status.ANSWERED)
    wait_status(gateway, seeded.rejected, Status.ANSWERED)
    block_delivery(gateway.settings)
    for number in range(8101, 8101 + parked):
        seeded.parked.append(_send(client, mapped, toewijzing(number), "bo-0363", "accepted"))
        wait_status(gateway, seeded.parked[-1], Status.PARKED)
    unblock_delivery(gateway.settings)
    return seeded


def _problems(schema: Any) -> tuple[list[str], dict[str, set[int]]]:
    """Run schemathesis' engine over every operation; each failed check, each error, and each
    documented operation that was not called; and, per operation, the statuses of the answers
    whose body was checked against the document."""
    problems: list[str] = []
    called: dict[str, int] = {}
    checked: dict[str, set[int]] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            label = event.recorder.label
            called[label] = called.get(label, 0) + len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                interaction = event.recorder.interactions.get(case_id)
                response = interaction.response if interaction is not None else None
                for check in checks:
                    if check.name == "response_schema_conformance" and response is not None:
                        checked.setdefault(label, set()).add(response.status_code)
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        sample = check.failure_info.code_sample
                        problems.append(
                            f"{event.recorder.label}: {failure.title}\n{failure.message}\n"
                            f"{sample[:SHOWN]}{' ...' if len(sample) > SHOWN else ''}"
                        )
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            problems.append(f"fatal: {event.exception!r}")
    documented = {f"{m.upper()} {p}" for p, ops in schema.raw_schema["paths"].items() for m in ops}
    problems += [f"{label}: never called" for label in sorted(documented) if not called.get(label)]
    return problems, checked


def _with_ledger(gateway: Gateway) -> dict[str, Any]:
    """Seed a running gateway's ledger, breach a deadline, and return the schemathesis
    configuration that sends the seeded ids as often as generated ones: the replay route its
    own parked messages, the discard route others, every other route any message, and a job."""
    with TestClient(make_app(gateway)) as client:
        seeded = _seed(gateway, client, parked=4)
    job = jobs.create(gateway.ledger, "op", jobs.Filter(), reason="contract test")
    runtime = operations_of(gateway)
    runtime.clock = lambda: dt.datetime.now(dt.UTC) + LATER
    assert runtime.breaches(max_age=0.0)  # answered from now on (ops_deadline_interval)

    def known(name: str) -> dict[str, Any]:
        return {"dictionary": name, "probability": 0.5}

    def only(path: str, dictionary: str) -> dict[str, Any]:
        return {"include-path": path, "parameters": {"path.message_id": known(dictionary)}}

    return {
        "dictionaries": {
            "messages": {"values": seeded.messages},
            "to-replay": {"values": seeded.parked[:2]},
            "to-discard": {"values": seeded.parked[2:]},
            "jobs": {"values": [job.job_id]},
        },
        "parameters": {"path.message_id": known("messages"), "path.job_id": known("jobs")},
        "operations": [
            only("/v1/messages/{message_id}/replay", "to-replay"),
            only("/v1/messages/{message_id}/discard", "to-discard"),
        ],
    }


@pytest.mark.parametrize("mode", sorted(CALLERS))
def test_the_api_answers_as_documented(settings: Settings, mode: str) -> None:
    configured = _settings(settings, mode)
    config: dict[str, Any] = {**CONFIG, "headers": CALLERS[mode]} if CALLERS[mode] else CONFIG
    with ExitStack() as stack:
        if mode == "identities":
            # The operator acts on messages of every kind and a job, on a gateway whose worker
            # delivers what is replayed (so that it can be replayed again).
            gateway = stack.enter_context(running(configured))
            config = {**config, **_with_ledger(gateway)}
        else:
            gateway = Gateway(configured)
            stack.callback(gateway.close)
            gateway.declare_topology()
        schema = schemathesis.openapi.from_asgi(
            "/openapi.json", make_app(gateway), config=SchemathesisConfig.from_dict(config)
        )
        problems, checked = _problems(schema)
    assert not problems, "\n\n".join(problems)
    if mode == "identities":  # every success body was seen, and held to its documented model
        unseen = {label for label, (ok, _) in BODIES.items() if ok not in checked.get(label, ())}
        assert not unseen, f"no success answer checked: {sorted(unseen)}"


def _document(settings: Settings) -> dict[str, Any]:
    gateway = Gateway(settings)
    try:
        with TestClient(make_app(gateway)) as client:
            document: dict[str, Any] = client.get("/openapi.json").json()
    finally:
        gateway.close()
    return document


MAPPED = "/v1/messages/outbound/{standard}/{mapping}"


def test_the_document_names_the_mappings_and_how_to_authenticate(settings: Settings) -> None:
    document = _document(ops_settings(settings))
    mapped = document["paths"][MAPPED]["post"]
    enums = {p["name"]: p["schema"]["enum"] for p in mapped["parameters"] if p["in"] == "path"}
    assert enums == {"standard": ["ijw", "iwmo"], "mapping": sorted(mapping_names())}
    assert set(document["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    assert mapped["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}]
    assert {"401", "403"} <= set(mapped["responses"])
    assert "security" not in document["paths"]["/health/ready"]["get"]


def test_an_open_api_documents_no_authentication(settings: Settings) -> None:
    document = _document(settings)
    assert "securitySchemes" not in document.get("components", {})
    for operations in document["paths"].values():
        for operation in operations.values():
            assert not {"401", "403"} & set(operation["responses"])
            assert "security" not in operation


def test_the_documented_receipt_is_the_receipt() -> None:
    """The receipt's documentation (a pydantic model) has the receipt's fields, no more."""
    assert set(ReceiptDoc.model_fields) == {f.name for f in dataclasses.fields(Receipt)}
    assert set(GgkReceipt.model_fields) == set(ReceiptDoc.model_fields) | {"fo01_id"}


def _closed(schema: Any) -> Any:
    """``schema`` with every object schema that names its properties closed to others: an answer
    with a field its model lacks fails (the document itself leaves objects open to additions)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _success_schema(document: dict[str, Any], label: str, status: int) -> Any:
    method, path = label.split(" ", 1)
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]


def _answers(gateway: Gateway, client: TestClient, seeded: Seeded) -> dict[str, list[Any]]:
    """Ask each covered route of the seeded gateway: its label -> the success bodies answered."""
    out: dict[str, list[Any]] = {label: [] for label in BODIES}

    def ask(label: str, path: str, who: str = "viewer", **request: Any) -> Any:
        method = label.split(" ", 1)[0]
        response = client.request(method, path, headers=as_(who), **request)
        assert response.status_code == BODIES[label][0], f"{label}: {response.text}"
        out[label].append(response.json())
        return response.json()

    def read() -> None:
        for message_id in seeded.messages:
            ask("GET /v1/messages/{message_id}", f"/v1/messages/{message_id}")
        for query in ("", "?status=parked", "?status=failed", "?key=ToewijzingNummer=8001"):
            ask("GET /v1/messages", f"/v1/messages{query}")
        for body in ({}, {"status": "answered"}, {"code": "WMO301", "limit": 2}):
            ask("POST /v1/messages/search", "/v1/messages/search", json=body)

    read()  # before the operator acts: parked messages
    to_replay, to_discard, to_job = seeded.parked
    ask("POST /v1/messages/{message_id}/replay", f"/v1/messages/{to_replay}/replay", "op")
    wait_status(gateway, to_replay, Status.AWAITING_ANSWER)
    discard = "POST /v1/messages/{message_id}/discard"
    for _ in range(2):  # the second time: discarded already, answered all the same
        ask(discard, f"/v1/messages/{to_discard}/discard", "op", json={"reason": "a mistake"})
    job = ask("POST /v1/replay-jobs", "/v1/replay-jobs", "op", json={"reason": "outbox back"})
    path = f"/v1/replay-jobs/{job['job_id']}"

    def done() -> bool:
        found = ask("GET /v1/replay-jobs/{job_id}", path)
        return bool(found["replayed"] == found["total"] == 1 and not found["running"])

    wait_for(done, 20, "the job's replay")
    wait_status(gateway, to_job, Status.AWAITING_ANSWER)
    ask("POST /v1/replay-jobs/{job_id}/resume", f"{path}/resume", "op")
    ask("GET /v1/replay-jobs", "/v1/replay-jobs")
    read()  # after: replayed, discarded
    runtime = operations_of(gateway)
    ask("GET /v1/deadlines", "/v1/deadlines")  # none yet
    runtime.clock = lambda: dt.datetime.now(dt.UTC) + LATER
    runtime.breaches(max_age=0.0)
    ask("GET /v1/deadlines", "/v1/deadlines")
    ask("GET /v1/overview", "/v1/overview")
    ask("GET /health/live", "/health/live")
    return out


def test_every_operations_answer_is_its_documented_model(
    settings: Settings, backend: Backend
) -> None:
    """A real answer of each covered route, from a gateway whose ledger (SQLite, PostgreSQL)
    holds messages of every kind, is valid against the route's documented model: exactly its
    fields (none missing, none undocumented), its types, its enums, its date-time formats."""
    configured = ops_settings(settings, ledger_url=backend.dsn)
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        seeded = _seed(gateway, client, parked=3)
        answers = _answers(gateway, client, seeded)
        document = client.get("/openapi.json").json()
        shown = client.get(f"/v1/messages/{seeded.answered}", headers=as_("viewer")).json()
        # documented, not filtered: the answer is what the operations function made (for a
        # viewer: without the BSN hash)
        made = ops.get(gateway.ledger, seeded.answered).to_dict(subjects=False)
        made = json.loads(json.dumps(made))
        assert shown == made
    components = _closed(document["components"])
    for label, (status, model) in BODIES.items():
        schema = _success_schema(document, label, status)
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}, label
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": components}, validate_formats=True
        )
        assert answers[label], f"{label}: never answered"
        for body in answers[label]:
            errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
            assert not errors, f"{label}: {errors}\n{json.dumps(body)[:SHOWN]}"
            model.model_validate(body)
    # ... and the answers were varied enough to hold the models to what they allow for
    states = [m for listed in answers["GET /v1/messages"] for m in listed["messages"]]
    assert {m["status"] for m in states} >= {
        "delivered",
        "awaiting-answer",
        "answered",
        "failed",
        "parked",
        "discarded",
    }
    assert {m["verdict"] for m in states} == {"validated", "rejected"}
    assert {m["answered_by"] is None for m in states} == {True, False}
    shown_all = answers["GET /v1/messages/{message_id}"]
    assert {m["retour"] is None for m in shown_all} == {True, False}
    assert answers["GET /v1/deadlines"][-1]["count"] >= 1
    assert answers["GET /v1/replay-jobs"][-1]["jobs"]


def test_every_json_success_body_is_a_documented_model(settings: Settings) -> None:
    """No route documents its success body as a bare object: each names a model with fields
    (an untyped route, a handler's ``dict[str, Any]``, would read ``{"type": "object"}``)."""
    document = _document(_settings(ops_settings(settings), "counterparts"))
    schemas = document["components"]["schemas"]
    typed = set()
    for path, by_method in document["paths"].items():
        for method, operation in by_method.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                label = f"{method.upper()} {path} {status}"
                if not status.startswith("2") or schema is None or label.startswith(PAYLOAD):
                    continue  # no JSON, or the sender's own bytes as they were handed in
                assert set(schema) == {"$ref"}, f"{label}: {schema}"
                name = schema["$ref"].rsplit("/", 1)[-1]
                assert schemas[name].get("properties"), f"{label}: {name} has no fields"
                typed.add(f"{method.upper()} {path}")
    assert set(BODIES) <= typed
