"""``ketenpoort ledger backup``: a consistent, verified copy of the SQLite ledger, taken while
the gateway writes to it (real SQLite files; writers in other threads, as in a running gateway)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import Settings, load_settings
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event, ledger_from_settings, options_from_settings
from gateway.ledger.backup import BackupError, backup_sqlite
from gateway.ledger.checkpoint import new_ed25519_key, read_exported

WMO301 = MessageType("iwmo", "WMO301", "3.2")


def _settings(tmp_path: Path, **extra: str) -> tuple[Path, Settings]:
    config = tmp_path / "ketenpoort.toml"
    lines = [f'var_dir = "{tmp_path / "var"}"', "[ledger]", "checkpoint_every = 50"]
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    config.write_text("\n".join(lines) + "\n")
    return config, load_settings(env={}, path=config)


def _append(settings: Settings, count: int, start: int = 0) -> None:
    ledger = ledger_from_settings(settings)
    try:
        for n in range(start, start + count):
            body = f"<x n='{n}'/>".encode()
            envelope = Envelope(body, Direction.OUTBOUND, message_id=f"m{n}", message_type=WMO301)
            ledger.append(envelope, Event.RECEIVED, payload=body, detail={"publish": True})
            ledger.append(envelope, Event.VALIDATED, detail={"publish": True})
    finally:
        ledger.close()


def _leaves(path: Path) -> list[bytes]:
    with sqlite3.connect(path) as conn:
        return [bytes(r[0]) for r in conn.execute("SELECT leaf_hash FROM entries ORDER BY seq")]


def test_a_backup_taken_while_writing_is_a_verified_prefix_of_the_ledger(tmp_path: Path) -> None:
    _, settings = _settings(tmp_path)
    _append(settings, 200)  # several checkpoints (every 50 entries), exported to their file
    source = Path(settings.ledger_dsn.removeprefix("sqlite:///"))
    stop = threading.Event()
    written = [200]

    def writer() -> None:  # the gateway goes on appending while the copy is taken
        while not stop.is_set():
            _append(settings, 20, written[0])
            written[0] += 20

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        made = [
            backup_sqlite(
                source,
                tmp_path / "backups" / f"ledger-{i}.sqlite3",
                settings.ledger_checkpoint_path,
                settings.bsn_hash_key,
                options_from_settings(settings),
            )
            for i in range(3)
        ]
    finally:
        stop.set()
        thread.join()
    live = _leaves(source)
    for backup in made:
        assert backup.report.ok, backup.report.problems
        assert backup.report.checkpoints >= 1 and backup.report.payloads > 0
        copied = _leaves(backup.database)
        assert 400 <= len(copied) <= len(live)
        assert copied == live[: len(copied)]  # exactly the ledger as it was at one moment
        assert backup.checkpoints is not None
        assert {c.size for c in read_exported(backup.checkpoints)} <= set(range(len(copied) + 1))
    assert written[0] > 200  # the writer really ran beside the backups


def test_a_backup_never_overwrites_and_needs_a_ledger(tmp_path: Path) -> None:
    _, settings = _settings(tmp_path)
    options = options_from_settings(settings)
    with pytest.raises(BackupError, match="no ledger"):
        backup_sqlite(tmp_path / "none.sqlite3", tmp_path / "b", None, "k", options)
    _append(settings, 1)
    taken = tmp_path / "taken.sqlite3"
    taken.write_bytes(b"keep me")
    source = settings.ledger_dsn.removeprefix("sqlite:///")
    with pytest.raises(BackupError, match="never overwrites"):
        backup_sqlite(source, taken, None, settings.bsn_hash_key, options)
    assert taken.read_bytes() == b"keep me"


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, settings = _settings(tmp_path)
    _append(settings, 60)
    code = main(["--config", str(config), "ledger", "backup", str(tmp_path / "b.sqlite3")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "entries: 120" in out and "exported checkpoints:" in out
    assert str(settings.ledger_key_path) in out  # the key to keep, once
    # the restored copy serves as the ledger: verify from the command line passes
    (tmp_path / "restored" / "var").mkdir(parents=True)
    restored_config, restored = _settings(tmp_path / "restored")
    (tmp_path / "b.sqlite3").rename(restored.ledger_dsn.removeprefix("sqlite:///"))
    (tmp_path / "b.sqlite3.checkpoints.jsonl").rename(restored.ledger_checkpoint_path)
    restored.ledger_key_path.write_text(settings.ledger_key_path.read_text())
    restored.ledger_key_path.chmod(0o600)  # a key file others may read is refused
    assert main(["--config", str(restored_config), "ledger", "verify"]) == 0, capsys.readouterr()
    # again onto the same destination: refused, exit 2
    code = main(["--config", str(config), "ledger", "backup", str(restored_config)])
    assert code == 2 and "never overwrites" in capsys.readouterr().err


def test_on_postgresql_the_command_points_to_its_own_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = _settings(
        tmp_path, url="postgresql://127.0.0.1/test", checkpoint_key=new_ed25519_key()
    )
    assert main(["--config", str(config), "ledger", "backup", str(tmp_path / "b")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
