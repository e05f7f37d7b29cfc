"""The CAK's settings (``cak_*``, in TOML also ``[cak]``)."""

from __future__ import annotations

from typing import Annotated

from gateway.config import Section
from gateway.config_fields import Names, check, each, matching, one_of

_CATEGORIES = check(each(matching(r"\d{2}", "a productcategorie of two digits")))


class CakSettings(Section):
    name = "cak"
    prefix = "cak_"

    # What starts and stops the eigen bijdrage ("toewijzing": WMO301, "levering": WMO305/307,
    # "" derives nothing).
    trigger: Annotated[str, check(one_of("toewijzing", "levering", ""))] = "toewijzing"
    # The productcategorieën that are beschermd wonen (WMO407), and those that are hulpmiddelen
    # or woningaanpassingen, whose Budget is a kostprijs (EbKostprijs): WMO020 11 rolstoelen,
    # 12 vervoervoorzieningen, 13 woonvoorzieningen, 14 overige hulpmiddelen.
    beschermd_wonen: Annotated[Names, _CATEGORIES] = ("15",)
    kostprijs: Annotated[Names, _CATEGORIES] = ("11", "12", "13", "14")
