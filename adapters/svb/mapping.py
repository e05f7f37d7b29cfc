"""Back-office PGB toekenning (JSON) -> JW501, through ``mappings/svb/2.0/toekenning.toml``.

The mapping file fills the business fields; this module adds the header boilerplate
(BerichtCode 460, BerichtVersie 2, BerichtSubversie 0, Ontvanger ``SVB``, XsdVersie from our
XSD's appinfo) and generates what the back-office may leave out (a fresh BerichtIdentificatie,
the Dagtekening). A toekenning sent again unchanged is caught by rule IP07, not by its id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from adapters.lib.istandaard.codec import encode_message, xsd_versions
from adapters.lib.istandaard.messages import new_identificatie
from adapters.svb.catalogue import BERICHT_SUBVERSIE, BERICHT_VERSIE, CATALOGUE, RELEASE, SVB
from gateway.mapping import MappingSpec, apply_mapping, named_mapping, shipped_mappings


def mapping_names() -> list[str]:
    return shipped_mappings("svb", RELEASE)


def load(name: str) -> MappingSpec:
    return named_mapping("svb", RELEASE, name)


def map_in(name: str, data: Mapping[str, Any], today: dt.date) -> bytes:
    spec = load(name)
    message = CATALOGUE[spec.message]
    context = {"@today": today.isoformat(), "@berichtidentificatie": new_identificatie()}
    filled = apply_mapping(spec, data, context)
    header = filled.setdefault("Header", {})
    ordered = {
        "BerichtCode": message.berichtcode,
        "BerichtVersie": BERICHT_VERSIE,
        "BerichtSubversie": BERICHT_SUBVERSIE,
        "Afzender": header["Afzender"],
        "Ontvanger": SVB,
        "BerichtIdentificatie": header["BerichtIdentificatie"],
        "XsdVersie": xsd_versions(message),
    }
    filled["Header"] = ordered
    return encode_message(message, filled)
