"""The compose stack of ``deploy/compose.yaml`` on this machine, with podman and podman-compose:
three RabbitMQ nodes, PostgreSQL and two gateways, each container on the host's network.

    python -m tools.deploy up       # (./dev deploy up) with the secrets of deploy/.env
    python -m tools.deploy status
    python -m tools.deploy down     # removes the containers and their volumes

``up`` starts the services in the order compose.yaml's ``depends_on`` gives, waiting for each
one's own healthcheck (``podman healthcheck run``), since podman-compose does not wait for health
and podman runs no healthchecks by itself without systemd: epmd and RabbitMQ node 1, nodes 2
and 3 (which join node 1 when they boot), PostgreSQL, then the two gateways, ready when
``/health/ready`` answers. Every container carries the label ``io.podman.compose.project`` with
the project's name (``kpdeploy``; the test's stack is ``kpdeploy-test``); ``down`` removes only
those (and the project's volumes).

The images come from ``deploy/build-images.sh``. podman uses ``deploy/podman/containers.conf``
(runc, cgroupfs, host network, no default ulimits: what runs on this machine) unless
``CONTAINERS_CONF`` names another file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
PROJECT = "kpdeploy"
IMAGES = ("ketenpoort:latest", "ketenpoort-rabbitmq:latest", "ketenpoort-postgres:latest")
NODES = {"rabbitmq1": "kpd1", "rabbitmq2": "kpd2", "rabbitmq3": "kpd3"}
GATEWAYS = {"gateway1": 8091, "gateway2": 8092}
PORTS = (4391, 5691, 5692, 5693, 25691, 25692, 25693, 5452, *GATEWAYS.values())
# The start order: each stage once the one before is healthy.
STAGES = (("epmd", "rabbitmq1"), ("rabbitmq2", "rabbitmq3", "postgres"), tuple(GATEWAYS))


def podman_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(ROOT / "deploy" / "podman" / "containers.conf"))
    env.update(extra or {})
    return env


def _podman_compose() -> str | None:
    beside = Path(sys.executable).with_name("podman-compose")
    return str(beside) if beside.exists() else shutil.which("podman-compose")


def missing() -> str | None:
    """Why the stack cannot run here (None: it can)."""
    if shutil.which("podman") is None:
        return "podman is not installed (./dev deploy build installs it)"
    if _podman_compose() is None:
        return "podman-compose is not installed (pip install podman-compose)"
    for image in IMAGES:
        if _podman("image", "exists", image, timeout=60).returncode != 0:
            return f"image {image} is not built (./dev deploy build, a few minutes)"
    return None


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout
    )


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = _podman(*args, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def gateway_ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).ok
    except requests.RequestException:
        return False


def _wait(what: str, predicate: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise RuntimeError(f"{what} was not ready within {seconds:.0f} s")


def taken_ports() -> list[int]:
    """Ports of the stack something already listens on."""
    taken = []
    for port in PORTS:
        with socket.socket() as s:
            s.settimeout(0.3)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


@dataclass(frozen=True)
class Stack:
    """The stack as podman-compose project ``project``: its containers are
    ``<project>_<service>_1``, labelled ``io.podman.compose.project=<project>``."""

    project: str = PROJECT

    @property
    def label(self) -> str:
        return f"label=io.podman.compose.project={self.project}"

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def _compose(self, folder: Path, env: Mapping[str, str], *args: str) -> None:
        compose = folder / "compose.yaml"
        command = [str(_podman_compose()), "-p", self.project, "-f", str(compose), *args]
        done = subprocess.run(
            command, env=podman_env(env), capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"podman-compose {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    def up(self, env: Mapping[str, str] | None = None, folder: Path | None = None) -> None:
        """Start the stack and wait until both gateways are ready. ``env`` holds the variables
        compose.yaml asks for (deploy/.env.example); without it, deploy/.env (read by
        podman-compose) is used. With ``env``, a copy of compose.yaml is run from ``folder`` (a
        new temporary one by default), so that a deploy/.env cannot mix in."""
        if taken := taken_ports():
            raise RuntimeError(f"ports {taken} are taken: is a stack up? (./dev deploy down)")
        if env is not None:
            folder = folder or Path(tempfile.mkdtemp(prefix="kpdeploy-"))
            shutil.copy(COMPOSE, folder / "compose.yaml")
        folder = folder or COMPOSE.parent
        for stage in STAGES:
            self._compose(folder, env or {}, "up", "-d", "--no-deps", *stage)
            for service in stage:
                if service in GATEWAYS:
                    _wait(service, partial(gateway_ready, GATEWAYS[service]), 180)
                elif service != "epmd":
                    _wait(service, partial(self.healthy, service), 120)
        cluster = self.running_nodes("rabbitmq1")
        if len(cluster) != len(NODES):
            raise RuntimeError(f"the RabbitMQ cluster has {cluster}, not three nodes")

    def exec_in(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        """``command`` run in the service's container."""
        return _podman("exec", self.container(service), *command)

    def healthy(self, service: str) -> bool:
        """The service's compose healthcheck passes now."""
        return _podman("healthcheck", "run", self.container(service), timeout=60).returncode == 0

    def _rabbitmqctl(self, service: str, *args: str) -> str:
        return podman(
            "exec", self.container(service), "rabbitmqctl", "-q", *args, "--formatter", "json"
        )

    def running_nodes(self, service: str) -> list[str]:
        """The RabbitMQ nodes running in the cluster, as node ``service`` sees it."""
        return sorted(json.loads(self._rabbitmqctl(service, "cluster_status"))["running_nodes"])

    def queue_leader(self, queue: str, ask: str = "rabbitmq1") -> str:
        """The service (rabbitmq1...) whose node leads quorum queue ``queue``, asking ``ask``."""
        for row in json.loads(self._rabbitmqctl(ask, "list_queues", "name", "leader")):
            if row["name"] == queue:
                node = str(row["leader"]).split("@")[0]
                return next(s for s, n in NODES.items() if n == node)
        raise KeyError(queue)

    def kill(self, service: str) -> None:
        """A crash: SIGKILL to every process of the container (``podman kill``)."""
        podman("kill", self.container(service))

    def containers(self) -> list[str]:
        return podman("ps", "-a", "--filter", self.label, "--format", "{{.Names}}").split()

    def down(self) -> None:
        """Remove the stack's containers and volumes (by the project label), and its network."""
        if names := self.containers():
            podman("rm", "-f", "-v", "-t", "10", *names, timeout=180)
        volumes = podman("volume", "ls", "--filter", self.label, "--format", "{{.Name}}").split()
        if volumes:
            podman("volume", "rm", "-f", *volumes)
        podman("network", "rm", "-f", f"{self.project}_default", check=False)

    def status(self) -> dict[str, object]:
        rows = json.loads(podman("ps", "-a", "--filter", self.label, "--format", "json") or "[]")
        return {
            "containers": {row["Names"][0]: row["State"] for row in rows},
            "gateways ready": {name: gateway_ready(port) for name, port in GATEWAYS.items()},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev deploy", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    stack = Stack()
    if args.action == "up":
        if reason := missing():
            print(f"cannot start: {reason}", file=sys.stderr)
            return 1
        if not (COMPOSE.parent / ".env").exists():
            print(
                "cannot start: no deploy/.env (cp deploy/.env.example deploy/.env)", file=sys.stderr
            )
            return 1
        stack.up()
        print(json.dumps(stack.status(), indent=2))
    elif args.action == "down":
        stack.down()
        print("down")
    else:
        print(json.dumps(stack.status(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
