"""deploy/: what can be checked without a container engine, and the Kubernetes manifests against
the compose topology (Kubernetes does not run on the development machine; compose.yaml does,
with podman: tests/deploy/test_compose.py). The files parse; every setting they name exists;
every command they run is a real `ketenpoort` command; compose.yaml wires three RabbitMQ nodes,
PostgreSQL and two gateways on ports of their own; deploy/k8s runs the same images, the same
three-node RabbitMQ cluster (a StatefulSet), the gateways as one Deployment ready on
/health/ready with the same settings, and nothing configured for the elected duties, confined
on a read-only root filesystem with writable volumes exactly where the gateway writes; the
example configurations load; the alerting rules name real metrics."""

from __future__ import annotations

import re
import secrets
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.cli import main
from gateway.config import ConfigError, Settings, load_settings, setting_names
from gateway.ledger.checkpoint import new_ed25519_key
from gateway.ops.auth import check_exposure
from tests.conftest import ALL_ADAPTERS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GATEWAY_IMAGE = "ketenpoort:latest"
RABBITMQ_IMAGE = "ketenpoort-rabbitmq:latest"
POSTGRES_IMAGE = "ketenpoort-postgres:latest"
# Ports this machine's own services and the cluster harness (tools/cluster.py, bench/chaos.py:
# offset 100) use; the compose stack runs on the host's network beside them.
TAKEN = {5672, 4369, 25672, 5432, 8080, 5442, 5542} | {
    p + offset for p in (5681, 5682, 5683, 25681, 25682, 25683) for offset in (0, 100)
}


def _compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return found


def _example_env() -> dict[str, str]:
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _filled_env() -> dict[str, str]:
    """.env.example with its empty secrets filled in, as whoever deploys does."""
    filled = {k: v or secrets.token_hex(24) for k, v in _example_env().items()}
    return {**filled, "LEDGER_CHECKPOINT_KEY": new_ed25519_key()}


def _interpolated(value: str, env: dict[str, str]) -> str:
    """``value`` with compose's ${NAME:?message} filled in from ``env``."""
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: env[m.group(1)], value)


def _services(image: str) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _compose()["services"].items() if s["image"] == image}


