"""Types for the ``ketenpoort`` command's arguments: a wrong argument is a usage error from
argparse (one line, exit 2) before settings are read or anything is started."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
from pathlib import Path

from gateway.ledger import time_bound


def _error(text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(text)


def _whole(text: str, low: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise _error(f"expected a whole number, got {text!r}") from None
    if number < low:
        raise _error(f"must be at least {low}, got {number}")
    return number


def positive_int(text: str) -> int:
    return _whole(text, 1)


def non_negative_int(text: str) -> int:
    return _whole(text, 0)


def positive_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise _error(f"expected a number, got {text!r}") from None
    if not number > 0 or number == float("inf"):
        raise _error(f"must be more than 0, got {text}")
    return number


def moment(text: str) -> str:
    """A time bound (``--since``, ``--until``) in the ledger's form."""
    try:
        return time_bound(text)
    except ValueError as exc:
        raise _error(f"{exc}, got {text!r}") from None


def name_value(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (a business key). The value is not repeated: it may be personal data."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise _error("expected NAME=VALUE, e.g. ToewijzingNummer=5001")
    return name, value


def existing_file(text: str) -> str:
    if not Path(text).is_file():
        raise _error(f"{text}: {'is not a file' if Path(text).exists() else 'no such file'}")
    if not os.access(text, os.R_OK):
        raise _error(f"{text}: this process may not read it")
    return text


def file_or_stdin(text: str) -> str:
    return text if text == "-" else existing_file(text)


def existing_path(text: str) -> str:
    """A file or a folder to read."""
    if not Path(text).exists():
        raise _error(f"{text}: no such file or folder")
    return text


def existing_folder(text: str) -> str:
    if not Path(text).is_dir():
        raise _error(f"{text}: no such folder")
    return text


def new_file(text: str) -> str:
    """A file to write: not a folder, in a folder that is there."""
    path = Path(text)
    if path.is_dir():
        raise _error(f"{text}: is a folder")
    if not path.parent.is_dir():
        raise _error(f"{text}: no folder {path.parent}")
    return text


def public_key(text: str) -> str:
    """An Ed25519 public key, base64 of 32 bytes (``ledger checkpoint --public-key``)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise _error("expected an Ed25519 public key: base64 of 32 bytes")
    return text
