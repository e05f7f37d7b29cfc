"""The private cluster (tools/cluster.py): three RabbitMQ nodes and a PostgreSQL of our own,
started once for the tests under tests/cluster and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import cluster as harness


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Cluster]:
    base = Path("/tmp") / f"kp-cluster-test-{tmp_path_factory.getbasetemp().name}"
    harness.down(base)  # a run that was killed may have left one
    try:
        yield harness.up(base)
    finally:
        harness.down(base)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.cluster)
