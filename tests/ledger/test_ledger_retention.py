"""Retention erases payloads and traffic data by policy and every proof still verifies;
payload encryption at rest."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest

from gateway.ledger import Event, Query, Status
from gateway.ledger.audit import check_inclusion, inclusion, verify
from gateway.ledger.payloads import PayloadKeyError
from gateway.ledger.retention import apply, parse_age, parse_policies
from gateway.ledger.sql import SqlLedger
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description, message

LATER = datetime.now(UTC) + timedelta(days=2)


def delivered(ledger: SqlLedger, standard: str, code: str, body: bytes) -> str:
    env = message(code, standard=standard)
    ledger.append(env, Event.RECEIVED, payload=body)
    ledger.append(
        env,
        Event.VALIDATED,
        detail={"publish": True},
        description=description(bericht=f"B-{code}", toewijzing=("T-1",), bsn=("999999990",)),
    )
    ledger.append(env, Event.PUBLISHED)
    ledger.append(env, Event.DELIVERED)
    return env.message_id


def test_policies_parse() -> None:
    assert [str(p) for p in parse_policies(["corv:payload=24h", "*:traffic=6mo"])] == [
        "corv:payload=86400s",
        "*:traffic=15552000s",
    ]
    assert str(parse_policies(["iwmo@0363:payload=365d"])[0]) == "iwmo@0363:payload=31536000s"
    assert parse_age("2w") == timedelta(days=14)
    with pytest.raises(ValueError, match="retention policy"):
        parse_policies(["corv=24h"])
    with pytest.raises(ValueError, match="retention age"):
        parse_policies(["corv:payload=soon"])


def test_payload_retention_keeps_the_hash_and_the_proofs(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=4)
    corv = delivered(ledger, "corv", "CORV1", b"<corv-bevraging/>")
    iwmo = delivered(ledger, "iwmo", "WMO301", b"<toewijzing/>")
    waiting = message("CORV1", standard="corv")  # not settled: keeps its payload
    ledger.append(waiting, Event.RECEIVED, payload=b"<in-flight/>")
    ledger.append(waiting, Event.VALIDATED, detail={"publish": True}, description=description())
    digest = ledger.history(corv)[0].payload_sha256 or ""
    before = inclusion(ledger, 1)

    policies = parse_policies(["corv:payload=24h"])
    assert apply(ledger, policies).payloads_erased == 0  # not 24 hours yet
    result = apply(ledger, policies, at=LATER)
    assert (result.payloads_erased, result.messages) == (1, [corv])

    assert ledger.payload(digest) is None  # gone
    assert backend.raw("SELECT sha256, content FROM payloads WHERE sha256 = ?", (digest,)) == [
        (digest, None)
    ]  # the hash stays
    erased = ledger.history(corv)[-1]
    assert erased.event is Event.ERASED and erased.detail["payloads"] == [digest]
    assert ledger.payload(ledger.history(iwmo)[0].payload_sha256 or "") == b"<toewijzing/>"
    assert ledger.payload(ledger.history(waiting.message_id)[0].payload_sha256 or "") == (
        b"<in-flight/>"
    )
    ledger.checkpoint(force=True)
    report = verify(ledger)
    assert report.ok, report.problems
    assert report.payloads_erased == 1
    after = inclusion(ledger, 1, before["tree_size"])
    assert after == before and check_inclusion(after, ledger.options.signer) == []
    assert apply(ledger, policies, at=LATER).messages == []  # nothing left to do


def test_traffic_retention_redacts_and_proofs_still_verify(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=4)
    old = delivered(ledger, "corv", "CORV1", b"<corv/>")
    kept = delivered(ledger, "iwmo", "WMO301", b"<wmo/>")
    ledger.checkpoint(force=True)
    proofs = [inclusion(ledger, seq) for seq in range(1, ledger.tree_size() + 1)]

    result = apply(ledger, parse_policies(["corv:traffic=6mo"]), at=LATER + timedelta(days=200))
    assert (result.messages_redacted, result.entries_redacted, result.payloads_erased) == (1, 4, 1)

    entries = ledger.history(old)
    assert all(e.redacted and not e.keys and not e.sender for e in entries[:-1])
    assert entries[-1].event is Event.ERASED and entries[-1].detail["redacted"] is True
    assert ledger.search(Query(keys={"BerichtIdentificatie": "B-CORV1"})) == []
    assert [s.message_id for s in ledger.search(Query(keys={"bsn": "999999990"}))] == [kept]
    assert ledger.state(old).status is Status.DELIVERED  # type: ignore[union-attr]
    report = verify(ledger)
    assert report.ok, report.problems
    assert report.redacted == 4
    for proof in proofs:
        assert inclusion(ledger, proof["entry"], proof["tree_size"]) == proof


def test_a_municipal_policy_touches_only_that_party(backend: Backend) -> None:
    ledger = backend.open()
    ours = delivered(ledger, "iwmo", "WMO301", b"<ours/>")  # sent by 0363 (the helper's default)
    theirs = message("WMO301")
    ledger.append(theirs, Event.RECEIVED, payload=b"<theirs/>")
    ledger.append(
        theirs,
        Event.VALIDATED,
        detail={"publish": False},
        description=description(sender="0599", receiver="12345678"),
    )
    result = apply(ledger, parse_policies(["iwmo@0363:payload=1h"]), at=LATER)
    assert result.messages == [ours]
    assert ledger.payload(ledger.history(theirs.message_id)[0].payload_sha256 or "") == b"<theirs/>"


def test_redaction_without_an_erasure_is_caught(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=4)
    message_id = delivered(ledger, "corv", "CORV1", b"<corv/>")
    ledger.redact(message_id)  # behind retention's back: no erased entry
    assert any("redacted without a recorded erasure" in p for p in verify(ledger).problems)


def test_redacted_rows_still_commit_to_their_public_columns(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=4)
    delivered(ledger, "corv", "CORV1", b"<corv/>")
    apply(ledger, parse_policies(["corv:traffic=1h"]), at=LATER)
    backend.drop_guards()
    backend.raw("UPDATE entries SET code = 'CORV2' WHERE seq = 2")
    assert "entry 2 does not match its leaf hash (changed)" in verify(ledger).problems


def test_encrypted_payloads(backend: Backend) -> None:
    key = os.urandom(32)
    ledger = backend.open(payload_key=key)
    secret = b"<Bericht><Bsn>999999990</Bsn><Naam>Jansen</Naam></Bericht>" * 5
    entry = ledger.append(message(), Event.RECEIVED, payload=secret)
    digest = entry.payload_sha256 or ""
    ((sealing, stored),) = backend.raw(
        "SELECT sealing, content FROM payloads WHERE sha256 = ?", (digest,)
    )
    assert sealing.startswith("zlib+aes256gcm:")
    assert b"Jansen" not in bytes(stored) and b"999999990" not in bytes(stored)
    assert ledger.payload(digest) == secret
    assert verify(ledger).ok

    wrong = backend.open(payload_key=os.urandom(32))
    with pytest.raises(PayloadKeyError, match=r"encrypted with key .* the configured key is"):
        wrong.payload(digest)
    assert any("encrypted with key" in p for p in verify(wrong).problems)
    none = backend.open()
    with pytest.raises(PayloadKeyError, match=r"no ledger\.payload_key is configured"):
        none.payload(digest)

    backend.drop_guards()  # a flipped bit in the ciphertext does not decrypt
    flipped = bytes(stored)[:-1] + bytes([bytes(stored)[-1] ^ 1])
    backend.raw("UPDATE payloads SET content = ? WHERE sha256 = ?", (flipped, digest))
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        ledger.payload(digest)


def test_payload_key_setting_is_checked() -> None:
    from gateway.ledger.payloads import parse_key

    assert parse_key("") is None
    assert parse_key(base64.b64encode(bytes(32)).decode()) == bytes(32)
    with pytest.raises(ValueError, match="32 bytes"):
        parse_key(base64.b64encode(bytes(16)).decode())
