"""StUF-Jeugdzorg messages after the public test set's scenarios (Testset StUF-koppelvlak
Jeugdzorg 1.0.1). The test set's own XML files are not public (only the scenario sheet is), so
each scenario's message is written here from its description, as canonical data for our codec.
Persons and numbers are invented; BSNs are test numbers that pass the 11-proef."""

from __future__ import annotations

import base64
import uuid
from typing import Any

RVDK = "00000001003214345000"  # an OIN-like organisatie code; invented
GEMEENTE = "00000001001234567000"


def _stuurgegevens(functie: str, zender: str, ontvanger: str) -> dict[str, Any]:
    return {
        "berichtcode": "Di01",
        "zender": {"organisatie": zender, "applicatie": "JUBES"},
        "ontvanger": {"organisatie": ontvanger, "applicatie": "Ketenpoort"},
        "referentienummer": str(uuid.uuid4()),
        "tijdstipBericht": "20260105120000",
        "functie": functie,
    }


def kind(**persoon: Any) -> dict[str, Any]:
    return {
        "gerelateerde": {"natuurlijkPersoon": persoon},
        "omschrijving": "Client (kind)",
    }


def ongeboren(**persoon: Any) -> dict[str, Any]:
    return {
        "gerelateerde": {"natuurlijkPersoon": persoon},
        "omschrijving": "Client (ongeboren kind)",
    }


def gezaghebbende(rol: str, **persoon: Any) -> dict[str, Any]:
    return {"gerelateerde": {"natuurlijkPersoon": persoon}, "omschrijving": rol}


def _zaak_rvdk() -> dict[str, Any]:
    return {
        "isVan": {
            "gerelateerde": {
                "omschrijvingGeneriek": "Uitvoeren onderzoek kinderbeschermingsmaatregel"
            }
        }
    }


