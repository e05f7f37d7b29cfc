"""The interface through which adapters plug into the core: two kinds, a few capabilities.

- a :class:`Standard` knows a family of messages (identify, schema, rules, describe, map,
  answer, where each goes): iWmo/iJw, iEb, iPgb, StUF-Jeugdzorg, the StUF foutberichten;
- a :class:`Channel` is a way to and from counterparts (GGk, VECOZO, CORV): it delivers, and
  may take what arrives (endpoints, pollers). The outbox is the core's own (``delivery.py``).

An adapter package (``adapters/<name>/``) exposes ``make_adapter(settings)`` giving one
adapter, or a tuple of them (a standard and the channel that carries it). The registry checks
each once at start (:func:`checked`). Optional capabilities are the small protocols below
(:class:`Derives`, :class:`Mappings`, :class:`Deadlines`, :class:`Grants`, :class:`Tables`,
:class:`Endpoints`,
:class:`Pollers`, and :class:`DeliversMany` of a transport), asked with ``isinstance``.
Endpoints and pollers get a :class:`Context`, never the gateway itself.
The core never looks inside a message.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from lxml import etree

from gateway.config import ConfigError
from gateway.description import Description, Rows, Table
from gateway.envelope import Envelope, MessageType

if TYPE_CHECKING:
    import datetime as dt

    from fastapi import APIRouter

    from gateway.bus.redelivery import Redelivery
    from gateway.config import Settings
    from gateway.ledger import Ledger
    from gateway.provisions import Folder, RowFolder
    from gateway.receive import Receiver

# The party code of the back-office: ``Delivery.to`` of what goes there (through the outbox).
BACKOFFICE = "backoffice"


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

    def domain_rows(
        self, table: Table, column: str, values: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        """Rows of a standard's domain table (capability :class:`Tables`) whose ``column`` is
        one of ``values`` (a personal column: the values are hashed first), oldest first."""
        ...

    def personal(self, value: str) -> str:
        """The keyed hash a personal value (a BSN) is stored under in a domain table."""
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
    """Takes a streamed message's records one by one (see ``Standard.stream``)."""

    def record(self, element: etree._Element) -> None:
        """One complete record element; it is cleared after this returns."""
        ...

    def finish(self, skeleton: etree._ElementTree) -> tuple[list[Finding], Description]:
        """The rules' findings and the description, given the document without its records."""
        ...


@runtime_checkable
class Standard(Protocol):
    """A standard: the messages of one family (iWmo/iJw, iEb, iPgb, StUF-Jeugdzorg...), what
    they mean and where each goes. The core calls it at fixed points of a message's path."""

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
        """What to hand to a transport for an accepted message (``to`` is :data:`BACKOFFICE`
        for what goes to the back-office)."""
        ...

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        """The retourbericht the standard requires for a received message, or None."""
        ...

    def transport(self, to: str) -> Transport | None:
        """The transport that reaches party ``to``; None: the core's outbox (files under
        ``var/outbox/<to>/``), which is also where :data:`BACKOFFICE` deliveries go."""
        ...


@runtime_checkable
class Channel(Protocol):
    """A channel: a way between the gateway and counterparts (GGk, VECOZO, CORV). It delivers
    what standards hand it and may bring endpoints and pollers that take what arrives; it owns
    no messages. (The outbox, where the back-office's messages go, is the core's own.)"""

    name: str

    def transport(self) -> Transport | None:
        """What delivers through this channel; None: the core's outbox (a channel not configured
        to reach its counterpart, such as CORV without ``corv_url``)."""
        ...


class Context(Protocol):
    """What an adapter's endpoints and pollers may use of the running gateway (nothing else):
    the settings, the ledger, the door to receive and the redelivery policy (to send a message
    again after a retry tier's wait, as a "send again later" foutbericht asks)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def receiver(self) -> Receiver: ...

    def redelivery(self) -> Redelivery:
        """The gateway's redelivery policy (``gateway/bus/redelivery.py``)."""
        ...


# -- optional capabilities: an adapter (or a transport) has one when it has its members; the
# core asks with ``isinstance`` where it uses one.


@runtime_checkable
class Derives(Protocol):
    """Makes follow-up messages from a message that was delivered (the CAK adapter derives
    WMO405/407 from 301/305/307); each enters ``receive`` as an outbound message of its own with
    the delivered message as parent. Called by the worker."""

    def derive(
        self, envelope: Envelope, doc: etree._ElementTree, state: State
    ) -> Sequence[FollowUp]: ...


@runtime_checkable
class Mappings(Protocol):
    """Maps back-office JSON (``map_in``) with named mappings: ``POST /v1/messages/outbound/
    {standard}/{mapping}`` documents and takes these; receive names the JSON field that filled
    an element in a mapped message's schema errors and findings."""

    def mappings(self) -> Sequence[str]:
        """The mapping names ``map_in`` takes for each of the adapter's standards."""
        ...

    def mapping_source(self, standard: str, mapping: str, path: str) -> str | None:
        """The JSON field of that mapping that filled the element at ``path`` (below the root)."""
        ...


