"""Our XSDs as checks inside adapters (an envelope we build, one we receive): compiled once
per thread (an lxml schema keeps its error log on the object), errors without values."""

from __future__ import annotations

import threading

from lxml import etree

from gateway.xmlsafe import parse_schema, safe_schema_error


class SchemaCheck:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _schema(self) -> etree.XMLSchema:
        schema: etree.XMLSchema | None = getattr(self._local, "schema", None)
        if schema is None:
            schema = self._local.schema = parse_schema(self.path)
        return schema

    def errors(self, doc: etree._ElementTree | etree._Element) -> list[str]:
        """Readable schema errors (empty: valid)."""
        schema = self._schema()
        if schema.validate(doc):
            return []
        return [safe_schema_error(e) for e in schema.error_log]
