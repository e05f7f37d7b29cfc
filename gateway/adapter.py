"""The one small interface through which a standard plugs into the core.

An adapter lives in ``adapters/<name>/`` as four parts (codec, rules, mapping, transport) and
exposes ``make_adapter(settings) -> Adapter`` at package level. The core calls the adapter at
fixed points of a message's path and never looks inside a message itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lxml import etree

from gateway.config import ConfigError
from gateway.envelope import Envelope, MessageType


class Unidentified(ValueError):
    """The bytes are not a message any adapter knows (or not a version it supports)."""


class MappingError(ValueError):
    """Back-office data could not be mapped; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Finding:
    """One rule that fired. ``code`` is the retourcode the standard ties to the rule."""

    rule: str  # e.g. "CS002", "TR056"
    code: str  # e.g. "0001", "9056"
    path: (
        str  # the message class it concerns, e.g. "Client/ToegewezenProducten/ToegewezenProduct[1]"
    )
    text: str  # readable, never personal data
    # Of a message mapped from back-office JSON: the JSON field or list item the class came
    # from (``toewijzingen[0]``), when the adapter can tell (``mapping_source``).
    source: str | None = None


@dataclass(frozen=True)
class Description:
    """What the core records and indexes about a message, told by its adapter."""

    sender: str
    receiver: str
    # Business keys to index, e.g. {"BerichtIdentificatie": ("1234@2023-08-13",),
    # "ToewijzingNummer": ("101", "102")}. Values are plain; the ledger decides what to hash.
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Personal identifiers (BSNs) of the message's subjects: the ledger stores only a keyed hash.
    subjects: Sequence[str] = ()
    # Whether the standard requires an answer (retourbericht) to this message.
    expects_answer: bool = False
    # For an answer: the business key of the message it answers ("BerichtIdentificatie" value).
    answers: str | None = None


@dataclass(frozen=True)
class Delivery:
    """Bytes ready for a transport: to a counterpart party code, or to ``backoffice``."""

    to: str
    body: bytes
    content_type: str
    name: str  # a file name or reference the transport may use


@dataclass(frozen=True)
class Answer:
    """The answer the standard requires for a received message (a retourbericht)."""

    body: bytes
    # The retourcodes it carries, each once: what the ledger records as sent (none for a
    # heenbericht fully approved, whose retour is a header without RetourCodes).
    codes: tuple[str, ...] = ()


class State(Protocol):
    """What rules needing earlier messages may ask (implemented by the ledger)."""

    def find(self, key: str, value: str) -> Sequence[Any]:
        """Entries indexed under a business key (``.message_id``, ``.event``, ``.code``...)."""
        ...

    def history(self, message_id: str) -> Sequence[Any]:
        """Every entry of one message, oldest first (to find the one carrying its payload)."""
        ...

    def payload(self, sha256: str) -> bytes | None:
        """The recorded bytes with this SHA-256 (an earlier message, to decode it)."""
        ...


@dataclass(frozen=True)
class Handover:
    """What a transport tells the ledger about a delivery it made.

    ``reference`` is what the counterpart calls the message (a file path, a GGk
    referentienummer, a VECOZO traceerId); ``detail`` goes into the ``delivered`` entry (envelope
    data, attempts); ``keys`` are indexed as business keys so that a later answer from the
    counterpart (a Du01 or Fo01 quoting the referentienummer) finds the message again.
    """

    reference: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)


class Transport(Protocol):
    """Delivers bytes somewhere outside the gateway. Raises on failure (retried by the bus)."""

    def deliver(self, envelope: Envelope, delivery: Delivery) -> str | Handover:
        """Deliver and return a reference (file path, remote id) or a :class:`Handover`."""
        ...


@dataclass(frozen=True)
class FollowUp:
    """A message an adapter derives from another one that passed the gateway (a deriver).

    ``name`` is unique among the follow-ups of one message and stable: the follow-up's message
    id is made from the parent's id and this name, so deriving twice sends once. A follow-up
    that several parents may derive (the CAK's one start per person) sets ``message_id``
    itself, so whichever parent derives it first sends it and the others find it recorded.
    """

    name: str
    body: bytes
    message_id: str | None = None


class RecordSink(Protocol):
    """Takes a streamed message's records one by one (see ``Adapter.stream``)."""

    def record(self, element: etree._Element) -> None:
        """One complete record element; it is cleared after this returns."""
        ...

    def finish(self, skeleton: etree._ElementTree) -> tuple[list[Finding], Description]:
        """The rules' findings and the description, given the document without its records."""
        ...