@dataclass(frozen=True)
class Deadline:
    """A deadline a standard declares (:class:`Deadlines`), watched by the deadline monitor
    (``gateway/ops/deadlines.py``): an answer within ``working_days`` of a message whose code is
    in ``starts``, or a report of dates no later than that."""

    rule: str  # the standard's rule, e.g. "OP090"
    text: str  # readable, e.g. "retour within 3 working days"
    starts: tuple[str, ...]  # message codes that start the clock
    working_days: int
    answered_by: tuple[str, ...] = ()  # answer kind: codes that meet it ...
    key: str = ""  # ... carrying the same value of this business key
    # report kind: the dates a message reports, each with the ``key`` value it concerns ("")
    dates: Callable[[bytes], Sequence[tuple[dt.date, str]]] | None = None
    after: tuple[str, ...] = ()  # report kind: codes whose arrival the clock also waits for

    @property
    def kind(self) -> str:
        return "report" if self.dates is not None else "answer"


@runtime_checkable
class Deadlines(Protocol):
    """Declares the standard's answer and reporting times, watched by the core's deadline
    monitor (``gateway/ops/deadlines.py``)."""

    def deadlines(self) -> Sequence[Deadline]: ...


@dataclass(frozen=True)
class Grant:
    """One grant a party received and accepted (a gemeente's toewijzing to a care provider), in
    its current version, as its standard reads it: what the holder may start or bill. It carries
    no personal data beyond what the caller asked by (no names, addresses or BSNs)."""

    number: str  # the grant's number, unique per grantor
    standard: str
    grantor: str  # who granted it (a gemeente)
    holder: str  # who received it (the care provider)
    product: str | None  # product code; None: a whole category
    category: str | None
    starts: str  # ISO date
    ends: str | None  # ISO date; None: open-ended
    # "current" (not ended before today), "ended", or "withdrawn" (deleted by the grantor)
    status: str
    # The scope granted, in the standard's words (a volume, unit and frequency, or a budget).
    scope: Mapping[str, str] = field(default_factory=dict)
    granted_on: str = ""  # ISO date of the current version


@runtime_checkable
class Grants(Protocol):
    """The grants a party received (capability of a standard): ``GET /v1/toewijzingen``
    (``gateway/ingress/grants.py``) asks it for a caller's own party codes only."""

    def grants(
        self,
        state: State,
        holder: str,
        subject: str,
        grantor: str | None = None,
        product: str | None = None,
    ) -> Sequence[Grant]:
        """The current version of each grant ``holder`` received for the person ``subject``
        (a BSN: looked up through the ledger's keyed hash), from ``grantor`` only and of
        ``product`` only when given."""
        ...


@runtime_checkable
class Reports(Protocol):
    """Turns the standard's accepted messages into the monitor's facts: a fold of them into
    granted provisions (``gateway/provisions.py``; the table is ``gateway/ops/facts.py``).
    ``hash_client`` and ``hash_address`` are keyed hashes; a folder keeps only what they
    return, never what they were given."""

    def monitor_folder(
        self, hash_client: Callable[[str], str], hash_address: Callable[[str], str]
    ) -> Folder: ...


@runtime_checkable
class TableReports(Protocol):
    """Turns the rows of the standard's domain tables (capability :class:`Tables`) into the
    monitor's facts: a fold of the rows of its accepted messages into granted provisions
    (``gateway/provisions.py``). No payload is read: the figures stay what they were after
    retention erased the payloads."""

    def monitor_rows(self) -> RowFolder: ...


@runtime_checkable
class Tables(Protocol):
    """Keeps a read model of the standard's domain (capability of a standard): the tables it
    declares (:class:`gateway.description.Table`) are kept by the ledger; ``describe`` hands
    a message's rows in ``Description.rows``, written with its verdict, and ``table_rows``
    makes them again from a recorded payload (``ketenpoort ledger rebuild-domain``, ``ledger
    verify``). Rules read them through :meth:`State.domain_rows`."""

    standards: tuple[str, ...]

    def tables(self) -> Sequence[Table]: ...

    def table_rows(self, body: bytes, message_type: MessageType) -> Rows:
        """The rows of one recorded message, as ``describe`` gave them ({} for none)."""
        ...


@runtime_checkable
class Endpoints(Protocol):
    """HTTP endpoints of the adapter (a counterpart's receiving endpoint, e.g. ``POST /v1/ggk``),
    mounted by ``ingress/http.py``."""

    def router(self, context: Context) -> APIRouter: ...


Poller = tuple[str, Callable[[threading.Event], None]]


@runtime_checkable
class Pollers(Protocol):
    """Background loops (e.g. fetching VECOZO's waiting messages), started and stopped by
    ``service.py``; each loop runs until the event is set."""

    def pollers(self, context: Context) -> Sequence[Poller]: ...


