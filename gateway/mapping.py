"""Declarative mappings: back-office JSON -> a message's canonical dict, described in TOML.

A mapping file (in ``mappings/``) looks like::

    [mapping]
    name = "toewijzing"          # what the back-office calls it
    message = "WMO301"           # what it becomes
    version = 1                  # version of the mapping (of the back-office format)

    [fields]                     # target path in the canonical dict = how to fill it
    "Client/Bsn" = { from = "client.bsn" }
    "Client/Geslacht" = { from = "client.geslacht", default = "0" }

    [lists."Client/ToegewezenProducten/ToegewezenProduct"]
    from = "producten"           # a JSON array; one target element per item
    [lists."Client/ToegewezenProducten/ToegewezenProduct".fields]
    "ToewijzingNummer" = { from = "toewijzingnummer", format = "int" }

A field spec has ``from`` (dotted JSON path), and optionally ``default`` (used when the source is
absent), ``const`` (always this value), ``optional = true`` (absent source: leave the target out),
``format`` (``str``, ``int``, ``date``, ``time``, ``cents``) and ``when`` (a JSON path: fill the
target only when that source is present, e.g. a default country code only with a phone number).
Without a default and not optional, an absent source is an error that names the JSON field.
Nested lists are ``lists`` tables inside a list's table. A group whose every field is optional and
absent is left out as a whole (parents are only made to hold a value).

A list of plain values (e.g. codes) has ``value = { format = "str" }`` instead of ``fields``: each
JSON item becomes one value. ``[mapping] extends = "other.toml"`` starts from another mapping file
in the same folder, deep-merged (this file's entries win). ``[mapping] finish = "name"`` names a
step the adapter runs on the result (values the standard computes, such as totals).
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.adapter import MappingError
from mappings import mapping_root

_MISSING = object()


@dataclass(frozen=True)
class FieldSpec:
    target: str
    source: str | None
    default: Any = _MISSING
    const: Any = _MISSING
    optional: bool = False
    format: str = "str"
    when: str | None = None


@dataclass(frozen=True)
class ListSpec:
    target: str
    source: str
    fields: tuple[FieldSpec, ...]
    lists: tuple[ListSpec, ...]
    optional: bool = False
    value: FieldSpec | None = None  # a list of plain values instead of objects


@dataclass(frozen=True)
class MappingSpec:
    name: str
    message: str
    version: int
    fields: tuple[FieldSpec, ...]
    lists: tuple[ListSpec, ...]
    description: str = ""
    finish: str = ""


def _fields(table: Mapping[str, Any], where: str) -> tuple[FieldSpec, ...]:
    specs = []
    for target, spec in table.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}: field {target} must be a table")
        unknown = set(spec) - {"from", "default", "const", "optional", "format", "when"}
        if unknown:
            raise ValueError(f"{where}: field {target} has unknown keys {sorted(unknown)}")
        if "from" not in spec and "const" not in spec and "default" not in spec:
            raise ValueError(f"{where}: field {target} needs from, const or default")
        fmt = spec.get("format", "str")
        if fmt not in _FORMATS:
            raise ValueError(f"{where}: field {target} has unknown format {fmt}")
        specs.append(
            FieldSpec(
                target=target,
                source=spec.get("from"),
                default=spec.get("default", _MISSING),
                const=spec.get("const", _MISSING),
                optional=bool(spec.get("optional", False)),
                format=fmt,
                when=spec.get("when"),
            )
        )
    return tuple(specs)


def _lists(table: Mapping[str, Any], where: str) -> tuple[ListSpec, ...]:
    out = []
    for target, spec in table.items():
        if "from" not in spec:
            raise ValueError(f"{where}: list {target} needs from")
        value = None
        if "value" in spec:
            value = _fields({".": {"from": ".", **spec["value"]}}, f"{where}/{target}")[0]
        out.append(
            ListSpec(
                target=target,
                source=spec["from"],
                fields=_fields(spec.get("fields", {}), f"{where}/{target}"),
                lists=_lists(spec.get("lists", {}), f"{where}/{target}"),
                optional=bool(spec.get("optional", False)),
                value=value,
            )
        )
    return tuple(out)


def _merge(base: dict[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in own.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read(path: Path, depth: int = 0) -> dict[str, Any]:
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    base = table.get("mapping", {}).get("extends")
    if base:
        if depth > 4 or "/" in base or "\\" in base:
            raise ValueError(f"{path.name}: extends must name a file in the same folder")
        parent = _read(path.parent / base, depth + 1)
        parent.get("mapping", {}).pop("extends", None)
        table = _merge(parent, table)
    return table


def load_mapping(path: Path) -> MappingSpec:
    """Read and check a mapping file (errors name the file and the entry)."""
    table = _read(path)
    head = table.get("mapping", {})
    for key in ("name", "message", "version"):
        if key not in head:
            raise ValueError(f"{path.name}: [mapping] needs {key}")
    return MappingSpec(
        name=head["name"],
        message=head["message"],
        version=int(head["version"]),
        description=head.get("description", ""),
        finish=head.get("finish", ""),
        fields=_fields(table.get("fields", {}), path.name),
        lists=_lists(table.get("lists", {}), path.name),
    )


def _lookup(data: Any, dotted: str) -> Any:
    if dotted == ".":
        return data
    value = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value or value[part] is None:
            return _MISSING
        value = value[part]
    return value


def _date(value: Any, field: str) -> str:
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise MappingError(field, "is not a date (YYYY-MM-DD)") from None


def _time(value: Any, field: str) -> str:
    try:
        return dt.time.fromisoformat(str(value)).replace(tzinfo=None).isoformat("seconds")
    except ValueError:
        raise MappingError(field, "is not a time (HH:MM:SS)") from None


def _int(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise MappingError(field, "is not a whole number")
    return str(int(value))


def _cents(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(field, "is not an amount in euro-cents (whole number)")
    return str(value)


def _str(value: Any, field: str) -> str:
    if isinstance(value, Mapping | list):
        raise MappingError(field, "expected a value, got a structure")
    if isinstance(value, bool):
        raise MappingError(field, "expected a value, got true/false")
    return str(value)


_FORMATS = {"str": _str, "int": _int, "date": _date, "time": _time, "cents": _cents}


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split("/")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _apply(
    fields: tuple[FieldSpec, ...],
    lists: tuple[ListSpec, ...],
    data: Any,
    out: dict[str, Any],
    where: str,
    context: Mapping[str, Any],
) -> None:
    for spec in fields:
        field_name = f"{where}{spec.source or spec.target}"
        if spec.when is not None and _lookup(data, spec.when) is _MISSING:
            continue
        if spec.const is not _MISSING:
            value = spec.const
        else:
            value = _lookup(data, spec.source) if spec.source else _MISSING
            if value is _MISSING:
                value = spec.default
        if isinstance(value, str) and value.startswith("@"):
            if value not in context:
                raise MappingError(field_name, "starts with @ but names no generated value")
            value = context[value]
        if value is _MISSING:
            if spec.optional:
                continue
            raise MappingError(field_name, "is required")
        _put(out, spec.target, _FORMATS[spec.format](value, field_name))
    for lst in lists:
        if lst.optional and _lookup(data, lst.source) is _MISSING:
            continue
        _put(out, lst.target, list(map_items(lst, data, context, where)))


def map_items(
    lst: ListSpec, data: Any, context: Mapping[str, Any], where: str = ""
) -> Iterator[Any]:
    """The target items of one list, one at a time (a large list need not be built whole)."""
    items = _lookup(data, lst.source)
    field_name = f"{where}{lst.source}"
    if items is _MISSING:
        raise MappingError(field_name, "is required (a list)")
    if not isinstance(items, list) or not items:
        raise MappingError(field_name, "expected a non-empty list")
    for index, item in enumerate(items):
        if lst.value is not None:
            yield _FORMATS[lst.value.format](item, f"{field_name}[{index}]")
            continue
        element: dict[str, Any] = {}
        _apply(lst.fields, lst.lists, item, element, f"{field_name}[{index}].", context)
        yield element


def apply_mapping(
    mapping: MappingSpec, data: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    """Fill a canonical dict from ``data``; ``context`` supplies ``@name`` generated values."""
    out: dict[str, Any] = {}
    _apply(mapping.fields, mapping.lists, data, out, "", context)
    return out


def source_field(mapping: MappingSpec, path: str) -> str | None:
    """The JSON field a message element was filled from, named as mapping errors name it.

    ``path`` is the element's path below the message's root, as a schema error gives it
    (``Client/ToegewezenProducten/ToegewezenProduct[2]/ToewijzingNummer``: ``[n]`` counts from 1,
    no ``[n]`` is the first); the answer is ``toewijzingen[1].toewijzingnummer``. None when the
    element is filled from no JSON field (a constant, a generated value, the adapter's header).
    """
    steps = [s for s in path.strip("/").split("/") if s]
    return _source(mapping.fields, mapping.lists, steps, "")


def _source(
    fields: tuple[FieldSpec, ...], lists: tuple[ListSpec, ...], steps: list[str], where: str
) -> str | None:
    names = [step.split("[", 1)[0] for step in steps]
    for spec in fields:
        if spec.source and spec.const is _MISSING and spec.target.split("/") == names:
            return f"{where}{spec.source}"
    for lst in lists:
        target = lst.target.split("/")
        if names[: len(target)] != target:
            continue
        last = steps[len(target) - 1]
        index = int(last[last.index("[") + 1 : -1]) - 1 if "[" in last else 0
        item = f"{where}{lst.source}[{index}]"
        rest = steps[len(target) :]
        if not rest:
            return item
        if lst.value is not None:
            return None
        return _source(lst.fields, lst.lists, rest, f"{item}.") or item
    return None


def shipped_mappings(folder: str, version: str) -> list[str]:
    """The mappings shipped in ``mappings/<folder>/<version>/`` (file names without .toml)."""
    files = (mapping_root() / folder / version).iterdir()
    return sorted(p.name.removesuffix(".toml") for p in files if p.name.endswith(".toml"))


@functools.cache
def named_mapping(folder: str, version: str, name: str) -> MappingSpec:
    """``mappings/<folder>/<version>/<name>.toml``, read once; unknown names are a MappingError."""
    known = shipped_mappings(folder, version)
    if name not in known:
        raise MappingError("(mapping)", f"unknown mapping {name!r}; known: {known}")
    return load_mapping(Path(str(mapping_root() / folder / version / f"{name}.toml")))
