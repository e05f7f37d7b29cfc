"""How iPgb reaches the SVB: over the GGk to organisatie ``SVB`` (TKB in a Di01; the retour
comes back in a Du01, the BAB in a Di01), or to the outbox (``var/outbox/SVB/``) while no GGk
is configured."""

from __future__ import annotations

from adapters.shared.counterparts import ggk_transport as make_transport

__all__ = ["make_transport"]
