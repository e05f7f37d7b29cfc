"""The one door to receive: ``gateway.door.envelope_for`` makes the envelope of every message
coming in, and no other code builds one by hand."""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.door import ANYONE, GATEWAY, NOBODY, Given, Speaker, envelope_for
from gateway.envelope import BadId, Direction
from gateway.identities import ANONYMOUS, Identity

ROOT = Path(__file__).resolve().parents[2]
BANK = Identity("bank", parties=frozenset({"0363"}))
RELAY = Identity("ebms", parties=frozenset({"0363"}), relay=True)


def test_nothing_given_makes_a_new_id_its_own_correlation_id_and_names_the_door() -> None:
    before = datetime.now(UTC)
    envelope = envelope_for("cli", b"<x/>", Direction.OUTBOUND, who=ANYONE)
    assert uuid.UUID(envelope.message_id)
    assert envelope.correlation_id == envelope.message_id
    assert envelope.source == "cli"
    assert envelope.direction is Direction.OUTBOUND
    assert envelope.body == b"<x/>"
    assert envelope.content_type == "application/xml"
    assert (envelope.identity, envelope.may_send_as) == ("", None)
    assert envelope.parent_id is None and envelope.message_type is None
    assert before <= envelope.received_at <= datetime.now(UTC) + timedelta(seconds=1)
    again = envelope_for("cli", b"<x/>", Direction.OUTBOUND, who=ANYONE)
    assert again.message_id != envelope.message_id


def test_ids_a_sender_chose_are_checked_and_kept() -> None:
    given = Given("bericht-17", "case-17:a.b_c")
    envelope = envelope_for("amqp", b"", Direction.INBOUND, who=ANYONE, given=given)
    assert (envelope.message_id, envelope.correlation_id) == ("bericht-17", "case-17:a.b_c")


@pytest.mark.parametrize(
    "given",
    [
        Given(message_id="a/b"),
        Given(message_id="999990019"),  # a BSN
        Given(message_id=""),  # an empty id is no id
        Given(correlation_id="a b"),
        Given(correlation_id="x" * 129),
    ],
    ids=["slash", "bsn", "empty", "space", "long"],
)
def test_an_unsafe_id_a_sender_chose_is_refused_without_quoting_it(given: Given) -> None:
    with pytest.raises(BadId) as refused:
        envelope_for("amqp", b"", Direction.INBOUND, who=ANYONE, given=given)
    text = str(refused.value)
    assert "message id" in text or "correlation id" in text
    for value in (given.message_id, given.correlation_id):
        assert not value or value not in text


def test_a_door_taking_only_uuids_normalises_them_and_names_its_fields() -> None:
    names = ("X-Message-Id", "X-Correlation-Id")
    upper = str(uuid.uuid4()).upper()
    envelope = envelope_for(
        "http", b"", Direction.OUTBOUND, who=ANYONE, given=Given(upper, None, names, uuid=True)
    )
    assert envelope.message_id == upper.lower()
    with pytest.raises(BadId, match=r"^X-Message-Id must be a UUID$"):
        envelope_for(
            "http", b"", Direction.OUTBOUND, who=ANYONE, given=Given("bericht-17", "", names, True)
        )
    with pytest.raises(BadId, match=r"^X-Correlation-Id must be"):
        envelope_for("http", b"", Direction.OUTBOUND, who=ANYONE, given=Given(None, "a;b", names))


def test_ids_the_door_derived_are_taken_as_they_are() -> None:
    """A transport envelope's reference is the counterpart's, not a sender's choice at our
    door: it is carried as it is (as before the one door)."""
    envelope = envelope_for(
        "ggk",
        b"",
        Direction.INBOUND,
        who=ANYONE,
        message_id="derived-1",
        correlation_id="REF 999990019",
        parent_id="parent-1",
        content_type="text/plain",
    )
    assert (envelope.message_id, envelope.correlation_id) == ("derived-1", "REF 999990019")
    assert (envelope.parent_id, envelope.content_type) == ("parent-1", "text/plain")


def test_a_sender_chosen_id_wins_over_the_door_default() -> None:
    given = Given("bericht-17", "case-1")
    envelope = envelope_for(
        "x", b"", Direction.INBOUND, who=ANYONE, given=given, message_id="m", correlation_id="c"
    )
    assert (envelope.message_id, envelope.correlation_id) == ("bericht-17", "case-1")


@pytest.mark.parametrize(
    ("who", "identity", "may_send_as"),
    [
        (Speaker.caller(BANK), "bank", frozenset({"0363"})),
        (Speaker.caller(ANONYMOUS), "", None),  # the open, local-only API
        (Speaker.relaying(BANK, "12345678"), "bank", frozenset({"0363"})),
        (Speaker.relaying(RELAY, "12345678"), "ebms", frozenset({"12345678"})),
        (Speaker.vouched("12345678"), "", frozenset({"12345678"})),
        (ANYONE, "", None),
        (NOBODY, "", frozenset()),
        (GATEWAY, "", None),
    ],
    ids=["caller", "anonymous", "no-relay", "relay", "vouched", "anyone", "nobody", "gateway"],
)
def test_who_speaks_is_on_the_envelope(
    who: Speaker, identity: str, may_send_as: frozenset[str] | None
) -> None:
    envelope = envelope_for("door", b"", Direction.INBOUND, who=who)
    assert (envelope.identity, envelope.may_send_as) == (identity, may_send_as)


# -- no door builds an Envelope by hand ------------------------------------------------------

# Where ``Envelope(`` may be written, and why: the door function; the envelope module (the class
# and ``record_envelope``, for ledger records that name no message coming in); the wire decoder
# (what the gateway itself published); the history read model (a recorded message).
ALLOWED = {
    "gateway/door.py",
    "gateway/envelope.py",
    "gateway/bus/wire.py",
    "gateway/ledger/history.py",
}


def _builders(path: Path) -> list[int]:
    """The lines where ``path`` calls the Envelope class, under whatever name it imported it."""
    tree = ast.parse(path.read_text(), str(path))
    names = {"Envelope"} | {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == "Envelope" and alias.asname
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in names:
                lines.append(node.lineno)
    return sorted(lines)


def test_no_door_builds_an_envelope_by_hand() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("gateway", "adapters")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line in _builders(path)
    }
    assert not found, f"build envelopes with gateway.door.envelope_for: {sorted(found)}"


def test_the_scan_finds_a_hand_built_envelope(tmp_path: Path) -> None:
    door = tmp_path / "door.py"
    door.write_text(
        "from gateway import envelope\n"
        "from gateway.envelope import Envelope as E, Envelope\n"
        "a = Envelope(body=b'', direction='inbound')\n"
        "b = envelope.Envelope(body=b'', direction='inbound')\n"
        "c = E(body=b'', direction='inbound')\n"
    )
    assert _builders(door) == [3, 4, 5]
    assert all(_builders(ROOT / allowed) for allowed in ALLOWED)
