"""Which transport reaches counterparts, after the settings (README "Counterparts").

``counterpart_transport = "ggk"``: a gemeente; iWmo/iJw, iEb (to ``CAK``) and iPgb (to ``SVB``)
go through the GGk. ``"vecozo"``: an aanbieder; iWmo/iJw go through VECOZO. ``"outbox"`` (the
default): every delivery is a file under ``var/outbox/<party>/``.
"""

from __future__ import annotations

from typing import Any

from adapters.shared.settings import CounterpartSettings
from gateway.adapter import Transport
from gateway.delivery import OutboxTransport


def counterpart_transport(settings: Any) -> Transport:
    """The transport for iWmo/iJw messages to aanbieders or gemeenten."""
    if CounterpartSettings.of(settings).counterpart_transport == "ggk":
        from adapters.ggk.transport import GgkTransport

        return GgkTransport.from_settings(settings)
    if CounterpartSettings.of(settings).counterpart_transport == "vecozo":
        from adapters.vecozo.transport import VecozoTransport

        return VecozoTransport.from_settings(settings)
    return OutboxTransport(settings.outbox_dir)


def ggk_transport(settings: Any) -> Transport:
    """The transport for what only the GGk carries (iEb to the CAK, iPgb to the SVB, our Fo01):
    the GGk when a gemeente configured it, else the outbox."""
    if CounterpartSettings.of(settings).counterpart_transport == "ggk":
        from adapters.ggk.transport import GgkTransport

        return GgkTransport.from_settings(settings)
    return OutboxTransport(settings.outbox_dir)
