"""The one stand-in for the bus in tests about the steps around it (receive, the worker, the
adapters' intakes): it keeps what was published, in order, or refuses while ``down`` as an
unreachable broker would. Tests of the bus itself run on the real RabbitMQ (tests/integration).

It is what :class:`gateway.receive.Receiver` takes for ``publish`` (call it with an envelope) and
for ``publish_many`` (:meth:`StubBus.publish_many`, per envelope ``None`` or its error)."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.bus.publisher import PublishError
from gateway.envelope import Envelope


class StubBus:
    """Stands in for the broker: keeps what was published, or fails while ``down``."""

    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.down = False

    def publish(self, envelope: Envelope) -> None:
        if self.down:
            raise PublishError("broker unavailable")
        self.published.append(envelope)

    __call__ = publish

    def publish_many(self, envelopes: Iterable[Envelope]) -> list[PublishError | None]:
        results: list[PublishError | None] = []
        for envelope in envelopes:
            try:
                self.publish(envelope)
            except PublishError as exc:
                results.append(exc)
            else:
                results.append(None)
        return results
