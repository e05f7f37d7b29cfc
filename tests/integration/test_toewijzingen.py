"""``GET /v1/toewijzingen`` on the real broker and ledger: the aanbieder's view of the
toewijzingen it received, current version each, for its own AGB code only, without names,
addresses or the BSN in the answer or the logs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.ops.auth import identity_line
from tests.istd_world import AANBIEDER, BSN, GEMEENTE, OTHER_BSN, World, header
from tests.unit.test_aanbieder_mappings import LATER

pytestmark = pytest.mark.integration

OTHER_AGB = "87654321"
KEYS = {
    "epd": "key-epd-12345678-0123456789abcdef0123",
    "other": "key-epd-87654321-0123456789abcdef0123",
    "internal": "key-internal-0123456789abcdef0123456",
}


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    configured = dataclasses.replace(
        settings,
        ops_identities=(
            identity_line("epd", KEYS["epd"], [], [AANBIEDER]),
            identity_line("other", KEYS["other"], [], [OTHER_AGB]),
            identity_line("internal", KEYS["internal"], [], ["*"]),
        ),
    )
    gateway = Gateway(configured)
    gateway.declare_topology()
    try:
        with TestClient(make_app(gateway)) as test_client:
            yield test_client
    finally:
        gateway.close()


def _toewijzing(
    aanbieder: str = AANBIEDER, bsn: str = BSN, ident: str = "T1", first: int = 5001, **changes: Any
) -> bytes:
    """The gemeente's 301; ToewijzingNummers ``first`` and the next (unique per gemeente)."""
    message = World("iwmo").base[301]
    message["Header"] = header(Bericht("iwmo", 301), GEMEENTE, aanbieder, ident, "2026-01-20")
    message["Client"]["Bsn"] = bsn
    for product in message["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        product["Einddatum"] = LATER.isoformat()
        product["ToewijzingNummer"] = str(int(product["ToewijzingNummer"]) - 5001 + first)
        product.update(changes.get(product["ToewijzingNummer"], {}))
    return codec.encode_message(Bericht("iwmo", 301), message)


def _receive(client: TestClient, body: bytes) -> None:
    answer = client.post("/v1/messages/inbound", content=body, headers=as_("internal"))
    assert answer.status_code == 202 and answer.json()["status"] == "accepted", answer.text


def _numbers(answer: Any) -> list[tuple[str, str, str]]:
    assert answer.status_code == 200, answer.text
    return sorted((t["number"], t["holder"], t["status"]) for t in answer.json()["toewijzingen"])


def test_an_aanbieder_sees_the_current_toewijzingen_it_received_and_only_its_own(
    client: TestClient,
) -> None:
    route = f"/v1/toewijzingen?bsn={BSN}"
    assert _numbers(client.get(route, headers=as_("epd"))) == []
    _receive(client, _toewijzing())
    _receive(client, _toewijzing(aanbieder=OTHER_AGB, ident="T2", first=6001))
    _receive(client, _toewijzing(bsn=OTHER_BSN, ident="T3", first=7001))

    with structlog.testing.capture_logs() as logs:
        answer = client.get(route, headers=as_("epd"))
    assert _numbers(answer) == [("5001", AANBIEDER, "current"), ("5002", AANBIEDER, "current")]
    first = next(t for t in answer.json()["toewijzingen"] if t["number"] == "5001")
    assert first == {
        "number": "5001",
        "standard": "iwmo",
        "grantor": GEMEENTE,
        "holder": AANBIEDER,
        "product": "02A01",
        "category": "02",
        "starts": "2026-01-01",
        "ends": LATER.isoformat(),
        "status": "current",
        "scope": {"volume": "10", "eenheid": "04", "frequentie": "4"},
        "granted_on": "2026-01-02",
    }
    # No personal data beyond what was asked by: no BSN, name or address in answer or logs.
    for personal in (BSN, "Proef", "Rotterdam", "3011AA", "Laan"):
        assert personal not in answer.text
        assert personal not in json.dumps(logs, default=str)

    # The same question with the BSN in the body (out of URLs and access logs).
    searched = client.post("/v1/toewijzingen/search", json={"bsn": BSN}, headers=as_("epd"))
    assert searched.json() == answer.json()

    # Filters: the product a toewijzing allows, the gemeente.
    assert _numbers(client.get(route + "&productcode=02A02", headers=as_("epd"))) == [
        ("5002", AANBIEDER, "current")
    ]
    assert _numbers(client.get(route + "&productcode=02A09", headers=as_("epd"))) == []
    assert _numbers(client.get(route + "&gemeente=0599", headers=as_("epd"))) == []
    assert len(_numbers(client.get(route + f"&gemeente={GEMEENTE}", headers=as_("epd")))) == 2

    # The other aanbieder sees its own toewijzingen of the client, never the first one's.
    assert _numbers(client.get(route, headers=as_("other"))) == [
        ("6001", OTHER_AGB, "current"),
        ("6002", OTHER_AGB, "current"),
    ]
    asked = client.get(route + f"&aanbieder={OTHER_AGB}", headers=as_("epd"))
    assert asked.status_code == 403
    # An internal system that sends as anyone names the aanbieder it asks for.
    assert client.get(route, headers=as_("internal")).status_code == 400
    internal = client.get(route + f"&aanbieder={OTHER_AGB}", headers=as_("internal"))
    assert {t["holder"] for t in internal.json()["toewijzingen"]} == {OTHER_AGB}

    # A newer version withdraws 5002 (RedenWijziging 13, Einddatum = Ingangsdatum): shown so.
    withdrawn = {
        "Toewijzingsdatum": "2026-01-20",
        "Einddatum": "2026-01-01",
        "RedenWijziging": "13",
    }
    _receive(client, _toewijzing(ident="T4", **{"5002": withdrawn}))
    assert _numbers(client.get(route, headers=as_("epd"))) == [
        ("5001", AANBIEDER, "current"),
        ("5002", AANBIEDER, "withdrawn"),
    ]


def test_a_malformed_question_is_refused(client: TestClient) -> None:
    assert client.get("/v1/toewijzingen?bsn=12", headers=as_("epd")).status_code == 400
    assert client.get("/v1/toewijzingen", headers=as_("epd")).status_code == 422
    bad = client.get(f"/v1/toewijzingen?bsn={BSN}&gemeente=03%2063", headers=as_("epd"))
    assert bad.status_code == 400
    assert client.get(f"/v1/toewijzingen?bsn={BSN}").status_code == 401
    search = "/v1/toewijzingen/search"
    assert client.post(search, json={"bsn": "12"}, headers=as_("epd")).status_code == 422
    unknown = client.post(search, json={"bsn": BSN, "naam": "x"}, headers=as_("epd"))
    assert unknown.status_code == 422
    assert client.post(search, json={"bsn": BSN}).status_code == 401
