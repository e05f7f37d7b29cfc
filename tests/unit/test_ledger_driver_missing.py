"""A PostgreSQL ledger named while the `postgres` extra is not installed: one line saying what to
install, exit 1 (it said "unexpected ModuleNotFoundError; this is a bug")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# psycopg made unimportable, as on an installation without the extra
_RUN = (
    "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg.conninfo'] = None; "
    "from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_a_postgresql_ledger_without_its_driver_says_what_to_install(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KETENPOORT_VAR_DIR": str(tmp_path / "var"),
        "KETENPOORT_LEDGER_URL": "postgresql://postgres@127.0.0.1:5432/test",
    }
    done = subprocess.run(
        [sys.executable, "-c", _RUN, "ledger", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ketenpoort[postgres]" in lines[0], done.stderr
    assert "this is a bug" not in done.stderr and "Traceback" not in done.stderr
