"""Shared pieces of the counterpart tests: the gateway's receive and worker steps on the real
SQLite ledger with the bus step replaced by a list, the counterparts (GGk, VECOZO, CORV
endpoints) mocked with ``responses``, and the public schemas as oracles."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.ggk import codec as ggk_codec
from adapters.lib import soap
from adapters.lib.stuf.messages import Stuurgegevens, Systeem
from gateway.adapter import Registry
from gateway.config import Settings, replace
from gateway.delivery import OutboxTransport
from gateway.envelope import Envelope
from gateway.ledger import Ledger, open_ledger, options_from_settings
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker
from tests.busstub import StubBus
from tests.conftest import REFERENCE

GGK_URL = "https://ebms.test/ggk"
CORV_URL = "https://ebms.test/corv"
GGK_PUBLIC = (
    REFERENCE
    / "ggk-stuf-envelop/extracted/ggk0210 patch 04/ggk0210/ggk0210/ggkberichten"
    / "ggk0210_msg_ggkberichten.xsd"
)
GGK_EXAMPLES = REFERENCE / "ggk-stuf-envelop/extracted/ggk0210 patch 04/ggk0210/voorbeeldberichten"
IEB10 = REFERENCE / "ieb-1.0-messagestub"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def counterpart_settings(settings: Settings, **changes: Any) -> Settings:
    """A gemeente on the GGk with millisecond retry waits."""
    base: dict[str, Any] = {
        "counterpart_transport": "ggk",
        "ggk_url": GGK_URL,
        "ggk_organisatie": "0599",
        "http_attempts": 3,
        "http_backoff": 0.001,
        "http_max_wait": 0.01,
        "http_timeout": 2.0,
        "adapters": ("adapters.istandaarden", "adapters.ggk"),
    }
    base.update(changes)
    return replace(settings, **base)


@dataclasses.dataclass
class Parts:
    settings: Settings
    registry: Registry
    ledger: Ledger
    bus: StubBus
    receiver: Receiver
    worker: Worker

    # With ``receiver``, ``ledger`` and ``settings``, and ``redelivery()`` where a test needs
    # it: the adapters' context (what an endpoint or a poller may use, gateway.adapter.Context).

    def drain(self, limit: int = 50) -> list[tuple[Envelope, BaseException | None]]:
        """Let the worker process everything published, in order, until nothing is left.
        Returns each envelope with the failure it raised, if any (not retried here)."""
        done: list[tuple[Envelope, BaseException | None]] = []
        while self.bus.published and len(done) < limit:
            envelope = self.bus.published.pop(0)
            try:
                self.worker.process(envelope)
            except Exception as exc:
                done.append((envelope, exc))
            else:
                done.append((envelope, None))
        return done


def make_parts(settings: Settings) -> Parts:
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "test-key", options_from_settings(settings))
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, settings.max_message_bytes)
    worker = Worker(
        registry, ledger, receiver, OutboxTransport(settings.outbox_dir), settings.max_message_bytes
    )
    return Parts(settings, registry, ledger, bus, receiver, worker)


def events(ledger: Ledger, message_id: str) -> list[str]:
    return [e.event.value for e in ledger.history(message_id)]


@cache
def public_ggk_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(GGK_PUBLIC)))


def assert_valid(schema: etree.XMLSchema, element: etree._Element | bytes) -> None:
    doc = etree.fromstring(element) if isinstance(element, bytes) else element
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def soap_body(body: bytes) -> etree._Element:
    """The message inside a SOAP 1.1 request body we sent."""
    root = etree.fromstring(body)
    assert root.tag == f"{{{SOAP11}}}Envelope"
    [inner] = root.find(f"{{{SOAP11}}}Body")
    return inner


def xml_bestand(envelope: etree._Element) -> bytes:
    [element] = envelope.iter("{http://www.stufstandaarden.nl/koppelvlak/ggk0210}xmlBestand")
    return base64.b64decode(element.text or "")


def walk(folder: Path, pattern: str = "*.xml") -> Iterator[Path]:
    yield from sorted(folder.glob(pattern))


# -- coherent worlds for the iWmo/iJw rules (they check messages against earlier ones) ---------

JAAPJUNIOR = REFERENCE / "jaapjunior-iwmo-3.2" / "voorbeeldberichten"


def toewijzing_for_examples() -> dict[str, Any]:
    """Back-office JSON of the WMO301 the public WMO305/WMO307 examples start and stop
    (gemeente 0363, aanbieder 65656055, toewijzingen 300201 and 300202)."""
    product = {
        "productcategorie": "01",
        "ingangsdatum": "2025-04-01",
        "einddatum": "2025-12-31",
        "toewijzingsdatum": "2025-03-30",
        "omvang": {"volume": 4, "eenheid": "04", "frequentie": "2"},
    }
    return {
        "gemeente": "0363",
        "aanbieder": "65656055",
        "client": {
            "bsn": "999900006",
            "geboortedatum": "1967-08-13",
            "geslacht": "1",
            "naam": {"achternaam": "Wit", "voorvoegsel": "de", "voorletters": "T"},
            "contacten": [
                {
                    "soort": "01",
                    "adres": {
                        "huisnummer": 1,
                        "postcode": "1011AB",
                        "straatnaam": "Voorbeeldstraat",
                        "plaatsnaam": "Amsterdam",
                        "land": "NL",
                    },
                }
            ],
        },
        "toewijzingen": [
            {**product, "toewijzingnummer": 300201, "productcode": "01A11"},
            {**product, "toewijzingnummer": 300202, "productcode": "01A12"},
        ],
    }


def prime_toewijzing(parts: Parts) -> str:
    """Record (accepted, not sent) the WMO301 the public 305/307 examples refer to."""
    import json

    from gateway.envelope import Direction

    body = json.dumps(toewijzing_for_examples()).encode()
    receipt = parts.receiver.receive_mapped(
        Envelope(body=body, direction=Direction.OUTBOUND, source="test"), "iwmo", "toewijzing"
    )
    assert receipt.status == "accepted", receipt.errors or receipt.findings
    parts.bus.published.clear()
    return receipt.message_id


def jw301_without_verzoek() -> bytes:
    """The public JW301 example without its ReferentieAanbieder (it refers to a verzoek, JW315,
    that is not in the ledger: TR379)."""
    path = REFERENCE / "jaapjunior-ijw-3.2" / "voorbeeldberichten" / "JW301.xml"
    root = etree.parse(str(path)).getroot()
    for element in list(root.iter("{*}ReferentieAanbieder")):
        element.getparent().remove(element)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return text


def ggk_di01(
    payload: bytes, functie: str, zender: str, ontvanger: str = "0363", ref: str | None = None
) -> bytes:
    """A StUF-GGk Di01 (ggk0210, in its SOAP envelope) carrying ``payload`` from ``zender`` to
    ``ontvanger``; its referentienummer ``ref``, else one of its own (a message id of its own)."""
    envelope = ggk_codec.GgkEnvelope(
        stuurgegevens=Stuurgegevens(
            berichtcode="Di01",
            zender=Systeem(zender, "Pakket"),
            ontvanger=Systeem(ontvanger, "GGk"),
            referentienummer=ref or str(uuid.uuid4()),
            tijdstip="20260105120000",
            functie=functie,
        ),
        applicatie_versie="0001",
        applicatie_subversie="0000",
        functie_versie="0003",
        functie_subversie="0002",
        payload=payload,
    )
    return soap.wrap(ggk_codec.build(envelope))
