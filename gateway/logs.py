"""structlog, configured once: JSON lines in production, a readable console in development.

Every line carries ``message_id``, ``route`` and ``correlation_id`` (bound per message with
:func:`message_context`). Personal data never reaches a line: keys that name it are redacted and
any nine-digit number that passes the 11-proef (a BSN) is masked, whatever key it hides under.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

MESSAGE_FIELDS = ("message_id", "route", "correlation_id")

# Key fragments that name personal data. Matching is on lower-cased key names.
PERSONAL_KEYS = (
    "bsn",
    "naam",
    "name",
    "adres",
    "address",
    "geboortedatum",
    "birth",
    "postcode",
    "telefoon",
    "phone",
    "email",
    "payload",
    "body",
)
REDACTED = "[redacted]"
_NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")


def passes_elfproef(digits: str) -> bool:
    """The BSN 11-proef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11 (and not all zero)."""
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit() or digits == "000000000":
        return False
    d = [c - 48 for c in digits.encode()]  # written out: this runs for every BSN in every message
    total = 9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7]
    return (total - d[8]) % 11 == 0


def mask_bsns(text: str) -> str:
    """``text`` with every nine-digit number that passes the 11-proef (a BSN) masked."""
    return _NINE_DIGITS.sub(
        lambda m: "*********" if passes_elfproef(m.group()) else m.group(), text
    )


def redact_personal_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no BSN, name, address or payload in any log line."""
    for key in list(event):
        lowered = key.lower()
        if any(fragment in lowered for fragment in PERSONAL_KEYS):
            event[key] = REDACTED
        elif isinstance(event[key], str):
            event[key] = mask_bsns(event[key])
    return event


def ensure_message_fields(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: message id, route and correlation id on every line (None if unknown)."""
    for name in MESSAGE_FIELDS:
        event.setdefault(name, None)
    return event


_configured = False


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment (test capture, redirection)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(log_format: str = "console", level: str = "info") -> None:
    """Configure structlog for the whole process. Safe to call more than once."""
    global _configured
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            ensure_message_fields,
            structlog.processors.format_exc_info,
            redact_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configured = True


@contextmanager
def message_context(
    message_id: str | None, route: str | None = None, correlation_id: str | None = None
) -> Iterator[None]:
    """Bind a message's ids to every line logged inside the block (thread- and task-local)."""
    tokens = structlog.contextvars.bind_contextvars(
        message_id=message_id, route=route, correlation_id=correlation_id
    )
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str) -> Any:
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)
