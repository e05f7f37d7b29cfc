"""External sources the externe-bron rules need (controleniveau 4), read from CSV files.

- TR378 (S300): CBS gemeentecodes, setting ``istandaarden.gemeentecodes``, columns
  ``code,naam,begindatum,einddatum``;
- TR381 (S329): productcodelijst, setting ``istandaarden.productcodes``, columns
  ``standaard,categorie,code,begindatum,einddatum``;
- TR418 (0611): contracttarieven, setting ``istandaarden.tarieven``, columns
  ``aanbieder,gemeente,standaard,productcode,eenheid,tarief,begindatum,einddatum``.

Dates are ``YYYY-MM-DD``; an empty ``einddatum`` means "still valid". The CBS list keeps the
codes of municipalities that ceased to exist (gemeentelijke herindeling) with their einddatum, so
TR378 can accept an old code on an Ingangsdatum before the herindeling (new in 3.2). Tariffs are
euro-cents per Eenheid.

The settings name the files (``[istandaarden]`` table in the TOML config, or
``KETENPOORT_CONFIG``); a source that is not configured switches its rule off, and
:attr:`RefData.missing` says which, so operations can see it. Keeping them current is an
operational task: CBS publishes the gemeentecodes list each year (and on every herindeling), the
productcodelijst comes with the landelijke/regionale afspraken, tariffs with the contracts; the
files are re-read when the gateway starts.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import ConfigError


def _date(text: str) -> dt.date | None:
    text = (text or "").strip()
    return dt.date.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Validity:
    begin: dt.date | None
    end: dt.date | None

    def on(self, day: dt.date) -> bool:
        return (self.begin is None or self.begin <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class RefData:
    gemeenten: Mapping[str, tuple[Validity, ...]] | None = None
    productcodes: Mapping[tuple[str, str, str], tuple[Validity, ...]] | None = None
    # (aanbieder, gemeente, standaard, productcode, eenheid) -> ((validity, tarief), ...)
    tarieven: Mapping[tuple[str, str, str, str, str], tuple[tuple[Validity, int], ...]] | None = (
        None
    )
    missing: tuple[str, ...] = field(default=())

    def gemeente_valid(self, code: str, day: dt.date) -> bool | None:
        """Whether ``code`` is a CBS gemeentecode valid on ``day``; None without the list."""
        if self.gemeenten is None:
            return None
        return any(v.on(day) for v in self.gemeenten.get(code, ()))

    def productcode_valid(
        self, standard: str, categorie: str, code: str, day: dt.date
    ) -> bool | None:
        if self.productcodes is None:
            return None
        return any(v.on(day) for v in self.productcodes.get((standard, categorie, code), ()))

    def tarief(
        self, aanbieder: str, gemeente: str, standard: str, code: str, eenheid: str, day: dt.date
    ) -> int | None:
        """The contract tariff on ``day``; None without a contract (or without the file)."""
        if self.tarieven is None:
            return None
        for validity, tarief in self.tarieven.get(
            (aanbieder, gemeente, standard, code, eenheid), ()
        ):
            if validity.on(day):
                return tarief
        return None


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        absent = set(columns) - set(reader.fieldnames or ())
        if absent:
            raise ValueError(f"{path.name}: missing columns {sorted(absent)}")
        return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


@contextmanager
def _reading(name: str, path: str | Path) -> Iterator[Path]:
    """A file that cannot be read, or is not of its form, is a :class:`ConfigError` naming the
    setting ``istandaarden.<name>`` and the file (the gateway does not start without it)."""
    try:
        yield Path(path)
    except (OSError, ValueError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"istandaarden.{name} ({path}): {reason}") from None


def load_refdata(
    gemeentecodes: str | Path | None = None,
    productcodes: str | Path | None = None,
    tarieven: str | Path | None = None,
) -> RefData:
    missing = []
    gemeenten: dict[str, tuple[Validity, ...]] | None = None
    if gemeentecodes:
        gemeenten = {}
        with _reading("gemeentecodes", gemeentecodes) as path:
            for row in _rows(path, ("code", "begindatum", "einddatum")):
                validity = Validity(_date(row["begindatum"]), _date(row["einddatum"]))
                gemeenten[row["code"]] = (*gemeenten.get(row["code"], ()), validity)
    else:
        missing.append("TR378")
    codes: dict[tuple[str, str, str], tuple[Validity, ...]] | None = None
    if productcodes:
        codes = {}
        with _reading("productcodes", productcodes) as path:
            for row in _rows(path, ("standaard", "categorie", "code", "begindatum", "einddatum")):
                key = (row["standaard"], row["categorie"], row["code"])
                codes[key] = (
                    *codes.get(key, ()),
                    Validity(_date(row["begindatum"]), _date(row["einddatum"])),
                )
    else:
        missing.append("TR381")
    tariffs: dict[tuple[str, str, str, str, str], tuple[tuple[Validity, int], ...]] | None = None
    if tarieven:
        tariffs = {}
        columns = ("aanbieder", "gemeente", "standaard", "productcode", "eenheid", "tarief")
        with _reading("tarieven", tarieven) as path:
            for row in _rows(path, (*columns, "begindatum", "einddatum")):
                key5 = (
                    row["aanbieder"],
                    row["gemeente"],
                    row["standaard"],
                    row["productcode"],
                    row["eenheid"],
                )
                entry = (
                    Validity(_date(row["begindatum"]), _date(row["einddatum"])),
                    int(row["tarief"]),
                )
                tariffs[key5] = (*tariffs.get(key5, ()), entry)
    else:
        missing.append("TR418")
    return RefData(gemeenten, codes, tariffs, tuple(missing))
