"""The operations parts of one gateway process, built once from its settings.

- :func:`operations` gives the process's :class:`Operations` (authenticator, deadline rules and
  calendar, the latest deadline check) for a :class:`~gateway.app.Gateway`;
- :data:`AppGateway` and :data:`AppOperations` are FastAPI dependencies that give a route the
  gateway and the operations of its app (kept in ``app.state`` by ``ingress/http.make_app``);
- :func:`loops` gives the background loops ``service.py`` runs beside the workers: the parking
  recorder (a consumer of ``<prefix>.parking``) and the deadline monitor.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.logs import get_logger
from gateway.ops.auth import Authenticator
from gateway.ops.deadlines import Alerter, Breach, Due, Late, Settled, deadlines_of, judged
from gateway.ops.metrics import registry
from gateway.ops.parking import ParkingRecorder
from gateway.ops.workdays import Calendar

log = get_logger(__name__)


class Operations:
    def __init__(self, gateway: Gateway) -> None:
        settings = gateway.settings
        self.gateway = gateway
        self.auth = Authenticator.from_settings(settings)
        self.rules = deadlines_of(gateway.registry)
        self.calendar = Calendar(getattr(settings, "ops_closed_days", ()))
        self.alerter = Alerter(gateway.ledger, settings.ops_alert_webhook)
        # What "now" is for the deadlines (a test may move it forward).
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        self._latest: list[Breach | Late | Due] = []
        self._checked: float | None = None  # time.monotonic() of the latest check; None: never
        self._lock = threading.Lock()
        # One check at a time (API requests, scrapes and the monitor share its result), and what
        # earlier checks settled for good (``deadlines.breaches``, ``settled``).
        self._checking = threading.Lock()
        self._settled: Settled = {}
        # What ``/metrics`` renders: the ledger's counts, the open breaches, what went unrecorded.
        self.metrics: CollectorRegistry = registry(
            gateway.ledger, self.breaches, lambda: gateway.receiver.not_recorded
        )

    def breaches(self, max_age: float | None = None) -> list[Breach]:
        """The open breaches, from the latest check if it is younger than ``max_age``."""
        return [b for b in self.judged(max_age) if isinstance(b, Breach)]

    def judged(self, max_age: float | None = None) -> list[Breach | Late | Due]:
        """The open breaches, the late answers and what is due today (``deadlines.judged``),
        from the latest check
        if it is younger than ``max_age``."""
        max_age = self.gateway.settings.ops_deadline_interval if max_age is None else max_age
        asked = time.monotonic()
        with self._checking:
            with self._lock:
                checked = self._checked
                if checked is not None and (asked - checked <= max_age or checked >= asked):
                    return list(self._latest)  # fresh enough, or checked while this waited
            found = judged(
                self.gateway.ledger,
                self.rules,
                self.calendar,
                now=self.clock(),
                horizon_days=self.gateway.settings.ops_deadline_horizon_days,
                settled=self._settled,
            )
            with self._lock:
                self._latest, self._checked = found, time.monotonic()
        return found

    def check_deadlines(self) -> list[Breach]:
        """One monitor round: find the open breaches and the late answers, alert (and record)
        the new breaches, record the new late answers."""
        found = self.judged(max_age=0.0)
        late = [b for b in found if isinstance(b, Late)]
        return self.alerter.alert([b for b in found if isinstance(b, Breach)], late)


_by_gateway: weakref.WeakKeyDictionary[Gateway, Operations] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def operations(gateway: Gateway) -> Operations:
    with _lock:
        ops = _by_gateway.get(gateway)
        if ops is None:
            ops = _by_gateway[gateway] = Operations(gateway)
        return ops


def the_gateway(request: Request) -> Gateway:
    """The gateway of the request's app (a dependency)."""
    return cast(Gateway, request.app.state.gateway)


def the_operations(request: Request) -> Operations:
    """The operations of the request's app (a dependency)."""
    return operations(the_gateway(request))


AppGateway = Annotated[Gateway, Depends(the_gateway)]
AppOperations = Annotated[Operations, Depends(the_operations)]


def parking_consumer(gateway: Gateway) -> Consumer:
    return gateway.consumer(
        [gateway.topology.parking], ParkingRecorder(gateway.ledger), "parking-recorder"
    )


def monitor_loop(gateway: Gateway, stop: threading.Event) -> None:
    ops = operations(gateway)
    while not stop.wait(gateway.settings.ops_deadline_interval):
        try:
            ops.check_deadlines()
        except Exception:
            log.exception("deadlines.check_failed")


def loops(
    gateway: Gateway,
) -> tuple[list[Consumer], list[tuple[str, Callable[[threading.Event], None]]]]:
    """The parking recorder consumer and the deadline monitor, a duty run once among the
    instances (``ops_monitor`` on)."""
    if not gateway.settings.ops_monitor:
        return [], []
    return [parking_consumer(gateway)], [("deadlines", lambda stop: monitor_loop(gateway, stop))]
