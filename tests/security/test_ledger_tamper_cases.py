"""The ledger attacked as someone with database access would: a table of tamper cases.

Each case edits the raw tables of a ledger (append-only triggers dropped first), on SQLite and
on the real PostgreSQL, and ``ledger verify`` must fail naming the problem. The ledger holds a
message viewed by a payload-viewer (``viewed`` entry, detail ``by: pv``), covered by a signed
checkpoint, a message genuinely erased by retention, and a tail after the latest checkpoint.
Only the checkpoint key can make an erasure verify accepts; the attacker here does not hold it
(the forged checkpoint and erasure cases sign with a key of their own).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from gateway.ledger import Event, LedgerError, erasure, merkle
from gateway.ledger.audit import verify
from gateway.ledger.checkpoint import new_ed25519_key, parse_key, read_exported, sign
from gateway.ledger.records import (
    COLUMNS,
    FORMAT,
    LEGACY_FORMAT,
    leaf_data,
    private_digest,
    row_leaf,
)
from gateway.ledger.retention import apply, parse_policies
from gateway.ledger.sql import SqlLedger, now
from tests.ledger.conftest import Backend, backend  # noqa: F401  (the fixture, both databases)
from tests.ledger.ledger_helpers import description, message

pytestmark = pytest.mark.integration

LATER = datetime.now(UTC) + timedelta(days=400)


@dataclass
class Scene:
    ledger: SqlLedger
    backend: Backend
    viewed: int  # seq of the covered ``viewed`` entry (detail: by pv)
    viewed_message: str
    validated: int  # seq of a covered, unredacted entry carrying parties and keys
    erased_message: str  # a message genuinely erased (traffic) by retention
    covered: int  # size of the latest checkpoint
    tail: int  # seq of an entry after it

    def row(self, seq: int) -> tuple[object, ...]:
        return tuple(self.backend.raw(f"SELECT {COLUMNS} FROM entries WHERE seq = ?", (seq,))[0])

    def forge(
        self, message_id: str, event: Event, detail: dict[str, object], form: str = FORMAT
    ) -> int:
        """Append an entry straight into the table, with a correct leaf hash (nothing secret
        is needed for that), as an intruder adding an ``erased`` entry would."""
        seq = int(self.backend.raw("SELECT MAX(seq) FROM entries")[0][0]) + 1
        text = json.dumps(detail, sort_keys=True)
        at = now()
        leaf = merkle.leaf_hash(
            leaf_data(
                seq, message_id, "", event.value, at, "outbound.iwmo.WMO301", "iwmo", "WMO301",
                "3.2", None, private_digest("", "", text, "{}"), form,
            )
        )  # fmt: skip
        self.backend.raw(
            "INSERT INTO entries (seq, message_id, correlation_id, event, at, route, standard, "
            "code, version, sender, receiver, detail, payload_sha256, keys, leaf_hash, redacted) "
            "VALUES (?, ?, '', ?, ?, 'outbound.iwmo.WMO301', 'iwmo', 'WMO301', '3.2', '', '', "
            "?, NULL, '{}', ?, 0)",
            (seq, message_id, event.value, at, text, leaf),
        )
        return seq

    def redact_row(self, seq: int, detail: str = "{}") -> None:
        """Set a row to redacted, keeping its original private digest (so its leaf holds)."""
        r = self.row(seq)
        digest = private_digest(str(r[9]), str(r[10]), str(r[11]), str(r[13]))
        self.backend.raw(
            "UPDATE entries SET sender = '', receiver = '', detail = ?, keys = '{}', "
            "private_hash = ?, redacted = 1 WHERE seq = ?",
            (detail, digest, seq),
        )
        self.backend.raw("DELETE FROM entry_keys WHERE seq = ?", (seq,))


@pytest.fixture
def scene(backend: Backend) -> Scene:  # noqa: F811
    ledger = backend.open(checkpoint_every=1000)
    erased = message("CORV1", standard="corv")
    ledger.append(erased, Event.RECEIVED, payload=b"<corv/>")
    ledger.append(erased, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(erased, Event.DELIVERED)
    seen = message()
    ledger.append(seen, Event.RECEIVED, payload=b"<Bericht n='1'/>")
    validated = ledger.append(
        seen,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="B-1", bsn=("999999990",)),
    ).seq
    ledger.append(seen, Event.DELIVERED)
    viewed = ledger.append(seen, Event.VIEWED, detail={"by": "pv"}).seq
    assert apply(ledger, parse_policies(["corv:traffic=1d"]), at=LATER).entries_redacted == 3
    covered = ledger.checkpoint(force=True)
    assert covered is not None
    tail = ledger.append(seen, Event.VIEWED, detail={"by": "pv"}).seq
    report = verify(ledger, exported=read_exported(backend.tmp / "checkpoints.jsonl"))
    assert report.ok, report.problems
    assert (report.redacted, report.erasures, report.covered) == (3, 1, covered.size)
    backend.drop_guards()
    return Scene(
        ledger, backend, viewed, seen.message_id, validated, erased.message_id, covered.size, tail
    )


def fake_redaction_with_forged_text(s: Scene) -> list[str]:
    """The finding: a covered entry set to redacted with its original private digest, its
    text changed, and an ``erased`` entry appended."""
    s.redact_row(s.viewed, '{"by": "admin"}')
    s.forge(s.viewed_message, Event.ERASED, {"policy": "x", "payloads": [], "redacted": True})
    shown = [e.detail for e in s.ledger.history(s.viewed_message) if e.seq == s.viewed]
    assert shown == [{}]  # what `messages show` prints of it: not the forged text
    return [f"entry {s.viewed} is redacted but still shows", "is not signed"]


def fake_redaction_listing_the_entry(s: Scene) -> list[str]:
    """A clean-looking redaction, with an erasure naming the entry and its digest, unsigned."""
    digest = private_digest(*(str(v) for v in (s.row(s.viewed)[i] for i in (9, 10, 11, 13))))
    s.redact_row(s.viewed)
    s.forge(
        s.viewed_message,
        Event.ERASED,
        {"policy": "x", "payloads": [], "redacted": True, "entries": [[s.viewed, digest]]},
    )
    return [f"entry {s.viewed} is redacted without a recorded erasure", "is not signed"]


def fake_redaction_signed_with_another_key(s: Scene) -> list[str]:
    digest = private_digest(*(str(v) for v in (s.row(s.viewed)[i] for i in (9, 10, 11, 13))))
    s.redact_row(s.viewed)
    claim = {"policy": "x", "payloads": [], "redacted": True, "entries": [[s.viewed, digest]]}
    s.forge(
        s.viewed_message,
        Event.ERASED,
        erasure.signed(parse_key(new_ed25519_key()), s.viewed_message, claim),
    )
    return [f"entry {s.viewed} is redacted without a recorded erasure", "has no valid signature"]


def fake_redaction_in_the_earlier_format(s: Scene) -> list[str]:
    """An unsigned erasure written as the format before signed erasures: it comes too late."""
    s.redact_row(s.viewed)
    seq = s.forge(
        s.viewed_message,
        Event.ERASED,
        {"policy": "x", "payloads": [], "redacted": True},
        form=LEGACY_FORMAT,
    )
    return [
        f"entry {seq} is in the earlier format {LEGACY_FORMAT}",
        "is not signed",
        f"entry {s.viewed} is redacted without a recorded erasure",
    ]


def signed_erasure_replayed_on_another_message(s: Scene) -> list[str]:
    """A genuine erasure's detail copied onto the message to be hidden."""
    genuine = next(e for e in s.ledger.history(s.erased_message) if e.event is Event.ERASED)
    s.redact_row(s.viewed)
    s.forge(s.viewed_message, Event.ERASED, dict(genuine.detail))
    return ["has no valid signature", f"entry {s.viewed} is redacted without a recorded erasure"]