@runtime_checkable
class Adapter(Protocol):
    name: str
    # Standards this adapter speaks, e.g. ("iwmo", "ijw"); MessageType.standard is one of them.
    standards: tuple[str, ...]

    def owns(self, namespace: str) -> bool:
        """Whether documents whose root element is in ``namespace`` belong to this adapter."""
        ...

    def identify(self, root: etree._Element) -> MessageType:
        """Standard, message code and version of a document; raises :class:`Unidentified`.

        Decided from the root element's name (namespace and local name) alone: the registry
        remembers each answer per name."""
        ...

    def schema_path(self, message_type: MessageType) -> Path:
        """Our own XSD for the message type (compiled once by the core)."""
        ...

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        """The standard's rules, run after the XSD passed. Empty list: all is well."""
        ...

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description: ...

    def record_tag(self, message_type: MessageType) -> str | None:
        """For a message type read streaming when large: the Clark name of its repeating record
        element (e.g. a declaratie's ``Client``); None: always read whole."""
        ...

    def stream(self, message_type: MessageType, state: State) -> RecordSink:
        """A sink checking and describing a streamed message record by record."""
        ...

    def map_in(self, standard: str, mapping: str, data: Mapping[str, Any]) -> bytes:
        """Back-office JSON (parsed) to a ``standard`` message's XML; raises MappingError."""
        ...

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        """What to hand to a transport for an accepted message."""
        ...

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        """The retourbericht the standard requires for a received message, or None."""
        ...

    def transport(self, to: str) -> Transport:
        """The transport that reaches party ``to`` (``backoffice`` is the core's own)."""
        ...


# Optional adapter members (looked up with getattr; an adapter without them is complete):
#
# - ``derive(envelope, doc, state) -> Sequence[FollowUp]``: called by the worker after a valid
#   message was delivered; each follow-up enters ``receive`` as an outbound message of its own
#   with the delivered message as parent (the CAK adapter derives WMO405/407 from 301/305/307).
# - ``mappings() -> Sequence[str]``: the mapping names ``map_in`` takes for each of the adapter's
#   standards (``POST /v1/messages/outbound/{standard}/{mapping}`` documents and takes these).
# - ``mapping_source(standard, mapping, path) -> str | None``: the JSON field of that mapping that
#   filled the element at ``path`` (below the root); receive names it in a mapped message's
#   schema errors.
# - ``router(gateway) -> fastapi.APIRouter``: HTTP endpoints of the adapter (a counterpart's
#   receiving endpoint, e.g. ``POST /v1/ggk``), mounted by ``ingress/http.py``.
# - ``pollers(gateway) -> Sequence[tuple[str, Callable[[threading.Event], None]]]``: background
#   loops (e.g. fetching VECOZO's waiting messages), started and stopped by ``service.py``.
#   Each loop runs until the event is set.
# Optional adapter member ``deadlines() -> Sequence[gateway.ops.deadlines.Deadline]``: the
# standard's answer and reporting times, watched by the core's deadline monitor (``gateway/ops``).


class Registry:
    """The loaded adapters; finds the one that owns a document."""

    def __init__(self, adapters: Iterable[Adapter]) -> None:
        self._adapters = list(adapters)
        self._by_name = {a.name: a for a in self._adapters}
        # Root element name -> (adapter, type), for names identified before. Only successes
        # are kept, so the map is bounded by the message types the adapters accept.
        self._identified: dict[str, tuple[Adapter, MessageType]] = {}

    @classmethod
    def load(cls, module_names: Iterable[str], settings: Any) -> Registry:
        """Import each adapter package and call its ``make_adapter(settings)``; a name that is
        no module, or no adapter package, is a :class:`ConfigError` (setting ``adapters``)."""
        adapters = []
        for name in module_names:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name is None or not f"{name}.".startswith(f"{exc.name}."):
                    raise  # the adapter is there, but something it imports is not
                raise ConfigError(f"adapters: {name!r} is no installed module") from None
            make = getattr(module, "make_adapter", None)
            if not callable(make):
                raise ConfigError(f"adapters: {name!r} is no adapter package (no make_adapter)")
            adapters.append(make(settings))
        return cls(adapters)

    def __iter__(self) -> Any:
        return iter(self._adapters)

    def by_name(self, name: str) -> Adapter:
        try:
            return self._by_name[name]
        except KeyError:
            raise Unidentified(f"no adapter named {name!r} is loaded") from None

    def for_standard(self, standard: str) -> Adapter:
        for adapter in self._adapters:
            if standard in adapter.standards:
                return adapter
        raise Unidentified(f"no adapter handles standard {standard!r}")

    def derivers(self) -> list[Any]:
        """Adapters that derive follow-up messages (optional member ``derive``)."""
        return [a for a in self._adapters if callable(getattr(a, "derive", None))]

    def identify(self, root: etree._Element) -> tuple[Adapter, MessageType]:
        """The owning adapter and the message type of a document (see ``Adapter.identify``)."""
        tag = root.tag
        known = self._identified.get(tag) if isinstance(tag, str) else None
        if known is None:
            adapter = self.for_document(root)
            known = (adapter, adapter.identify(root))
            if isinstance(tag, str):
                self._identified[tag] = known
        return known

    def for_document(self, root: etree._Element) -> Adapter:
        namespace = etree.QName(root).namespace or ""
        for adapter in self._adapters:
            if adapter.owns(namespace):
                return adapter
        shown = namespace or "(no namespace)"
        raise Unidentified(f"no adapter knows documents in namespace {shown}")
