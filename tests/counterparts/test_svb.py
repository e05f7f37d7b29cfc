"""SVB trekkingsrecht (iPgb 2.0): the toekenningsbericht built from a back-office PGB
toekenning, its rules (amounts, periods, overlap, idempotent re-sends), the SVB's retour and the
budgetafsluitbericht taken in over the GGk (mocked with ``responses``)."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
import responses

from adapters.ggk import codec as ggk_codec
from adapters.ggk.endpoint import GgkIntake
from adapters.lib import soap
from adapters.lib.istandaard.codec import decode_message, encode_message, xsd_versions
from adapters.lib.stuf.messages import Stuurgegevens, Systeem
from adapters.svb import catalogue
from adapters.svb.rules import REJECTED_KEY
from gateway.envelope import Direction, Envelope
from gateway.receive import ACCEPTED, REFUSED, REJECTED
from tests.conftest import EXAMPLES
from tests.counterparts.helpers import (
    GGK_URL,
    assert_valid,
    counterpart_settings,
    make_parts,
    public_ggk_schema,
    soap_body,
)

TOEKENNING = json.loads((EXAMPLES / "pgb-toekenning.json").read_text())


@pytest.fixture
def parts(settings):
    parts = make_parts(
        counterpart_settings(
            settings, adapters=("adapters.istandaarden", "adapters.ggk", "adapters.svb")
        )
    )
    yield parts
    parts.ledger.close()


def _send(parts, data: dict):
    body = json.dumps(data).encode()
    envelope = Envelope(body=body, direction=Direction.OUTBOUND, source="test")
    return parts.receiver.receive_mapped(envelope, "ipgb", "toekenning")


def _changed(**budget) -> dict:
    data = copy.deepcopy(TOEKENNING)
    data["budget"].update(budget)
    return data


@responses.activate
def test_toekenning_becomes_a_jw501_that_goes_over_the_ggk_to_the_svb(parts):
    responses.post(GGK_URL, status=200, body=b"")
    receipt = _send(parts, TOEKENNING)
    assert receipt.status == ACCEPTED, receipt.errors or receipt.findings
    assert receipt.message_type == "ipgb 2.0 JW501"
    parts.drain()
    [call] = responses.calls
    envelope = soap_body(call.request.body)
    assert_valid(public_ggk_schema(), envelope)
    ggk = ggk_codec.read(envelope)
    sg = ggk.stuurgegevens
    assert (sg.berichtcode, sg.functie, sg.ontvanger.organisatie) == ("Di01", "JW501", "SVB")
    assert sg.zender.organisatie == "0363"
    assert (ggk.functie_versie, ggk.functie_subversie) == ("0002", "0000")
    from lxml import etree

    data = decode_message(etree.fromstring(ggk.payload), catalogue.JW501)
    assert data["Header"]["BerichtCode"] == "460" and data["Header"]["Ontvanger"] == "SVB"
    assert data["Budget"]["Bedrag"] == "1200000"
    assert [f["Zorgfunctie"] for f in data["Budget"]["Functiebudgetten"]["Functiebudget"]] == [
        "01",
        "02",
    ]
    assert parts.ledger.find("Budgetidentificatie", "PGB-2026-0001")


def test_amounts_and_periods_are_checked(parts):
    bad = _changed(
        bedrag=1,
        einddatum="2026-06-30",
        functiebudgetten=[
            {
                "zorgfunctie": "01",
                "ingangsdatum": "2026-01-01",
                "einddatum": "2026-12-31",
                "bedrag": 5,
            },
            {
                "zorgfunctie": "01",
                "ingangsdatum": "2026-03-01",
                "einddatum": "2026-02-01",
                "bedrag": 5,
            },
        ],
    )
    receipt = _send(parts, bad)
    assert receipt.status == REJECTED
    assert sorted({f.rule for f in receipt.findings}) == ["IP01", "IP02", "IP03", "IP04"]
    assert not parts.bus.published  # a rejected toekenning does not travel
    not_cents = _send(parts, _changed(bedrag="12,50"))
    assert not_cents.status == REFUSED
    assert "budget.bedrag" in not_cents.errors[0] and "euro-cents" in not_cents.errors[0]
    negative = _send(parts, _changed(bedrag=-5))
    assert negative.status == REFUSED  # the XSD takes no negative amounts


def test_resends_are_idempotent_and_changes_need_the_right_status(parts):
    first = _send(parts, TOEKENNING)
    assert first.status == ACCEPTED
    again = _send(parts, TOEKENNING)
    assert again.status == REJECTED and [f.rule for f in again.findings] == ["IP07"]
    assert first.message_id in again.findings[0].text
    wrong_status = _send(parts, _changed(einddatum="2027-06-30"))
    assert [f.rule for f in wrong_status.findings] == ["IP05"]
    longer = _changed(einddatum="2027-06-30", status="2")
    assert _send(parts, longer).status == ACCEPTED
    withdrawn = _changed(einddatum="2027-06-30", status="3")
    assert _send(parts, withdrawn).status == ACCEPTED


def test_no_overlap_within_a_zorgfunctie_unless_the_new_budget_replaces_the_old(parts):
    assert _send(parts, TOEKENNING).status == ACCEPTED
    other = _changed(budgetidentificatie="PGB-2026-0002")
    overlapping = _send(parts, other)
    assert {f.rule for f in overlapping.findings} == {"IP06"}
    replacing = _changed(
        budgetidentificatie="PGB-2026-0002", budgetidentificatieOud="PGB-2026-0001"
    )
    assert _send(parts, replacing).status == ACCEPTED


def _retour(tkb_root, codes: list[str]) -> bytes:
    data = decode_message(tkb_root, catalogue.JW501)
    header = dict(data["Header"])
    header.update(
        BerichtCode="461",
        IdentificatieRetour="R" + uuid.uuid4().hex[:8],
        DagtekeningRetour="2026-01-05",
        XsdVersieRetour=xsd_versions(catalogue.JW502),
    )
    message = {"Header": header}
    if codes != ["0200"]:
        message["Budget"] = {
            "Budgetidentificatie": data["Budget"]["Budgetidentificatie"],
            "RetourCodes": {"RetourCode": codes},
        }
    return encode_message(catalogue.JW502, message)


def _du01(payload: bytes, functie: str, cross: str, berichtcode: str = "Du01") -> bytes:
    return soap.wrap(
        ggk_codec.build(
            ggk_codec.GgkEnvelope(
                Stuurgegevens(
                    berichtcode,
                    Systeem("SVB", "PGB2.0"),
                    Systeem("0363", "GGk"),
                    str(uuid.uuid4()),
                    "20260105120000",
                    cross_ref=cross if berichtcode == "Du01" else "",
                    functie=functie,
                ),
                "0001",
                "0000",
                "0002",
                "0000",
                payload,
            )
        )
    )


@responses.activate
def test_svb_retour_comes_back_in_a_du01_and_a_rejection_allows_a_resend(parts):
    from lxml import etree

    responses.post(GGK_URL, status=200, body=b"")
    first = _send(parts, TOEKENNING)
    parts.drain()
    ref = parts.ledger.history(first.message_id)[-1].detail["referentienummer"]
    tkb = etree.fromstring(ggk_codec.read(soap_body(responses.calls[0].request.body)).payload)
    outcome = GgkIntake(parts).take(_du01(_retour(tkb, ["0001"]), "JW502", ref))
    assert outcome.receipt.status == ACCEPTED
    retour = parts.ledger.history(outcome.receipt.message_id)
    assert retour[0].detail["crossRefnummer"] == ref
    assert retour[0].correlation_id == first.correlation_id  # one conversation with the TKB
    ident = decode_message(tkb, catalogue.JW501)["Header"]["BerichtIdentificatie"]["Identificatie"]
    assert parts.ledger.find(REJECTED_KEY, ident)
    parts.drain()
    assert list((parts.settings.outbox_dir / "backoffice").glob("*JW502.xml"))
    resent = _send(parts, TOEKENNING)  # unchanged, but the SVB rejected it: it may go again
    assert resent.status == ACCEPTED and resent.message_id != first.message_id
    again = _send(parts, TOEKENNING)  # the resend was not rejected: this one changes nothing
    assert [f.rule for f in again.findings] == ["IP07"]
    assert resent.message_id in again.findings[0].text


def _bab(**budget) -> bytes:
    data = {
        "Header": {
            "BerichtCode": "462",
            "BerichtVersie": "2",
            "BerichtSubversie": "0",
            "Afzender": "SVB",
            "Ontvanger": "0363",
            "BerichtIdentificatie": {"Identificatie": "BAB1", "Dagtekening": "2027-04-06"},
            "XsdVersie": xsd_versions(catalogue.JW507),
        },
        "Budgethouder": {"Bsn": "999990019"},
        "Budget": {
            "Budgetidentificatie": "PGB-2026-0001",
            "Periode": {"Ingangsdatum": "2026-01-01", "Einddatum": "2026-12-31"},
            "RedenAfsluiting": "01",
            "Toegekend": "1200000",
            "Besteed": "1100000",
            "Functiebudgetten": {
                "Functiebudget": [
                    {
                        "Zorgfunctie": "01",
                        "Periode": {"Ingangsdatum": "2026-01-01", "Einddatum": "2026-12-31"},
                        "Toegekend": "800000",
                        "Besteed": "700000",
                    },
                    {
                        "Zorgfunctie": "02",
                        "Periode": {"Ingangsdatum": "2026-01-01", "Einddatum": "2026-06-30"},
                        "Toegekend": "400000",
                        "Besteed": "400000",
                    },
                ]
            },
        },
    }
    data["Budget"].update(budget)
    return encode_message(catalogue.JW507, data)


def test_bab_is_taken_in_over_the_ggk_and_checked(parts):
    outcome = GgkIntake(parts).take(_du01(_bab(), "JW507", "", berichtcode="Di01"))
    assert outcome.receipt.status == ACCEPTED
    parts.drain()
    assert list((parts.settings.outbox_dir / "backoffice").glob("*JW507.xml"))
    wrong = GgkIntake(parts).take(_du01(_bab(Besteed="1300000"), "JW507", "", berichtcode="Di01"))
    assert wrong.receipt.status == REJECTED
    assert {f.rule for f in wrong.receipt.findings} == {"IP08", "IP09"}


def test_a_toekenning_sent_before_the_gateway_counts_once_it_is_imported(parts):
    """Going live: a change (StatusAanlevering 2) to a budget the SVB got before Ketenpoort is
    refused until the earlier TKB is imported (``ketenpoort import``), then accepted."""
    from gateway.imports import IMPORTED, import_messages
    from gateway.validate import SchemaCache

    earlier = parts.registry.for_standard("ipgb").map_in("ipgb", "toekenning", TOEKENNING)
    longer = _changed(einddatum="2027-06-30", status="2")
    before = _send(parts, longer)
    assert before.status == REJECTED and [f.rule for f in before.findings] == ["IP05"]
    [done] = import_messages(
        parts.ledger,
        parts.registry,
        SchemaCache(),
        [("tkb.xml", earlier)],
        frozenset({TOEKENNING["gemeente"]}),
        parts.settings.max_message_bytes,
    )
    assert (done.status, done.message_type, done.direction) == (
        IMPORTED,
        "ipgb 2.0 JW501",
        "outbound",
    )
    again = _send(parts, TOEKENNING)  # unchanged: it is the imported one
    assert [f.rule for f in again.findings] == ["IP07"] and done.message_id in again.findings[
        0
    ].text
    assert _send(parts, longer).status == ACCEPTED
