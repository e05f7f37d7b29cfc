"""Shared fixtures. Integration tests use the real RabbitMQ and PostgreSQL on this machine,
each test under its own bus prefix (and its own database schema), removed afterwards.

``pytest -m "not integration"`` needs neither: a test is marked ``integration`` here when it
takes a fixture that reaches the broker or PostgreSQL (:data:`ON_SERVICES`, the PostgreSQL side of
``backend``), besides the test files that mark themselves. The bus stand-in for the other tests
is :class:`tests.busstub.StubBus`."""

from __future__ import annotations

import dataclasses
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from gateway.config import Settings, load_settings

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data"
if not REFERENCE.exists():  # a clone elsewhere: the reference data sits beside /work/main
    REFERENCE = Path("/work/shared/reference/data")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

AMQP_URL = os.environ.get("KETENPOORT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PG_URL = os.environ.get("KETENPOORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NO_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens on port 1

# The property tests that drive a running gateway on the broker draw derandomized examples: each
# run draws the same ones, so CI (``HYPOTHESIS_PROFILE=ci``, set by .ci/run) draws fewer of them;
# their regression examples (``@example``) always run. See :func:`drawn_examples`.
hypothesis_settings.register_profile("ci", max_examples=10)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def drawn_examples(most: int) -> int:
    """How many examples a property test on a running gateway draws: ``most``, or fewer when the
    loaded Hypothesis profile says so (CI's)."""
    return min(most, hypothesis_settings.default.max_examples)


# Fixtures that reach the real RabbitMQ (or start a node of it); a test taking one is marked
# ``integration``, as is a test on the PostgreSQL side of the ledger's ``backend`` fixture.
ON_SERVICES = frozenset({"gateway", "private_broker"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("backend") == "postgres"
        if fixtures & ON_SERVICES or on_postgres:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def reference() -> Path:
    """Public schemas and examples (test oracles only; the product never reads them)."""
    if not REFERENCE.exists():
        pytest.fail(f"reference data not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Embedded defaults under a temporary var dir, a private bus prefix, the real broker (for
    integration tests).

    Whatever an integration test (or a subprocess it starts) declares under the prefix is deleted
    afterwards. The other tests get a broker address where nothing listens: they never reach
    RabbitMQ, not even to clean up.
    """
    base = load_settings(env={})
    integration = request.node.get_closest_marker("integration") is not None
    settings = dataclasses.replace(
        base,
        var_dir=tmp_path / "var",
        # A test not marked integration that reaches for the broker fails at once: mark it.
        amqp_url=AMQP_URL if integration else NO_BROKER,
        amqp_connect_wait=base.amqp_connect_wait if integration else 0.0,
        bus_prefix=f"kp-test-{uuid.uuid4().hex[:10]}",
        delivery_limit=5,
        retry_tiers=("1s", "2s"),
        max_attempts=3,
        drop_interval=0.1,
        # a key of its own, as a gateway with identities needs (the default is for local use)
        bsn_hash_key="the test suite's own bsn key",
    )
    yield settings
    if integration:
        _delete_topology(settings)
    _check_ledger(settings)


def _check_ledger(settings: Settings) -> None:
    """Whatever a test recorded in its embedded ledger, the derived data (key index, message
    states) must be what the entries make of it: every test is also a check of that."""
    path = settings.var_dir / "ledger.sqlite3"
    if settings.ledger_url or not path.exists():
        return
    from gateway.ledger import LedgerOptions, open_ledger
    from gateway.ledger.audit import verify_derived

    ledger = open_ledger(f"sqlite:///{path}", "k", LedgerOptions())
    try:
        report = verify_derived(ledger)
    finally:
        ledger.close()
    assert report.ok, report.problems


ALL_ADAPTERS = (
    "adapters.istandaarden",
    "adapters.ggk",
    "adapters.svb",
    "adapters.cak",
    "adapters.corv",
    "adapters.vecozo",
)


@functools.cache
def _all_standards() -> tuple[str, ...]:
    from gateway.adapter import Registry

    settings = load_settings(env={})
    registry = Registry.load(ALL_ADAPTERS, dataclasses.replace(settings, adapters=ALL_ADAPTERS))
    return tuple(sorted({s for adapter in registry.standards() for s in adapter.standards}))


def _delete_topology(settings: Settings) -> None:
    import pika.exceptions

    from gateway.bus.publisher import connect
    from gateway.bus.topology import Topology

    # A test may load more adapters than its settings fixture names (counterpart_settings):
    # delete the queues of every standard any adapter speaks, declared or not.
    topology = Topology(
        settings.bus_prefix, _all_standards(), settings.delivery_limit, settings.retry_tiers
    )
    connection = connect(settings.amqp_url)
    try:
        topology.delete(connection.channel())
    except pika.exceptions.AMQPError:
        pass  # nothing was declared, or it is gone already
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture
def gateway(settings: Settings) -> Iterator[object]:
    """A wired Gateway on the real broker; its topology is deleted afterwards."""
    from gateway.app import Gateway

    gw = Gateway(settings)
    gw.declare_topology()
    try:
        yield gw
    finally:
        gw.close()  # the settings fixture deletes the topology
