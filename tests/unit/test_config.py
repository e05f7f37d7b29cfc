"""Settings: defaults, the TOML file, the environment; and every wrong value is one clear line
naming the setting and where its value came from, before anything starts."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pydantic
import pytest

from adapters.cak.settings import CakSettings
from adapters.corv.settings import CorvSettings
from adapters.istandaarden.settings import IStandaardenSettings
from adapters.shared.settings import CounterpartSettings
from adapters.vecozo.settings import VecozoSettings
from gateway.config import (
    ConfigError,
    Settings,
    load_settings,
    replace,
    secret_names,
    setting_names,
)
from tests.conftest import ALL_ADAPTERS

SECRETS = secret_names(ALL_ADAPTERS)


def test_safe_defaults_use_embedded_sqlite_and_local_broker() -> None:
    settings = load_settings(env={})
    assert settings.ledger_dsn == "sqlite:///var/ledger.sqlite3"
    assert settings.amqp_url.startswith("amqp://guest:guest@127.0.0.1:5672")
    assert settings.outbox_dir == Path("var/outbox")
    assert settings.log_format == "console"


def test_toml_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "ketenpoort.toml"
    config.write_text(
        'var_dir = "/srv/kp"\nprefetch = 7\nadapters = ["adapters.istandaarden"]\n'
        '[http]\nport = 9000\n[ledger]\nurl = "sqlite:////srv/kp/l.db"\n'
    )
    settings = load_settings(env={"KETENPOORT_CONFIG": str(config), "KETENPOORT_PREFETCH": "11"})
    assert settings.var_dir == Path("/srv/kp")
    assert settings.http_port == 9000  # [http] port
    assert settings.ledger_dsn == "sqlite:////srv/kp/l.db"  # [ledger] url
    assert settings.prefetch == 11  # the environment wins over the file
    assert settings.adapters == ("adapters.istandaarden",)


def test_environment_lists_and_adapter_tables(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text('[istandaarden]\ngemeentecodes = "/srv/gemeenten.csv"\n')
    settings = load_settings(env={"KETENPOORT_ADAPTERS": "adapters.istandaarden, c.d"}, path=config)
    assert settings.adapters == ("adapters.istandaarden", "c.d")
    assert IStandaardenSettings.of(settings).gemeentecodes == "/srv/gemeenten.csv"
    assert settings.sections["istandaarden"] == IStandaardenSettings(
        gemeentecodes="/srv/gemeenten.csv"
    )


# -- every setting, wrongly set ----------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    setting: str  # the setting the message must name
    value: str  # the environment variable's text, or with toml=True the TOML value
    expect: str  # what the message must say
    toml: bool = False  # given in the config file (as ``key``, default the setting's name)
    key: str = ""
    local: bool = False  # found only by the checks on this machine
    env: Mapping[str, str] = field(default_factory=dict)  # what else the case sets

    def __str__(self) -> str:
        return f"{self.setting}={self.value}"


TWO_DIGITS = "a productcategorie of two digits"
ANNA = {
    "KETENPOORT_OPS_IDENTITIES": "anna key=sha256:" + "ab" * 32 + " parties=0363",
    "KETENPOORT_BSN_HASH_KEY": "a-long-random-secret-of-our-own-for-this-test",
}
GGK = {"KETENPOORT_COUNTERPART_TRANSPORT": "ggk"}
VECOZO = {"KETENPOORT_COUNTERPART_TRANSPORT": "vecozo"}
# an adapter's settings count with the adapter loaded (the default loads adapters.istandaarden)
CAK = {"KETENPOORT_ADAPTERS": "adapters.istandaarden,adapters.cak"}
CORV = {"KETENPOORT_ADAPTERS": "adapters.corv"}
A_FILE = "{tmp}/a-file"
BAD = [
    Bad("var_dir", "{tmp}/a-file", "is a file, not a folder", local=True),
    Bad("var_dir", "{tmp}/a-file/var", "cannot be made: {tmp}/a-file is a file", local=True),
    Bad("var_dir", "5", "must be a string", toml=True),
    Bad("amqp_url", "http://guest:s3cret@rabbit/", "must be a URL starting with amqp://"),
    Bad("amqp_url", "amqp://guest:s3cret@rabbit:56x2/", "port is a number from 1 to 65535"),
    Bad("amqp_url", "", "must be set"),
    Bad("amqp_url", "amqp://guest:s3cret@r1/,http://r2/", "each of the comma-separated URLs"),
    Bad("amqp_url", "amqp://guest:s3cret@r1/,,amqp://r3/", "must not hold an empty URL"),
    Bad("amqp_connect_wait", "-1", "must be at least 0, not -1.0"),
    Bad("amqp_connect_wait", "soon", "must be a number, not 'soon'"),
    Bad("bus_prefix", "kp test", "must be letters, digits, . _ -"),
    Bad("bus_prefix", "", "must be set"),
    Bad("prefetch", "0", "must be at least 1, not 0"),
    Bad("prefetch", "many", "must be a whole number, not 'many'"),
    Bad("prefetch", "50.5", "must be a whole number", toml=True),
    Bad("delivery_limit", "0", "must be at least 1"),
    Bad("retry_tiers", "10s,10x", "'10x' is not a duration like 500ms, 10s, 1m or 1h"),
    Bad("retry_tiers", "10s,0s", "'0s' is no wait"),
    Bad("retry_tiers", "[]", "must name at least one", toml=True),
    Bad("retry_tiers", "10", "must be a list of strings", toml=True),
    Bad("max_attempts", "0", "must be at least 1"),
    Bad("publish_window", "-3", "must be at least 1"),
    Bad("ledger_url", "mysql://kp:s3cret@db/kp", "must be sqlite:///<file> or postgresql://"),
    Bad("ledger_url", "postgresql://kp:s3cret@db:54x2/kp", "port is a number from 1 to 65535"),
    Bad("ledger_url", "postgresql://kp:s3cret@db/kp?schema=Kp-1", "plain lower-case schema"),
    Bad("ledger_url", "sqlite:///{tmp}", "{tmp} is a folder, not a file", local=True),
    Bad("ledger_checkpoint_key", "ed25519:s3cretXnotbase64", "must be ed25519:<base64"),
    Bad("ledger_checkpoint_key", "{tmp}/s3cret.key", "names no readable file", local=True),
    Bad("ledger_checkpoint_key", "{tmp}/a-file", "names a file not holding ed25519:", local=True),
    Bad("ledger_checkpoint_every", "0", "must be at least 1"),
    Bad("ledger_checkpoint_seconds", "0", "must be more than 0"),
    Bad("ledger_checkpoint_seconds", "nan", "must be a finite number"),
    Bad("ledger_checkpoint_file", "{tmp}", "{tmp} is a folder, not a file", local=True),
    Bad("ledger_checkpoint_witness", "ftp://w.example/x", "must be a URL starting with http://"),
    Bad("ledger_checkpoint_witness", "{tmp}", "names no file this process may write", local=True),
    Bad("ledger_payload_key", "c2VjcmV0", "must be base64 of 32 random bytes"),
    Bad("ledger_retention", "corv:payload=24h,bogus", "retention policy 'bogus'"),
    Bad("http_host", "my host", "must be a host name or an IP address"),
    Bad("http_host", "", "must be set"),
    Bad("http_port", "99999", "must be at most 65535, not 99999"),
    Bad("http_port", "0", "must be at least 1"),
    Bad("http_port", '"80a"', "must be a whole number, not '80a'", toml=True, key="http.port"),
    Bad("max_message_bytes", "0", "must be at least 1"),
    Bad("http_batch_max_messages", "0", "must be at least 1"),
    Bad("http_batch_max_bytes", "-1", "must be at least 1"),
    Bad("workers", "-1", "must be at least 0"),
    Bad("workers", "2.0", "must be a whole number, not 2.0", toml=True),  # values keep their type
    Bad("prefetch", "true", "must be a whole number, not True", toml=True),
    Bad("log_format", "xml", "must be one of 'console', 'json', not 'xml'"),
    Bad("log_level", "loud", "must be one of 'debug', 'info', 'warning', 'error', 'critical'"),
    Bad("adapters", "", "must name at least one"),
    Bad(
        "adapters",
        "adapters.istandaarden,adapters.nope",
        "'adapters.nope' is no installed module",
        local=True,
    ),
    Bad("adapters", '["adapters.istandaarden", 7]', "must be a list of strings", toml=True),
    Bad("bsn_hash_key", "", "must be set"),
    Bad("bsn_hash_key", "123456789", "must be a string", toml=True),
    Bad("drop_interval", "0", "must be more than 0"),
    Bad("counterpart_transport", "ftp", "must be one of 'outbox', 'ggk', 'vecozo'"),
    Bad("counterpart_routes", "0363=ftp", "'0363=ftp' names no channel: 'outbox', 'ggk'"),
    Bad("http_attempts", "0", "must be at least 1"),
    Bad("http_backoff", "-0.5", "must be at least 0"),
    Bad("http_max_wait", "-1", "must be at least 0"),
    Bad("http_timeout", "0", "must be more than 0"),
    Bad("http_timeout", "false", "must be a number, not False", toml=True),
    Bad("ggk_url", "ftp://ebms:s3cret@adapter/", "must be a URL starting with http:// or https://"),
    Bad("ggk_url", "", "must be set when counterpart_transport is 'ggk'", env=GGK),
    Bad("ggk_organisatie", "363", "must be a CBS gemeentecode of four digits"),
    Bad("ggk_applicatie", "", "must be set"),
    Bad("ggk_administratie", '["Regio"]', "must be a string", toml=True),
    Bad("vecozo_push_url", "http://s3cret.example/push", "must be a URL starting with https://"),
    Bad(
        "vecozo_push_url",
        "",
        "must be set for counterpart_transport 'vecozo'",
        env={**VECOZO, "KETENPOORT_VECOZO_AGB": "12345678"},
    ),
    Bad("vecozo_soap_url", "vecozo soap", "must be a URL without spaces"),
    Bad("vecozo_pull_url", "https://s3cret@pull:x/", "port is a number"),
    Bad("vecozo_agb", "1234567", "must be an AGB code of eight digits, not '1234567'"),
    Bad(
        "vecozo_agb",
        "",
        "must be set when counterpart_transport is 'vecozo'",
        env={**VECOZO, "KETENPOORT_VECOZO_PUSH_URL": "https://v.example"},
    ),
    Bad("vecozo_cert", "{tmp}/vecozo.crt", "{tmp}/vecozo.crt does not exist", local=True),
    Bad("vecozo_cert", "", "must be set when vecozo_key is", env={"KETENPOORT_VECOZO_KEY": A_FILE}),
    Bad(
        "vecozo_key",
        "{tmp}/vecozo.key",
        "{tmp}/vecozo.key does not exist",
        local=True,
        env={"KETENPOORT_VECOZO_CERT": A_FILE},
    ),
    Bad("vecozo_ca", "{tmp}", "{tmp} is not a file", local=True),
    Bad("vecozo_poll_interval", "0", "must be more than 0"),
    Bad("cak_trigger", "altijd", "must be one of 'toewijzing', 'levering', ''", env=CAK),
    Bad("cak_beschermd_wonen", "15,1x", f"'1x' must be {TWO_DIGITS}", env=CAK),
    Bad("cak_kostprijs", "11,123", f"'123' must be {TWO_DIGITS}", env=CAK),
    Bad("corv_url", "jubes.example/dka", "must be a URL starting with http://", env=CORV),
    Bad("corv_organisatie", "gemeente 0363", "must be letters, digits, _ . - (a code)", env=CORV),
    Bad("corv_applicatie", "", "must be set", env=CORV),
    Bad(
        "istandaarden_gemeentecodes",
        "{tmp}/gemeenten.csv",
        "{tmp}/gemeenten.csv does not exist",
        local=True,
    ),
    Bad(
        "istandaarden_productcodes",
        "3",
        "must be a string",
        toml=True,
        key="istandaarden.productcodes",
    ),
    Bad("istandaarden_tarieven", "{tmp}", "{tmp} is not a file", local=True),
    Bad("ops_identities", "anna key", "identity anna: expected name=value"),
    Bad("ops_client_cert_header", "X Client Cert", "must be an HTTP header name"),
    Bad("ops_trusted_proxies", "10.0.0.0/8,proxy", "'proxy' is not an IP address or network"),
    Bad("amqp_ingress_identity", "anna bob", "must be an identity name"),
    Bad("amqp_ingress_identity", "bob", "bob is not one of the ops_identities", env=ANNA),
    Bad("drop_identities", "anna,bob", "bob is not one of the ops_identities", env=ANNA),
    Bad("drop_identities", "outbound", "'outbound' must be an identity name"),
    Bad("ops_alert_webhook", "hooks.example/s3cret-token", "must be a URL starting with http://"),
    Bad("ops_deadline_interval", "0", "must be more than 0"),
    Bad("ops_deadline_horizon_days", "0", "must be at least 1"),
    Bad("ops_closed_days", "2026-05-15,2026-13-01", "'2026-13-01' is not a date YYYY-MM-DD"),
    Bad("ops_monitor", "maybe", "must be true or false, not 'maybe'"),
    Bad("ops_monitor", '"yes please"', "must be true or false", toml=True),
    Bad("ops_monitor", "1", "must be true or false, not 1", toml=True),
    Bad("ops_replay_rate", "0", "must be more than 0"),
]


def test_every_setting_has_wrong_values_in_the_table() -> None:
    assert {case.setting for case in BAD} == setting_names(ALL_ADAPTERS)


def test_secrets_are_marked_on_their_fields() -> None:
    assert {
        "amqp_url",
        "ledger_url",
        "ledger_checkpoint_key",
        "ledger_checkpoint_witness",
        "ledger_payload_key",
        "bsn_hash_key",
        "ggk_url",
        "vecozo_push_url",
        "vecozo_soap_url",
        "vecozo_pull_url",
        "corv_url",
        "ops_alert_webhook",
    } == SECRETS


@pytest.mark.parametrize("case", BAD, ids=str)
def test_a_wrong_value_is_one_line_naming_the_setting_and_its_source(
    case: Bad, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a key\n")

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path))

    env = {"KETENPOORT_VAR_DIR": str(tmp_path / "var")}
    env.update({name: fill(value) for name, value in case.env.items()})
    value = fill(case.value)
    config = tmp_path / "ketenpoort.toml"
    if case.toml:
        env.pop(f"KETENPOORT_{case.setting.upper()}", None)  # the environment would win
        key = case.key or case.setting
        table, _, name = key.rpartition(".")
        config.write_text((f"[{table}]\n" if table else "") + f"{name} = {value}\n")
        source = f"key {key!r} in {config}"
    else:
        env[f"KETENPOORT_{case.setting.upper()}"] = value
        source = f"environment variable KETENPOORT_{case.setting.upper()}"
    path = config if case.toml else None
    if case.local:  # the value itself is fine: only this machine says otherwise
        load_settings(env=env, path=path)
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, path=path, on_this_machine=True)
    message = str(caught.value)
    assert message == f"{case.setting} ({source}): {message.split('): ', 1)[1]}"
    assert "\n" not in message
    assert fill(case.expect) in message
    if case.setting in SECRETS and value:
        assert value not in message
        assert "s3cret" not in message


GOOD = {
    "KETENPOORT_WORKERS": "0",
    "KETENPOORT_RETRY_TIERS": "500ms, 2s",
    "KETENPOORT_CAK_TRIGGER": "",
    "KETENPOORT_LEDGER_URL": "postgresql:///kp?host=/run/postgresql&schema=kp_2",
    "KETENPOORT_AMQP_URL": "amqps://kp:secret@rabbit.internal/kp",
    "KETENPOORT_HTTP_HOST": "::",
    "KETENPOORT_BSN_HASH_KEY": "a long random secret of our own",
    "KETENPOORT_LOG_LEVEL": "WARNING",
    "KETENPOORT_OPS_MONITOR": "off",
    "KETENPOORT_OPS_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8",
    "KETENPOORT_LEDGER_CHECKPOINT_KEY": "hmac:a long secret",
    "KETENPOORT_LEDGER_PAYLOAD_KEY": "A" * 43 + "=",
    "KETENPOORT_COUNTERPART_TRANSPORT": "vecozo",
    "KETENPOORT_VECOZO_SOAP_URL": "https://vecozo.example/soap",
    "KETENPOORT_VECOZO_AGB": "01234567",
}


def test_unusual_but_right_values_are_taken(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text("http_timeout = 5\nops_monitor = true\n")
    settings = load_settings(env=GOOD, path=config)
    assert settings.workers == 0 and settings.retry_tiers == ("500ms", "2s")
    calls = CounterpartSettings.of(settings)
    assert calls.http_timeout == 5.0 and isinstance(calls.http_timeout, float)
    assert settings.ops_monitor is False  # the environment wins
    assert settings.log_level == "WARNING" and VecozoSettings.of(settings).agb == "01234567"


# -- the published BSN key ----------------------------------------------------------------------

DEFAULT_KEY_REFUSED = (
    "bsn_hash_key (default): is still the published default; set a long random secret of your "
    "own (the default is only taken on http_host 127.0.0.1 without ops_identities)"
)
IDENTITY = "anna key=sha256:" + "1" * 64


@pytest.mark.parametrize(
    "env",
    [
        {"KETENPOORT_HTTP_HOST": "0.0.0.0"},
        {"KETENPOORT_HTTP_HOST": "ketenpoort.internal"},
        {"KETENPOORT_OPS_IDENTITIES": IDENTITY},  # on loopback, but others have keys
        {"KETENPOORT_HTTP_HOST": "::", "KETENPOORT_OPS_IDENTITIES": IDENTITY},
    ],
    ids=str,
)
def test_the_default_bsn_key_is_refused_unless_the_gateway_is_local_only(
    env: dict[str, str],
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env)
    assert str(caught.value) == DEFAULT_KEY_REFUSED
    own = load_settings(env={**env, "KETENPOORT_BSN_HASH_KEY": "our own long secret"})
    assert own.bsn_hash_key == "our own long secret"


def test_the_default_bsn_key_is_taken_on_a_local_only_gateway() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        settings = load_settings(env={"KETENPOORT_HTTP_HOST": host})
        assert settings.bsn_hash_key == Settings.bsn_hash_key


def test_a_refused_bsn_key_given_in_the_file_names_the_key_and_is_not_repeated(
    tmp_path: Path,
) -> None:
    config = tmp_path / "k.toml"
    config.write_text('bsn_hash_key = "change-me-in-production"\n[http]\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, path=config)
    message = str(caught.value)
    assert message.startswith(f"bsn_hash_key (key 'bsn_hash_key' in {config}): is still the")
    assert "change-me-in-production" not in message


# -- unknown names ------------------------------------------------------------------------------


def test_an_unknown_key_in_the_file_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text('prefech = 7\n[ledger]\nurll = "sqlite:///x"\n[svb]\nurl = "https://svb"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, path=config)
    assert str(caught.value).splitlines() == [
        f"key 'prefech' in {config}: is not a setting; did you mean 'prefetch'?",
        f"key 'ledger.urll' in {config}: is not a setting; did you mean 'ledger_url'?",
        f"key 'svb.url' in {config}: is not a setting",
    ]


def test_an_adapter_table_counts_only_with_its_adapter(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text(
        'adapters = ["adapters.ggk"]\n[istandaarden]\ngemeentecodes = "g.csv"\n'
        '[ggk]\nurl = "https://ebms"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, path=config)
    assert str(caught.value).splitlines() == [
        f"key 'istandaarden.gemeentecodes' in {config}: is read by adapters.istandaarden, "
        "which is not in adapters",
    ]
    config.write_text('[istandaarden]\ngemeentecodes = "/nowhere/g.csv"\nproductcodes = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, path=config, on_this_machine=True)
    assert str(caught.value).splitlines() == [
        f"istandaarden_gemeentecodes (key 'istandaarden.gemeentecodes' in {config}): "
        "/nowhere/g.csv does not exist",
        f"istandaarden_productcodes (key 'istandaarden.productcodes' in {config}): "
        "must be a string (in TOML: in quotes), not 3",
    ]


def test_an_unknown_environment_variable_is_a_warning_not_an_error() -> None:
    warnings: list[str] = []
    env = {
        "KETENPOORT_PREFETH": "7",
        "KETENPOORT_TEST_PG_URL": "postgresql://x",
        # what Kubernetes sets for the Service ketenpoort-api: not ours, not worth a word
        "KETENPOORT_API_SERVICE_HOST": "10.0.0.7",
        "KETENPOORT_API_SERVICE_PORT": "8080",
        "KETENPOORT_API_SERVICE_PORT_HTTP": "8080",
        "KETENPOORT_API_PORT": "tcp://10.0.0.7:8080",
        "KETENPOORT_API_PORT_8080_TCP": "tcp://10.0.0.7:8080",
        "KETENPOORT_API_PORT_8080_TCP_ADDR": "10.0.0.7",
    }
    settings = load_settings(env=env, warn=warnings.append)
    assert settings.prefetch == Settings.prefetch
    assert warnings == [
        "environment variable KETENPOORT_PREFETH is not a setting and is ignored; "
        "did you mean KETENPOORT_PREFETCH?",
        "environment variable KETENPOORT_TEST_PG_URL is not a setting and is ignored",
    ]


def test_a_setting_of_an_adapter_not_loaded_names_the_adapter(tmp_path: Path) -> None:
    warnings: list[str] = []
    settings = load_settings(env={"KETENPOORT_CORV_URL": "https://dka"}, warn=warnings.append)
    assert "corv" not in settings.sections
    assert warnings == [
        "environment variable KETENPOORT_CORV_URL is read by adapters.corv, which is not in "
        "adapters and is ignored"
    ]
    config = tmp_path / "k.toml"
    config.write_text('[corv]\nurl = "https://dka"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, path=config)
    assert str(caught.value) == (
        f"key 'corv.url' in {config}: is read by adapters.corv, which is not in adapters"
    )
    corv = {"KETENPOORT_ADAPTERS": "adapters.corv"}
    settings = load_settings(env=corv, path=config)
    assert settings.sections["corv"] == CorvSettings(url="https://dka")


# -- the file, and several problems at once -----------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text('prefetch = "lots"\nlog_format = "xml"\n')
    env = {"KETENPOORT_CONFIG": str(config), "KETENPOORT_HTTP_PORT": "0"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env)
    assert str(caught.value).splitlines() == [
        f"prefetch (key 'prefetch' in {config}): must be a whole number, not 'lots'",
        "http_port (environment variable KETENPOORT_HTTP_PORT): must be at least 1, not 0",
        f"log_format (key 'log_format' in {config}): must be one of 'console', 'json', not 'xml'",
    ]


def test_a_file_that_cannot_be_read_or_is_not_toml(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"cannot read config file /nonexistent/k\.toml: No such file"
    ):
        load_settings(env={"KETENPOORT_CONFIG": "/nonexistent/k.toml"})
    with pytest.raises(ConfigError, match=f"cannot read config file {tmp_path}: Is a directory"):
        load_settings(env={}, path=tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text("prefetch = = 3")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*\(at line 1, column 12\)"):
        load_settings(env={}, path=config)


def test_a_folder_this_process_may_not_write_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as root every folder is writable; os.access is what the check asks
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"KETENPOORT_VAR_DIR": str(tmp_path)}, on_this_machine=True)
    assert str(caught.value) == (
        f"var_dir (environment variable KETENPOORT_VAR_DIR): this process may not write in "
        f"{tmp_path}"
    )
    with pytest.raises(
        ConfigError, match=f"cannot be made: this process may not write in {tmp_path}"
    ):
        load_settings(env={"KETENPOORT_VAR_DIR": str(tmp_path / "v")}, on_this_machine=True)


# -- copies made in code ------------------------------------------------------------------------


def test_a_copy_made_in_code_is_checked_as_a_load_is_and_repeats_no_secret() -> None:
    settings = load_settings(env={})
    changed = replace(
        settings, adapters=("adapters.istandaarden", "adapters.cak"), cak_trigger="", prefetch=7
    )
    assert CakSettings.of(changed).trigger == "" and changed.prefetch == 7
    assert CakSettings.of(settings).trigger == "toewijzing"  # not loaded: its defaults
    with pytest.raises(pydantic.ValidationError) as caught:
        replace(settings, ggk_url="ftp://ebms:s3cret@adapter/")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(pydantic.ValidationError, match="must be set when counterpart_transport"):
        replace(settings, counterpart_transport="ggk")
    with pytest.raises(pydantic.ValidationError, match="greater than or equal to 1"):
        dataclasses.replace(settings, prefetch=0)
    with pytest.raises(TypeError, match="not settings here: cak_trigger"):
        replace(settings, cak_trigger="levering")  # adapters.cak is not loaded
