"""The HTTP API answers what its OpenAPI document promises (``/openapi.json``), held to it by
schemathesis in process (ASGI) on the real RabbitMQ and SQLite ledger: no server error, every
status and content type documented, every JSON body valid against its documented schema, and
requests the document calls invalid refused. Open (no identities); with identities (then
401/403 and the security schemes are part of the document, and the operator calls); and with
the adapters that have endpoints of their own (``/v1/ggk``, ``/v1/corv``).

The engine runs every phase the ``schemathesis run`` command does (examples, coverage, fuzzing,
stateful); its pytest loader (``schemathesis.pytest.from_fixture``) fails under pytest 9.2."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from adapters.ggk.endpoint import GgkReceipt
from adapters.istandaarden.mapping import mapping_names
from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.openapi import Receipt as ReceiptDoc
from gateway.receive import Receipt
from tests.counterparts.helpers import counterpart_settings
from tests.ops.helpers import as_, ops_settings

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


def _problems(schema: Any) -> list[str]:
    """Run schemathesis' engine over every operation; each failed check, each error, and each
    documented operation that was not called."""
    problems: list[str] = []
    called: dict[str, int] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            label = event.recorder.label
            called[label] = called.get(label, 0) + len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
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
    return problems


@pytest.mark.parametrize("mode", sorted(CALLERS))
def test_the_api_answers_as_documented(settings: Settings, mode: str) -> None:
    configured = _settings(settings, mode)
    gateway = Gateway(configured)
    gateway.declare_topology()
    try:
        config = SchemathesisConfig.from_dict(
            {**CONFIG, "headers": CALLERS[mode]} if CALLERS[mode] else CONFIG
        )
        schema = schemathesis.openapi.from_asgi("/openapi.json", make_app(gateway), config=config)
        problems = _problems(schema)
    finally:
        gateway.close()
    assert not problems, "\n\n".join(problems)


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
