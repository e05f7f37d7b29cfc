"""Automatic checkpoints (by count, by time, by the service loop, one maker at a time), witness
export, key files, and ledgers of the earlier leaf format: on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from gateway.config import ConfigError, Settings
from gateway.ledger import Event, options_from_settings
from gateway.ledger.audit import verify
from gateway.ledger.checkpoint import Checkpoint, load_signer, read_exported
from gateway.ledger.records import COLUMNS, LEGACY_FORMAT, row_leaf
from gateway.ledger.retention import apply, parse_policies
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description, message

WITNESS = "https://witness.example/v1/checkpoints"


def test_a_checkpoint_is_made_after_the_set_time(backend: Backend) -> None:
    ledger = backend.open(checkpoint_every=1000, checkpoint_seconds=0.3)
    ledger.append(message(), Event.RECEIVED)
    assert ledger.checkpoint() is None and ledger.checkpoints() == []  # not due yet
    time.sleep(0.4)
    made = ledger.checkpoint()  # what the sweeper of `ketenpoort run` asks every few seconds
    assert made is not None and made.size == 1
    ledger.append(message(), Event.RECEIVED)
    assert ledger.checkpoint() is None  # the tail is young again
    time.sleep(0.4)
    ledger.append(message(), Event.RECEIVED)  # an append finds it due as well
    assert [c.size for c in ledger.checkpoints()] == [1, 3]
    assert [c.size for c in read_exported(backend.tmp / "checkpoints.jsonl")] == [1, 3]
    assert verify(ledger).ok


def test_one_maker_at_a_time(backend: Backend) -> None:
    """Two processes on one ledger: while one makes a checkpoint, the other makes none (a
    PostgreSQL advisory lock, a lock file beside the SQLite database)."""
    one, two = backend.open(checkpoint_every=1000), backend.open(checkpoint_every=1000)
    one.append(message(), Event.RECEIVED)
    with one.exclusive("checkpoint") as held:
        assert held
        assert two.checkpoint(force=True) is None
        two.append(message(), Event.RECEIVED)
    assert two.checkpoints() == []
    made = two.checkpoint(force=True)
    assert made is not None and made.size == 2
    assert one.checkpoint(force=True) is None  # nothing new to sign
    assert verify(one).ok


@responses.activate
def test_checkpoints_go_to_a_witness_url(backend: Backend) -> None:
    responses.add(responses.POST, WITNESS, status=201)
    ledger = backend.open(checkpoint_every=2, witness=WITNESS)
    for _ in range(4):
        ledger.append(message(), Event.RECEIVED)
    sent = [Checkpoint.from_json(call.request.body) for call in responses.calls]
    assert [c.size for c in sent] == [2, 4]
    assert sent == ledger.checkpoints()
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert verify(ledger, exported=sent).ok  # the witness's copy checks the ledger


@responses.activate
def test_a_witness_that_fails_does_not_fail_the_append(backend: Backend) -> None:
    responses.add(responses.POST, WITNESS, status=503)
    ledger = backend.open(checkpoint_every=1, witness=WITNESS)
    entry = ledger.append(message(), Event.RECEIVED)
    assert ledger.history(entry.message_id) == [entry]
    assert [c.size for c in ledger.checkpoints()] == [1]  # made and exported locally
    assert len(responses.calls) == 1


def test_checkpoints_go_to_a_witness_file(backend: Backend, tmp_path: Path) -> None:
    witness = tmp_path / "elsewhere" / "witness.jsonl"
    ledger = backend.open(checkpoint_every=2, witness=str(witness))
    for _ in range(4):
        ledger.append(message(), Event.RECEIVED)
    assert read_exported(witness) == ledger.checkpoints()


def test_the_service_loop_makes_checkpoints_and_a_last_one_on_stop(
    settings: Settings, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway import service
    from gateway.app import Gateway

    monkeypatch.setattr(service, "SWEEP_INTERVAL", 0.1)
    settings = dataclasses.replace(
        settings, ledger_url=backend.dsn, ledger_checkpoint_every=1000, ledger_checkpoint_seconds=1
    )
    gw = Gateway(settings)
    try:
        services = service.Services(
            gw, workers=0, ingress=False, filedrop=False, sweeper=True, pollers=False
        ).start()
        try:
            gw.ledger.append(message(), Event.RECEIVED)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not gw.ledger.checkpoints():  # type: ignore[attr-defined]
                time.sleep(0.1)
            assert [c.size for c in gw.ledger.checkpoints()] == [1]  # type: ignore[attr-defined]
            gw.ledger.append(message(), Event.RECEIVED)
        finally:
            services.stop()
        assert [c.size for c in gw.ledger.checkpoints()] == [1, 2]  # type: ignore[attr-defined]
        assert read_exported(settings.ledger_checkpoint_path)[-1].size == 2
    finally:
        gw.close()


# -- key files ---------------------------------------------------------------------------------


@pytest.fixture
def var(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(var_dir=tmp_path / "var")


def test_a_new_key_file_is_the_owners_alone(var: Settings) -> None:
    load_signer("", var.ledger_key_path)
    assert var.ledger_key_path.stat().st_mode & 0o777 == 0o600
    options_from_settings(var)  # and it is accepted


def test_a_key_file_others_may_read_is_refused(var: Settings) -> None:
    load_signer("", var.ledger_key_path)
    os.chmod(var.ledger_key_path, 0o644)
    with pytest.raises(
        ConfigError, match=r"ledger_checkpoint_key: key file .* \(mode 0644\).*chmod 600"
    ):
        options_from_settings(var)
    named = dataclasses.replace(var, ledger_checkpoint_key=str(var.ledger_key_path))
    os.chmod(var.ledger_key_path, 0o640)
    with pytest.raises(ConfigError, match="open to group or others"):
        options_from_settings(named)


def test_a_key_file_in_the_drop_folder_is_refused(var: Settings) -> None:
    key = var.drop_dir / "keys" / "checkpoint.key"
    key.parent.mkdir(parents=True)
    load_signer("", key)
    with pytest.raises(ConfigError, match="lies in the file drop folder"):
        options_from_settings(dataclasses.replace(var, ledger_checkpoint_key=str(key)))
    assert options_from_settings(var).signer is not None  # the default place is not in it


# -- the earlier format ------------------------------------------------------------------------


def test_a_ledger_of_the_earlier_format_still_verifies(backend: Backend) -> None:
    """Written before erasures were signed: leaves in ``ketenpoort/1``, an unsigned erasure.
    It verifies; entries added now are of the current format, and so are erasures."""
    ledger = backend.open(checkpoint_every=1000)
    old = message("CORV1", standard="corv")
    ledger.append(old, Event.RECEIVED, payload=b"<corv/>")
    ledger.append(old, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(old, Event.DELIVERED)
    backend.drop_guards()
    # as the earlier version recorded its erasure: unsigned, then every earlier entry redacted
    ledger.append(old, Event.ERASED, detail={"policy": "corv:traffic=1s", "payloads": [],
                                              "redacted": True})  # fmt: skip
    ledger.redact(old.message_id)
    for row in backend.raw(f"SELECT {COLUMNS} FROM entries ORDER BY seq"):
        backend.raw(
            "UPDATE entries SET leaf_hash = ? WHERE seq = ?", (row_leaf(row, LEGACY_FORMAT), row[0])
        )
    ledger.checkpoint(force=True)
    report = verify(ledger)
    assert report.ok, report.problems
    assert (report.legacy, report.redacted, report.erasures) == (4, 3, 0)

    new = message()
    ledger.append(new, Event.RECEIVED, payload=b"<new/>")
    ledger.append(new, Event.VALIDATED, detail={"publish": True}, description=description())
    ledger.append(new, Event.DELIVERED)
    later = datetime.now(UTC) + timedelta(days=2)
    assert apply(ledger, parse_policies(["iwmo:traffic=1d"]), at=later).entries_redacted == 3
    report = verify(ledger)
    assert report.ok, report.problems
    assert (report.legacy, report.redacted, report.erasures) == (4, 6, 1)
    assert any("earlier format ketenpoort/1" in line for line in report.lines())


# -- the commands ------------------------------------------------------------------------------


def test_the_commands_refuse_a_changed_tail_and_report_a_forged_redaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledger checkpoint`` does not seal a tail edited without its leaf hash (exit 1, the
    entry named); ``ledger verify`` exits 1 on a fake redaction; ``messages show`` does not
    print the forged text."""
    import sqlite3

    from gateway.cli import main
    from gateway.config import load_settings
    from gateway.ledger import ledger_from_settings

    config = tmp_path / "ketenpoort.toml"
    config.write_text(f'var_dir = "{tmp_path / "var"}"\n')
    settings = load_settings(env={}, path=config)
    ledger = ledger_from_settings(settings)
    env = message()
    ledger.append(env, Event.RECEIVED, payload=b"<x/>")
    viewed = ledger.append(env, Event.VIEWED, detail={"by": "pv"})
    ledger.close()

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    raw = sqlite3.connect(settings.ledger_dsn.removeprefix("sqlite:///"))
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute('UPDATE entries SET detail = \'{"by": "admin"}\' WHERE seq = ?', (viewed.seq,))
    raw.commit()
    code, _, err = run("ledger", "checkpoint")
    assert code == 1 and f"entry {viewed.seq} does not match its leaf hash" in err
    assert "Traceback" not in err

    row = raw.execute(
        'SELECT sender, receiver, \'{"by": "pv"}\', keys FROM entries WHERE seq = ?', (viewed.seq,)
    ).fetchone()
    from gateway.ledger.records import private_digest

    raw.execute(  # the text back as it was would verify; a fake redaction keeping the forged one
        "UPDATE entries SET redacted = 1, private_hash = ? WHERE seq = ?",
        (private_digest(*row), viewed.seq),
    )
    raw.commit()
    raw.close()
    code, out, _ = run("ledger", "verify")
    assert code == 1
    assert f"PROBLEM: entry {viewed.seq} is redacted but still shows" in out
    assert f"PROBLEM: entry {viewed.seq} is redacted without a recorded erasure" in out
    code, out, _ = run("messages", "show", env.message_id)
    assert code == 0 and "admin" not in out
