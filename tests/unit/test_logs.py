import json

import pytest
import structlog

from gateway.logs import (
    configure_logging,
    get_logger,
    message_context,
    passes_elfproef,
    redact_personal_data,
)


@pytest.mark.parametrize(
    ("bsn", "ok"),
    [
        ("123456782", True),
        ("999990019", True),
        ("123456789", False),
        ("000000000", False),
        ("12345678", False),
        ("12345678a", False),
    ],
)
def test_elfproef(bsn: str, ok: bool) -> None:
    assert passes_elfproef(bsn) is ok


def test_personal_keys_are_redacted_and_bsns_masked_anywhere() -> None:
    event = {
        "event": "x",
        "bsn": "123456782",
        "client_naam": "Jansen",
        "adres": "Straat 1",
        "reason": "lookup of 123456782 failed; order 123456789 ok",
        "message_id": "m-1",
    }
    out = redact_personal_data(None, "info", dict(event))
    assert out["bsn"] == "[redacted]"
    assert out["client_naam"] == "[redacted]"
    assert out["adres"] == "[redacted]"
    assert "123456782" not in out["reason"]
    assert "123456789" in out["reason"]  # not a BSN: kept
    assert out["message_id"] == "m-1"


def test_json_lines_carry_message_fields_and_never_a_bsn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "info")
    log = get_logger("t")
    with message_context("m-42", "inbound.iwmo.WMO301", "c-7"):
        log.info("message.received", detail="client 999990019 arrived")
    log.info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    inside, outside = lines[-2], lines[-1]
    assert inside["message_id"] == "m-42"
    assert inside["route"] == "inbound.iwmo.WMO301"
    assert inside["correlation_id"] == "c-7"
    assert "999990019" not in json.dumps(inside)
    assert outside["message_id"] is None and outside["route"] is None
    structlog.contextvars.clear_contextvars()
    configure_logging("console", "info")
