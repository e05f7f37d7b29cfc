"""How iEb reaches the CAK: over the GGk to organisatie ``CAK`` (a Di01; the CAK's retours come
back in a Du01), or to the outbox (``var/outbox/CAK/``) while no GGk is configured."""

from __future__ import annotations

from adapters.shared.counterparts import ggk_transport as make_transport

__all__ = ["make_transport"]
