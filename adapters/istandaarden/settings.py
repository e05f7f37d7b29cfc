"""The iStandaarden adapter's settings (``[istandaarden]`` in TOML, or ``istandaarden_*``):
CSV files for the externe-bron rules (``refdata.py``); without one, its rule is off."""

from __future__ import annotations

from gateway.config import Section
from gateway.config_fields import ReadableFile


class IStandaardenSettings(Section):
    name = "istandaarden"
    prefix = "istandaarden_"

    gemeentecodes: ReadableFile = ""  # TR378
    productcodes: ReadableFile = ""  # TR381
    tarieven: ReadableFile = ""  # TR418
