"""A private three-node RabbitMQ cluster and a private PostgreSQL on this machine, for the
cluster tests and the chaos soak, beside the system services and never touching them.

    python -m tools.cluster up      # (./dev cluster up) prints the AMQP URLs and the PostgreSQL URL
    python -m tools.cluster status
    python -m tools.cluster down    # stops both and removes their folders

A second harness beside the first: KETENPOORT_CLUSTER_NAME (node names, default kpc),
KETENPOORT_CLUSTER_PORT_OFFSET (added to every port) and KETENPOORT_CLUSTER_DIR (the folder).

Facts (tried here, Debian's rabbitmq-server 3.10 and PostgreSQL 15): an extra RabbitMQ node runs
when it gets its own node name, ports, Mnesia and log folders, plugins file, pid file and config
file, with folders owned by the ``rabbitmq`` user; the shared Erlang cookie lets the nodes join.
PostgreSQL runs privately from ``initdb`` in a folder of its own (as the ``postgres`` user), on
another port and socket folder. Everything lives under ``BASE`` (default /tmp/kp-cluster).

Needs root (as CI and the developer machines are): it starts services as other users.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BASE = Path(os.environ.get("KETENPOORT_CLUSTER_DIR", "/tmp/kp-cluster"))  # noqa: S108
# Two harnesses on one machine (the test suite and a soak) need other node names and ports.
_NAME = os.environ.get("KETENPOORT_CLUSTER_NAME", "kpc")
_OFFSET = int(os.environ.get("KETENPOORT_CLUSTER_PORT_OFFSET", "0"))
NODES = tuple(f"{_NAME}{i}" for i in (1, 2, 3))
AMQP_PORT = 5681 + _OFFSET  # the first node; the second AMQP_PORT + 1 ...
DIST_PORT = 25681 + _OFFSET
PG_PORT = 5442 + _OFFSET
PG_BIN = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class Cluster:
    base: str
    amqp_urls: tuple[str, ...]
    pg_url: str

    def node_port(self, node: str) -> int:
        return AMQP_PORT + NODES.index(node)


def _run(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=timeout)


def _as(user: str, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return _run("runuser", "-u", user, "--", *args, **kw)  # type: ignore[arg-type]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate: object, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


# -- RabbitMQ ------------------------------------------------------------------------------


def _node_dir(base: Path, node: str) -> Path:
    return base / "rabbitmq" / node


def _node_env(base: Path, node: str) -> dict[str, str]:
    folder = _node_dir(base, node)
    i = NODES.index(node)
    return {
        **os.environ,
        "RABBITMQ_NODENAME": f"{node}@localhost",
        "RABBITMQ_NODE_PORT": str(AMQP_PORT + i),
        "RABBITMQ_DIST_PORT": str(DIST_PORT + i),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
    }


def _ctl(node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run("rabbitmqctl", "-n", f"{node}@localhost", *args, check=check)


def start_node(base: Path, node: str) -> None:
    """Start (or restart after a kill) one node and wait until it serves AMQP."""
    folder = _node_dir(base, node)
    for sub in ("mnesia", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "enabled_plugins").write_text("[].\n")
    port = AMQP_PORT + NODES.index(node)
    if port_open(port):
        raise RuntimeError(f"port {port} is taken: another node runs there (./dev cluster down)")
    # guest may log in from loopback only by default, which is where the tests are
    (folder / "rabbitmq.conf").write_text(f"listeners.tcp.default = {port}\n")
    shutil.chown(base / "rabbitmq", "rabbitmq", "rabbitmq")
    _run("chown", "-R", "rabbitmq:rabbitmq", str(folder))
    subprocess.run(
        ["rabbitmq-server", "-detached"],
        env=_node_env(base, node),
        check=True,
        capture_output=True,
        timeout=60,
    )
    _wait(lambda: port_open(port), f"RabbitMQ node {node}")
    _ctl(node, "await_startup", "--timeout", "60")


def node_pids(base: Path, node: str | None = None) -> list[int]:
    """The Erlang VMs of our nodes under ``base`` (of ``node`` only, if given), found by the
    environment they were started with: RabbitMQ 3.10 writes no pid file of its own there."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "exe").resolve().name.startswith("beam"):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(item.split(b"=", 1) for item in environ if b"=" in item)
        mnesia = env.get(b"RABBITMQ_MNESIA_BASE", b"").decode()
        name = env.get(b"RABBITMQ_NODENAME", b"").decode().split("@")[0]
        if mnesia.startswith(str(base) + "/") and (node is None or name == node):
            found.append(int(entry.name))
    return found


