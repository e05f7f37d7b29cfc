"""The channels' envelope rules are pure functions returning findings, as the standards' are:
a rule id, the foutcode the counterpart would answer with, where, and a readable text."""

from __future__ import annotations

import uuid

from adapters.ggk import rules as ggk_rules
from adapters.ggk.codec import MAX_ENVELOPE_BYTES, GgkEnvelope
from adapters.lib.stuf.messages import Stuurgegevens, Systeem
from adapters.vecozo import rules as vecozo_rules
from adapters.vecozo.codec import Relatie, VecozoBericht


def _ggk(**changes: str) -> GgkEnvelope:
    sg = Stuurgegevens(
        changes.get("berichtcode", "Du01"),
        Systeem("0344", "Ketenpoort"),
        Systeem(changes.get("ontvanger", "12345678"), changes.get("applicatie", "GGk")),
        changes.get("referentienummer", str(uuid.uuid4())),
        "20250101120000000",
        cross_ref=changes.get("cross_ref", str(uuid.uuid4())),
    )
    return GgkEnvelope(sg, "0001", "0000", "0003", "0002", b"<x/>")


def test_a_good_ggk_envelope_has_no_findings() -> None:
    assert ggk_rules.check(_ggk(), 1000) == []


def test_each_ggk_envelope_fault_is_a_finding_with_its_foutcode() -> None:
    found = ggk_rules.check(
        _ggk(referentienummer="7", cross_ref="", ontvanger="Nergens", applicatie="X"),
        MAX_ENVELOPE_BYTES + 1,
    )
    assert [(f.rule, f.code, f.path) for f in found] == [
        ("GGK01", "IB007", ""),
        ("GGK02", "IB009", "stuurgegevens/referentienummer"),
        ("GGK03", "IB009", "stuurgegevens/crossRefnummer"),
        ("GGK04", "", "stuurgegevens/ontvanger/organisatie"),
        ("GGK05", "", "stuurgegevens/ontvanger/applicatie"),
    ]
    assert found[1].text == "referentienummer is not a UUID v4"


def test_vecozo_findings_name_the_field_and_foutcode() -> None:
    bericht = VecozoBericht(
        afzender=Relatie("Instelling", "12345678"),
        geadresseerden=(),
        berichttype="JW",
        berichtsubtype="JW315",
        berichtversie=3,
        berichtsubversie=0,
        actie="VerzoekToewijzing",
        conversatie_id=str(uuid.uuid4()),
        traceer_id="not-a-uuid",
        payload=b"<x/>",
    )
    found = vecozo_rules.check(bericht, 10)
    assert [(f.rule, f.code, f.path, f.text) for f in found] == [
        ("VZ01", "CC04", "TraceerId", "TraceerId is not a UUID v4"),
        ("VZ03", "", "Geadresseerden", "no geadresseerde"),
    ]
    assert vecozo_rules.check_download(b"abc", {"grootte": 4})[0].rule == "VZ04"
