from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings


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


def test_environment_lists_and_unknown_keys_kept_aside(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    config.write_text('[svb]\nurl = "https://svb.example"\n')
    settings = load_settings(
        env={"KETENPOORT_ADAPTERS": "a.b, c.d", "KETENPOORT_NOT_A_SETTING": "x"}, path=config
    )
    assert settings.adapters == ("a.b", "c.d")
    assert settings.extra == {"svb_url": "https://svb.example"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KETENPOORT_PREFETCH": "many"}, "prefetch"),
        ({"KETENPOORT_LOG_FORMAT": "xml"}, "log_format"),
        ({"KETENPOORT_CONFIG": "/nonexistent/k.toml"}, "cannot read"),
    ],
)
def test_bad_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prefetch = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={}, path=config)