def kill_node(base: Path, node: str) -> None:
    """kill -9 the node's Erlang VM (a crash, not a shutdown)."""
    for pid in node_pids(base, node):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    port = AMQP_PORT + NODES.index(node)
    _wait(lambda: not port_open(port), f"the end of node {node}", seconds=30)


def _rabbitmq_up(base: Path) -> None:
    for node in NODES:
        start_node(base, node)
    for node in NODES[1:]:
        members = _ctl(node, "cluster_status", "--formatter", "json").stdout
        if f"{NODES[0]}@localhost" in members:
            continue  # joined before (a restart)
        _ctl(node, "stop_app")
        _ctl(node, "join_cluster", f"{NODES[0]}@localhost")
        _ctl(node, "start_app")
    _ctl(NODES[0], "await_online_nodes", str(len(NODES)), "--timeout", "60")


def queue_leader(queue: str, ask: str = NODES[0]) -> str:
    """The node leading quorum queue ``queue`` (its name without ``@localhost``), asking ``ask``."""
    done = _ctl(ask, "list_queues", "name", "leader", "--formatter", "json")
    for row in json.loads(done.stdout):
        if row["name"] == queue:
            return str(row["leader"]).split("@")[0]
    raise KeyError(queue)


def running_nodes(node: str = NODES[0]) -> list[str]:
    done = _ctl(node, "cluster_status", "--formatter", "json", check=False)
    if done.returncode != 0:
        return []
    return sorted(json.loads(done.stdout).get("running_nodes", []))


def _rabbitmq_down(base: Path) -> None:
    for node in NODES:
        if node_pids(base, node):
            _ctl(node, "stop", check=False)
    for pid in node_pids(base):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- PostgreSQL ----------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    versions = sorted(PG_BIN.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
    return str(versions[-1] / "bin" / name)


def _pg_dir(base: Path) -> Path:
    return base / "postgresql"


def pg_start(base: Path) -> None:
    folder = _pg_dir(base)
    _as(
        "postgres",
        _pg_bin("pg_ctl"),
        "-D",
        str(folder / "data"),
        "-l",
        str(folder / "log"),
        "-o",
        f"-p {PG_PORT} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on",
        "-w",
        "start",
    )
    _wait(lambda: port_open(PG_PORT), "the private PostgreSQL")


def pg_stop(base: Path, mode: str = "fast") -> None:
    """``fast`` is a clean stop; ``immediate`` is the crash a kill -9 would be."""
    data = _pg_dir(base) / "data"
    if data.exists():
        _as("postgres", _pg_bin("pg_ctl"), "-D", str(data), "-m", mode, "stop", check=False)
    for entry in Path("/proc").iterdir():  # one whose folder went before it did
        try:
            command = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if b"postgres" in command and str(data).encode() in command:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def _pg_up(base: Path) -> None:
    folder = _pg_dir(base)
    if not (folder / "data" / "PG_VERSION").exists():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "postgres", "postgres")
        _as("postgres", _pg_bin("initdb"), "-D", str(folder / "data"), "-A", "trust", "-U",
            "postgres")  # fmt: skip
    if port_open(PG_PORT):
        raise RuntimeError(f"port {PG_PORT} is taken: another PostgreSQL runs there")
    pg_start(base)
    _as("postgres", _pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "test", check=False)


# -- the whole ------------------------------------------------------------------------------


def describe(base: Path = BASE) -> Cluster:
    return Cluster(
        base=str(base),
        amqp_urls=tuple(
            f"amqp://guest:guest@127.0.0.1:{AMQP_PORT + i}/%2F" for i in range(len(NODES))
        ),
        pg_url=f"postgresql://postgres@127.0.0.1:{PG_PORT}/test",
    )


def up(base: Path = BASE) -> Cluster:
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)  # noqa: S103  (the rabbitmq and postgres users work below it)
    _rabbitmq_up(base)
    _pg_up(base)
    return describe(base)


def down(base: Path = BASE) -> None:
    _rabbitmq_down(base)
    pg_stop(base)
    shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev cluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    if args.action == "up":
        print(json.dumps(asdict(up()), indent=2))
    elif args.action == "down":
        down()
        print("down")
    else:
        print(json.dumps({"running_nodes": running_nodes(), "postgresql": port_open(PG_PORT)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
