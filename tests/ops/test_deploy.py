"""deploy/: what can be checked without a container engine. The files parse; every setting they
name exists; every command they run is a real `ketenpoort` command; the example configurations
load (and would be allowed to listen beyond loopback); the alerting rules name real metrics."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import main
from gateway.config import ConfigError, load_settings, setting_names
from gateway.ledger.checkpoint import new_ed25519_key
from gateway.ops.auth import check_exposure
from tests.conftest import ALL_ADAPTERS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _documents() -> list[tuple[str, Any]]:
    out = [("docker-compose.yml", yaml.safe_load((DEPLOY / "docker-compose.yml").read_text()))]
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        out += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return out


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _settings_named(text: str) -> set[str]:
    return set(re.findall(r"KETENPOORT_([A-Z0-9_]+)", text)) - {"CONFIG"}


def test_every_setting_named_in_deploy_exists() -> None:
    names = set()
    for path in [*DEPLOY.glob("*.yml"), *DEPLOY.glob(".env.example"), DEPLOY / "Dockerfile"]:
        names |= _settings_named(path.read_text())
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        names |= _settings_named(path.read_text())
    assert names, "no settings found"
    known = setting_names(ALL_ADAPTERS)
    unknown = {n for n in names if n.lower() not in known}
    assert not unknown, f"not settings: {sorted(unknown)}"


def test_every_command_run_is_a_ketenpoort_command(capsys: pytest.CaptureFixture[str]) -> None:
    commands = set()
    for _name, doc in _documents():
        for node in _walk(doc):
            if isinstance(node, dict) and isinstance(node.get("command"), list):
                commands.add(tuple(node["command"]))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
    commands.add(tuple(yaml.safe_load(cmd)))
    assert {c[:2] for c in commands} >= {("ketenpoort", "run"), ("ketenpoort", "worker")}
    for command in commands:
        assert command[0] == "ketenpoort", command
        with pytest.raises(SystemExit) as done:
            main([*command[1:], "--help"])
        assert done.value.code == 0, shlex.join(command)


def test_compose_wires_gateway_workers_rabbitmq_and_postgres() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"gateway", "worker", "rabbitmq", "postgres", "topology"} <= set(services)
    env = services["gateway"]["environment"]
    assert env["KETENPOORT_LEDGER_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["KETENPOORT_LEDGER_URL"]
    assert "@rabbitmq:5672/" in env["KETENPOORT_AMQP_URL"]
    assert env["KETENPOORT_HTTP_HOST"] == "0.0.0.0" and env["KETENPOORT_OPS_IDENTITIES"]
    assert services["worker"]["environment"]["KETENPOORT_OPS_IDENTITIES"]  # shared anchors
    assert services["worker"]["command"] == ["ketenpoort", "worker"]


def _manifests() -> list[Any]:
    return [doc for _name, doc in _documents()[1:] if doc["kind"] != "Kustomization"]


def test_kubernetes_manifests(tmp_path: Path) -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in _manifests()}
    assert {
        ("Deployment", "ketenpoort-api"),
        ("Deployment", "ketenpoort-worker"),
        ("Deployment", "ketenpoort-monitor"),
        ("RabbitmqCluster", "ketenpoort-rabbitmq"),
        ("Job", "ketenpoort-topology"),
    } <= kinds
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml"
    )
    monitors = []
    for doc in _manifests():
        if doc["kind"] != "Deployment":
            continue
        [container] = doc["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("KETENPOORT_OPS_MONITOR") != "false" and container["command"][1] == "run":
            monitors.append(doc["spec"]["replicas"])
    assert monitors == [1]  # one deadline monitor: alerts are sent once
    [config] = [d for d in _manifests() if d["kind"] == "ConfigMap"]
    (tmp_path / "ketenpoort.toml").write_text(config["data"]["ketenpoort.toml"])
    [secret] = [d for d in _manifests() if d["kind"] == "Secret"]
    env = dict(secret["stringData"])
    # the secret's placeholder key is refused until it is replaced by a real one
    with pytest.raises(ConfigError, match="KETENPOORT_LEDGER_CHECKPOINT_KEY\\): must be ed25519"):
        load_settings(env=env, path=tmp_path / "ketenpoort.toml")
    env["KETENPOORT_LEDGER_CHECKPOINT_KEY"] = new_ed25519_key()
    settings = load_settings(env=env, path=tmp_path / "ketenpoort.toml")
    check_exposure(settings)
    assert settings.ledger_url.startswith("postgresql://") and len(settings.ops_identities) == 2
    assert settings.ops_client_cert_header == "X-Client-Cert-Sha256"


def test_the_example_configuration_loads_and_may_listen_beyond_loopback() -> None:
    path = DEPLOY / "ketenpoort.example.toml"
    tomllib.loads(path.read_text())
    settings = load_settings(env={}, path=path)
    assert settings.http_host == "0.0.0.0" and len(settings.ops_identities) == 5
    check_exposure(settings)
    assert settings.ops_closed_days == ("2026-05-15",)


def test_the_alerting_rules_name_metrics_the_gateway_exports(tmp_path: Path) -> None:
    """deploy/prometheus: every rule is complete, and every metric (and state) it names is one
    /metrics really exports: collected here from a real ledger holding a parked message."""
    from gateway.envelope import Direction, Envelope, MessageType
    from gateway.ledger import Event, Status, open_ledger
    from gateway.ops.deadlines import Breach
    from gateway.ops.metrics import registry

    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}", "k")
    envelope = Envelope(
        b"<a/>", Direction.OUTBOUND, message_type=MessageType("iwmo", "WMO301", "3.2")
    )
    ledger.append(envelope, Event.RECEIVED, payload=envelope.body)
    ledger.append(envelope, Event.PARKED, detail={"reason": "test"})
    breach = Breach(
        "b", "OP090", "retour within 3 working days", "answer", "m", "WMO301", "r", "", "", "", ""
    )
    metrics = registry(ledger, lambda: [breach], lambda: 0)
    samples = {s.name for family in metrics.collect() for s in family.samples}
    ledger.close()
    assert "ketenpoort_parked_messages" in samples

    rules = yaml.safe_load((DEPLOY / "prometheus" / "ketenpoort-alerts.yml").read_text())
    [group] = rules["groups"]
    names = [rule["alert"] for rule in group["rules"]]
    assert len(names) == len(set(names)) >= 6
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        for metric in re.findall(r"ketenpoort_[a-z_]+", rule["expr"]):
            assert metric in samples, f"{rule['alert']}: /metrics has no {metric}"
        for state in re.findall(r'status="([^"]+)"', rule["expr"]):
            assert state in {s.value for s in Status}, f"{rule['alert']}: no state {state}"
