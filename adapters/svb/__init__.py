"""SVB: pgb trekkingsrecht (iPgb 2.0). The gemeente (budgetverstrekker) sends a
toekenningsbericht (TKB, JW501) per budget, always the full current state, built from the
back-office's PGB toekenning (``mappings/svb/2.0/toekenning.toml``); the SVB answers with a
retour (JW502) and reports spending in budgetafsluitberichten (BAB, JW507). All over the GGk,
organisatie ``SVB``.
"""

from __future__ import annotations

from adapters.ggk.settings import GgkSettings
from adapters.shared.settings import CounterpartSettings
from adapters.svb.adapter import SvbAdapter
from gateway.config import Settings

settings_sections = (CounterpartSettings, GgkSettings)


def make_adapter(settings: Settings) -> SvbAdapter:
    return SvbAdapter(settings)
