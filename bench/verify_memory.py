"""Peak memory of ``ketenpoort ledger verify`` and ``ledger rebuild-domain`` on a ledger whose
domain tables hold ``--prestaties`` prestatie rows and as many toewijzing rows.

    python bench/verify_memory.py [--prestaties 100000] [--ledger sqlite,postgres]
                                  [--checkout DIR]

The ledger (SQLite in a temporary folder; PostgreSQL at 127.0.0.1:5432 db ``test`` in a private
schema ``kp_bench_<random>``, dropped afterwards) is filled through ``gateway.imports`` (as
``ketenpoort import`` does) with JW301s of ten toewijzingen each and JW323s of 1,000 clients of
ten prestaties each (10,000 prestaties per declaratie), both ``--prestaties`` rows in all.
Then each command runs in a process of its own under ``/usr/bin/time``: its seconds, peak RSS
and exit code are printed (verify must say OK: exit 0). ``--checkout DIR`` runs the commands
with the code in DIR instead (e.g. ``git archive main | tar -x -C DIR``: the figures before a
change); the ledger is filled by this checkout either way. The machine is shared: read the
load average printed with each figure.

3 December 2026, two shared cores. 100,000 prestaties + 100,000 toewijzingen (10,010
messages): verify 163 MB on SQLite, 186 MB on PostgreSQL (before, holding every rebuilt and
stored row: 478 / 498 MB), rebuild-domain 140 / 146 MB (before: 423 / 443 MB), load 1.2-2.3;
300,000 of each: verify 165 / 218 MB, rebuild-domain 140 / 146 MB, load 1.5-2.6.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from running import BSN_HASH_KEY  # noqa: E402

from adapters.istandaarden.adapter import IStandaardenAdapter  # noqa: E402
from gateway.adapter import Registry  # noqa: E402
from gateway.imports import IMPORTED, import_messages  # noqa: E402
from gateway.ledger import open_ledger  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.validate import SchemaCache  # noqa: E402
from tools.istd_samples import declaratie, toewijzingen_301  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
GEMEENTE, AANBIEDER = "0363", "12345678"
PER_CLIENT = 10  # toewijzingen per 301, prestaties per client of a 323
CLIENTS = 1_000  # clients per 323


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def messages(prestaties: int) -> Iterator[tuple[str, bytes]]:
    clients = prestaties // PER_CLIENT
    for start in range(0, clients, CLIENTS):
        base = 1_000_000 + start * PER_CLIENT
        count = min(CLIENTS, clients - start)
        for index, body in enumerate(
            toewijzingen_301(count, PER_CLIENT, "ijw", GEMEENTE, AANBIEDER, base)
        ):
            yield f"301-{start + index}", body
        yield (
            f"323-{start}",
            declaratie(
                "ijw",
                clients=count,
                prestaties=PER_CLIENT,
                afzender=AANBIEDER,
                ontvanger=GEMEENTE,
                identificatie=f"DECL{start:07d}",
                nummer=f"DN{start:07d}",
                toewijzing_base=base,
            ),
        )


def fill(url: str, prestaties: int) -> tuple[int, float]:
    ledger = open_ledger(url, BSN_HASH_KEY)
    registry = Registry([IStandaardenAdapter(None)])  # type: ignore[arg-type]
    start, done = time.perf_counter(), 0
    found = import_messages(
        ledger, registry, SchemaCache(), messages(prestaties), frozenset({GEMEENTE}), 10**8
    )
    for result in found:
        assert result.status == IMPORTED, result
        done += 1
    rows = ledger.rows("SELECT COUNT(*) FROM domain_prestatie")[0][0]
    assert rows == prestaties, rows
    ledger.close()
    return done, time.perf_counter() - start


def run(name: str, url: str, folder: Path, checkout: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
    env.update(
        KETENPOORT_VAR_DIR=str(folder / f"var-{name}"),
        KETENPOORT_LEDGER_URL=url,
        KETENPOORT_BSN_HASH_KEY=BSN_HASH_KEY,
        KETENPOORT_LOG_LEVEL="warning",
        PYTHONPATH=str(checkout),
        PYTHONDONTWRITEBYTECODE="1",
    )
    timed = ["/usr/bin/time", "-f", "peak-rss-kb %M", sys.executable, "-m", "gateway.cli"]
    start = time.perf_counter()
    done = subprocess.run(
        [*timed, *command], env=env, cwd=checkout, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    peak = [ln for ln in done.stderr.splitlines() if ln.startswith("peak-rss-kb")]
    last = (done.stdout.strip().splitlines() or [""])[-1]
    print(
        f"[{name}] ketenpoort {' '.join(command)}: exit {done.returncode}, {seconds:.1f} s, "
        f"peak RSS {int(peak[-1].split()[1]) / 1024 if peak else 0:.0f} MB "
        f"(load {_load()}); {last[:120]}",
        flush=True,
    )
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:], file=sys.stderr)


def bench(name: str, url: str, folder: Path, checkout: Path, prestaties: int) -> None:
    count, seconds = fill(url, prestaties)
    print(
        f"[{name}] {count:,} messages imported ({prestaties:,} prestaties, {prestaties:,} "
        f"toewijzingen) in {seconds:.0f} s (load {_load()})",
        flush=True,
    )
    run(name, url, folder, checkout, ["ledger", "verify"])
    run(name, url, folder, checkout, ["ledger", "rebuild-domain"])
    run(name, url, folder, checkout, ["ledger", "verify"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prestaties", type=int, default=100_000)
    parser.add_argument("--ledger", default="sqlite,postgres")
    parser.add_argument("--checkout", type=Path, default=ROOT)
    args = parser.parse_args()
    configure_logging(level="warning")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.ledger.split(","):
            if name == "sqlite":
                url = f"sqlite:///{folder / 'ledger.sqlite3'}"
                bench(name, url, folder, args.checkout.resolve(), args.prestaties)
                continue
            import psycopg

            schema = f"kp_bench_{uuid.uuid4().hex[:8]}"
            try:
                bench(
                    name, f"{PG}?schema={schema}", folder, args.checkout.resolve(), args.prestaties
                )
            finally:
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
