"""One aanbieder's gateway serving many gemeenten: each gemeente reached through its own channel
(``counterpart_routes``: GGk, VECOZO or the outbox), the rest through ``counterpart_transport``;
both endpoints mocked with ``responses``, the receive and worker steps real."""

from __future__ import annotations

import json

import pytest
import responses
from lxml import etree

from adapters.ggk.transport import GgkTransport
from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from adapters.vecozo.transport import VecozoTransport
from gateway.config import ConfigError, Settings, load_settings
from gateway.envelope import Direction, Envelope
from tests.counterparts.helpers import (
    GGK_URL,
    counterpart_settings,
    make_parts,
    soap_body,
    xml_bestand,
)
from tests.istd_world import AANBIEDER, World, header
from tests.unit.test_aanbieder_mappings import LATER, _start

PUSH = "https://tst-api.vecozo.test/berichten/rest-push/v1"
ROUTED = {"0363": "vecozo", "0599": "ggk", "0344": "outbox"}


def _aanbieder(settings: Settings) -> Settings:
    return counterpart_settings(
        settings,
        counterpart_transport="vecozo",
        counterpart_routes=("0599=ggk", "0344 = outbox"),
        vecozo_push_url=PUSH,
        vecozo_agb=AANBIEDER,
        adapters=("adapters.istandaarden", "adapters.ggk", "adapters.vecozo"),
    )


def _toewijzing(gemeente: str, first: int) -> bytes:
    message = World("iwmo").base[301]
    message["Header"] = header(
        Bericht("iwmo", 301), gemeente, AANBIEDER, f"T{gemeente}", "2026-01-02"
    )
    for product in message["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        product["Einddatum"] = LATER.isoformat()
        product["ToewijzingNummer"] = str(int(product["ToewijzingNummer"]) - 5001 + first)
    return codec.encode_message(Bericht("iwmo", 301), message)


def test_each_gemeente_is_reached_through_its_channel_the_rest_by_default(settings) -> None:
    parts = make_parts(_aanbieder(settings))
    try:
        iwmo = parts.registry.for_standard("iwmo")
        assert isinstance(iwmo.transport("0363"), VecozoTransport)  # not named: the default
        assert isinstance(iwmo.transport("1680"), VecozoTransport)
        assert isinstance(iwmo.transport("0599"), GgkTransport)
        assert iwmo.transport("0344") is None  # the core's outbox
    finally:
        parts.ledger.close()


@responses.activate
def test_starts_for_three_gemeenten_go_out_through_three_channels(settings) -> None:
    responses.post(f"{PUSH}/berichten", status=204)
    responses.post(GGK_URL, status=202, body=b"")
    parts = make_parts(_aanbieder(settings))
    try:
        sent = {}
        for n, gemeente in enumerate(ROUTED):
            first = 5001 + 1000 * n
            receipt = parts.receiver.receive(
                Envelope(body=_toewijzing(gemeente, first), direction=Direction.INBOUND)
            )
            assert receipt.status == "accepted", receipt
            data = _start("iwmo")
            data["gemeente"] = gemeente
            data["starts"][0]["toewijzingnummer"] = first
            receipt = parts.receiver.receive_mapped(
                Envelope(body=json.dumps(data).encode(), direction=Direction.OUTBOUND),
                "iwmo",
                "start",
            )
            assert receipt.status == "accepted", receipt
            sent[gemeente] = receipt.message_id
        assert all(error is None for _, error in parts.drain())
        # For 0363 (VECOZO) and 0599 (the GGk) each the retour on its 301 and the start went
        # out through their channel; 0344's are in its outbox folder.
        hosts = sorted(call.request.url.split("/")[2] for call in responses.calls)
        assert hosts == ["ebms.test", "ebms.test", "tst-api.vecozo.test", "tst-api.vecozo.test"]
        ggk = [
            xml_bestand(soap_body(c.request.body))
            for c in responses.calls
            if c.request.url == GGK_URL
        ]
        # (the retour copies the 301's header: its gemeente is the Afzender there)
        parties = [
            {etree.fromstring(b).findtext(f".//{{*}}{name}") for name in ("Afzender", "Ontvanger")}
            for b in ggk
        ]
        assert parties == [{"0599", AANBIEDER}, {"0599", AANBIEDER}]
        outbox = parts.settings.outbox_dir / "0344"
        assert [p.name for p in outbox.iterdir() if p.suffix == ".xml"] != []
        for gemeente, message_id in sent.items():
            delivered = [
                e for e in parts.ledger.history(message_id) if e.event.value == "delivered"
            ]
            assert delivered, gemeente
    finally:
        parts.ledger.close()


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ("0599", "must be <party code>=<channel>"),
        ("0599=ftp", "names no channel"),
        ("0599=ggk", "must be set when counterpart_transport is 'ggk' (or a route)"),
    ],
)
def test_a_route_is_checked_at_start(routes: str, problem: str) -> None:
    env = {
        "KETENPOORT_COUNTERPART_ROUTES": routes,
        "KETENPOORT_ADAPTERS": "adapters.istandaarden",
    }
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env=env)
