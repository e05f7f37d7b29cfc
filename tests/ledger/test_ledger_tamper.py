"""Verify catches every change to the raw tables; proofs check out and wrong ones fail.

Each tamper test edits the database directly, as someone with database access would: append-
only triggers dropped first, then UPDATE, DELETE or reorder rows.
"""

from __future__ import annotations

import pytest

from gateway.ledger import Event, Status, merkle
from gateway.ledger.audit import check_consistency, check_inclusion, consistency, inclusion, verify
from gateway.ledger.checkpoint import HmacSigner, read_exported
from gateway.ledger.records import row_leaf
from gateway.ledger.sql import SqlLedger
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description, message

SIZE = 20


def fill(ledger: SqlLedger, messages: int = SIZE // 2) -> None:
    for number in range(messages):
        env = message()
        ledger.append(env, Event.RECEIVED, payload=f"<m n='{number}'/>".encode())
        ledger.append(
            env,
            Event.VALIDATED,
            detail={"publish": True},
            description=description(bericht=f"B-{number}", bsn=("999999990",)),
        )


@pytest.fixture
def filled(backend: Backend) -> SqlLedger:
    ledger = backend.open(checkpoint_every=5)
    fill(ledger)
    assert [c.size for c in ledger.checkpoints()] == [5, 10, 15, 20]
    assert verify(ledger).ok
    return ledger


def problems(ledger: SqlLedger, backend: Backend) -> list[str]:
    report = verify(ledger, exported=read_exported(backend.tmp / "checkpoints.jsonl"))
    assert not report.ok
    return report.problems


def test_an_untouched_ledger_verifies(filled: SqlLedger, backend: Backend) -> None:
    report = verify(filled, exported=read_exported(backend.tmp / "checkpoints.jsonl"))
    assert report.ok, report.problems
    assert (report.size, report.checkpoints, report.covered, report.payloads) == (20, 4, 20, 10)


def test_the_triggers_refuse_changes(filled: SqlLedger, backend: Backend) -> None:
    for sql in (
        "UPDATE entries SET code = 'X' WHERE seq = 3",
        "DELETE FROM entries WHERE seq = 3",
        "DELETE FROM payloads",
        "UPDATE payloads SET size = 1",
        "DELETE FROM checkpoints",
    ):
        with pytest.raises(Exception, match=r"append-only|erased"):
            backend.raw(sql)


def test_changed_column_is_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    backend.raw("UPDATE entries SET receiver = '99999999' WHERE seq = 4")
    found = problems(filled, backend)
    assert "entry 4 does not match its leaf hash (changed)" in found


def test_changed_row_with_recomputed_leaf_hash_is_caught(
    filled: SqlLedger, backend: Backend
) -> None:
    """A careful intruder also rewrites the leaf hash; the signed roots still differ."""
    backend.drop_guards()
    backend.raw("UPDATE entries SET code = 'WMO999' WHERE seq = 4")
    row = filled.scan(
        "SELECT seq, message_id, correlation_id, event, at, route, standard, code, version, "
        "sender, receiver, detail, payload_sha256, keys, leaf_hash, private_hash, redacted "
        "FROM entries WHERE seq = 4"
    )
    backend.raw("UPDATE entries SET leaf_hash = ? WHERE seq = 4", (row_leaf(next(iter(row))),))
    found = problems(filled, backend)
    assert not any("leaf hash" in p for p in found)
    assert any("checkpoint 5 " in p for p in found)
    assert sum("does not have the signed root" in p for p in found) == 4  # 5, 10, 15 and 20


def test_deleted_row_is_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    backend.raw("DELETE FROM entries WHERE seq = 7")
    found = problems(filled, backend)
    assert "entries 7..7 are missing (seq jumps)" in found
    assert any("checkpoint 10 " in p for p in found)


def test_reordered_rows_are_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    backend.raw("UPDATE entries SET seq = -1 WHERE seq = 11")
    backend.raw("UPDATE entries SET seq = 11 WHERE seq = 12")
    backend.raw("UPDATE entries SET seq = 12 WHERE seq = -1")
    found = problems(filled, backend)
    assert "entry 11 does not match its leaf hash (changed)" in found
    assert "entry 12 does not match its leaf hash (changed)" in found


def test_cut_off_tail_is_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    backend.raw("DELETE FROM entries WHERE seq > 17")
    backend.raw("DELETE FROM checkpoints WHERE size > 15")  # and hide it in the database
    found = problems(filled, backend)
    assert "exported checkpoint of size 20 is not in the database" in found
    assert any("checkpoint 20 signed 20 entries but the ledger has 17" in p for p in found)


def test_forged_checkpoint_is_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    backend.raw("UPDATE checkpoints SET root = ? WHERE size = 10", ("00" * 32,))
    found = problems(filled, backend)
    assert "checkpoint of size 10 in the database differs from the exported one" in found
    # without the exported copy, the forged one has no valid signature
    report = verify(filled)
    assert "checkpoint of size 10 has no valid signature" in report.problems


def test_changed_or_removed_payload_is_caught(filled: SqlLedger, backend: Backend) -> None:
    backend.drop_guards()
    digest = filled.history(filled.entry(1).message_id)[0].payload_sha256  # type: ignore[union-attr]
    other = filled.entry(3).payload_sha256  # type: ignore[union-attr]
    import zlib

    backend.raw(
        "UPDATE payloads SET content = ? WHERE sha256 = ?", (zlib.compress(b"<x/>"), digest)
    )
    backend.raw("DELETE FROM payloads WHERE sha256 = ?", (other,))
    found = problems(filled, backend)
    assert f"payload {digest[:16]}... does not match its hash (changed)" in found  # type: ignore[index]
    assert f"payload {other[:16]}... of entry 3 is missing" in found  # type: ignore[index]
    backend.raw("UPDATE payloads SET content = NULL")
    assert any("is empty without an erasure" in p for p in problems(filled, backend))


def test_checkpoints_from_another_key_are_refused(filled: SqlLedger) -> None:
    report = verify(filled, verifier=HmacSigner(b"someone else"))
    assert "checkpoint of size 5 has no valid signature" in report.problems


# -- proofs ----------------------------------------------------------------------------------


def test_inclusion_proof_of_every_entry(filled: SqlLedger) -> None:
    leaves = filled.leaf_hashes(SIZE)
    signer = filled.options.signer
    for seq in range(1, SIZE + 1):
        assert inclusion(filled, seq)["tree_size"] == SIZE  # the latest checkpoint by default
        first = ((seq + 4) // 5) * 5  # and any earlier checkpoint that covers it
        for size in range(first, SIZE + 1, 5):
            proof = inclusion(filled, seq, size)
            # an independent recomputation from the stored leaves
            assert bytes.fromhex(proof["root"]) == merkle.root(leaves[:size])
            assert proof["checkpoint"]["root"] == proof["root"]
            assert check_inclusion(proof, signer) == []
    wrong = inclusion(filled, 3)
    wrong["leaf_hash"] = wrong["path"][0]
    assert check_inclusion(wrong, signer) == ["the path does not lead from the leaf to the root"]
    moved = inclusion(filled, 3)
    moved["leaf_index"] = 4
    assert check_inclusion(moved, signer)


def test_consistency_between_checkpoints(filled: SqlLedger) -> None:
    signer = filled.options.signer
    for old, new in ((5, 20), (10, 15), (15, 20), (20, 20)):
        proof = consistency(filled, old, new)
        assert check_consistency(proof, signer) == []
        assert proof["old_checkpoint"]["size"] == old
    proof = consistency(filled, 10, 20)
    proof["old_root"] = consistency(filled, 5, 20)["old_root"]
    assert "the old tree is not a prefix of the new tree" in check_consistency(proof, signer)


def test_proof_made_after_tampering_fails_against_the_old_checkpoint(
    filled: SqlLedger, backend: Backend
) -> None:
    old = consistency(filled, 10, 20)
    backend.drop_guards()
    backend.raw("UPDATE entries SET leaf_hash = ? WHERE seq = 2", (merkle.leaf_hash(b"forged"),))
    backend.raw("DELETE FROM checkpoints")
    tampered = consistency(filled, 10, 20)
    tampered["old_checkpoint"] = old["old_checkpoint"]  # what an auditor kept
    assert check_consistency(tampered, filled.options.signer)


def test_a_changed_key_index_is_caught(filled: SqlLedger, backend: Backend) -> None:
    """The key index is what search and the rules read: a toewijzing that never passed made
    findable, or a message hidden from search, must show (reported without the values)."""
    rows = backend.raw("SELECT key, value, message_id FROM entry_keys WHERE seq = 4 ORDER BY key")
    assert rows, "entry 4 (a validated message) carries keys"
    key, value, message_id = rows[0]
    other = backend.raw("SELECT message_id FROM entries WHERE seq = 6")[0][0]
    backend.raw(  # an index row no entry carries
        "INSERT INTO entry_keys (key, value, seq, message_id) VALUES (?, ?, ?, ?)",
        ("ToewijzingNummer", "424242", 6, other),
    )
    backend.raw("DELETE FROM entry_keys WHERE seq = ? AND key = ?", (4, key))  # a row removed
    backend.raw("UPDATE entry_keys SET message_id = ? WHERE seq = 8", (other,))  # re-pointed
    backend.raw(  # a row for an entry that does not exist
        "INSERT INTO entry_keys (key, value, seq, message_id) VALUES (?, ?, ?, ?)",
        ("DeclaratieNummer", "1", 999, message_id),
    )
    found = problems(filled, backend)
    assert (
        "the key index lists ToewijzingNummer for entry 6, which the entry does not carry" in found
    )
    assert f"entry 4 carries {key}, which the key index lacks" in found
    assert any(p.startswith("the key index names another message for entry 8") for p in found)
    assert "the key index lists DeclaratieNummer for entry 999, which is not an entry" in found
    assert not any(value in p or "424242" in p for p in found)  # no values in the report
    assert all("key index" in p for p in found)  # the tree and payloads are untouched


def test_a_changed_message_state_is_caught(backend: Backend) -> None:
    """Operations read failures from the state table: a parked message set to "delivered", an
    answered one set back to waiting, a state removed or invented must show."""
    ledger = backend.open()
    heen, retour, parked = message(), message("WMO302"), message()
    ledger.append(heen, Event.RECEIVED, payload=b"<heen/>")
    ledger.append(
        heen,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht="H-1", expects_answer=True),
    )
    ledger.append(heen, Event.PUBLISHED)
    ledger.append(heen, Event.DELIVERED)
    ledger.append(retour, Event.RECEIVED, payload=b"<retour/>")
    ledger.append(  # the aanbieder's retour answers H-1: the heenbericht becomes answered
        retour,
        Event.VALIDATED,
        detail={"publish": True},
        description=description("12345678", "0363", bericht="R-1", answers="H-1"),
    )
    ledger.append(parked, Event.RECEIVED, payload=b"<parked/>")
    ledger.append(parked, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(parked, Event.PARKED, detail={"reason": "outbox full"})
    state = ledger.state(heen.message_id)
    assert state is not None and state.status is Status.ANSWERED
    report = verify(ledger)
    assert report.ok and (report.states, report.states_not_rebuilt) == (3, 0), report.problems

    backend.raw(
        "UPDATE messages SET status = 'delivered' WHERE message_id = ?", (parked.message_id,)
    )
    backend.raw(
        "UPDATE messages SET status = 'awaiting-answer', answered_by = NULL WHERE message_id = ?",
        (heen.message_id,),
    )
    backend.raw("DELETE FROM messages WHERE message_id = ?", (retour.message_id,))
    backend.raw(
        "INSERT INTO messages SELECT 'invented', correlation_id, direction, route, standard, code,"
        " sender, receiver, status, verdict, expects_answer, answered_by, first_seq, last_seq,"
        " first_at, last_at FROM messages WHERE message_id = ?",
        (parked.message_id,),
    )
    found = verify(ledger).problems
    assert (
        f"message {parked.message_id}: its stored state differs from its entries "
        "(status 'delivered' where the entries give 'parked')" in found
    )
    assert any(
        p.startswith(f"message {heen.message_id}: its stored state differs") and "answered" in p
        for p in found
    )
    assert f"message {retour.message_id} has entries but no state" in found
    assert "message invented has a state but no entries" in found
    assert len(found) == 4, found
