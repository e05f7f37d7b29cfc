"""Validate: XSD with lxml (each schema compiled once), then the adapter's rules.

Schema error texts are made safe to show and to record: namespaces are shortened and the
offending values are left out (a value can be a BSN or a name).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from gateway.adapter import Description, Finding, Standard, State
from gateway.envelope import MessageType
from gateway.gcquiet import while_streaming
from gateway.xmlsafe import RecordStream, SchemaInvalid, parse_schema, safe_schema_error


@dataclass(frozen=True)
class Verdict:
    schema_errors: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def schema_valid(self) -> bool:
        return not self.schema_errors

    @property
    def accepted(self) -> bool:
        return not self.schema_errors and not self.findings


class SchemaCache:
    """Compiled XSDs per message type, compiled once per thread.

    An lxml ``XMLSchema`` keeps the error log of its last run on the object, so threads do not
    share one: each thread compiles a type the first time it meets it and keeps it.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, adapter: Standard, message_type: MessageType) -> etree.XMLSchema:
        schemas: dict[MessageType, etree.XMLSchema] | None = getattr(self._local, "schemas", None)
        if schemas is None:
            schemas = self._local.schemas = {}
        schema = schemas.get(message_type)
        if schema is None:
            schema = schemas[message_type] = parse_schema(str(adapter.schema_path(message_type)))
        return schema


_ERROR_PATH = re.compile(r"line \d+: /[^/:\s]+((?:/[^/:\s]+)+): ")
_EXPECTED = re.compile(r"Missing child element\(s\)\. Expected is (?:one of )?\( ([^)]*) \)")


def name_sources(errors: tuple[str, ...], source: Callable[[str], str | None]) -> tuple[str, ...]:
    """Schema errors of a message made from back-office JSON, each naming the JSON field its
    element was filled from: ``line 7: /Bericht/Header/Afzender (JSON gemeente): ...``.
    ``source`` answers for an element path below the root (``Header/Afzender``), or None."""
    named = []
    for error in errors:
        match = _ERROR_PATH.match(error)
        if match:
            path = match.group(1).lstrip("/")
            fields = [source(path)]
            expected = _EXPECTED.search(error)  # a missing child: the JSON field(s) to fill
            if fields[0] is None and expected:
                fields = [source(f"{path}/{name.strip()}") for name in expected[1].split(",")]
            known = " or ".join(f for f in fields if f)
            if known:
                error = f"{error[: match.end(1)]} (JSON {known}){error[match.end(1) :]}"
        named.append(error)
    return tuple(named)


def validate(
    doc: etree._ElementTree,
    message_type: MessageType,
    adapter: Standard,
    schemas: SchemaCache,
    state: State,
) -> Verdict:
    """XSD first; the rules run only on a schema-valid document."""
    errors = validate_schema(doc, message_type, adapter, schemas)
    if errors:
        return Verdict(schema_errors=errors)
    return Verdict(findings=tuple(adapter.check(doc, message_type, state)))


def validate_schema(
    doc: etree._ElementTree, message_type: MessageType, adapter: Standard, schemas: SchemaCache
) -> tuple[str, ...]:
    """The XSD alone: its errors, safe to show; empty when the document is valid."""
    schema = schemas.get(adapter, message_type)
    if schema.validate(doc):
        return ()
    return tuple(safe_schema_error(e) for e in schema.error_log)


def validate_stream(
    data: bytes,
    message_type: MessageType,
    adapter: Standard,
    schemas: SchemaCache,
    state: State,
    max_bytes: int,
    record_tag: str,
) -> tuple[Verdict, Description | None]:
    """The same verdict as :func:`validate`, reading record by record in flat memory.

    The XSD is attached to the parser, so the document is validated while it is read; the
    adapter's sink checks each record as it completes. A schema violation anywhere discards
    the rules' findings: the verdict is the schema errors, as on the whole-document path.
    Raises :class:`gateway.xmlsafe.XmlRejected` when the bytes are not well-formed. A rule that
    raises on a record is raised only after the rest is read: a document the XSD refuses
    further on gets its schema verdict, as on the whole-document path (which runs no rule then).
    """
    schema = schemas.get(adapter, message_type)
    sink = adapter.stream(message_type, state)
    stream = RecordStream(data, max_bytes, record_tag, schema, safe_error=safe_schema_error)
    failed: Exception | None = None
    try:
        with while_streaming():
            for element in stream:
                if failed is None:
                    try:
                        sink.record(element)
                    except Exception as exc:  # raised once the schema verdict is known
                        failed = exc
    except SchemaInvalid as exc:
        return Verdict(schema_errors=exc.errors), None
    if failed is not None:
        raise failed
    assert stream.skeleton is not None
    findings, description = sink.finish(stream.skeleton)
    return Verdict(findings=tuple(findings)), description
