"""CORV's settings (``corv_*``, in TOML also ``[corv]``)."""

from __future__ import annotations

from typing import Annotated

from gateway.config import Section
from gateway.config_fields import HttpUrl, Required, check, matching


class CorvSettings(Section):
    name = "corv"
    prefix = "corv_"

    # The URL of the ebMS adapter (DKA) that carries our StUF messages to JUBES.
    url: HttpUrl = ""
    # Our organisatie (as JUBES knows us) and applicatie in stuurgegevens.
    organisatie: Annotated[
        str, check(matching(r"[A-Za-z0-9_.-]+", "letters, digits, _ . - (a code)"))
    ] = ""
    applicatie: Required = "Ketenpoort"
