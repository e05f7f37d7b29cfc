"""Made-up iWmo/iJw messages for tests and benchmarks (test BSNs from the 11-proef range).

``declaratie(...)`` writes a 323 of any size that passes our XSD and every in-message rule; it is
written as bytes directly (not through a tree) so a 25 MB one is cheap to make.
"""

from __future__ import annotations

import io

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from adapters.lib.istandaard.codec import xsd_versions
from gateway.logs import passes_elfproef


def sample_bsns(count: int, start: int = 999_900_000) -> list[str]:
    """``count`` nine-digit numbers from the test range that pass the 11-proef."""
    found = []
    number = start
    while len(found) < count:
        text = f"{number:09d}"
        if passes_elfproef(text):
            found.append(text)
        number += 1
    return found


def declaratie(
    standard: str = "ijw",
    clients: int = 2,
    prestaties: int = 2,
    afzender: str = "12345678",
    ontvanger: str = "0363",
    identificatie: str = "DECL0001",
    nummer: str = "DN0001",
    month: str = "2026-10",
    toewijzing_base: int = 500_000,
) -> bytes:
    """A valid 323 with ``clients`` clients of ``prestaties`` prestaties each: prestatie ``k``
    of client ``i`` is on toewijzing ``toewijzing_base + i * prestaties + k`` with ProductCode
    ``<categorie>A<k+1>``, hours (Eenheid 04), 4 x 1250 cents, in one month."""
    bericht = Bericht(standard, 323)
    b, p = bericht.standard, bericht.prefix
    categorie = "02" if standard == "iwmo" else "45"
    year, mon = (int(x) for x in month.split("-"))
    last = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(mon, 31)
    begin, end = f"{month}-01", f"{month}-{last:02d}"
    versions = xsd_versions(bericht)
    out = io.StringIO()
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8"?>\r\n')
    w(f'<{p}:Bericht xmlns:{p}="{bericht.namespace}" xmlns:{b}="{bericht.basis_namespace}">\r\n')
    w(f"<{p}:Header><{p}:BerichtCode>{bericht.berichtcode}</{p}:BerichtCode>")
    w(f"<{p}:BerichtVersie>3</{p}:BerichtVersie><{p}:BerichtSubversie>2</{p}:BerichtSubversie>")
    w(f"<{p}:Afzender>{afzender}</{p}:Afzender><{p}:Ontvanger>{ontvanger}</{p}:Ontvanger>")
    w(f"<{p}:BerichtIdentificatie><{b}:Identificatie>{identificatie}</{b}:Identificatie>")
    w(f"<{b}:Dagtekening>{year}-{mon:02d}-{last:02d}</{b}:Dagtekening></{p}:BerichtIdentificatie>")
    w(f"<{p}:XsdVersie><{b}:BasisschemaXsdVersie>{versions['BasisschemaXsdVersie']}")
    w(f"</{b}:BasisschemaXsdVersie><{b}:BerichtXsdVersie>{versions['BerichtXsdVersie']}")
    w(f"</{b}:BerichtXsdVersie></{p}:XsdVersie></{p}:Header>\r\n")
    total = clients * prestaties * 4 * 1250
    w(f"<{p}:Declaratie><{p}:DeclaratieNummer>{nummer}</{p}:DeclaratieNummer>")
    w(f"<{p}:DeclaratiePeriode><{b}:Begindatum>{begin}</{b}:Begindatum>")
    w(f"<{b}:Einddatum>{end}</{b}:Einddatum></{p}:DeclaratiePeriode>")
    w(f"<{p}:DeclaratieDagtekening>{year}-{mon:02d}-{last:02d}</{p}:DeclaratieDagtekening>")
    w(f"<{p}:TotaalIngediendBedrag><{b}:TotaalBedrag>{total}</{b}:TotaalBedrag>")
    w(f"<{b}:DebetCredit>D</{b}:DebetCredit></{p}:TotaalIngediendBedrag><{p}:Clienten>\r\n")
    referentie = 0
    for index, bsn in enumerate(sample_bsns(clients)):
        w(f"<{p}:Client><{p}:Bsn>{bsn}</{p}:Bsn><{p}:Prestaties>\r\n")
        for k in range(prestaties):
            referentie += 1
            toewijzing = toewijzing_base + index * prestaties + k
            w(f"<{p}:Prestatie><{p}:ProductReferentie>")
            w(f"<{b}:ReferentieNummer>R{referentie:09d}</{b}:ReferentieNummer>")
            w(f"</{p}:ProductReferentie><{p}:ToewijzingNummer>{toewijzing}</{p}:ToewijzingNummer>")
            w(f"<{p}:ProductCategorie>{categorie}</{p}:ProductCategorie>")
            w(f"<{p}:ProductCode>{categorie}A{k % 99 + 1:02d}</{p}:ProductCode>")
            w(f"<{p}:ProductPeriode><{b}:Begindatum>{begin}</{b}:Begindatum>")
            w(f"<{b}:Einddatum>{end}</{b}:Einddatum></{p}:ProductPeriode>")
            w(f"<{p}:GeleverdVolume>4</{p}:GeleverdVolume><{p}:Eenheid>04</{p}:Eenheid>")
            w(f"<{p}:ProductTarief>1250</{p}:ProductTarief><{p}:IngediendBedrag>")
            w(f"<{b}:Bedrag>5000</{b}:Bedrag><{b}:DebetCredit>D</{b}:DebetCredit>")
            w(f"</{p}:IngediendBedrag></{p}:Prestatie>\r\n")
        w(f"</{p}:Prestaties></{p}:Client>\r\n")
    w(f"</{p}:Clienten></{p}:Declaratie></{p}:Bericht>\r\n")
    return out.getvalue().encode()


