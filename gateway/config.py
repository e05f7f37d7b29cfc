"""Settings: safe defaults, overridden by an optional TOML file, overridden by the environment.

Every setting has one name. In TOML it is a key (dotted names are tables: ``ledger.url`` is
``[ledger] url = ...``); in the environment it is ``KETENPOORT_`` + the name in capitals with
``.`` replaced by ``_`` (``KETENPOORT_LEDGER_URL``). ``KETENPOORT_CONFIG`` names the TOML file.

Every value is checked before anything starts (``_CHECKS``: one entry per setting), and every
problem is reported at once as a :class:`ConfigError`, one line each, naming the setting and
where its value came from (the TOML key and file, or the environment variable). Values of
secrets (keys, URLs that may hold a password or token) are never repeated in a message. A TOML
key that is no setting is an error (a typo would otherwise be silently ignored); an unknown
``KETENPOORT_*`` environment variable is only a warning, since the environment is shared with
others (Kubernetes adds ``<SERVICE>_PORT`` variables for a service named ``ketenpoort-...``).
``load_settings(on_this_machine=True)``, as the ``ketenpoort`` command does, also checks what the
settings name on this machine: folders that must be writable, files that must be readable, and
the adapter modules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import importlib.util
import ipaddress
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class ConfigError(ValueError):
    """A setting is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Settings:
    # Where embedded state lives (SQLite ledger, outbox, file drop).
    var_dir: Path = Path("var")
    # RabbitMQ.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    # Seconds a starting command keeps trying to reach RabbitMQ before it gives up (exit 1); it
    # logs every failed try and what it waits for.
    amqp_connect_wait: float = 30.0
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

# -- reading values ----------------------------------------------------------------------------


class _Bad(Exception):
    """A value is not usable; the text says why (never quoting a secret's value)."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(default: Any, value: Any) -> Any:
    """``value`` (a TOML value, or the text of an environment variable) as the type of
    ``default``; raises :class:`_Bad` instead of guessing (``8080.5`` is no port)."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise _Bad("must be true or false")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise _Bad("must be a whole number")
    if isinstance(default, float):
        number: float
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise _Bad("must be a number") from None
        else:
            raise _Bad("must be a number")
        if not math.isfinite(number):
            raise _Bad("must be a finite number")
        return number
    if isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise _Bad("must be a list of strings (in the environment: separated by commas)")
    if isinstance(value, str):
        return Path(value) if isinstance(default, Path) else value
    raise _Bad("must be a string (in TOML: in quotes)")


# -- checks: each returns what is wrong with a value, or None ----------------------------------

Check = Callable[[Any], str | None]


def _at_least(low: float) -> Check:
    return lambda value: None if value >= low else f"must be at least {low:g}"


def _more_than(low: float) -> Check:
    return lambda value: None if value > low else f"must be more than {low:g}"


def _at_most(high: float) -> Check:
    return lambda value: None if value <= high else f"must be at most {high:g}"


def _one_of(*choices: str, fold: bool = False) -> Check:
    def check(value: str) -> str | None:
        if (value.lower() if fold else value) in choices:
            return None
        return "must be one of " + ", ".join(repr(c) for c in choices)

    return check


def _required(value: Any) -> str | None:
    return None if value else "must be set"


def _matching(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)
    return lambda value: None if not value or compiled.fullmatch(value) else f"must be {what}"


def _each(check: Check) -> Check:
    """For a list: the first element ``check`` finds wrong (list settings hold no secrets)."""

    def each(values: tuple[str, ...]) -> str | None:
        for value in values:
            problem = check(value)
            if problem:
                return f"{value!r} {problem}"
        return None

    return each


def _not_empty_list(values: tuple[str, ...]) -> str | None:
    return None if values else "must name at least one"


