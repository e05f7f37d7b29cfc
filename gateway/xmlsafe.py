"""Parse hostile XML safely: no DTDs, no entities, no network, bounded size.

Every XML the gateway reads from outside goes through :func:`parse`. A document type
declaration is refused outright (it is never needed for the standards we speak and it is the
door for entity expansion and external fetches).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree


class XmlRejected(ValueError):
    """The bytes are not XML we accept; the text says why, without quoting personal data."""


def _parser(huge: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=False,
        remove_pis=False,
        huge_tree=huge,
    )


_PARSER = _parser()
_HUGE_PARSER = _parser(huge=True)

# Above this lxml needs huge_tree for single text nodes; our limit is checked first anyway.
_HUGE_THRESHOLD = 10 * 1024 * 1024


def parse(data: bytes, max_bytes: int) -> etree._ElementTree:
    """Parse ``data`` into a tree, refusing oversize input, DTDs and anything not well-formed."""
    if len(data) > max_bytes:
        raise XmlRejected(f"message is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise XmlRejected("message is empty")
    parser = _HUGE_PARSER if len(data) > _HUGE_THRESHOLD else _PARSER
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise XmlRejected("a DOCTYPE declaration is not allowed")
    return tree


# libxml2 does not compile schemas safely in two threads at once: its built-in types are set up
# lazily and shared, and two first compilations at the same moment crash the process or fail
# with "xmlSchemaPValAttrNodeValue, the given type is not a built-in type". Compiling is
# start-up work (each thread keeps what it compiled), so one at a time costs nothing that counts.
_COMPILING = threading.Lock()


def parse_schema(path: str) -> etree.XMLSchema:
    """Compile an XSD from our own package data (imports resolved relative to the file)."""
    with _COMPILING:
        doc = etree.parse(path, _parser())
        return etree.XMLSchema(doc)


class SchemaInvalid(ValueError):
    """The document does not follow its XSD; ``errors`` are safe to show (no values)."""

    def __init__(self, errors: tuple[str, ...]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


_ITER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": True,
}


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise XmlRejected(f"message is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise XmlRejected("message is empty")


def peek_root(data: bytes, max_bytes: int) -> etree._Element:
    """The root element (without its content) of ``data``, read from the first bytes only.

    Enough to identify a document by its root's name and namespace before deciding how to
    read the rest; the same refusals as :func:`parse` for size and DOCTYPE.
    """
    _check_size(data, max_bytes)
    events = etree.iterparse(io.BytesIO(data), events=("start",), **_ITER_OPTIONS)
    try:
        for _, element in events:
            if element.getroottree().docinfo.doctype:
                raise XmlRejected("a DOCTYPE declaration is not allowed")
            return element
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from None
    raise XmlRejected("message has no root element")


def _refuse_doctype(element: etree._Element) -> None:
    if element.getroottree().docinfo.doctype:
        raise XmlRejected("a DOCTYPE declaration is not allowed")


class RecordStream:
    """Read a large document record by record in flat memory (lxml ``iterparse``).

    Iterating yields every complete ``record_tag`` element; once the consumer moves on, the
    record is cleared and dropped from the tree, so at most one record is in memory. With
    ``schema`` the XSD is attached to the parser and the document is validated while it is
    read (libxml2 streams the validation; no tree is needed for it): a violation raises
    :class:`SchemaInvalid` with safe texts, a syntax error :class:`XmlRejected`. After the
    iteration :attr:`skeleton` is the document without its records (header and the rest).
    """

    def __init__(
        self,
        data: bytes,
        max_bytes: int,
        record_tag: str,
        schema: etree.XMLSchema | None = None,
        safe_error: Callable[[Any], str] = lambda entry: str(entry.message),
    ) -> None:
        _check_size(data, max_bytes)
        self.data = data
        self.record_tag = record_tag
        self.schema = schema
        self.safe_error = safe_error
        self.skeleton: etree._ElementTree | None = None
        self.count = 0

    def __iter__(self) -> Iterator[etree._Element]:
        options = dict(_ITER_OPTIONS)
        if self.schema is not None:
            options["schema"] = self.schema
            # A compiled schema keeps the errors of earlier runs (its validation context is
            # reused by the parser); start this document with an empty log.
            self.schema._clear_error_log()
        # Only the records' ends reach Python (lxml filters the events in C): one event per
        # record instead of two per element, about half the streaming time of a declaratie.
        events = etree.iterparse(
            io.BytesIO(self.data), events=("end",), tag=self.record_tag, **options
        )
        etree.clear_error_log()  # the log is per thread; start this document with a clean one
        try:
            for _, element in events:
                if self.count == 0:  # a DOCTYPE comes before the root: known by the first record
                    _refuse_doctype(element)
                self.count += 1
                # Drop the records handed over before (cleared already): one at a time.
                previous = element.getprevious()
                while previous is not None and previous.tag == self.record_tag:
                    element.getparent().remove(previous)
                    previous = element.getprevious()
                yield element
                element.clear(keep_tail=False)
        except etree.XMLSyntaxError as exc:
            schema_errors = [e for e in exc.error_log if e.domain_name in ("SCHEMASV", "SCHEMASP")]
            if schema_errors:
                raise SchemaInvalid(tuple(self.safe_error(e) for e in schema_errors)) from None
            raise XmlRejected(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from None
        root = events.root
        if root is None:
            raise XmlRejected("message has no root element")
        _refuse_doctype(root)
        self.skeleton = root.getroottree()


def parse_skeleton(data: bytes, max_bytes: int, record_tag: str) -> etree._ElementTree:
    """A large document without its records (e.g. only the header), in flat memory."""
    stream = RecordStream(data, max_bytes, record_tag)
    for _ in stream:
        pass
    assert stream.skeleton is not None
    return stream.skeleton


# -- schema error texts that quote no value ---------------------------------------------------

_NAMESPACE = re.compile(r"\{[^}]*\}")
# A value is quoted as it is, apostrophes and all: what is cut out runs up to the (last) text
# libxml2 puts after it, not to the next apostrophe.
_VALUE = re.compile(
    r"The value '.*'(?= (?:is not accepted by the pattern|is not an element of the set|has a "
    r"length of|is (?:less|greater) than|has more (?:fractional )?digits|is not a valid))",
    re.DOTALL,
)
_ATOMIC = re.compile(r"(?<=: )'.*' is not a valid value", re.DOTALL)
_ELEMENT = re.compile(r"Element '[^']*'(?:, attribute '[^']*')?: (?:\[facet '\w+'\] )?")
_LONGEST = 1000  # libxml2's own texts are shorter; a longer one quotes a value
_KEYS = re.compile(r"key-sequence \[.*\](?= in )", re.DOTALL)
_PREFIX = re.compile(r"/[A-Za-z0-9_]+:")


def safe_schema_error(entry: etree._LogEntry) -> str:
    """``line 12: /Bericht/Client/Bsn: [facet 'pattern'] The value is not accepted ...``."""
    message = _NAMESPACE.sub("", entry.message)
    message = _VALUE.sub("The value", message)
    message = _ATOMIC.sub("The value is not a valid value", message)
    message = _KEYS.sub("key-sequence", message)
    if "The value '" in message or len(message) > _LONGEST:  # libxml2 cut it short: keep only
        known = _ELEMENT.match(message)  # what names the element (a name holds no apostrophe)
        message = (known.group(0) if known else "") + "the value is not valid (not shown)"
    path = _PREFIX.sub("/", entry.path or "")
    if not entry.line and not path:  # validated while streaming: libxml2 gives neither
        return message
    return f"line {entry.line}: {path}: {message}"