def declaratie_of_size(standard: str, size: int, prestaties: int = 10) -> bytes:
    """A valid 323 of about ``size`` bytes."""
    one = len(declaratie(standard, clients=1, prestaties=prestaties))
    two = len(declaratie(standard, clients=2, prestaties=prestaties))
    per_client = two - one
    clients = max(1, (size - one) // per_client + 1)
    return declaratie(standard, clients=clients, prestaties=prestaties)


def toewijzingen_301(
    clients: int,
    prestaties: int,
    standard: str = "ijw",
    afzender: str = "0363",
    ontvanger: str = "12345678",
    toewijzing_base: int = 500_000,
    skip: frozenset[int] = frozenset(),
) -> list[bytes]:
    """The 301s a :func:`declaratie` with the same arguments refers to: one per client (except
    the client indexes in ``skip``), one ToegewezenProduct per prestatie."""
    bericht = Bericht(standard, 301)
    categorie = "02" if standard == "iwmo" else "45"
    out = []
    for index, bsn in enumerate(sample_bsns(clients)):
        if index in skip:
            continue
        products = [
            {
                "ToewijzingNummer": str(toewijzing_base + index * prestaties + k),
                "Product": {"Categorie": categorie, "Code": f"{categorie}A{k % 99 + 1:02d}"},
                "Toewijzingsdatum": "2026-01-02",
                "Toewijzingstijd": "09:00:00",
                "Ingangsdatum": "2026-01-01",
                "Einddatum": "2026-12-31",
                "Omvang": {"Volume": "10", "Eenheid": "04", "Frequentie": "4"},
            }
            for k in range(prestaties)
        ]
        data = {
            "Header": {
                "BerichtCode": bericht.berichtcode,
                "BerichtVersie": "3",
                "BerichtSubversie": "2",
                "Afzender": afzender,
                "Ontvanger": ontvanger,
                "BerichtIdentificatie": {
                    "Identificatie": f"T{toewijzing_base + index * prestaties}",
                    "Dagtekening": "2026-01-02",
                },
                "XsdVersie": codec.xsd_versions(bericht),
            },
            "Client": {
                "Bsn": bsn,
                "Geboortedatum": {"Datum": "2010-05-05"},
                "Geslacht": "1",
                "Naam": {"Geslachtsnaam": {"Achternaam": "Proef"}, "NaamGebruik": "1"},
                "Contactgegevens": {
                    "Contact": [
                        {
                            "Soort": "01",
                            "Adres": {
                                "Huis": {"Huisnummer": "7"},
                                "Postcode": "3011AA",
                                "LandCode": "NL",
                            },
                        }
                    ]
                },
                "ToegewezenProducten": {"ToegewezenProduct": products},
            },
        }
        out.append(codec.encode_message(bericht, data))
    return out
