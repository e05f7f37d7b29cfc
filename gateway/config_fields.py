"""Kinds of setting values, declared on the fields of a settings model (``Annotated[...]``).

Each kind is a pydantic validator whose error text is the one line a person reads
(``must be a URL starting with https://``); ``gateway.config`` puts the setting's name and the
source of its value in front. A value that may hold a password or key is marked :data:`SECRET`
and never repeated. Checks of what a value names on this machine (a folder to write in, a file to
read) run only when loading with ``on_this_machine`` (:func:`here`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

Check = Callable[[Any], str | None]


class Secret:
    """Marks a field whose value is never quoted in a message (a key, a URL with a password)."""


SECRET = Secret()


class OnThisMachine(ValueError):
    """What a value names on this machine is not usable; the text names the path itself."""


class Needs(ValueError):
    """A cross-field check: ``field`` (of the same model) must change; ``text`` says why."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field = field
        self.text = text


def check(test: Check) -> AfterValidator:
    """A validator from a function telling what is wrong with a value (None: nothing)."""

    def validate(value: Any) -> Any:
        problem = test(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def here(test: Check) -> AfterValidator:
    """A check of what the value names on this machine; runs only when asked for."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("on_this_machine"):
            problem = test(value)
            if problem:
                raise OnThisMachine(problem)
        return value

    return AfterValidator(validate)


def _split(value: Any) -> Any:
    """A list from the environment: text separated by commas."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return value


# -- checks: each returns what is wrong with a value, or None ----------------------------------


def required(value: Any) -> str | None:
    return None if value else "must be set"


def not_empty_list(values: tuple[str, ...]) -> str | None:
    return None if values else "must name at least one"


def one_of(*choices: str, fold: bool = False) -> Check:
    def test(value: str) -> str | None:
        if (value.lower() if fold else value) in choices:
            return None
        return "must be one of " + ", ".join(repr(c) for c in choices)

    return test


def matching(pattern: str, what: str) -> Check:
    """An optional text (empty: not set) of this shape."""
    compiled = re.compile(pattern)
    return lambda value: None if not value or compiled.fullmatch(value) else f"must be {what}"


def each(test: Check) -> Check:
    """For a list: the first element ``test`` finds wrong (list settings hold no secrets)."""

    def test_each(values: tuple[str, ...]) -> str | None:
        for value in values:
            problem = test(value)
            if problem:
                return f"{value!r} {problem}"
        return None

    return test_each


def url(*schemes: str, host: bool = True) -> Check:
    """An optional URL (empty: not set). Its value is never quoted: it may hold a password."""

    def test(value: str) -> str | None:
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

    return test


def urls(*schemes: str) -> Check:
    """One URL, or several separated by commas (the nodes of a cluster), each as :func:`url`."""
    one = url(*schemes)

    def test(value: str) -> str | None:
        for part in value.split(","):
            problem = one(part.strip()) if part.strip() else "must not hold an empty URL"
            if problem:
                return problem + (" (each of the comma-separated URLs)" if "," in value else "")
        return None

    return test


_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")  # a PostgreSQL schema the ledger accepts


def ledger_url(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("sqlite:///"):
        return None if value.removeprefix("sqlite:///") else "names no file after sqlite:///"
    if value.startswith(("postgresql://", "postgres://")):
        problem = url("postgresql", "postgres", host=False)(value)
        schema = dict(parse_qsl(urlsplit(value).query)).get("schema", "public")
        if not problem and not _SCHEMA.match(schema):
            problem = "must name a plain lower-case schema (?schema=name)"
        return problem
    return "must be sqlite:///<file> or postgresql://<user>@<host>/<database>[?schema=<name>]"


def duration(value: str) -> str | None:
    from gateway.bus.topology import duration_seconds

    try:
        return None if duration_seconds(value) > 0 else "is no wait (use e.g. 10s, 1m, 1h)"
    except ValueError:
        return "is not a duration like 500ms, 10s, 1m or 1h"


def host(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    label = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
    if re.fullmatch(rf"{label}(\.{label})*", value):
        return None
    return "must be a host name or an IP address"


def is_loopback(name: str) -> bool:
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def network(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
        return None
    except ValueError:
        return "is not an IP address or network (e.g. 10.0.0.0/8)"


def iso_date(value: str) -> str | None:
    try:
        dt.date.fromisoformat(value)
        return None
    except ValueError:
        return "is not a date YYYY-MM-DD"


def parsed_by(parse: Callable[[Any], object], problem: str | None = None) -> Check:
    """Whatever ``parse`` refuses (``ValueError``): ``problem``, or the parser's own text."""

    def test(value: Any) -> str | None:
        try:
            parse(value)
            return None
        except ValueError as exc:
            return problem or str(exc)

    return test


# -- checks on this machine ----------------------------------------------------------------------


def _nearest(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder(path: Path) -> str | None:
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


def writable_file(path: Path) -> str | None:
    """A file this process may write, or one it can make."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"this process may not write {path}"
    return folder(path.parent)


def readable_file(text: str) -> str | None:
    """An optional file (empty: none) this process may read."""
    if not text:
        return None
    path = Path(text)
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_file():
        return f"{path} is not a file"
    return None if os.access(path, os.R_OK) else f"this process may not read {path}"


# -- the kinds -----------------------------------------------------------------------------------

Names = Annotated[tuple[str, ...], BeforeValidator(_split)]
"""A list: in TOML a list of strings, in the environment text separated by commas."""

Required = Annotated[str, check(required)]
HttpUrl = Annotated[str, SECRET, check(url("http", "https"))]
HttpsUrl = Annotated[str, SECRET, check(url("https"))]
ReadableFile = Annotated[str, here(readable_file)]


def _refusing(refused: Callable[[Any], bool], text: str) -> BeforeValidator:
    """Values keep their type: a TOML ``true`` is no number, ``8080.0`` no port, 1 no flag."""

    def refuse(value: Any) -> Any:
        if refused(value):
            raise ValueError(text)
        return value

    return BeforeValidator(refuse)


Whole = Annotated[int, _refusing(lambda v: isinstance(v, bool | float), "must be a whole number")]
Number = Annotated[float, _refusing(lambda v: isinstance(v, bool), "must be a number")]
Flag = Annotated[
    bool,
    _refusing(
        lambda v: isinstance(v, int | float) and not isinstance(v, bool), "must be true or false"
    ),
]
AtLeast0 = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Count = Annotated[Whole, Field(ge=1)]
