"""VECOZO's settings (``vecozo_*``, in TOML also ``[vecozo]``)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import ValidationInfo, model_validator

from adapters.shared.settings import CounterpartSettings
from gateway.config import Section
from gateway.config_fields import HttpsUrl, Needs, Positive, ReadableFile, check, matching


class VecozoSettings(Section):
    name = "vecozo"
    prefix = "vecozo_"

    # REST push (submit) and pull (fetch) base URLs, or the SOAP berichtuitwisseling v3 URL
    # instead of push.
    push_url: HttpsUrl = ""
    soap_url: HttpsUrl = ""
    pull_url: HttpsUrl = ""
    # Our AGB code.
    agb: Annotated[str, check(matching(r"\d{8}", "an AGB code of eight digits"))] = ""
    # Client certificate and key for mutual TLS; the CA bundle VECOZO's server certificate must
    # chain to (empty: the system's).
    cert: ReadableFile = ""
    key: ReadableFile = ""
    ca: ReadableFile = ""
    # Seconds between pulls.
    poll_interval: Positive = 60.0

    @model_validator(mode="after")
    def _what_the_transport_needs(self, info: ValidationInfo) -> Self:
        counterparts = self.loaded(info, CounterpartSettings)
        ours = counterparts is not None and counterparts.uses("vecozo")
        if ours and not (self.push_url or self.soap_url):
            raise Needs(
                "push_url", "(or vecozo_soap_url) must be set for counterpart_transport 'vecozo'"
            )
        if ours and not self.agb:
            raise Needs("agb", "must be set when counterpart_transport is 'vecozo'")
        if self.key and not self.cert:
            raise Needs("cert", "must be set when vecozo_key is (the key of a client certificate)")
        return self
