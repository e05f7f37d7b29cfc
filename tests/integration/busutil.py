"""Integration helpers: queue depths, waiting, worker processes, and a private RabbitMQ node.

The private node (its own name, port and data directory) is for tests that restart the broker:
they restart their own node, never the machine's shared one.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pika

from gateway.config import Settings, environment


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def depth(url: str, queue: str) -> int:
    """Ready messages in a queue (not counting unacknowledged deliveries)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def consumers(url: str, queue: str) -> int:
    """Consumers the broker counts on a queue."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    finally:
        connection.close()


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment for a ``ketenpoort worker`` process sharing the test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
    env.update(environment(settings))
    env.update(KETENPOORT_WORKERS="1", KETENPOORT_LOG_LEVEL="warning", KETENPOORT_LOG_FORMAT="json")
    return env


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker"],
            env=worker_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class PrivateBroker:
    """A RabbitMQ node of our own (same installation, own name, port and data)."""

    base: Path
    port: int
    dist_port: int
    node: str

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        return {
            "HOME": pwd.getpwnam("rabbitmq").pw_dir,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "none"),
        }

    def start(self, timeout: float = 60.0) -> None:
        with open(self.base / "server.log", "ab") as out:
            subprocess.Popen(
                [
                    "runuser",
                    "-u",
                    "rabbitmq",
                    "--",
                    "env",
                    *[f"{k}={v}" for k, v in self._env().items()],
                    "/usr/lib/rabbitmq/bin/rabbitmq-server",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_for(lambda: _port_open(self.port), timeout, 0.2):
            raise RuntimeError(f"private RabbitMQ did not come up; see {self.base}/server.log")
        # The port opens a moment before the node accepts logins.
        wait_for(self._accepts, 20.0, 0.2)

    def _accepts(self) -> bool:
        try:
            pika.BlockingConnection(pika.URLParameters(self.url)).close()
        except Exception:
            return False
        return True

    def stop(self) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, "shutdown"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        wait_for(lambda: not _port_open(self.port), 30.0, 0.2)

    def restart(self) -> None:
        self.stop()
        self.start()