def payload_emptied_behind_a_forged_erasure(s: Scene) -> list[str]:
    digest = s.ledger.history(s.viewed_message)[0].payload_sha256
    s.backend.raw("UPDATE payloads SET content = NULL WHERE sha256 = ?", (digest,))
    s.forge(s.viewed_message, Event.ERASED, {"policy": "x", "payloads": [digest]})
    return [f"payload {str(digest)[:16]}... is empty without an erasure", "is not signed"]


def private_digest_of_an_unredacted_entry(s: Scene) -> list[str]:
    s.backend.raw("UPDATE entries SET private_hash = ? WHERE seq = ?", ("ab" * 32, s.validated))
    return [f"entry {s.validated} has a private digest that does not match its columns"]


def tail_after_the_last_checkpoint_edited(s: Scene) -> list[str]:
    s.backend.raw("UPDATE entries SET detail = ? WHERE seq = ?", ('{"by": "admin"}', s.tail))
    return [f"entry {s.tail} does not match its leaf hash (changed)"]


def covered_entry_rewritten_with_its_leaf_hash(s: Scene) -> list[str]:
    s.backend.raw("UPDATE entries SET detail = ? WHERE seq = ?", ('{"by": "admin"}', s.viewed))
    s.backend.raw(
        "UPDATE entries SET leaf_hash = ? WHERE seq = ?", (row_leaf(s.row(s.viewed)), s.viewed)
    )
    return [f"does not have the signed root of checkpoint {s.covered}"]


