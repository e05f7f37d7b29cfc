"""The background loops of a running gateway, started and stopped together.

- worker consumers (the work queues), ``settings.workers`` of them;
- the AMQP ingress consumer;
- the file drop poller;
- the sweeper, publishing what was recorded while the broker was away, and signing a ledger
  checkpoint when one is due (``ledger.checkpoint_seconds``);
- the adapters' pollers (optional member ``pollers``), e.g. fetching VECOZO's waiting messages;
- with ``operations``: the parking recorder and the deadline monitor (``gateway/ops/runtime.py``).

``stop()`` lets each loop finish the message in hand (no half-done work), then joins them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.ingress.amqp import ingress_consumer
from gateway.ingress.filedrop import FileDrop
from gateway.logs import get_logger

log = get_logger(__name__)

SWEEP_INTERVAL = 5.0


class Services:
    def __init__(
        self,
        gateway: Gateway,
        *,
        workers: int | None = None,
        ingress: bool = True,
        filedrop: bool = True,
        sweeper: bool = True,
        pollers: bool = True,
        operations: bool = False,
    ) -> None:
        self.gateway = gateway
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.consumers: list[Consumer] = []
        count = gateway.settings.workers if workers is None else workers
        self.consumers += [gateway.work_consumer() for _ in range(count)]
        if ingress:
            self.consumers.append(ingress_consumer(gateway))
        self._loops: list[tuple[str, Callable[[], None]]] = [
            (f"consumer-{i}", c.run) for i, c in enumerate(self.consumers)
        ]
        if filedrop:
            drop = FileDrop(gateway.settings.drop_dir, gateway.receiver)
            self._loops.append(
                ("filedrop", lambda: drop.run(self._stop, gateway.settings.drop_interval))
            )
        if sweeper:
            self._loops.append(("sweeper", self._sweep))
        if pollers:
            for adapter in gateway.registry:
                make_pollers = getattr(adapter, "pollers", None)
                if callable(make_pollers):
                    for name, poll in make_pollers(gateway):
                        self._loops.append((name, functools.partial(poll, self._stop)))
        if operations:
            from gateway.ops.runtime import loops

            consumers, ops_loops = loops(gateway, self._stop)
            self.consumers += consumers
            self._loops += [(f"consumer-ops-{i}", c.run) for i, c in enumerate(consumers)]
            self._loops += ops_loops

    def _sweep(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL):
            try:
                count = self.gateway.receiver.republish_pending()
                self.gateway.ledger.checkpoint()  # signs the tree head once one is due
                if count:
                    log.info("sweeper.republished", count=count)
            except Exception:
                log.exception("sweeper.failed")

    def start(self, wait_ready: float = 30.0) -> Services:
        for name, loop in self._loops:
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        for consumer in self.consumers:
            if not consumer.ready.wait(wait_ready):
                raise TimeoutError("a consumer did not connect to the broker in time")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for consumer in self.consumers:
            consumer.stop()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def __enter__(self) -> Services:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
