"""Settings: safe defaults, overridden by an optional TOML file, overridden by the environment.

Every setting has one name. In TOML it is a key (dotted names are tables: ``ledger.url`` is
``[ledger] url = ...``); in the environment it is ``KETENPOORT_`` + the name in capitals with
``.`` replaced by ``_`` (``KETENPOORT_LEDGER_URL``). ``KETENPOORT_CONFIG`` names the TOML file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Settings:
    # Where embedded state lives (SQLite ledger, outbox, file drop).
    var_dir: Path = Path("var")
    # RabbitMQ.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    # Prefix of every exchange and queue, so several gateways (or tests) share one broker.
    bus_prefix: str = "ketenpoort"
    # Unacknowledged deliveries a worker holds (hides the broker round trip between messages).
    prefetch: int = 50
    # Broker-enforced ceiling on deliveries of one message in one queue (quorum
    # ``x-delivery-limit``): a message that keeps coming back unacknowledged (it crashes its
    # worker) is dead-lettered to parking by the broker itself.
    delivery_limit: int = 20
    # Failed attempts are retried after these waits (one wait queue each; the last repeats) ...
    retry_tiers: tuple[str, ...] = ("10s", "1m", "10m", "1h")
    # ... until this many attempts have failed; then the message is parked.
    max_attempts: int = 5
    # Publishes in flight awaiting their broker confirm, per process.
    publish_window: int = 256
    # Ledger: "sqlite:///path" or "postgresql://...[?schema=name]"; empty = SQLite under var_dir.
    ledger_url: str = ""
    # Key signing ledger checkpoints: "ed25519:<base64 32-byte seed>", "hmac:<secret>", or a
    # file holding one of those; empty = an Ed25519 key made on first use in var_dir.
    ledger_checkpoint_key: str = ""
    # A signed checkpoint is made when this many entries were added since the last one ...
    ledger_checkpoint_every: int = 1000
    # ... or this many seconds passed (checked on append and by the sweeper).
    ledger_checkpoint_seconds: float = 300.0
    # Where checkpoints are exported (JSON lines, appended); empty = var_dir.
    ledger_checkpoint_file: str = ""
    # AES-256-GCM key for payloads at rest (base64 of 32 bytes); empty = not encrypted.
    ledger_payload_key: str = ""
    # Retention policies "<standard>[@<party>]:<payload|traffic>=<age>", e.g. "corv:payload=24h",
    # "corv:traffic=6mo", "iwmo@0363:payload=365d"; applied by `ketenpoort ledger retention`.
    ledger_retention: tuple[str, ...] = ()
    # HTTP ingress.
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Largest message accepted (bytes); GGk/VECOZO limit the envelope to 25 MB.
    max_message_bytes: int = 25 * 1024 * 1024
    # Bulk HTTP ingress (POST /v1/messages/{outbound,inbound}/batch): most messages in one
    # request, and the largest request (bytes, the base64 JSON as sent).
    http_batch_max_messages: int = 1000
    http_batch_max_bytes: int = 64 * 1024 * 1024
    # Workers started by `ketenpoort run`.
    workers: int = 1
    # Logging: "console" (readable, development) or "json" (production).
    log_format: str = "console"
    log_level: str = "info"
    # Adapters to load (import paths of modules exposing ``adapter``).
    adapters: tuple[str, ...] = ("adapters.istandaarden",)
    # Key for hashing BSNs into searchable ledger keys (never the plain BSN in an index).
    bsn_hash_key: str = "change-me-in-production"
    # File drop polling interval in seconds.
    drop_interval: float = 1.0
    # -- counterparts (adapters ggk, vecozo, svb, cak, corv; README "Counterparts") ----------
    # Which transport carries iWmo/iJw (and iEb, iPgb) to counterparts: "outbox" (files under
    # var/outbox, the default), "ggk" (a gemeente, via the GGk) or "vecozo" (an aanbieder).
    counterpart_transport: str = "outbox"
    # Outbound HTTP calls: attempts in process, first wait and longest wait in seconds (the
    # longest wait also caps a counterpart's Retry-After), and the timeout of one call.
    http_attempts: int = 3
    http_backoff: float = 0.5
    http_max_wait: float = 30.0
    http_timeout: float = 30.0
    # GGk (StUF-GGk ggk0210): the URL of the ebMS adapter that carries our SOAP messages over
    # Digikoppeling; our organisatie (CBS gemeentecode) when a payload names none; our
    # applicatie; the administratie (samenwerkingsverband or gemeente name), optional.
    ggk_url: str = ""
    ggk_organisatie: str = ""
    ggk_applicatie: str = "Ketenpoort"
    ggk_administratie: str = ""
    # VECOZO (aanbieder side): REST push (submit) and pull (fetch) base URLs, or the SOAP
    # berichtuitwisseling v3 URL instead of push; our AGB code; client certificate and key for
    # mutual TLS; the CA bundle that VECOZO's server certificate must chain to (empty: the
    # system's); seconds between pulls.
    vecozo_push_url: str = ""
    vecozo_soap_url: str = ""
    vecozo_pull_url: str = ""
    vecozo_agb: str = ""
    vecozo_cert: str = ""
    vecozo_key: str = ""
    vecozo_ca: str = ""
    vecozo_poll_interval: float = 60.0
    # CAK eigen bijdrage: what starts and stops it ("toewijzing": WMO301, "levering": WMO305/307,
    # "" derives nothing), the productcategorieën that are beschermd wonen (WMO407), and those
    # that are hulpmiddelen or woningaanpassingen, whose Budget is a kostprijs (EbKostprijs):
    # WMO020 11 rolstoelen, 12 vervoervoorzieningen, 13 woonvoorzieningen, 14 overige hulpmiddelen.
    cak_trigger: str = "toewijzing"
    cak_beschermd_wonen: tuple[str, ...] = ("15",)
    cak_kostprijs: tuple[str, ...] = ("11", "12", "13", "14")
    # CORV (StUF-koppelvlak Jeugdzorg to JUBES): the URL of the ebMS adapter (DKA) that carries
    # our StUF messages; our organisatie (as JUBES knows us) and applicatie in stuurgegevens.
    corv_url: str = ""
    corv_organisatie: str = ""
    corv_applicatie: str = "Ketenpoort"
    # -- operations (gateway/ops/; README "Operations") -----------------------------------------
    # Who may use the HTTP API and dashboard: "<name> key=sha256:<hex> cert=sha256:<hex>
    # roles=viewer+payload-viewer+operator+admin parties=<code>+<code>" (see gateway/ops/auth.py;
    # `ketenpoort identities new-key NAME` makes a key and its line). None: the API is open
    # (refused unless http_host is a loopback address).
    ops_identities: tuple[str, ...] = ()
    # The header a TLS-terminating proxy sets to the SHA-256 fingerprint of a verified client
    # certificate (mutual TLS), and the proxy addresses whose header is believed.
    ops_client_cert_header: str = ""
    ops_trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # Deadline monitoring: URL receiving breach alerts (JSON POST), seconds between checks (and
    # so at most one alert call per interval), how far back to look for unanswered messages.
    ops_alert_webhook: str = ""
    ops_deadline_interval: float = 60.0
    ops_deadline_horizon_days: int = 120
    # Days the government adds to the Algemene termijnenwet's feestdagen (art. 3 lid 3, e.g. the
    # Friday after Hemelvaartsdag), ISO dates; they are not working days.
    ops_closed_days: tuple[str, ...] = ()
    # Whether this process runs the deadline monitor and the parking recorder (run one set per
    # installation: `ketenpoort run` with this on, other replicas off).
    ops_monitor: bool = True
    # Bulk replay: messages re-published per second.
    ops_replay_rate: float = 20.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ledger_dsn(self) -> str:
        return self.ledger_url or f"sqlite:///{self.var_dir / 'ledger.sqlite3'}"

    @property
    def ledger_checkpoint_path(self) -> Path:
        return Path(self.ledger_checkpoint_file or self.var_dir / "ledger-checkpoints.jsonl")

    @property
    def ledger_key_path(self) -> Path:
        return self.var_dir / "ledger-checkpoint.key"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def drop_dir(self) -> Path:
        return self.var_dir / "drop"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name.replace(".", "_") not in _FIELDS:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name.replace(".", "_")] = value
    return out


def _coerce(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, Path):
            return Path(value)
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r} ({exc})") from exc


def load_settings(
    env: Mapping[str, str] | None = None, path: str | os.PathLike[str] | None = None
) -> Settings:
    """Defaults, then the TOML file (``path`` or ``KETENPOORT_CONFIG``), then the environment."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    toml_path = path or env.get("KETENPOORT_CONFIG")
    if toml_path:
        try:
            with open(toml_path, "rb") as fh:
                table = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {toml_path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {toml_path} is not valid TOML: {exc}") from exc
        for name, value in _flatten(table).items():
            if name in _FIELDS:
                values[name] = _coerce(name, value)
            else:
                extra[name] = value
    for key, value in env.items():
        if not key.startswith("KETENPOORT_") or key == "KETENPOORT_CONFIG":
            continue
        name = key.removeprefix("KETENPOORT_").lower()
        if name in _FIELDS:
            values[name] = _coerce(name, value)
    settings = Settings(**values, extra=extra)
    if settings.log_format not in {"console", "json"}:
        raise ConfigError("setting 'log_format' must be 'console' or 'json'")
    if settings.counterpart_transport not in {"outbox", "ggk", "vecozo"}:
        raise ConfigError("setting 'counterpart_transport' must be 'outbox', 'ggk' or 'vecozo'")
    if settings.cak_trigger not in {"", "toewijzing", "levering"}:
        raise ConfigError("setting 'cak_trigger' must be 'toewijzing', 'levering' or ''")
    from gateway.ledger.retention import parse_policies
    from gateway.ops.auth import parse_identities

    try:
        parse_identities(settings.ops_identities)
    except ValueError as exc:
        raise ConfigError(f"setting 'ops_identities': {exc}") from exc

    try:
        parse_policies(settings.ledger_retention)
    except ValueError as exc:
        raise ConfigError(f"setting 'ledger_retention': {exc}") from exc
    return settings


def environment(settings: Settings) -> dict[str, str]:
    """The ``KETENPOORT_*`` variables that give another process these same settings."""
    env = {}
    for name in _FIELDS:
        value = getattr(settings, name)
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        env[f"KETENPOORT_{name.upper()}"] = text
    return env
