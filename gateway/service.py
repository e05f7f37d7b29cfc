"""The background loops of a running gateway, started and stopped together.

- worker consumers (the work queues), ``settings.workers`` of them;
- the AMQP ingress consumer;
- the file drop poller;
- the sweeper, publishing what was recorded while the broker was away, and signing a ledger
  checkpoint when one is due (``ledger.checkpoint_every`` entries or ``checkpoint_seconds``;
  one process at a time makes them, see ``SqlLedger.checkpoint``), and a last one on stop;
- the adapters' pollers (capability ``Pollers``), e.g. fetching VECOZO's waiting messages;
- with ``operations``: the parking recorder and the deadline monitor (``gateway/ops/runtime.py``).

The sweeper, the pollers and the deadline monitor are duties that must run once among all the
instances sharing a ledger: each is elected (:func:`elected`, a lease on the ledger: a
PostgreSQL advisory lock), and handed over when its holder dies.

``stop()`` lets each loop finish the message in hand (no half-done work), then joins them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from gateway.adapter import Pollers
from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.ingress.amqp import ingress_consumer
from gateway.ingress.filedrop import FileDrop
from gateway.ledger import Lease, Ledger
from gateway.logs import get_logger
from gateway.ops.auth import door_for

log = get_logger(__name__)

SWEEP_INTERVAL = 5.0
# How often a duty's holder checks that it still holds its lease, and how often the others try.
LEASE_CHECK = 2.0


def elected(
    ledger: Ledger,
    duty: str,
    run: Callable[[threading.Event], None],
    stop: threading.Event,
    check: float = LEASE_CHECK,
) -> Callable[[], None]:
    """A loop that runs the duty ``run(lost)`` only while this process holds the lease on it:
    it waits for the lease, runs the duty until ``stop`` is set or the lease is lost (the
    holder's database session ended: ``lost`` is set within ``check`` seconds and the duty
    returns), then waits for the lease again. When the holder dies, another process's loop
    takes the lease over within ``check`` seconds, and starts the duty after twice ``check``
    more: by then a holder that is alive but lost its session has stopped (no overlap)."""

    def loop() -> None:
        lease = ledger.lease(duty)
        while not stop.is_set():
            if not lease.acquire():
                stop.wait(check)
                continue
            if stop.wait(2 * check) or not lease.held():
                lease.release()
                continue
            log.info("duty.taken", duty=duty)
            lost = threading.Event()
            watch = threading.Thread(
                target=_watch, args=(lease, stop, lost, check), name=f"lease-{duty}", daemon=True
            )
            watch.start()
            try:
                run(lost)
            except Exception:
                log.exception("duty.failed", duty=duty)
            finally:
                lost.set()
                watch.join()
                lease.release()
            if not stop.is_set():
                log.warning("duty.lost", duty=duty)
                stop.wait(check)

    return loop


def _watch(lease: Lease, stop: threading.Event, lost: threading.Event, check: float) -> None:
    while not lost.is_set():
        if stop.wait(check) or not lease.held():
            lost.set()


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
        # <var>/drop/ and each of drop_identities' <var>/drop/<name>/, each speaking for its own
        self.drops: list[FileDrop] = []
        if filedrop:
            settings = gateway.settings
            for name in ("", *settings.drop_identities):
                drop = FileDrop(
                    settings.drop_dir / name, gateway.receiver, door_for(settings, name)
                )
                self.drops.append(drop)
                loop = functools.partial(drop.run, self._stop, settings.drop_interval)
                self._loops.append((f"filedrop-{name}" if name else "filedrop", loop))
        # Duties that must run once among all instances on the ledger: each runs only while
        # this process holds its lease (``elected``).
        duties: list[tuple[str, Callable[[threading.Event], None]]] = []
        self._checkpoints = sweeper
        if sweeper:
            duties.append(("sweeper", self._sweep))
        if pollers:
            for adapter in gateway.registry:
                if isinstance(adapter, Pollers):
                    duties += list(adapter.pollers(gateway))
        if operations:
            from gateway.ops.runtime import loops

            consumers, ops_duties = loops(gateway)
            self.consumers += consumers
            self._loops += [(f"consumer-ops-{i}", c.run) for i, c in enumerate(consumers)]
            duties += ops_duties
        self._loops += [
            (name, elected(gateway.ledger, name, run, self._stop)) for name, run in duties
        ]

    def _sweep(self, stop: threading.Event) -> None:
        # A publish still waiting for its confirm (in this process or another) is not
        # republished: only what this process failed to publish, and what is older than a
        # confirm can take anywhere.
        older_than = self.gateway.publisher_confirm_timeout
        while not stop.wait(SWEEP_INTERVAL):
            try:
                count = self.gateway.receiver.republish_pending(older_than=older_than)
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
        if self._checkpoints:  # what was recorded until now is covered at rest
            try:
                self.gateway.ledger.checkpoint(force=True)
            except Exception:
                log.exception("sweeper.checkpoint_failed")

    def __enter__(self) -> Services:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