@runtime_checkable
class DeliversMany(Protocol):
    """A transport that delivers several messages at once (the outbox writes the files, then
    makes them durable together); per message a reference, a handover or the error."""

    def deliver_many(
        self, items: Sequence[tuple[Envelope, Delivery]]
    ) -> Sequence[str | Handover | Exception]: ...


def _members(protocol: type) -> list[str]:
    """The members a protocol asks for (attributes and methods, in the order written)."""
    names = list(getattr(protocol, "__annotations__", {}))
    names += [n for n, v in vars(protocol).items() if not n.startswith("_") and callable(v)]
    return names


def _missing(adapter: object, protocol: type) -> list[str]:
    return [name for name in _members(protocol) if not hasattr(adapter, name)]


def checked(adapter: object, source: str) -> Standard | Channel:
    """``adapter`` as the kind it declares (a standard names the ``standards`` it speaks; a
    channel does not), checked whole: a :class:`ConfigError` naming the adapter and the
    members it lacks otherwise."""
    kind: type = Standard if hasattr(adapter, "standards") else Channel
    lacks = _missing(adapter, kind)
    if lacks:
        name = getattr(adapter, "name", type(adapter).__name__)
        raise ConfigError(
            f"adapters: {source} gives {name!r}, which is no whole {kind.__name__.lower()}: "
            f"it lacks {', '.join(lacks)}"
        )
    return cast(Standard | Channel, adapter)


class Registry:
    """The loaded adapters: the standards, which find the one that owns a document, and the
    channels; and who has which optional capability."""

    def __init__(self, adapters: Iterable[Standard | Channel]) -> None:
        self._adapters = list(adapters)
        self._standards = [a for a in self._adapters if isinstance(a, Standard)]
        self._channels = [a for a in self._adapters if not isinstance(a, Standard)]
        self._by_name = {a.name: a for a in self._standards}
        # Root element name -> (adapter, type), for names identified before. Only successes
        # are kept, so the map is bounded by the message types the adapters accept.
        self._identified: dict[str, tuple[Standard, MessageType]] = {}
        # Who has which optional capability, worked out once: a runtime protocol check costs
        # tens of microseconds, and the worker asks for the derivers of every message.
        self._granting = [a for a in self._standards if isinstance(a, Grants)]
        self._derivers = [a for a in self._standards if isinstance(a, Derives)]

    @classmethod
    def load(cls, module_names: Iterable[str], settings: Any) -> Registry:
        """Import each adapter package, call its ``make_adapter(settings)`` and check what it
        gives (:func:`checked`); a name that is no module, or no adapter package, is a
        :class:`ConfigError` (setting ``adapters``)."""
        adapters: list[Standard | Channel] = []
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
            made = make(settings)
            adapters += [checked(a, name) for a in (made if isinstance(made, tuple) else (made,))]
        return cls(adapters)

    def __iter__(self) -> Iterator[Any]:
        """Every adapter (a :class:`Standard` or a :class:`Channel`), standards first."""
        return iter([*self._standards, *self._channels])

    def standards(self) -> list[Standard]:
        return list(self._standards)

    def channels(self) -> list[Channel]:
        return list(self._channels)

    def by_name(self, name: str) -> Standard:
        try:
            return self._by_name[name]
        except KeyError:
            raise Unidentified(f"no adapter named {name!r} is loaded") from None

    def for_standard(self, standard: str) -> Standard:
        for adapter in self._standards:
            if standard in adapter.standards:
                return adapter
        raise Unidentified(f"no adapter handles standard {standard!r}")

    def granting(self) -> list[Grants]:
        """Standards that tell the grants a party received (capability :class:`Grants`)."""
        return list(self._granting)

    def tabulating(self) -> dict[str, Tables]:
        """Standards that keep domain tables (capability :class:`Tables`), by standard."""
        return {s: a for a in self._standards if isinstance(a, Tables) for s in a.standards}

    def derivers(self) -> list[Derives]:
        """Standards that derive follow-up messages (capability :class:`Derives`)."""
        return list(self._derivers)

    def identify(self, root: etree._Element) -> tuple[Standard, MessageType]:
        """The owning adapter and the message type of a document (see ``Standard.identify``)."""
        tag = root.tag
        known = self._identified.get(tag) if isinstance(tag, str) else None
        if known is None:
            adapter = self.for_document(root)
            known = (adapter, adapter.identify(root))
            if isinstance(tag, str):
                self._identified[tag] = known
        return known

    def for_document(self, root: etree._Element) -> Standard:
        namespace = etree.QName(root).namespace or ""
        for adapter in self._standards:
            if adapter.owns(namespace):
                return adapter
        shown = namespace or "(no namespace)"
        raise Unidentified(f"no adapter knows documents in namespace {shown}")
