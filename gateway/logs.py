"""structlog, configured once: JSON lines in production, a readable console in development.

Every line carries ``message_id``, ``route`` and ``correlation_id`` (bound per message with
:func:`message_context`). Personal data never reaches a line: keys that name it are redacted and
any nine-digit number that passes the 11-proef (a BSN) is masked, whatever key it hides under.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
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


# The message a line is logged for (:func:`message_context`): one context variable holding the
# three fields, set and reset once per block (structlog's own keep one variable per field).
_MESSAGE: ContextVar[tuple[str | None, str | None, str | None]] = ContextVar(
    "ketenpoort_message", default=(None, None, None)
)


def ensure_message_fields(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: message id, route and correlation id on every line (those of the
    :func:`message_context` it is logged in; None if unknown); a field given to the call wins."""
    for name, value in zip(MESSAGE_FIELDS, _MESSAGE.get(), strict=True):
        event.setdefault(name, value)
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


def message_context(
    message_id: str | None, route: str | None = None, correlation_id: str | None = None
) -> MessageContext:
    """Bind a message's ids to every line logged inside the block (thread- and task-local)."""
    return MessageContext((message_id, route, correlation_id))


class MessageContext:
    """What :func:`message_context` gives: a class rather than a generator, as the worker and
    receive enter one per message and step."""

    __slots__ = ("_ids", "_token")

    def __init__(self, ids: tuple[str | None, str | None, str | None]) -> None:
        self._ids = ids

    def __enter__(self) -> None:
        self._token = _MESSAGE.set(self._ids)

    def __exit__(self, *_: object) -> None:
        _MESSAGE.reset(self._token)


def get_logger(name: str) -> Any:
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)
