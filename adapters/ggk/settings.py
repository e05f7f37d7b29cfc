"""The GGk's settings (``ggk_*``, in TOML also ``[ggk]``)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import ValidationInfo, model_validator

from adapters.shared.settings import CounterpartSettings
from gateway.config import Section
from gateway.config_fields import HttpUrl, Needs, Required, check, matching


class GgkSettings(Section):
    name = "ggk"
    prefix = "ggk_"

    # The URL of the ebMS adapter that carries our SOAP messages over Digikoppeling.
    url: HttpUrl = ""
    # Our organisatie (CBS gemeentecode) when a payload names none.
    organisatie: Annotated[str, check(matching(r"\d{4}", "a CBS gemeentecode of four digits"))] = ""
    # Our applicatie, and the administratie (samenwerkingsverband or gemeente name), optional.
    applicatie: Required = "Ketenpoort"
    administratie: str = ""

    @model_validator(mode="after")
    def _url_when_the_transport(self, info: ValidationInfo) -> Self:
        counterparts = self.loaded(info, CounterpartSettings)
        if counterparts and counterparts.uses("ggk") and not self.url:
            raise Needs("url", "must be set when counterpart_transport is 'ggk' (or a route)")
        return self
