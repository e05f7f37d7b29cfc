"""Bad input always gets a clear answer: mutated messages through the whole intake and worker.

Known-good messages (the public iWmo/iJw examples and ours) are changed the way senders get
them wrong: a leaf given an odd value (empty, too long, a date at the end of the calendar, a
code from elsewhere), an element removed, repeated or its children reordered. Each goes through
``Receiver.receive`` on a real SQLite ledger, as a message from the back-office or from a
counterpart, and, when published, through the worker (outbox, retour for a heenbericht). The
outcome must be a receipt (accepted, rejected with findings, or refused with its reason) and a
worker outcome that is recorded or a classified failure: never an exception that would reach the
sender as a server error or stop a message unrecorded.

This is how the dates at the ends of the calendar were found (TR002/TR335, month_end). The
bus is replaced by a list here, as in test_receive_and_worker.py: this is about the steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.adapter import Registry
from gateway.bus.failures import Permanent, Retryable
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope
from gateway.ledger import Ledger, open_ledger
from gateway.receive import ACCEPTED, REFUSED, REJECTED, Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker
from tests.busstub import StubBus
from tests.conftest import EXAMPLES, REFERENCE

SEEDS = sorted([*REFERENCE.glob("jaapjunior-*/voorbeeldberichten/*.xml"), *EXAMPLES.glob("*.xml")])
# Odd values by the shape of the value they replace (a date for a date, digits for digits).
DATES = ["0001-01-01", "9999-12-01", "9999-12-31", "2024-02-29", "1900-01-01", "2027-01-01"]
DIGITS = ["0", "00", "1", "2", "3", "99", "999999999", "123456782", "0599", "87654321", "01"]
OTHER = ["", " ", "-1", "x" * 300, "\u00e4\u20ac", "1.0", "99.99", "00:00:00", "23:59:59"]

# (operation, which element (modulo how many there are), a value or another element's value)
Mutation = tuple[str, int, int]
mutations = st.lists(
    st.tuples(
        st.sampled_from(["value", "value", "value", "copy", "remove", "repeat", "reorder"]),
        st.integers(0, 127),
        st.integers(0, 31),
    ),
    min_size=1,
    max_size=3,
)


def mutate(body: bytes, changes: list[Mutation]) -> bytes:
    root = etree.fromstring(body)
    for op, which, pick in changes:
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = elements[which % len(elements)]
        parent = element.getparent()
        leaves = [e for e in elements if len(e) == 0 and e.text]
        if op == "value" and leaves:
            leaf = leaves[which % len(leaves)]
            text = leaf.text or ""
            shape = DATES if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else DIGITS
            values = shape if text.isdigit() or shape is DATES else OTHER
            leaf.text = (values + OTHER)[pick % (len(values) + 3)]
        elif op == "copy" and len(element) == 0 and leaves:
            element.text = leaves[pick % len(leaves)].text
        elif op == "remove" and parent is not None:
            parent.remove(element)
        elif op == "repeat" and parent is not None:
            element.addnext(etree.fromstring(etree.tostring(element)))
        elif op == "reorder" and len(element) > 1:
            children = list(element)
            element[:] = children[pick % len(children) :] + children[: pick % len(children)]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclasses.dataclass
class Parts:
    receiver: Receiver
    worker: Worker
    ledger: Ledger
    published: list[Envelope]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    # module-scoped (hypothesis runs many examples on one set of parts), so not the function
    # ``settings`` fixture; embedded defaults under a temporary folder, no broker needed
    from gateway.config import load_settings

    var = tmp_path_factory.mktemp("mutations")
    config: Settings = dataclasses.replace(
        load_settings(env={}),
        var_dir=Path(var) / "var",
        # the CAK adapter derives its iEb starts and stops from accepted toewijzingen and
        # starts (the worker's follow-ups): their periods are date arithmetic too
        adapters=("adapters.istandaarden", "adapters.ggk", "adapters.cak"),
    )
    registry = Registry.load(config.adapters, config)
    ledger = open_ledger(config.ledger_dsn, "k")
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, 10**7)
    worker = Worker(registry, ledger, receiver, OutboxTransport(config.outbox_dir), 10**7)
    yield Parts(receiver, worker, ledger, bus.published)
    ledger.close()


def test_the_seeds_are_there() -> None:
    assert len(SEEDS) >= 20  # 14 iJw and 7 iWmo public examples, and ours


def _answered(parts: Parts, body: bytes, direction: Direction) -> None:
    """``body`` gets a receipt, and once published the worker's outcome is recorded or a
    classified failure."""
    envelope = Envelope(
        body=body, direction=direction, message_id=uuid.uuid4().hex, source="mutations"
    )
    receipt = parts.receiver.receive(envelope)  # raises what would be a server error
    assert receipt.status in (ACCEPTED, REJECTED, REFUSED)
    assert receipt.status != REFUSED or receipt.errors
    assert receipt.status != REJECTED or receipt.findings
    if receipt.published:
        published = parts.published[-1]
        assert published.message_id == envelope.message_id
        with contextlib.suppress(Permanent, Retryable):  # classified: parked or retried
            parts.worker.process(published)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_every_date_of_every_example_at_the_ends_of_the_calendar(parts: Parts, seed: Path) -> None:
    """Each date in the message, one at a time, set to each odd date (a rule's date arithmetic
    is where such values bite), in turn from a counterpart and from the back-office (whose
    accepted toewijzingen and starts the CAK adapter derives from): every one gets an answer."""
    body = seed.read_bytes()
    leaves = [e for e in etree.fromstring(body).iter() if isinstance(e.tag, str) and len(e) == 0]
    dated = [i for i, e in enumerate(leaves) if re.fullmatch(r"\d{4}-\d\d-\d\d", e.text or "")]
    assert dated
    for index in dated:
        for turn, day in enumerate(DATES):
            root = etree.fromstring(body)
            leaf = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0][index]
            leaf.text = day
            direction = (Direction.INBOUND, Direction.OUTBOUND)[turn % 2]
            _answered(parts, etree.tostring(root), direction)


@pytest.mark.slow
@settings(
    max_examples=500,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(SEEDS),
    changes=mutations,
    direction=st.sampled_from([Direction.OUTBOUND, Direction.INBOUND]),
)
def test_a_mutated_message_gets_an_answer_never_an_error(
    parts: Parts, seed: Path, changes: list[Mutation], direction: Direction
) -> None:
    _answered(parts, mutate(seed.read_bytes(), changes), direction)