def forged_checkpoint(s: Scene) -> list[str]:
    """The tail rewritten with its leaf hash and sealed by a checkpoint of another key."""
    s.backend.raw("UPDATE entries SET detail = ? WHERE seq = ?", ('{"by": "admin"}', s.tail))
    s.backend.raw(
        "UPDATE entries SET leaf_hash = ? WHERE seq = ?", (row_leaf(s.row(s.tail)), s.tail)
    )
    leaves = [bytes(r[0]) for r in s.backend.raw("SELECT leaf_hash FROM entries ORDER BY seq")]
    forged = sign(parse_key(new_ed25519_key()), len(leaves), merkle.root(leaves), now())
    s.backend.raw(
        "INSERT INTO checkpoints (size, root, at, algorithm, key_id, signature, origin, "
        "frontier) VALUES (?, ?, ?, ?, ?, ?, ?, '[]')",
        (forged.size, forged.root.hex(), forged.at, forged.algorithm, forged.key_id,
         forged.signature.hex(), forged.origin),
    )  # fmt: skip
    return [f"checkpoint of size {forged.size} has no valid signature"]


def deleted_entry(s: Scene) -> list[str]:
    s.backend.raw("DELETE FROM entries WHERE seq = ?", (s.viewed,))
    return [f"entries {s.viewed}..{s.viewed} are missing (seq jumps)"]


def reordered_entries(s: Scene) -> list[str]:
    a, b = s.viewed - 1, s.viewed
    s.backend.raw("UPDATE entries SET seq = -1 WHERE seq = ?", (a,))
    s.backend.raw("UPDATE entries SET seq = ? WHERE seq = ?", (a, b))
    s.backend.raw("UPDATE entries SET seq = ? WHERE seq = -1", (b,))
    return [f"entry {a} does not match its leaf hash", f"entry {b} does not match its leaf hash"]


CASES: list[Callable[[Scene], list[str]]] = [
    fake_redaction_with_forged_text,
    fake_redaction_listing_the_entry,
    fake_redaction_signed_with_another_key,
    fake_redaction_in_the_earlier_format,
    signed_erasure_replayed_on_another_message,
    payload_emptied_behind_a_forged_erasure,
    private_digest_of_an_unredacted_entry,
    tail_after_the_last_checkpoint_edited,
    covered_entry_rewritten_with_its_leaf_hash,
    forged_checkpoint,
    deleted_entry,
    reordered_entries,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_tampering_fails_verify(scene: Scene, case: Callable[[Scene], list[str]]) -> None:
    expected = case(scene)
    report = verify(scene.ledger, exported=read_exported(scene.backend.tmp / "checkpoints.jsonl"))
    assert not report.ok
    for text in expected:
        assert any(text in p for p in report.problems), (text, report.problems)
    assert "ledger NOT verified" in report.lines()[-1]


def test_a_changed_tail_is_not_signed_by_the_next_checkpoint(scene: Scene) -> None:
    """The checkpoint maker recomputes each new leaf from its row: a tail edited without its
    leaf hash is refused, not sealed."""
    scene.ledger.append(message(), Event.RECEIVED)
    scene.backend.raw(
        "UPDATE entries SET detail = ? WHERE seq = ?", ('{"by": "admin"}', scene.tail)
    )
    with pytest.raises(LedgerError, match=f"entry {scene.tail} does not match its leaf hash"):
        scene.ledger.checkpoint(force=True)
    assert scene.ledger.checkpoints()[-1].size == scene.covered


def test_a_genuine_erasure_after_the_attack_window_still_verifies(scene: Scene) -> None:
    """Retention keeps working: a later traffic erasure of the viewed message verifies."""
    scene.ledger.append(message(), Event.RECEIVED)  # something else meanwhile
    policies = parse_policies(["iwmo:traffic=1d"])
    result = apply(scene.ledger, policies, at=LATER)
    assert result.entries_redacted == 5  # received, validated, delivered, both viewed
    report = verify(scene.ledger)
    assert report.ok, report.problems
    assert report.erasures == 2


@pytest.mark.parametrize("column", ["signature", "frontier"])
def test_the_next_checkpoint_does_not_build_on_a_forged_one(scene: Scene, column: str) -> None:
    """The checkpoint maker extends the latest stored checkpoint only when its signature holds
    and its stored right edge gives its root."""
    value = "00" * 64 if column == "signature" else json.dumps(["00" * 32])
    scene.backend.raw(f"UPDATE checkpoints SET {column} = ? WHERE size = ?", (value, scene.covered))
    with pytest.raises(LedgerError, match=f"checkpoint {scene.covered} in the database"):
        scene.ledger.checkpoint(force=True)
