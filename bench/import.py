"""Going live: ``ketenpoort import`` of a region's history, messages per second on each ledger.

    python bench/import.py [--messages 1000000] [--ledger sqlite,postgres]

Writes ``--messages`` distinct JW301s (gemeente 0363 to aanbieder 12345678, one toewijzing each,
about 2.5 KB) into a tar archive in a temporary folder, then runs ``ketenpoort import ARCHIVE
--ours 0363`` in a process of its own on a fresh ledger: SQLite in the temporary folder, and
PostgreSQL at 127.0.0.1:5432 db ``test`` in a private schema ``kp_bench_<random>`` dropped
afterwards. Prints the command's own progress lines (stderr) as they come and, per ledger, the
messages per second from its start to its end (start-up included) and its peak RSS. The
machine is shared: read the load average printed beside each figure.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.istd_samples import toewijzingen_301  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
GEMEENTE, AANBIEDER = "0363", "12345678"
PER = 5_000  # messages made per call (the sample BSNs repeat after that: a client's history)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_archive(path: Path, count: int) -> float:
    """``count`` distinct JW301s in a tar archive; seconds it took."""
    start = time.perf_counter()
    with tarfile.open(path, "w") as archive:
        made = 0
        while made < count:
            n = min(PER, count - made)
            bodies = toewijzingen_301(n, 1, "ijw", GEMEENTE, AANBIEDER, 1_000_000 + made)
            for index, body in enumerate(bodies):
                info = tarfile.TarInfo(f"history/{made + index:08d}.xml")
                info.size = len(body)
                archive.addfile(info, io.BytesIO(body))
            made += n
    return time.perf_counter() - start


def run(name: str, url: str, archive: Path, folder: Path, count: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
    env.update(
        KETENPOORT_VAR_DIR=str(folder / f"var-{name}"),
        KETENPOORT_LEDGER_URL=url,
        KETENPOORT_LOG_LEVEL="warning",
    )
    command = [sys.executable, "-m", "gateway.cli", "import", str(archive), "--ours", GEMEENTE]
    command = ["/usr/bin/time", "-f", "peak-rss-kb %M", *command]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    peak = "?"
    last = ""
    for line in process.stderr:
        if line.startswith("peak-rss-kb"):
            peak = f"{int(line.split()[1]) / 1024:.0f} MB"
        elif "messages/s" in line:
            last = line.strip()
            print(f"  [{name}] {last}", flush=True)
        else:
            print(f"  [{name}] {line.rstrip()}", flush=True)
    code = process.wait()
    seconds = time.perf_counter() - start
    imported = re.match(r"(\d+) imported", last)
    if code != 0 or imported is None or int(imported.group(1)) != count:
        raise SystemExit(f"[{name}] import ended with {code}: {last}")
    print(
        f"[{name}] {count:,} messages imported in {seconds:.1f} s: {count / seconds:,.0f} "
        f"messages/s, peak RSS {peak} (load {_load()})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--ledger", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        archive = folder / "history.tar"
        seconds = write_archive(archive, args.messages)
        print(
            f"{args.messages:,} JW301s written to a {archive.stat().st_size / 1e6:,.0f} MB tar "
            f"archive in {seconds:.0f} s (load {_load()})",
            flush=True,
        )
        for ledger in args.ledger.split(","):
            if ledger == "sqlite":
                run(
                    ledger, f"sqlite:///{folder / 'ledger.sqlite3'}", archive, folder, args.messages
                )
                continue
            import psycopg

            schema = f"kp_bench_{uuid.uuid4().hex[:8]}"
            try:
                run(ledger, f"{PG}?schema={schema}", archive, folder, args.messages)
            finally:
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