def notificatie(status: str, client: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """notificatieDi01, RvdK -> gemeente, about a zaak at the gemeente (a VTO)."""
    zaak: dict[str, Any] = {
        "identificatie": "RVDK-2026-0042",
        **_zaak_rvdk(),
        "heeftBetrekkingOp": client,
        "heeftBetrekkingOpAndere": {
            "gerelateerde": {
                "identificatie": "VTO-2026-0001",
                "isVan": {
                    "gerelateerde": {
                        "omschrijvingGeneriek": "Overwegen kinderbeschermingsmaatregel"
                    }
                },
            }
        },
        "heeft": {
            "gerelateerde": {"omschrijving": status},
            "datumStatusGezet": "20260105110000",
        },
    }
    zaak.update(extra)
    return {"stuurgegevens": _stuurgegevens("notificatieDi01", RVDK, GEMEENTE), "object": zaak}


NOTIFICATIES: dict[str, dict[str, Any]] = {
    "intake afgerond, kind met BSN en geboortedatum": notificatie(
        "Intake afgerond",
        kind(**{"inp.bsn": "999990019", "geslachtsnaam": "Jansen", "geboortedatum": "20150301"}),
    ),
    "onderzoek afgerond, kind met BSN": notificatie(
        "Onderzoek afgerond",
        kind(**{"inp.bsn": "999990032", "geslachtsnaam": "Jansen", "geboortedatum": "20120709"}),
        resultaat={"omschrijving": "Maatregel opgelegd"},
        leidtTot=[
            {
                "gerelateerde": {
                    "datumBeslissing": "20260102",
                    "toelichting": "Ondertoezichtstelling",
                    "ingangsdatumWerking": "20260102",
                    "einddatumWerking": "20270101",
                }
            }
        ],
    ),
    "onderzoek afgerond, kind zonder BSN met RNI-nummer, geboortedatum onbekend": notificatie(
        "Onderzoek afgerond",
        # the notificatie's kind has no A-nummer element: the RNI number is an extra element
        kind(
            geslachtsnaam="Nowak",
            extraElementen={"extraElement": [{"@naam": "rniNummer", "#": "1234567890"}]},
        ),
    ),
    "onderzoek afgerond, ongeboren kind, moeder zonder BSN met diakrieten": notificatie(
        "Onderzoek afgerond",
        ongeboren(geslachtsnaam="Çelik-Ørsted"),
        heeftAlsBelanghebbende={
            "gerelateerde": {
                "natuurlijkPersoon": {
                    "@StUF:entiteittype": "NPS",
                    "anp.identificatie": "76543210987654321",
                    "geslachtsnaam": "Çelik-Ørsted Œuvre",
                    "voornamen": "Zoë Ænne",
                }
            },
            "omschrijving": "ouder, gezag niet benoemd",
        },
    ),
    "onderzoek afgerond, kind alleen beschreven": notificatie(
        "Onderzoek afgerond",
        kind(geslachtsnaam="Onbekend", voornamen="Sam", geslachtsaanduiding="O"),
    ),
    "zaak afgerond, kind met BSN": notificatie(
        "Zaak afgerond",
        kind(**{"inp.bsn": "999990044", "geslachtsnaam": "de Vries", "geboortedatum": "20100101"}),
        resultaat={"omschrijving": "Geen maatregel opgelegd"},
    ),
    "ambtshalve onderzoek gestart (BT-050009)": notificatie(
        "Intake afgerond",
        kind(**{"inp.bsn": "999990056", "geslachtsnaam": "Bakker"}),
        extraElementen={"extraElement": [{"@naam": "notificatiesoort", "#": "BT-050009"}]},
    ),
    "uitkomst ambtshalve onderzoek (BT-050010)": notificatie(
        "Onderzoek afgerond",
        kind(**{"inp.bsn": "999990056", "geslachtsnaam": "Bakker"}),
        resultaat={"omschrijving": "Geen rekest Kinderbescherming"},
        extraElementen={"extraElement": [{"@naam": "notificatiesoort", "#": "BT-050010"}]},
    ),
}


def notificatie_jr(zender: str, initiator: str, maatregel: str) -> dict[str, Any]:
    return {
        "stuurgegevens": _stuurgegevens("notificatiejrDi01", zender, GEMEENTE),
        "object": {
            "omschrijving": maatregel,
            "extraElementen": {
                "extraElement": [
                    {"@naam": "parketnummer", "#": "13/123456-26"},
                    {"@naam": "strafrechtketennummer", "#": "123456789"},
                ]
            },
            "isVan": {"gerelateerde": {"omschrijvingGeneriek": "Signaal behandelen"}},
            "heeftBetrekkingOp": {
                "gerelateerde": {
                    "natuurlijkPersoon": {
                        "inp.bsn": "999990068",
                        "geslachtsnaam": "Smit",
                        "geboortedatum": "20080214",
                    }
                },
                "omschrijving": "jeugdige",
            },
            "heeftAlsInitiator": {
                "gerelateerde": {
                    "nietNatuurlijkPersoon": {
                        "@StUF:entiteittype": "NNP",
                        "statutaireNaam": initiator,
                    }
                },
                "heeftAlsAanspreekpunt": {
                    "gerelateerde": {"naam": "J. Contact", "telefoonnummer": "0701234567"}
                },
            },
        },
    }


NOTIFICATIES_JR = {
    "opgelegde jeugdreclassering, van het OM (AICE)": notificatie_jr(
        "00000001001234000000", "Openbaar Ministerie", "Toezicht en begeleiding"
    ),
    "vrijwillige jeugdreclassering, van de Raad": notificatie_jr(
        RVDK, "Raad voor de Kinderbescherming", "Vrijwillige toezicht en begeleiding"
    ),
}


def zorgmelding() -> dict[str, Any]:
    return {
        "stuurgegevens": _stuurgegevens("zorgmeldingDi01", "00000001003214000000", GEMEENTE),
        "object": {
            "kenmerk": {"kenmerk": "ZM-2026-77", "bron": "Zorgmelding"},
            "extraElementen": {"extraElement": [{"@naam": "urgentie", "#": "normaal"}]},
            "isVan": {"gerelateerde": {"omschrijvingGeneriek": "Signaal behandelen"}},
            "heeftBetrekkingOp": {
                "gerelateerde": {
                    "natuurlijkPersoon": {"inp.bsn": "999990019", "geslachtsnaam": "Jansen"}
                },
                "omschrijving": "jeugdige",
            },
            "heeftAlsInitiator": {
                "gerelateerde": {
                    "nietNatuurlijkPersoon": {
                        "@StUF:entiteittype": "NNP",
                        "statutaireNaam": "Politie",
                    }
                },
                "heeftAlsAanspreekpunt": {"gerelateerde": {"naam": "Agent B."}},
            },
            "heeftRelevant": {
                "gerelateerde": {
                    "dct.omschrijving": "Zorgmelding",
                    "creatiedatum": "20260104",
                    "inhoud": {
                        "#": base64.b64encode(b"%PDF-1.4 zorgformulier").decode(),
                        "@StUF:bestandsnaam": "zorgformulier.pdf",
                        "@xmime:contentType": "application/pdf",
                    },
                }
            },
        },
    }


def vt_melding() -> dict[str, Any]:
    """vtMeldingDi01, politie -> Veilig Thuis: an incident at home, a child and a parent
    involved, the parent informed of the melding."""
    adres = {
        "wpl.woonplaatsNaam": "Utrecht",
        "gor.openbareRuimteNaam": "Voorbeeldstraat",
        "aoa.postcode": "3511AA",
        "aoa.huisnummer": "12",
    }
    ouder = {"inp.bsn": "999990032", "geslachtsnaam": "Jansen", "geslachtsaanduiding": "V"}
    return {
        "stuurgegevens": _stuurgegevens("vtMeldingDi01", "00000001003214000000", GEMEENTE),
        "object": {
            "identificatieVtMelding": "BVH-2026-12345",
            "datumMelding": "20260105",
            "datumIncident": "20260104",
            "locatieIncident": "woning",
            "omschrijvingIncident": "Ruzie met geweld in het bijzijn van een kind",
            "indicatieAgenderingAfstemmingsoverlegGewenst": "Nee",
            "contactgegevensVerdiepingOpInfo": {
                "naamContactpersoon": "Agent B.",
                "telefoonnummer": ["0900-8844"],
            },
            "indicatieSASHIngevuld": "Ja",
            "SASHniveau": "matig",
            "betreft": {
                "gerelateerde": {
                    "omschrijvingZorgelijkeSituatie": "Huiselijk geweld",
                    "tijdelijkHuisverbod": "nee",
                    "heeftBetrokken": [
                        {
                            "gerelateerde": {
                                "inp.bsn": "999990019",
                                "geslachtsnaam": "Jansen",
                                "geslachtsaanduiding": "M",
                                "geboortedatum": "20150301",
                                "feitelijkVerblijfsadresBinnenland": adres,
                                "staatInRelatieTot": [
                                    {
                                        "gerelateerde": {"inp.bsn": "999990032"},
                                        "omschrijvingSocialeRelatie": "moeder",
                                    }
                                ],
                            },
                            "jeugzorgrol": "jeugdige",
                        },
                        {
                            "gerelateerde": {**ouder, "feitelijkVerblijfsadresBinnenland": adres},
                            "jeugzorgrol": "ouder met gezag",
                        },
                    ],
                }
            },
            "isGeinformeerdAan": [
                {
                    "gerelateerde": {"inp.bsn": "999990032", "geslachtsnaam": "Jansen"},
                    "wijzeVanInformering": "mondeling",
                    "indicatieGereageerd": "Ja",
                    "datumGeinformeerd": "20260104",
                }
            ],
            "isIngediendDoor": {
                "gerelateerde": {
                    "naam": "Politie Midden-Nederland",
                    "instantiecode": "POL-MN",
                    "ingeschrevenNietNatuurlijkPersoon": {"rsin": "123456782"},
                }
            },
        },
    }


def _document(identificatie: str, soort: str, name: str, media: str) -> dict[str, Any]:
    return {
        "identificatie": identificatie,
        "soort": soort,
        "creatiedatum": "2026-01-04",
        "titel": soort,
        "bestandsnaam": name,
        "contentType": media,
        "inhoud": base64.b64encode(f"inhoud van {name}".encode()).decode(),
    }


def vto(**changes: Any) -> dict[str, Any]:
    """Back-office JSON for a verzoek tot onderzoek: one child with BSN, a voogd with phone."""
    data: dict[str, Any] = {
        "ontvanger": {"organisatie": RVDK, "applicatie": "JUBES"},
        "zaak": {
            "identificatie": "VTO-2026-0001",
            "startdatum": "2026-01-02",
            "registratiedatum": "2026-01-03",
        },
        "extraElementen": [{"naam": "urgent", "waarde": "N"}],
        "kinderen": [
            {
                "bsn": "999990019",
                "geslachtsnaam": "Jansen",
                "voornamen": "Piet",
                "geslacht": "M",
                "geboortedatum": "2015-03-01",
            }
        ],
        "belanghebbenden": [
            {
                "rol": "voogd",
                "persoon": {"bsn": "999990032", "geslachtsnaam": "Voogd", "telefoon": "0201234567"},
            }
        ],
        "medewerker": {"achternaam": "Medewerker", "voorletters": "M", "telefoon": "0209876543"},
        "organisatie": {"rsin": "123456789", "naam": "Gemeente Voorbeeld"},
        "documenten": [
            _document("DOC-1", "Verzoek tot onderzoek RvdK", "verzoek.pdf", "application/pdf")
        ],
    }
    data.update(changes)
    return data


VTOS = {
    "één kind met BSN, voogd met telefoonnummer": vto(),
    "ongeboren kind en drie kinderen, moeder met BSN": vto(
        kinderen=[
            {"rol": "Client (ongeboren kind)", "geslachtsnaam": "Jansen"},
            {"bsn": "999990044", "geslachtsnaam": "Jansen", "geboortedatum": "2014-05-05"},
            {"bsn": "999990056", "geslachtsnaam": "Jansen", "geboortedatum": "2016-06-06"},
            {"bsn": "999990068", "geslachtsnaam": "Jansen", "geboortedatum": "2018-07-07"},
        ],
        belanghebbenden=[
            {
                "rol": "ouder met gezag",
                "persoon": {"bsn": "999990019", "geslachtsnaam": "Jansen", "geslacht": "V"},
            }
        ],
    ),
    "kind met RNI-nummer, een instelling als gezaghebbende": vto(
        kinderen=[{"anummer": "12345678901234567", "geslachtsnaam": "Nowak"}],
        belanghebbenden=[
            {
                "rol": "voogd",
                "vestiging": {"naam": "Jeugdbescherming Regio", "telefoon": "0301234567"},
            }
        ],
    ),
    "drie bijlagen met elk een ander mimetype": vto(
        documenten=[
            _document("DOC-1", "Verzoek tot onderzoek RvdK", "verzoek.pdf", "application/pdf"),
            _document(
                "DOC-2",
                "Gezinsgeschiedenis",
                "gezin.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            _document("DOC-3", "Hulpverleningsrapportage", "rapport.txt", "text/plain"),
        ]
    ),
}


# -- Veilig Thuis: terugkoppelingen (we send) and verrijkingsverzoeken (both ways) -------------

POLITIE = "00000001003214000000"  # the zorgmelding's zender in ``zorgmelding()``
PARTNER = "00000001009876543000"  # a ketenpartner (e.g. a GI) Veilig Thuis asks; invented


def _eenheid(code: str, eenheid: str, **contact: Any) -> dict[str, Any]:
    eenheid_: dict[str, Any] = {"identificatie": code, "naam": eenheid}
    if contact:
        eenheid_["heeftAlsContactpersoon"] = {"gerelateerde": contact}
    return {"gerelateerde": {"organisatorischeEenheid": eenheid_}}


def _persoon(**persoon: Any) -> dict[str, Any]:
    return {"gerelateerde": {"natuurlijkPersoon": persoon}}


def verrijking_in(functie: str) -> dict[str, Any]:
    """A verrijkingsverzoek (vcob, vci) a ketenpartner sends our Veilig Thuis, or the uitslag
    (ucob) or uitkomst (uci) it sends on ours, as canonical data."""
    sg = _stuurgegevens(functie, PARTNER, GEMEENTE)
    persoon = {"inp.bsn": "999990019", "geslachtsnaam": "Jansen", "geboortedatum": "20150301"}
    initiator = _eenheid("GI-01", "Jeugdbescherming Regio", naam="C. Contact")
    if functie == "vcobDi01":
        zaak = {
            "identificatie": "VVZ-2026-001",
            "soortVerzoeker": "02",
            "redenVerzoek": {"code": "01"},
            "heeftBetrekkingOp": _persoon(**persoon),
            "heeftAlsInitiator": initiator,
        }
    elif functie == "vciDi01":
        zaak = {
            "identificatie": "VVZ-2026-002",
            "soortVerzoeker": "02",
            "omschrijving": "Zorgen over de veiligheid thuis",
            "redenVerzoek": {"code": "03"},
            "specifiekeVraag": [{"code": "VT-001"}, {"code": "VT-002"}],
            # described only (the public set admits no vreemdelingennummer: rule CV04)
            "heeftBetrekkingOp": _persoon(geslachtsnaam="Nowak", voornamen="Anna"),
            "heeftAlsInitiator": initiator,
        }
    else:  # an answer to a verzoek of ours
        sg["crossRefnummer"] = str(uuid.uuid4())
        sg = {
            k: sg[k]
            for k in (
                "berichtcode",
                "zender",
                "ontvanger",
                "referentienummer",
                "tijdstipBericht",
                "crossRefnummer",
                "functie",
            )
        }
        ours = _eenheid("VT-01", "Veilig Thuis Regio")
        zaak = {
            "identificatie": "UIT-2026-001",
            "verzoekidentificatie": "VVZ-2026-101",
            "heeftBetrekkingOp": {**_persoon(**persoon), "indicatieBekend": "J"},
            "heeftAlsInitiator": ours,
            "heeftAlsUitvoerende": _eenheid(
                "GI-01", "Jeugdbescherming Regio", telefoonnummer="0301234567"
            ),
        }
        if functie == "uciDi01":
            zaak["toelichtendeInformatie"] = {"omschrijving": "Bekend sinds 2024"}
            zaak["heeftBetrekkingOp"]["specifiekeVraag"] = [
                {"code": "VT-001", "antwoord": "Ja, ondertoezichtstelling loopt"}
            ]
            zaak["heeftRelevant"] = [
                {
                    "gerelateerde": {
                        "inhoud": {
                            "#": base64.b64encode(b"%PDF-1.4 rapport").decode(),
                            "@StUF:bestandsnaam": "rapport.pdf",
                        },
                        "naam": "Rapportage",
                    }
                }
            ]
        zaak = {"identificatie": zaak.pop("identificatie"), **zaak}
        return {"stuurgegevens": sg, "object": [zaak]}
    return {"stuurgegevens": sg, "object": zaak}


VERZOEKER = {
    "identificatie": "VT-01",
    "naam": "Veilig Thuis Regio",
    "contact": {"naam": "M. Medewerker", "telefoon": "0881234567"},
}
PERSOON = {"bsn": "999990019", "geslachtsnaam": "Jansen", "geboortedatum": "2015-03-01"}

# back-office JSON for what Veilig Thuis sends, per mapping
VT_OUT: dict[str, dict[str, Any]] = {
    "zorgmelding-terugkoppeling": {
        "ontvanger": {"organisatie": POLITIE, "applicatie": "JUBES"},
        "zaak": {"identificatie": "VT-2026-0077"},
        "zorgmelding": {"kenmerk": "ZM-2026-77"},
        "resultaat": "Vervolgactie nodig",
        "jeugdige": {"bsn": "999990019", "geslachtsnaam": "Jansen"},
        "gezaghebbenden": [
            {
                "rol": "ouder met gezag",
                "persoon": {"geslachtsnaam": "Jansen", "geboortedatum": "1985-04-04"},
                "contact": {"naam": "A. Jansen", "telefoon": "0612345678"},
            },
            {"rol": "voogd", "instelling": "Jeugdbescherming Regio"},
        ],
        "contactpersoon": "Agent B.",
    },
    "vt-terugkoppeling": {
        "ontvanger": {"organisatie": POLITIE, "applicatie": "JUBES"},
        "status": "uitkomst veiligheidsbeoordeling",
        "uitkomst": "vervolgstappen belegd bij VT",
        "toelichting": "Veiligheidsbeoordeling gedaan",
        "vtMelding": {"identificatie": "BVH-2026-12345"},
        "verantwoordelijke": {
            "organisatie": "Veilig Thuis Regio",
            "contactpersoon": "M. M.",
            "telefoon": "0881234567",
        },
        "uitvoerder": {"naam": "Veilig Thuis Regio", "oin": GEMEENTE},
    },
    "vcob": {
        "ontvanger": {"organisatie": PARTNER, "applicatie": "JUBES"},
        "verzoek": {"identificatie": "VVZ-2026-101", "soortVerzoeker": "01", "reden": "01"},
        "persoon": PERSOON,
        "verzoeker": VERZOEKER,
    },
    "vci": {
        "ontvanger": {"organisatie": PARTNER, "applicatie": "JUBES"},
        "verzoek": {
            "identificatie": "VVZ-2026-102",
            "soortVerzoeker": "01",
            "reden": "02",
            "omschrijving": "Casus informatie gevraagd",
        },
        "vragen": [{"code": "VT-001"}],
        "persoon": {"geslachtsnaam": "Nowak", "voornamen": "Anna", "geboortedatum": "2012-02-02"},
        "verzoeker": VERZOEKER,
    },
    "ucob": {
        "ontvanger": {"organisatie": PARTNER, "applicatie": "JUBES"},
        "identificatie": "UIT-2026-201",
        "verzoek": {"identificatie": "VVZ-2026-001", "referentienummer": str(uuid.uuid4())},
        "persoon": PERSOON,
        "bekend": "N",
        "verzoeker": {"identificatie": "GI-01", "naam": "Jeugdbescherming Regio"},
        "uitvoerder": VERZOEKER,
    },
    "uci": {
        "ontvanger": {"organisatie": PARTNER, "applicatie": "JUBES"},
        "identificatie": "UIT-2026-202",
        "verzoek": {"identificatie": "VVZ-2026-002", "referentienummer": str(uuid.uuid4())},
        "persoon": PERSOON,
        "bekend": "J",
        "toelichting": {"omschrijving": "Eerdere melding in 2025", "url": "https://vt.test/x"},
        "antwoorden": [{"code": "VT-001", "antwoord": "Ja"}],
        "documenten": [
            {
                "inhoud": base64.b64encode(b"%PDF-1.4 x").decode(),
                "bestandsnaam": "x.pdf",
                "contentType": "application/pdf",
                "naam": "Verslag",
            }
        ],
        "verzoeker": {"identificatie": "GI-01", "naam": "Jeugdbescherming Regio"},
        "uitvoerder": VERZOEKER,
    },
}