def _url(*schemes: str, host: bool = True) -> Check:
    """An optional URL (empty: not set). Its value is never quoted: it may hold a password."""

    def check(value: str) -> str | None:
        if not value:
            return None
        if any(c.isspace() for c in value):
            return "must be a URL without spaces"
        parts = urlsplit(value)
        if parts.scheme.lower() not in schemes:
            return "must be a URL starting with " + " or ".join(f"{s}://" for s in schemes)
        try:
            parts.port  # noqa: B018 (raises on a port that is no number from 0 to 65535)
        except ValueError:
            return "must be a URL whose port is a number from 1 to 65535"
        if host and not parts.hostname:
            return "must be a URL naming a host"
        return None

    return check


_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")  # a PostgreSQL schema the ledger accepts


def _ledger_url(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("sqlite:///"):
        return None if value.removeprefix("sqlite:///") else "names no file after sqlite:///"
    if value.startswith(("postgresql://", "postgres://")):
        problem = _url("postgresql", "postgres", host=False)(value)
        schema = dict(parse_qsl(urlsplit(value).query)).get("schema", "public")
        if not problem and not _SCHEMA.match(schema):
            problem = "must name a plain lower-case schema (?schema=name)"
        return problem
    return "must be sqlite:///<file> or postgresql://<user>@<host>/<database>[?schema=<name>]"


def _duration(value: str) -> str | None:
    from gateway.bus.topology import duration_seconds

    try:
        return None if duration_seconds(value) > 0 else "is no wait (use e.g. 10s, 1m, 1h)"
    except ValueError:
        return "is not a duration like 500ms, 10s, 1m or 1h"


def _host(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    label = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
    if re.fullmatch(rf"{label}(\.{label})*", value):
        return None
    return "must be a host name or an IP address"


def _network(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
        return None
    except ValueError:
        return "is not an IP address or network (e.g. 10.0.0.0/8)"


def _iso_date(value: str) -> str | None:
    try:
        dt.date.fromisoformat(value)
        return None
    except ValueError:
        return "is not a date YYYY-MM-DD"


def _checkpoint_key(value: str) -> str | None:
    """An inline key must parse; a file name is checked on this machine (``_key_file``)."""
    if not value.startswith(("ed25519:", "hmac:")):
        return None
    from gateway.ledger.checkpoint import parse_key

    try:
        parse_key(value)
        return None
    except ValueError:
        return "must be ed25519:<base64 of a 32-byte seed>, hmac:<secret>, or a file holding one"


def _payload_key(value: str) -> str | None:
    from gateway.ledger.payloads import parse_key

    try:
        parse_key(value)
        return None
    except ValueError:
        return "must be base64 of 32 random bytes (AES-256), e.g. from: openssl rand -base64 32"


def _retention(values: tuple[str, ...]) -> str | None:
    from gateway.ledger.retention import parse_policies

    try:
        parse_policies(values)
        return None
    except ValueError as exc:
        return str(exc)


def _identities(values: tuple[str, ...]) -> str | None:
    from gateway.ops.auth import parse_identities

    try:
        parse_identities(values)
        return None
    except ValueError as exc:
        return str(exc)


_TEXT: tuple[Check, ...] = ()  # any text
_PORT = (_at_least(1), _at_most(65535))
_CATEGORY = _each(_matching(r"\d{2}", "a productcategorie of two digits"))

# Every setting's checks, after its value has the setting's type. Secrets are in SECRETS.
_CHECKS: dict[str, tuple[Check, ...]] = {
    "var_dir": _TEXT,  # a folder: checked on this machine
    "amqp_url": (_required, _url("amqp", "amqps")),
    "amqp_connect_wait": (_at_least(0),),
    "bus_prefix": (
        _required,
        _matching(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", "letters, digits, . _ -"),
    ),
    "prefetch": (_at_least(1), _at_most(65535)),
    "delivery_limit": (_at_least(1),),
    "retry_tiers": (_not_empty_list, _each(_duration)),
    "max_attempts": (_at_least(1),),
    "publish_window": (_at_least(1),),
    "ledger_url": (_ledger_url,),
    "ledger_checkpoint_key": (_checkpoint_key,),
    "ledger_checkpoint_every": (_at_least(1),),
    "ledger_checkpoint_seconds": (_more_than(0),),
    "ledger_checkpoint_file": _TEXT,  # a path: checked on this machine
    "ledger_payload_key": (_payload_key,),
    "ledger_retention": (_retention,),
    "http_host": (_required, _host),
    "http_port": _PORT,
    "max_message_bytes": (_at_least(1),),
    "http_batch_max_messages": (_at_least(1),),
    "http_batch_max_bytes": (_at_least(1),),
    "workers": (_at_least(0),),
    "log_format": (_one_of("console", "json"),),
    "log_level": (_one_of("debug", "info", "warning", "error", "critical", fold=True),),
    "adapters": (_not_empty_list,),  # the modules are looked for on this machine
    "bsn_hash_key": (_required,),
    "drop_interval": (_more_than(0),),
    "counterpart_transport": (_one_of("outbox", "ggk", "vecozo"),),
    "http_attempts": (_at_least(1),),
    "http_backoff": (_at_least(0),),
    "http_max_wait": (_at_least(0),),
    "http_timeout": (_more_than(0),),
    "ggk_url": (_url("http", "https"),),
    "ggk_organisatie": (_matching(r"\d{4}", "a CBS gemeentecode of four digits"),),
    "ggk_applicatie": (_required,),
    "ggk_administratie": _TEXT,
    "vecozo_push_url": (_url("https"),),
    "vecozo_soap_url": (_url("https"),),
    "vecozo_pull_url": (_url("https"),),
    "vecozo_agb": (_matching(r"\d{8}", "an AGB code of eight digits"),),
    "vecozo_cert": _TEXT,  # files: checked on this machine
    "vecozo_key": _TEXT,
    "vecozo_ca": _TEXT,
    "vecozo_poll_interval": (_more_than(0),),
    "cak_trigger": (_one_of("toewijzing", "levering", ""),),
    "cak_beschermd_wonen": (_CATEGORY,),
    "cak_kostprijs": (_CATEGORY,),
    "corv_url": (_url("http", "https"),),
    "corv_organisatie": (_matching(r"[A-Za-z0-9_.-]+", "letters, digits, _ . - (a code)"),),
    "corv_applicatie": (_required,),
    "ops_identities": (_identities,),
    "ops_client_cert_header": (_matching(r"[A-Za-z0-9-]+", "an HTTP header name"),),
    "ops_trusted_proxies": (_each(_network),),
    "ops_alert_webhook": (_url("http", "https"),),
    "ops_deadline_interval": (_more_than(0),),
    "ops_deadline_horizon_days": (_at_least(1),),
    "ops_closed_days": (_each(_iso_date),),
    "ops_monitor": _TEXT,  # true or false: its type says all
    "ops_replay_rate": (_more_than(0),),
}

# Values never quoted in a message: keys, and URLs (a password or token may be in them).
SECRETS = frozenset(
    {
        "amqp_url",
        "ledger_url",
        "ledger_checkpoint_key",
        "ledger_payload_key",
        "bsn_hash_key",
        "ggk_url",
        "vecozo_push_url",
        "vecozo_soap_url",
        "vecozo_pull_url",
        "corv_url",
        "ops_alert_webhook",
    }
)


def _together(s: Settings) -> Iterator[tuple[str, str]]:
    """Settings that only make sense with others: (the setting to fix, what is missing)."""
    if s.counterpart_transport == "ggk" and not s.ggk_url:
        yield "ggk_url", "must be set when counterpart_transport is 'ggk'"
    if s.counterpart_transport == "vecozo" and not (s.vecozo_push_url or s.vecozo_soap_url):
        yield (
            "vecozo_push_url",
            "(or vecozo_soap_url) must be set for counterpart_transport 'vecozo'",
        )
    if s.counterpart_transport == "vecozo" and not s.vecozo_agb:
        yield "vecozo_agb", "must be set when counterpart_transport is 'vecozo'"
    if s.vecozo_key and not s.vecozo_cert:
        yield "vecozo_cert", "must be set when vecozo_key is (the key of a client certificate)"


# -- checks on this machine (``on_this_machine``) -----------------------------------------------


def _nearest(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _folder(path: Path) -> str | None:
    """A folder this process may write in, or one it can make."""
    if path.exists():
        if not path.is_dir():
            return f"{path} is a file, not a folder"
        return (
            None if os.access(path, os.W_OK | os.X_OK) else f"this process may not write in {path}"
        )
    parent = _nearest(path)
    if not parent.is_dir():
        return f"{path} cannot be made: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be made: this process may not write in {parent}"
    return None


def _writable_file(path: Path) -> str | None:
    """A file this process may write, or one it can make."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"this process may not write {path}"
    return _folder(path.parent)


def _readable_file(text: str) -> str | None:
    if not text:
        return None
    path = Path(text)
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_file():
        return f"{path} is not a file"
    return None if os.access(path, os.R_OK) else f"this process may not read {path}"


def _sqlite_file(value: str) -> str | None:
    name = value.removeprefix("sqlite:///") if value.startswith("sqlite:///") else None
    return None if name in (None, ":memory:") else _writable_file(Path(name))


def _key_file(value: str) -> str | None:
    """A checkpoint key named by its file. The value is not shown even so: it may be a key
    pasted without its ``ed25519:`` prefix."""
    if not value or value.startswith(("ed25519:", "hmac:")):
        return None
    if _readable_file(value):
        return "names no readable file (give a file holding the key, or ed25519:... or hmac:...)"
    from gateway.ledger.checkpoint import parse_key

    try:
        parse_key(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return "names a file not holding ed25519:<base64 of a 32-byte seed> or hmac:<secret>"
    return None


def _module(name: str) -> str | None:
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "is no installed module (an adapter package, e.g. adapters.ggk)"


_LOCAL: dict[str, Check] = {
    "var_dir": _folder,
    "ledger_url": _sqlite_file,
    "ledger_checkpoint_file": lambda v: _writable_file(Path(v)) if v else None,
    "ledger_checkpoint_key": _key_file,
    "vecozo_cert": _readable_file,
    "vecozo_key": _readable_file,
    "vecozo_ca": _readable_file,
    "adapters": _each(_module),
}

# The tables an adapter reads from the TOML file (``Settings.extra``; file only), and the
# check of each of their keys on this machine.
ADAPTER_SETTINGS: dict[str, dict[str, Check]] = {
    "adapters.istandaarden": {
        "istandaarden_gemeentecodes": _readable_file,
        "istandaarden_productcodes": _readable_file,
        "istandaarden_tarieven": _readable_file,
    },
}

# Environment variables Kubernetes sets for a Service named ketenpoort-...: not ours.
_SERVICE_LINK = re.compile(
    r"KETENPOORT_\w+_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)

# -- loading -----------------------------------------------------------------------------------


@dataclass
class _Value:
    value: Any
    where: str  # "the environment variable KETENPOORT_X" or "key 'http.port' in FILE"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[str, Any]]:
    """Setting name -> (the key as written, value); ``[http] port`` is ``http_port``."""
    out: dict[str, tuple[str, Any]] = {}
    for key, value in table.items():
        written = f"{prefix}{key}"
        name = written.replace(".", "_")
        if isinstance(value, Mapping) and name not in _FIELDS:
            out.update(_flatten(value, f"{written}."))
        else:
            out[name] = (written, value)
    return out


def _close(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is probably a typo of."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _did_you_mean(name: str | None) -> str:
    return f"; did you mean {name!r}?" if name else ""


def _shown(name: str, value: Any) -> str:
    """What a message may say of a value: nothing of a secret, nothing long."""
    if name in SECRETS or isinstance(value, tuple | list | Mapping):
        return ""
    text = repr(str(value) if isinstance(value, Path) else value)
    return f", not {text}" if len(text) <= 60 else ""


def _print_warning(text: str) -> None:
    print(f"configuration warning: {text}", file=sys.stderr)


def load_settings(
    env: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    on_this_machine: bool = False,
    warn: Callable[[str], None] = _print_warning,
) -> Settings:
    """Defaults, then the TOML file (``path`` or ``KETENPOORT_CONFIG``), then the environment.

    Raises :class:`ConfigError` listing every problem, one line each. ``on_this_machine`` also
    checks folders, files and adapter modules the settings name; ``warn`` is told of unknown
    ``KETENPOORT_*`` environment variables (names only).
    """
    env = os.environ if env is None else env
    raw: dict[str, _Value] = {}
    unknown: dict[str, _Value] = {}
    toml_path = path or env.get("KETENPOORT_CONFIG")
    if toml_path:
        try:
            with open(toml_path, "rb") as fh:
                table = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(
                f"cannot read config file {toml_path}: {exc.strerror or exc}"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {toml_path} is not valid TOML: {exc}") from None
        for name, (written, value) in _flatten(table).items():
            where = f"key {written!r} in {toml_path}"
            (raw if name in _FIELDS else unknown)[name] = _Value(value, where)
    for key, value in env.items():
        if not key.startswith("KETENPOORT_") or key == "KETENPOORT_CONFIG":
            continue
        name = key.removeprefix("KETENPOORT_").lower()
        if name in _FIELDS:
            raw[name] = _Value(value, f"environment variable {key}")
        elif not _SERVICE_LINK.fullmatch(key):
            close = _close(name, _FIELDS)
            hint = f"; did you mean KETENPOORT_{close.upper()}?" if close else ""
            warn(f"environment variable {key} is not a setting and is ignored{hint}")

    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, given in raw.items():
        try:
            values[name] = _coerce(_FIELDS[name].default, given.value)
        except _Bad as bad:
            problems.append(f"{name} ({given.where}): {bad}{_shown(name, given.value)}")

    def label(name: str) -> str:
        return f"{name} ({raw[name].where})" if name in raw else f"{name} (default)"

    settings = Settings(**values)
    for name in _FIELDS:
        if name in raw and name not in values:
            continue  # of the wrong type: said above
        value = getattr(settings, name)
        problem = next(filter(None, (check(value) for check in _CHECKS[name])), None)
        if problem:
            problems.append(f"{label(name)}: {problem}{_shown(name, value)}")
        elif on_this_machine and name in _LOCAL and (problem := _LOCAL[name](value)):
            problems.append(f"{label(name)}: {problem}")  # names the path itself
    if not problems:
        problems += [f"{label(name)}: {why}" for name, why in _together(settings)]

    extra: dict[str, Any] = {}
    tables = {k: c for a in settings.adapters for k, c in ADAPTER_SETTINGS.get(a, {}).items()}
    for name, given in unknown.items():
        if name in tables:
            extra[name] = given.value
            problem = None if isinstance(given.value, str) else "must be a string (a file)"
            if problem is None and on_this_machine:
                problem = tables[name](given.value)
            if problem:
                problems.append(f"{name} ({given.where}): {problem}")
            continue
        owner = next((a for a, keys in ADAPTER_SETTINGS.items() if name in keys), None)
        why = (
            f"is read by {owner}, which is not in adapters"
            if owner
            else "is not a setting" + _did_you_mean(_close(name, [*_FIELDS, *tables]))
        )
        problems.append(f"{given.where}: {why}")
    if problems:
        raise ConfigError("\n".join(problems))
    return dataclasses.replace(settings, extra=extra)


def environment(settings: Settings) -> dict[str, str]:
    """The ``KETENPOORT_*`` variables that give another process these same settings."""
    env = {}
    for name in _FIELDS:
        value = getattr(settings, name)
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        env[f"KETENPOORT_{name.upper()}"] = text
    return env