def _manifests() -> list[dict[str, Any]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        out += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return [doc for doc in out if doc["kind"] != "Kustomization"]


def _one(kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _containers(workload: dict[str, Any], init: bool = False) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    found: list[dict[str, Any]] = spec["containers"] + (
        spec.get("initContainers", []) if init else []
    )
    return found


def _workloads() -> list[dict[str, Any]]:
    return [d for d in _manifests() if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def _required(entrypoint: str) -> set[str]:
    """The variables an image's entrypoint refuses to start without."""
    text = (DEPLOY / "images" / entrypoint / "entrypoint.sh").read_text()
    return set(re.findall(r'^: "\$\{([A-Z_]+):\?', text, re.M))


def _k8s_env(container: dict[str, Any]) -> dict[str, str | None]:
    """The container's environment: its own and what it takes from config maps and secrets."""
    env: dict[str, str | None] = {e["name"]: e.get("value") for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_one("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(_one("Secret", source["secretRef"]["name"])["stringData"])
    return env


def _settings_named(text: str) -> set[str]:
    return set(re.findall(r"KETENPOORT_([A-Z0-9_]+)", text)) - {"CONFIG"}


def test_every_setting_named_in_deploy_exists() -> None:
    paths = [DEPLOY / "compose.yaml", DEPLOY / ".env.example", *(DEPLOY / "k8s").glob("*.yaml")]
    names = set()
    for path in [*paths, *(DEPLOY / "images").glob("*/*")]:
        names |= _settings_named(path.read_text())
    assert names, "no settings found"
    known = setting_names(ALL_ADAPTERS)
    unknown = {n for n in names if n.lower() not in known}
    assert not unknown, f"not settings: {sorted(unknown)}"


def test_every_command_run_is_a_ketenpoort_command(capsys: pytest.CaptureFixture[str]) -> None:
    commands = {tuple(s["command"]) for s in _services(GATEWAY_IMAGE).values()}
    for workload in _workloads():
        commands |= {
            tuple(c["command"]) for c in _containers(workload) if c["image"] == GATEWAY_IMAGE
        }
    containerfile = (DEPLOY / "images" / "gateway" / "Containerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", containerfile, re.M)
    commands.add(tuple(yaml.safe_load(cmd)))
    assert commands == {("ketenpoort", "run")}
    for command in commands:
        with pytest.raises(SystemExit) as done:
            main([*command[1:], "--help"])
        assert done.value.code == 0, shlex.join(command)


def test_compose_runs_three_nodes_postgres_and_two_gateways_on_ports_of_their_own() -> None:
    services = _compose()["services"]
    assert all(s["network_mode"] == "host" for s in services.values())
    nodes = {
        name: s["environment"]
        for name, s in _services(RABBITMQ_IMAGE).items()
        if "RABBITMQ_NODENAME" in s.get("environment", {})
    }
    assert len(nodes) == 3
    for name, env in nodes.items():
        assert _required("rabbitmq") <= set(env), name
        assert env["RABBITMQ_CLUSTER_NODES"].split(",") == [
            e["RABBITMQ_NODENAME"] for e in nodes.values()
        ]
        assert env["ERL_EPMD_PORT"] in services["epmd"]["entrypoint"]  # their own port mapper
    assert len({s["volumes"][0] for n, s in services.items() if n in nodes}) == 3
    [postgres] = _services(POSTGRES_IMAGE).values()
    assert _required("postgres") <= set(postgres["environment"])

    gateways = _services(GATEWAY_IMAGE)
    assert len(gateways) == 2
    amqp_ports = {int(e["RABBITMQ_NODE_PORT"]) for e in nodes.values()}
    ports = [*amqp_ports, int(postgres["environment"]["POSTGRES_PORT"])]
    ports += [int(e["RABBITMQ_DIST_PORT"]) for e in nodes.values()]
    ports += [int(nodes["rabbitmq1"]["ERL_EPMD_PORT"])]
    env = _filled_env()
    for name, gateway in gateways.items():
        assert set(gateway["depends_on"]) == {*nodes, "postgres"}, name
        assert {c["condition"] for c in gateway["depends_on"].values()} == {"service_healthy"}
        settings = {k: _interpolated(str(v), env) for k, v in gateway["environment"].items()}
        urls = [urlsplit(u) for u in settings["KETENPOORT_AMQP_URL"].split(",")]
        assert {u.port for u in urls} == amqp_ports
        ledger = urlsplit(settings["KETENPOORT_LEDGER_URL"])
        assert ledger.scheme == "postgresql" and ledger.port == int(
            postgres["environment"]["POSTGRES_PORT"]
        )
        ports.append(int(settings["KETENPOORT_HTTP_PORT"]))
        loaded = load_settings(env=settings)
        check_exposure(loaded)
    assert len(ports) == len(set(ports)) and not set(ports) & TAKEN, sorted(ports)


def test_kubernetes_runs_the_compose_topology(tmp_path: Path) -> None:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml"
    )
    # the same images
    images = {c["image"] for w in _workloads() for c in _containers(w, init=True)}
    assert images == {s["image"] for s in _compose()["services"].values()}

    # RabbitMQ: a StatefulSet of three nodes, each joining the others by its stable DNS name
    rabbitmq = _one("StatefulSet", "ketenpoort-rabbitmq")
    service = _one("Service", rabbitmq["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    replicas = rabbitmq["spec"]["replicas"]
    assert replicas == 3 == len([s for s in _services(RABBITMQ_IMAGE) if s != "epmd"])
    [node] = _containers(rabbitmq)
    env = _k8s_env(node)
    assert _required("rabbitmq") <= set(env)
    pods = [f"ketenpoort-rabbitmq-{i}.{service['metadata']['name']}" for i in range(replicas)]
    cluster = str(env["RABBITMQ_CLUSTER_NODES"]).split(",")
    assert [n.split("@")[1].split(".ketenpoort.svc")[0] for n in cluster] == pods
    assert str(env["RABBITMQ_NODENAME"]).startswith("rabbit@$(POD_NAME).ketenpoort-rabbitmq.")
    assert _one("PodDisruptionBudget", "ketenpoort-rabbitmq")["spec"]["maxUnavailable"] == 1

    postgres = _one("StatefulSet", "ketenpoort-postgres")
    assert _required("postgres") <= set(_k8s_env(_containers(postgres)[0]))

    # the gateways: one Deployment of identical replicas, as many as compose runs, ready on
    # /health/ready; nothing else runs the gateway (no monitor or worker of its own)
    gateway_workloads = [
        w for w in _workloads() if any(c["image"] == GATEWAY_IMAGE for c in _containers(w))
    ]
    assert [(w["kind"], w["metadata"]["name"]) for w in gateway_workloads] == [
        ("Deployment", "ketenpoort-gateway")
    ]
    [deployment] = gateway_workloads
    assert deployment["spec"]["replicas"] == len(_services(GATEWAY_IMAGE)) == 2
    [gateway] = _containers(deployment)
    readiness = gateway["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/health/ready"
    [port] = [p["containerPort"] for p in gateway["ports"] if p["name"] == readiness["port"]]
    settings = _k8s_env(gateway)
    assert settings["KETENPOORT_HTTP_PORT"] == str(port)

    # the same settings as compose's gateways, the broker URL naming every node of the set
    compose_names = {n for s in _services(GATEWAY_IMAGE).values() for n in s["environment"]}
    assert compose_names <= set(settings), sorted(compose_names - set(settings))
    assert not [n for n in settings if "MONITOR" in n]  # the elected duties need no setting
    hosts = [urlsplit(u).hostname for u in str(settings["KETENPOORT_AMQP_URL"]).split(",")]
    assert hosts == pods
    ledger = urlsplit(str(settings["KETENPOORT_LEDGER_URL"]))
    assert ledger.hostname == _one("Service", "ketenpoort-postgres")["metadata"]["name"]

    # they load, once the empty secrets are filled in (the BSN hash key is refused until then)
    values = {k: str(v) for k, v in settings.items()}
    with pytest.raises(ConfigError, match="KETENPOORT_BSN_HASH_KEY\\): must be set"):
        load_settings(env=values)
    filled = {"KETENPOORT_LEDGER_CHECKPOINT_KEY": new_ed25519_key()}
    loaded = load_settings(
        env={**values, **filled, "KETENPOORT_BSN_HASH_KEY": secrets.token_hex(24)}
    )
    check_exposure(loaded)
    assert loaded.ledger_url.startswith("postgresql://") and len(loaded.ops_identities) == 2
    assert loaded.ops_client_cert_header == "X-Client-Cert-Sha256"
    assert len(loaded.amqp_url.split(",")) == replicas


def test_the_example_configuration_loads_and_may_listen_beyond_loopback() -> None:
    path = DEPLOY / "ketenpoort.example.toml"
    tomllib.loads(path.read_text())
    # it holds no BSN hash key (an example's would be public): refused until one is given
    with pytest.raises(ConfigError, match="bsn_hash_key"):
        load_settings(env={}, path=path)
    settings = load_settings(env={"KETENPOORT_BSN_HASH_KEY": secrets.token_hex(24)}, path=path)
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


def test_no_secret_of_the_compose_example_runs_as_it_is() -> None:
    """Every secret is empty in .env.example: compose (${NAME:?...}: unset or empty) refuses to
    start until each is filled in, so no published placeholder password, Erlang cookie or BSN
    hash key ever runs."""
    env = _example_env()
    secret = [n for n in env if re.search("PASSWORD|COOKIE|KEY", n)]
    assert len(secret) == 5, secret
    assert {n: env[n] for n in secret if env[n]} == {}
    text = (DEPLOY / "compose.yaml").read_text()
    assert all(f"${{{n}:?" in text for n in secret)


def test_compose_keeps_erlang_distribution_and_epmd_on_loopback() -> None:
    """On the host's network the nodes' distribution ports and epmd would otherwise listen on
    every interface: whoever reaches them with the cookie runs code on the node."""
    services = _compose()["services"]
    entrypoint = services["epmd"]["entrypoint"]
    assert entrypoint[entrypoint.index("-address") + 1] == "127.0.0.1"
    for name in ("rabbitmq1", "rabbitmq2", "rabbitmq3"):
        env = services[name]["environment"]
        assert env["RABBITMQ_BIND_ADDRESS"] == "127.0.0.1", name
        args = env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"].split()
        assert args[args.index("inet_dist_use_interface") + 1] == "{127,0,0,1}", name
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_LISTEN_ADDRESSES"] == "127.0.0.1"


def test_the_gateway_pods_run_confined() -> None:
    deployment = _one("Deployment", "ketenpoort-gateway")
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    for container in _containers(deployment, init=True):
        confined = container.get("securityContext") or {}
        assert confined.get("allowPrivilegeEscalation") is False, container["name"]
        assert confined.get("capabilities", {}).get("drop") == ["ALL"], container["name"]
        assert confined.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        assert confined.get("readOnlyRootFilesystem") is True, container["name"]


def _image_env() -> dict[str, str]:
    """The ENV the gateway's Containerfile sets (KETENPOORT_VAR_DIR among them)."""
    text = (DEPLOY / "images" / "gateway" / "Containerfile").read_text().replace("\\\n", " ")
    [line] = [row for row in text.splitlines() if row.startswith("ENV ")]
    return dict(word.split("=", 1) for word in shlex.split(line.removeprefix("ENV ")))


def _writes(settings: Settings, env: dict[str, str]) -> dict[str, Path]:
    """Where ``ketenpoort run`` with ``settings`` writes files, by what it writes there."""
    writes = {
        "outbox": settings.outbox_dir,  # the worker's deliveries without a channel of their own
        "file drop": settings.drop_dir,  # made at start (inbound/, outbound/, done/)
        "checkpoint export": settings.ledger_checkpoint_path.parent,
        "temporary files": Path(env.get("TMPDIR", "/tmp")),
    }
    if settings.ledger_dsn.startswith("sqlite:///"):
        writes["SQLite ledger"] = Path(settings.ledger_dsn.removeprefix("sqlite:///")).parent
    if not settings.ledger_checkpoint_key.startswith(("ed25519:", "hmac:")):
        writes["checkpoint key made on first use"] = settings.ledger_key_path.parent
    return writes


def test_the_gateway_writes_only_to_its_volumes_on_a_read_only_root() -> None:
    """The gateway container's root filesystem is read-only; it has a writable volume exactly
    where ``ketenpoort run`` writes (from its settings: KETENPOORT_VAR_DIR of the image, the
    pod's environment), and none anywhere else. Left empty, the checkpoint key would be made in
    var_dir on first use, per pod and lost with it: that place is not writable, so the gateway
    refuses to start until the secret gives the key."""
    deployment = _one("Deployment", "ketenpoort-gateway")
    [gateway] = _containers(deployment)
    assert gateway["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {Path(m["mountPath"]): m for m in gateway["volumeMounts"]}
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    for mount in mounts.values():
        assert {"emptyDir", "persistentVolumeClaim"} & set(volumes[mount["name"]]), mount

    env = {**_image_env(), **{k: str(v) for k, v in _k8s_env(gateway).items()}}
    filled = {
        "KETENPOORT_BSN_HASH_KEY": secrets.token_hex(24),
        "KETENPOORT_LEDGER_CHECKPOINT_KEY": new_ed25519_key(),
    }
    settings = load_settings(env={**env, **filled})
    assert settings.var_dir == Path("/var/lib/ketenpoort")  # the image's, the user's home

    def mounted(path: Path) -> Path | None:
        found = [m for m in writable if path == m or path.is_relative_to(m)]
        return found[0] if found else None

    writes = _writes(settings, env)
    assert "SQLite ledger" not in writes  # PostgreSQL: no ledger file in the pod
    assert {what: mounted(path) for what, path in writes.items() if mounted(path) is None} == {}
    assert writable == {mounted(path) for path in writes.values()}, "a writable mount unused"
    assert mounted(settings.var_dir) is None  # var_dir itself is not writable, only its parts
    assert mounts[settings.ledger_checkpoint_path.parent]["name"] == "anchor"  # shared, kept

    as_deployed = {**env, "KETENPOORT_BSN_HASH_KEY": secrets.token_hex(24)}  # the key left empty
    key_place = _writes(load_settings(env=as_deployed), env)["checkpoint key made on first use"]
    assert mounted(key_place) is None


def test_no_kubernetes_secret_runs_as_it_is() -> None:
    """Every secret in deploy/k8s is empty (a password in a URL: PASSWORD): the entrypoints
    (${NAME:?}) and the gateway refuse to start until each is filled in."""
    found = {
        (d["metadata"]["name"], k): str(v)
        for d in _manifests()
        if d["kind"] == "Secret"
        for k, v in d["stringData"].items()
    }
    assert len(found) == 8, sorted(found)
    in_urls = {k: v for k, v in found.items() if k[1].endswith("_URL")}
    assert all(urlsplit(u).password == "PASSWORD" for v in in_urls.values() for u in v.split(","))
    identities = {k for k in found if k[1] == "KETENPOORT_OPS_IDENTITIES"}  # hashes, no keys
    assert {k: v for k, v in found.items() if v and k not in {*in_urls, *identities}} == {}
    assert not [d for d in _manifests() if d["kind"] == "ConfigMap" and "COOKIE" in str(d)]


def test_only_the_gateways_reach_the_broker_and_the_ledger_in_kubernetes() -> None:
    """NetworkPolicies: AMQP and PostgreSQL from the gateway pods only; epmd and the Erlang
    distribution port from the RabbitMQ nodes only."""

    def allowed(name: str) -> dict[int, set[str]]:
        policy = _one("NetworkPolicy", name)
        assert policy["spec"]["podSelector"]["matchLabels"] == {"app": name}
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        ports: dict[int, set[str]] = {}
        for rule in policy["spec"]["ingress"]:
            apps = {f["podSelector"]["matchLabels"]["app"] for f in rule["from"]}
            for port in rule["ports"]:
                ports.setdefault(port["port"], set()).update(apps)
        return ports

    gateway, rabbitmq = "ketenpoort-gateway", "ketenpoort-rabbitmq"
    assert allowed(rabbitmq) == {5672: {gateway, rabbitmq}, 4369: {rabbitmq}, 25672: {rabbitmq}}
    assert allowed("ketenpoort-postgres") == {5432: {gateway}}
