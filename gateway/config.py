"""Settings: safe defaults, overridden by an optional TOML file, overridden by the environment.

Every setting has one name. In TOML it is a key (dotted names are tables: ``ledger.url`` is
``[ledger] url = ...``); in the environment it is ``KETENPOORT_`` + the name in capitals with
``.`` replaced by ``_`` (``KETENPOORT_LEDGER_URL``). ``KETENPOORT_CONFIG`` names the TOML file.

The core's settings are the fields of :class:`Settings`. Each adapter package owns a section of
its own: a :class:`Section` model in its ``settings.py``, named in the package's
``settings_sections``; a section's settings are named ``<prefix><field>`` (``ggk_url``, in TOML
also ``[ggk] url``) and are read only when an adapter that lists the section is in ``adapters``.

What a value must be (type, range, shape, what it needs of other settings) is declared on the
fields with pydantic (``gateway.config_fields``); this module only gathers the values with where
each came from, and turns pydantic's errors into one line per problem naming the setting and its
source (the TOML key and file, or the environment variable), all reported at once as a
:class:`ConfigError`. Values of secrets are never repeated. A TOML key that is no setting is an
error (a typo would otherwise be silently ignored); an unknown ``KETENPOORT_*`` environment
variable is only a warning, since the environment is shared with others (Kubernetes adds
``<SERVICE>_PORT`` variables for a service named ``ketenpoort-...``).
``load_settings(on_this_machine=True)``, as the ``ketenpoort`` command does, also checks what the
settings name on this machine: folders that must be writable, files that must be readable, and
the adapter modules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.util
import os
import pkgutil
import re
import sys
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.fields import FieldInfo

from gateway.config_fields import (
    SECRET,
    AtLeast0,
    Count,
    Flag,
    HttpUrl,
    Names,
    Needs,
    OnThisMachine,
    Positive,
    Required,
    Secret,
    Whole,
    check,
    duration,
    each,
    folder,
    here,
    host,
    is_loopback,
    iso_date,
    matching,
    network,
    not_empty_list,
    one_of,
    parsed_by,
    readable_file,
    required,
    url,
    urls,
    writable_file,
)
from gateway.config_fields import (
    ledger_url as _ledger_url,
)
from gateway.errors import ConfigError

# pydantic's own error texts (a copy made in code, not a load) never repeat a value either.
_MODEL = ConfigDict(frozen=True, allow_inf_nan=False, extra="forbid", hide_input_in_errors=True)


class Section(BaseModel):
    """An adapter's settings: ``name`` keys it in ``Settings.sections``; each field ``f`` is the
    setting ``prefix + f``. Cross-field checks are ``model_validator``s raising
    :class:`~gateway.config_fields.Needs`; :meth:`loaded` gives them the sections validated
    before (an adapter's ``settings_sections`` lists what a section needs first)."""

    model_config = _MODEL
    name: ClassVar[str]
    prefix: ClassVar[str]

    @classmethod
    def of(cls, settings: Any) -> Self:
        """This section of ``settings`` (its defaults when no loaded adapter lists it)."""
        found = getattr(settings, "sections", {}).get(cls.name)
        return found if isinstance(found, cls) else cls()

    @staticmethod
    def loaded(info: ValidationInfo, section: type[Section]) -> Any:
        """The section validated before this one, or None (not loaded, or not at a load)."""
        return (info.context or {}).get("sections", {}).get(section.name)


DEFAULT_BSN_HASH_KEY = "change-me-in-production"


def _checkpoint_key(value: str) -> str | None:
    """An inline key must parse; a file name is checked on this machine (``_key_file``)."""
    if not value.startswith(("ed25519:", "hmac:")):
        return None
    from gateway.ledger.checkpoint import parse_key

    return parsed_by(
        parse_key,
        "must be ed25519:<base64 of a 32-byte seed>, hmac:<secret>, or a file holding one",
    )(value)


def _key_file(value: str) -> str | None:
    """A checkpoint key named by its file. The value is not shown even so: it may be a key
    pasted without its ``ed25519:`` prefix."""
    if not value or value.startswith(("ed25519:", "hmac:")):
        return None
    if readable_file(value):
        return "names no readable file (give a file holding the key, or ed25519:... or hmac:...)"
    from gateway.ledger.checkpoint import parse_key

    try:
        parse_key(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return "names a file not holding ed25519:<base64 of a 32-byte seed> or hmac:<secret>"
    return None


def _payload_key(value: str) -> str | None:
    from gateway.ledger.payloads import parse_key

    return parsed_by(
        parse_key,
        "must be base64 of 32 random bytes (AES-256), e.g. from: openssl rand -base64 32",
    )(value)


def _retention(values: tuple[str, ...]) -> str | None:
    from gateway.ledger.retention import parse_policies

    return parsed_by(parse_policies)(values)


# An identity's drop folder is named after it: a plain name, not one of the drop's own folders.
_FOLDER = r"(?!(inbound|outbound|done)$)[A-Za-z0-9_][A-Za-z0-9._-]*"


def _identities(values: tuple[str, ...]) -> str | None:
    from gateway.identities import parse_identities

    return parsed_by(parse_identities)(values)


def _sqlite_file(value: str) -> str | None:
    name = value.removeprefix("sqlite:///") if value.startswith("sqlite:///") else None
    return None if name in (None, ":memory:") else writable_file(Path(name))


def _module(name: str) -> str | None:
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "is no installed module (an adapter package, e.g. adapters.ggk)"


@pydantic.dataclasses.dataclass(
    frozen=True, config=ConfigDict(allow_inf_nan=False, hide_input_in_errors=True)
)
class Settings:
    """The core's settings; each adapter's are in ``sections`` (:meth:`Section.of`)."""

    # Where embedded state lives (SQLite ledger, outbox, file drop).
    var_dir: Annotated[Path, here(folder)] = Path("var")
    # RabbitMQ: one URL, or the nodes of a cluster separated by commas (failed over in turn).
    amqp_url: Annotated[str, SECRET, check(required), check(urls("amqp", "amqps"))] = (
        "amqp://guest:guest@127.0.0.1:5672/%2F"
    )
    # Seconds a starting command keeps trying to reach RabbitMQ before it gives up (exit 1); it
    # logs every failed try and what it waits for.
    amqp_connect_wait: AtLeast0 = 30.0
    # Prefix of every exchange and queue, so several gateways (or tests) share one broker.
    bus_prefix: Annotated[
        Required, check(matching(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", "letters, digits, . _ -"))
    ] = "ketenpoort"
    # Unacknowledged deliveries a worker holds (hides the broker round trip between messages).
    prefetch: Annotated[Whole, Field(ge=1, le=65535)] = 50
    # Broker-enforced ceiling on deliveries of one message in one queue (quorum
    # ``x-delivery-limit``): a message that keeps coming back unacknowledged (it crashes its
    # worker) is dead-lettered to parking by the broker itself.
    delivery_limit: Count = 20
    # Failed attempts are retried after these waits (one wait queue each; the last repeats) ...
    retry_tiers: Annotated[Names, check(not_empty_list), check(each(duration))] = (
        "10s",
        "1m",
        "10m",
        "1h",
    )
    # ... until this many attempts have failed; then the message is parked.
    max_attempts: Count = 5
    # Publishes in flight awaiting their broker confirm, per process.
    publish_window: Count = 256
    # Ledger: "sqlite:///path" or "postgresql://...[?schema=name]"; empty = SQLite under var_dir.
    ledger_url: Annotated[str, SECRET, check(_ledger_url), here(_sqlite_file)] = ""
    # Key signing ledger checkpoints: "ed25519:<base64 32-byte seed>", "hmac:<secret>", or a
    # file holding one of those; empty = an Ed25519 key made on first use in var_dir.
    ledger_checkpoint_key: Annotated[str, SECRET, check(_checkpoint_key), here(_key_file)] = ""
    # A signed checkpoint is made when this many entries were added since the last one ...
    ledger_checkpoint_every: Count = 1000
    # ... or this many seconds passed (checked on append and by the sweeper).
    ledger_checkpoint_seconds: Positive = 60.0
    # Where checkpoints are exported (JSON lines, appended); empty = var_dir.
    ledger_checkpoint_file: Annotated[
        str, here(lambda v: writable_file(Path(v)) if v else None)
    ] = ""
    # A witness each checkpoint is also sent to: a file elsewhere (checked on this machine), or
    # an http(s) URL it is POSTed to as JSON; empty = none.
    ledger_checkpoint_witness: Annotated[
        str,
        SECRET,  # a URL may carry a token: never quoted
        check(lambda v: url("http", "https")(v) if "://" in v else None),
        here(
            lambda v: (
                "names no file this process may write"
                if v and "://" not in v and writable_file(Path(v))
                else None
            )
        ),
    ] = ""
    # AES-256-GCM key for payloads at rest (base64 of 32 bytes); empty = not encrypted.
    ledger_payload_key: Annotated[str, SECRET, check(_payload_key)] = ""
    # Retention policies "<standard>[@<party>]:<payload|traffic>=<age>", e.g. "corv:payload=24h",
    # "corv:traffic=6mo", "iwmo@0363:payload=365d"; applied by `ketenpoort ledger retention`.
    ledger_retention: Annotated[Names, check(_retention)] = ()
    # HTTP ingress.
    http_host: Annotated[Required, check(host)] = "127.0.0.1"
    http_port: Annotated[Whole, Field(ge=1, le=65535)] = 8080
    # Largest message accepted (bytes); GGk/VECOZO limit the envelope to 25 MB.
    max_message_bytes: Count = 25 * 1024 * 1024
    # Bulk HTTP ingress (POST /v1/messages/{outbound,inbound}/batch): most messages in one
    # request, and the largest request (bytes, the base64 JSON as sent).
    http_batch_max_messages: Count = 1000
    http_batch_max_bytes: Count = 64 * 1024 * 1024
    # Workers started by `ketenpoort run`.
    workers: Annotated[Whole, Field(ge=0)] = 1
    # Logging: "console" (readable, development) or "json" (production).
    log_format: Annotated[str, check(one_of("console", "json"))] = "console"
    log_level: Annotated[
        str, check(one_of("debug", "info", "warning", "error", "critical", fold=True))
    ] = "info"
    # Adapters to load (import paths of packages exposing ``make_adapter``).
    adapters: Annotated[Names, check(not_empty_list), here(each(_module))] = (
        "adapters.istandaarden",
    )
    # Key for hashing BSNs into searchable ledger keys (never the plain BSN in an index). The
    # default is refused unless the gateway is local-only (see ``_no_default_key``).
    bsn_hash_key: Annotated[Required, SECRET] = DEFAULT_BSN_HASH_KEY
    # File drop polling interval in seconds.
    drop_interval: Positive = 1.0
    # -- operations (gateway/ops/; README "Operations") -----------------------------------------
    # Who may use the HTTP API and dashboard: "<name> key=sha256:<hex> cert=sha256:<hex>
    # roles=viewer+payload-viewer+operator+admin parties=<code>+<code>" (see gateway/ops/auth.py;
    # `ketenpoort identities new-key NAME` makes a key and its line). None: the API is open
    # (refused unless http_host is a loopback address).
    ops_identities: Annotated[Names, check(_identities)] = ()
    # The header a TLS-terminating proxy sets to the SHA-256 fingerprint of a verified client
    # certificate (mutual TLS), and the proxy addresses whose header is believed.
    ops_client_cert_header: Annotated[
        str, check(matching(r"[A-Za-z0-9-]+", "an HTTP header name"))
    ] = ""
    ops_trusted_proxies: Annotated[Names, check(each(network))] = ("127.0.0.1/32", "::1/128")
    # Doors that cannot authenticate per message speak for an identity (of ops_identities, by
    # name): a message through them may have as sender only a party of it. The AMQP ingress
    # queue speaks for amqp_ingress_identity; each of drop_identities has a drop folder of its
    # own, <var_dir>/drop/<name>/. Unset while identities are configured, the ingress queue and
    # <var_dir>/drop/ itself speak for nobody and refuse every message (README "Security model").
    amqp_ingress_identity: Annotated[str, check(matching(r"[^\s=]+", "an identity name"))] = ""
    drop_identities: Annotated[Names, check(each(matching(_FOLDER, "an identity name")))] = ()
    # Deadline monitoring: URL receiving breach alerts (JSON POST), seconds between checks (and
    # so at most one alert call per interval), how far back to look for unanswered messages.
    ops_alert_webhook: HttpUrl = ""
    ops_deadline_interval: Positive = 60.0
    ops_deadline_horizon_days: Count = 120
    # Days the government adds to the Algemene termijnenwet's feestdagen (art. 3 lid 3, e.g. the
    # Friday after Hemelvaartsdag), ISO dates; they are not working days.
    ops_closed_days: Annotated[Names, check(each(iso_date))] = ()
    # Whether this process runs the deadline monitor and the parking recorder (run one set per
    # installation: `ketenpoort run` with this on, other replicas off).
    ops_monitor: Flag = True
    # Bulk replay: messages re-published per second.
    ops_replay_rate: Positive = 20.0
    # Each loaded adapter's section, by section name (``Section.of`` reads one).
    sections: Mapping[str, Section] = field(default_factory=dict)

    @model_validator(mode="after")
    def _no_default_key(self, info: ValidationInfo) -> Self:
        """At start (not on every copy): the published default BSN key only on a gateway no one
        else can reach (HTTP on loopback, no identities)."""
        starting = bool(info.context and info.context.get("starting"))
        local = is_loopback(self.http_host) and not self.ops_identities
        if starting and self.bsn_hash_key == DEFAULT_BSN_HASH_KEY and not local:
            raise Needs(
                "bsn_hash_key",
                "is still the published default; set a long random secret of your own "
                "(the default is only taken on http_host 127.0.0.1 without ops_identities)",
            )
        return self

    @model_validator(mode="after")
    def _doors_speak_for_known_identities(self) -> Self:
        names = {line.split()[0] for line in self.ops_identities if line.strip()}
        for setting, named in (
            ("amqp_ingress_identity", (self.amqp_ingress_identity,)),
            ("drop_identities", self.drop_identities),
        ):
            for name in named:
                if name and name not in names:
                    raise Needs(setting, f"{name} is not one of the ops_identities")
        return self

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


_CORE = pydantic.TypeAdapter(Settings)
_CORE_FIELDS: dict[str, FieldInfo] = {
    name: info
    for name, info in Settings.__pydantic_fields__.items()  # type: ignore[attr-defined]
    if name != "sections"
}

# -- adapter sections ---------------------------------------------------------------------------


def _adapter_module(name: str) -> Any:
    """The adapter package ``name``, or None when it is not installed (said elsewhere)."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    return importlib.import_module(name)


def sections_of(modules: Iterable[str]) -> dict[str, type[Section]]:
    """The settings sections the adapter packages ``modules`` list (``settings_sections``), in
    the order listed, each once."""
    found: dict[str, type[Section]] = {}
    for name in modules:
        module = _adapter_module(name)
        for section in getattr(module, "settings_sections", ()) if module else ():
            found.setdefault(section.name, section)
    return found


def _names(section: type[Section]) -> dict[str, str]:
    """Setting name -> field of ``section``."""
    return {section.prefix + f: f for f in section.model_fields}


def setting_names(modules: Iterable[str]) -> set[str]:
    """Every setting there is with the adapter packages ``modules`` loaded."""
    names = set(_CORE_FIELDS)
    for section in sections_of(modules).values():
        names |= set(_names(section))
    return names


def secret_names(modules: Iterable[str]) -> set[str]:
    """The settings whose values are never repeated, with the adapter packages ``modules``."""
    fields = [("", _CORE_FIELDS)] + [
        (s.prefix, s.model_fields) for s in sections_of(modules).values()
    ]
    return {
        prefix + name
        for prefix, infos in fields
        for name, info in infos.items()
        if any(isinstance(m, Secret) for m in info.metadata)
    }


def _readers(name: str, modules: Iterable[str]) -> list[str]:
    """The adapter packages installed beside those in ``modules`` (in the same parent package)
    whose sections hold the setting ``name``."""
    families = {m.rpartition(".")[0] for m in modules if "." in m}
    found = set()
    for family in sorted(families):
        package = _adapter_module(family)
        for info in pkgutil.iter_modules(getattr(package, "__path__", []), family + "."):
            if name in setting_names([info.name]) - set(_CORE_FIELDS):
                found.add(info.name)
    return sorted(found)


# -- errors as lines ----------------------------------------------------------------------------

_TYPE_TEXTS = {
    "int": "must be a whole number",
    "float": "must be a number",
    "finite": "must be a finite number",
    "bool": "must be true or false",
    "string": "must be a string (in TOML: in quotes)",
    "path": "must be a string (in TOML: in quotes)",
    "tuple": "must be a list of strings (in the environment: separated by commas)",
}
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than")}
_BOUNDS |= {"less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
_QUIET = object()  # a problem whose value is not shown


@dataclass
class _Value:
    value: Any
    where: str  # "environment variable KETENPOORT_X" or "key 'http.port' in FILE"


def _why(error: Any, default: Any) -> tuple[str, Any]:
    """What a pydantic error says, in our words, and the value to show (or ``_QUIET``)."""
    kind, given = error["type"], error["input"]
    if kind == "value_error":
        cause = error["ctx"]["error"]
        quiet = isinstance(cause, OnThisMachine | Needs)
        return str(cause), _QUIET if quiet else given
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        with contextlib.suppress(TypeError, ValueError):
            given = type(default)(given)
        return f"must be {words} {error['ctx'][key]:g}", given
    if len(error["loc"]) > 1:  # an element of a list
        return _TYPE_TEXTS["tuple"], _QUIET
    text = _TYPE_TEXTS.get(kind.split("_")[0])
    return (text, given) if text else (error["msg"], _QUIET)


def _shown(secret: bool, value: Any) -> str:
    """What a message may say of a value: nothing of a secret, nothing long."""
    if value is _QUIET or secret or isinstance(value, tuple | list | Mapping):
        return ""
    text = repr(str(value) if isinstance(value, Path) else value)
    return f", not {text}" if len(text) <= 60 else ""


def _lines(
    exc: ValidationError, fields: Mapping[str, FieldInfo], prefix: str, given: Mapping[str, _Value]
) -> list[str]:
    out = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        field_name = cause.field if isinstance(cause, Needs) else str(error["loc"][0])
        info = fields[field_name]
        name = prefix + field_name
        where = given[name].where if name in given else "default"
        text, value = _why(error, info.default)
        secret = any(isinstance(m, Secret) for m in info.metadata)
        if typing.get_origin(info.annotation) is tuple:
            value = _QUIET  # lists are shown by element, in the text
        out.append(f"{name} ({where}): {text}{_shown(secret, value)}")
    return out


# -- loading -----------------------------------------------------------------------------------

# Environment variables Kubernetes sets for a Service named ketenpoort-...: not ours.
_SERVICE_LINK = re.compile(
    r"KETENPOORT_\w+_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[str, Any]]:
    """Setting name -> (the key as written, value); ``[http] port`` is ``http_port``."""
    out: dict[str, tuple[str, Any]] = {}
    for key, value in table.items():
        written = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{written}."))
        else:
            out[written.replace(".", "_")] = (written, value)
    return out


def _read_file(toml_path: str | os.PathLike[str]) -> dict[str, _Value]:
    try:
        with open(toml_path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {toml_path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {toml_path} is not valid TOML: {exc}") from None
    return {
        name: _Value(value, f"key {written!r} in {toml_path}")
        for name, (written, value) in _flatten(table).items()
    }


def _read_environment(env: Mapping[str, str]) -> dict[str, _Value]:
    return {
        key.removeprefix("KETENPOORT_").lower(): _Value(value, f"environment variable {key}")
        for key, value in env.items()
        if key.startswith("KETENPOORT_") and key != "KETENPOORT_CONFIG"
    }


def _close(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is probably a typo of."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _print_warning(text: str) -> None:
    print(f"configuration warning: {text}", file=sys.stderr)


def _adapters_given(given: Mapping[str, _Value]) -> tuple[str, ...] | None:
    """The ``adapters`` setting, or None when it is wrong (said by the core's check)."""
    try:
        value = given["adapters"].value if "adapters" in given else Settings.adapters
        names: tuple[str, ...] = pydantic.TypeAdapter(Names).validate_python(value)
    except ValidationError:
        return None
    return names


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
    ``KETENPOORT_*`` environment variables (names only). At this start the default
    ``bsn_hash_key`` is refused unless the gateway is local-only.
    """
    env = os.environ if env is None else env
    toml_path = path or env.get("KETENPOORT_CONFIG")
    from_file = _read_file(toml_path) if toml_path else {}
    from_env = _read_environment(env)
    given = {**from_file, **from_env}
    context: dict[str, Any] = {"on_this_machine": on_this_machine, "starting": True}

    problems: list[str] = []
    core: Settings | None = None
    try:
        core = _CORE.validate_python(
            {n: v.value for n, v in given.items() if n in _CORE_FIELDS}, context=context
        )
    except ValidationError as exc:
        problems += _lines(exc, _CORE_FIELDS, "", given)
    modules = _adapters_given(given)
    if modules is None:  # which settings exist is not known
        raise ConfigError("\n".join(problems))

    sections: dict[str, Section] = {}
    known = set(_CORE_FIELDS)
    for section in sections_of(modules).values():
        names = _names(section)
        known |= set(names)
        values = {f: given[n].value for n, f in names.items() if n in given}
        try:
            sections[section.name] = section.model_validate(
                values, context={**context, "sections": sections}
            )
        except ValidationError as exc:
            problems += _lines(exc, section.model_fields, section.prefix, given)

    for name, value in from_file.items():
        if name not in known:
            why, close = _unknown(name, modules, known)
            hint = f"; did you mean {close!r}?" if close else ""
            problems.append(f"{value.where}: {why}{hint}")
    for name, value in from_env.items():
        if name not in known and not _SERVICE_LINK.fullmatch(f"KETENPOORT_{name.upper()}"):
            why, close = _unknown(name, modules, known)
            hint = f"; did you mean KETENPOORT_{close.upper()}?" if close else ""
            warn(f"{value.where} {why} and is ignored{hint}")
    if problems or core is None:
        raise ConfigError("\n".join(problems))
    return dataclasses.replace(core, sections=sections)


def _unknown(name: str, modules: Iterable[str], known: Iterable[str]) -> tuple[str, str | None]:
    """Why ``name`` is no setting here (an adapter not loaded reads it, or it is none), and the
    setting it is likely a typo of."""
    readers = _readers(name, modules)
    if len(readers) == 1:
        return f"is read by {readers[0]}, which is not in adapters", None
    if readers:
        return f"is read by {' or '.join(readers)}, none of which is in adapters", None
    return "is not a setting", _close(name, known)


def replace(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with some settings changed, core or of a section (``ggk_url=...``), each
    checked as at a load; a section an adapter in ``adapters`` lists is added with its defaults.
    """
    core = {name: changes.pop(name) for name in list(changes) if name in _CORE_FIELDS}
    modules = core.get("adapters", settings.adapters)
    kinds = {s.name: type(s) for s in settings.sections.values()} | sections_of(modules)
    sections: dict[str, Section] = {}
    for name, section in kinds.items():
        mine = {f: changes.pop(n) for n, f in _names(section).items() if n in changes}
        current = settings.sections.get(name) or section()
        sections[name] = section.model_validate(
            {**current.model_dump(), **mine}, context={"sections": sections}
        )
    if changes:
        raise TypeError(f"not settings here: {', '.join(sorted(changes))}")
    return dataclasses.replace(settings, **core, sections=sections)


def environment(settings: Settings) -> dict[str, str]:
    """The ``KETENPOORT_*`` variables that give another process these same settings."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in _CORE_FIELDS}
    for section in settings.sections.values():
        values |= {section.prefix + f: v for f, v in section.model_dump().items()}
    return {
        f"KETENPOORT_{name.upper()}": ",".join(value) if isinstance(value, tuple) else str(value)
        for name, value in values.items()
    }
