"""A consistent copy of the embedded (SQLite) ledger, taken while the gateway runs, and checked.

Copying ``ledger.sqlite3`` with ``cp`` while the gateway writes can give a torn copy (the WAL
file holds the newest pages). SQLite's online backup API (``sqlite3.Connection.backup``) copies
one consistent snapshot instead: in WAL mode a reader holds a snapshot and writers go on. The
exported checkpoints are copied first, so every checkpoint in the copy is covered by the
snapshot taken after it; then the copy is verified like the live ledger (``ledger verify``):
the tree, every checkpoint signature and root, every payload, the derived data.

PostgreSQL has its own tools for this (``pg_dump``, base backups with WAL archiving); we do not
write another.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gateway.ledger import LedgerOptions, open_ledger
from gateway.ledger.audit import Report, verify
from gateway.ledger.checkpoint import read_exported


class BackupError(RuntimeError):
    """The backup cannot be made (the text says why and what to do)."""


@dataclass(frozen=True)
class Backup:
    database: Path
    checkpoints: Path | None  # the copied export file, None when there was none
    report: Report  # the copy, verified


def _must_be_a_ledger(source: Path) -> None:
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in reader.execute("SELECT name FROM sqlite_master")}
        finally:
            reader.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is no ledger: {exc}") from None
    if "entries" not in tables:
        raise BackupError(f"{source} is a SQLite database but no Ketenpoort ledger")


def backup_sqlite(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    checkpoints: str | os.PathLike[str] | None,
    bsn_hash_key: str,
    options: LedgerOptions,
) -> Backup:
    """Copy the SQLite ledger at ``source`` to ``destination`` (a new file) and the exported
    checkpoints beside it (``<destination>.checkpoints.jsonl``), then verify the copy."""
    source, destination = Path(source), Path(destination)
    if not source.exists():
        raise BackupError(f"no ledger at {source}")
    _must_be_a_ledger(source)
    copied = destination.with_name(destination.name + ".checkpoints.jsonl")
    for path in (destination, copied):
        if path.exists():
            raise BackupError(f"{path} exists; a backup never overwrites")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot make the folder {destination.parent}: {exc.strerror}") from None
    exported: Path | None = None
    if checkpoints is not None and Path(checkpoints).exists():
        exported = copied
        shutil.copyfile(checkpoints, exported)  # before the snapshot: it covers all of them
    partial = destination.with_name(destination.name + ".part")
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=60.0)
    try:
        writer = sqlite3.connect(partial)
        try:
            reader.backup(writer)  # one step: one consistent snapshot
        finally:
            writer.close()
    finally:
        reader.close()
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, destination)
    # opened to verify only: it must not export checkpoints into the live file
    copy = open_ledger(
        f"sqlite:///{destination}", bsn_hash_key, dataclasses.replace(options, checkpoint_file=None)
    )
    try:
        report = verify(copy, exported=read_exported(exported) if exported else ())
    finally:
        copy.close()
    return Backup(destination, exported, report)
