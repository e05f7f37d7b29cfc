"""The iWmo 3.2 / iJw 3.2 adapter: the four parts (codec, rules, mapping, transport) behind the
core's :class:`gateway.adapter.Standard` interface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.istandaarden import deadlines as deadline_table
from adapters.istandaarden import domain, grants, mapping, retour, rules
from adapters.istandaarden.catalogue import (
    NAMESPACE_RE,
    STANDARDS,
    SUPPORTED_VERSIONS,
    VERSION,
    Bericht,
    by_code,
)
from adapters.istandaarden.engine import Checker, decode_record_indexed, record_tag, split
from adapters.istandaarden.history import History
from adapters.istandaarden.monitor import IStandaardenFolder
from adapters.istandaarden.refdata import RefData
from adapters.istandaarden.transport import Routes
from adapters.lib.istandaard import codec
from adapters.shared.mapped import BackOfficeMappings
from gateway.adapter import (
    BACKOFFICE,
    Answer,
    Deadline,
    Delivery,
    Description,
    Finding,
    Grant,
    Rows,
    State,
    Table,
    Transport,
    Unidentified,
)
from gateway.envelope import Direction, Envelope, MessageType
from gateway.xmlsafe import parse

# Elements whose values are business keys worth indexing in the ledger (the rules that need
# earlier messages find them by these; ReferentieNummer also indexes VorigReferentieNummer).
_KEYS = {
    "ToewijzingNummer": "ToewijzingNummer",
    "DeclaratieNummer": "DeclaratieNummer",
    "ReferentieAanbieder": "ReferentieAanbieder",
}
# In the basisschema namespace (CDT_Referentie of a Prestatie): both indexed as ReferentieNummer.
_REFERENTIES = ("ReferentieNummer", "VorigReferentieNummer")


def _bericht(message_type: MessageType) -> Bericht:
    return by_code(message_type.code)


class IStandaardenAdapter(BackOfficeMappings):
    name = "istandaarden"
    mapping = mapping
    standards = STANDARDS
    # The transport-level error owed for a received message that fails the XSD (no retour is
    # made then; the ledger marks it ``answer: transport-error``): StUF-GGk Fo01 code StUF055.
    schema_error_code = "StUF055"

    def __init__(
        self,
        transport: Transport | Routes | None,
        today: Any = dt.date.today,
        refdata: RefData | None = None,
    ) -> None:
        # One transport for every counterpart, or one per gemeente (``transport.Routes``).
        self._routes = transport if isinstance(transport, Routes) else Routes(transport)
        self._today = today
        self.refdata = refdata or RefData(missing=("TR378", "TR381", "TR418"))

    def owns(self, namespace: str) -> bool:
        return NAMESPACE_RE.match(namespace) is not None

    def identify(self, root: etree._Element) -> MessageType:
        qname = etree.QName(root)
        match = NAMESPACE_RE.match(qname.namespace or "")
        if match is None or match.group(4) is None:
            raise Unidentified(f"namespace {qname.namespace} is not an iWmo/iJw message")
        standard, major, minor, _, number = match.groups()
        version = f"{major}.{minor}"
        if version not in SUPPORTED_VERSIONS:
            raise Unidentified(
                f"{standard} {version} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}"
            )
        if qname.localname != "Bericht":
            raise Unidentified(f"root element is {qname.localname}; expected Bericht")
        try:
            bericht = Bericht(standard, int(number))
        except KeyError:
            raise Unidentified(f"{standard} {version} has no message {number}") from None
        return MessageType(standard, bericht.code, version)

    def schema_path(self, message_type: MessageType) -> Path:
        return _bericht(message_type).schema_path

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        bericht = _bericht(message_type)
        data, index = codec.decode_message_indexed(doc.getroot(), bericht)
        return self.check_data(bericht, data, state, index)

    def check_data(
        self,
        bericht: Bericht,
        data: dict[str, Any],
        state: State | None,
        index: dict[str, list[tuple[str, dict[str, Any]]]] | None = None,
    ) -> list[Finding]:
        """The rules on a canonical dict (the simple, whole-message path); ``index``: the class
        index decoded with it, if any."""
        history = History(state, bericht.standard)
        return rules.check(bericht, data, history, self._today(), self.refdata, index=index)

    # -- streaming (large 323/325) ------------------------------------------------------------

    def record_tag(self, message_type: MessageType) -> str | None:
        return record_tag(_bericht(message_type))

    def stream(self, message_type: MessageType, state: State) -> RecordSink:
        return RecordSink(self, _bericht(message_type), state)

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        bericht = _bericht(message_type)
        root = doc.getroot()
        header = root.find(f"{{{bericht.namespace}}}Header")
        if header is None:
            raise Unidentified("message has no Header")

        def text(name: str) -> str:
            element = header.find(f"{{{bericht.namespace}}}{name}")
            return (element.text or "") if element is not None else ""

        identificatie = header.findtext(f"./*/{{{bericht.basis_namespace}}}Identificatie") or ""
        keys: dict[str, set[str]] = {"BerichtIdentificatie": {identificatie}}
        if bericht.is_retour:
            keys["IdentificatieRetour"] = {text("IdentificatieRetour")}
        if bericht.number == 325:
            declaratie = header.find(f"{{{bericht.namespace}}}DeclaratieIdentificatie")
            if declaratie is not None:
                keys["DeclaratieIdentificatie"] = {
                    declaratie.findtext(f"{{{bericht.basis_namespace}}}Identificatie") or ""
                }
        subjects: set[str] = set()
        collect_keys(root, keys, subjects)
        rows = (
            domain.message_rows(bericht, codec.decode_message(root, bericht))
            if bericht.number in domain.NUMBERS
            else {}
        )
        return self._description(bericht, header, keys, subjects, rows)

    # -- the read model (capability Tables) -----------------------------------------------------

    def tables(self) -> Sequence[Table]:
        return domain.TABLES

    def table_rows(self, body: bytes, message_type: MessageType) -> Rows:
        return domain.body_rows(body, _bericht(message_type))

    def _description(
        self,
        bericht: Bericht,
        header: etree._Element,
        keys: dict[str, set[str]],
        subjects: set[str],
        rows: Rows,
    ) -> Description:
        identificatie = next(iter(keys["BerichtIdentificatie"]))
        sender, receiver = self._parties(bericht, header)
        return Description(
            sender=sender,
            receiver=receiver,
            keys={k: sorted(v) for k, v in keys.items() if v},
            subjects=sorted(subjects),
            expects_answer=bericht.retour is not None,
            answers=identificatie if bericht.is_retour else None,
            rows=rows,
        )

    @staticmethod
    def _parties(bericht: Bericht, header: etree._Element) -> tuple[str, str]:
        """(sender, receiver) of a message from its header."""

        def text(name: str) -> str:
            element = header.find(f"{{{bericht.namespace}}}{name}")
            return (element.text or "") if element is not None else ""

        # A retour carries its heenbericht's header unswapped (IV028): its real sender is the
        # header's Ontvanger (the aanbieder answering a 301) and it goes to the Afzender.
        sender, receiver = text("Afzender"), text("Ontvanger")
        if bericht.is_retour:
            sender, receiver = receiver, sender
        return sender, receiver

    def map_in(self, standard: str, mapping_name: str, data: Mapping[str, Any]) -> bytes:
        return mapping.map_in(standard, mapping_name, data, dt.datetime.now())

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        bericht = _bericht(envelope.message_type)
        name = f"{bericht.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery(BACKOFFICE, envelope.body, "application/xml", name)
        header = doc.getroot().find(f"{{{bericht.namespace}}}Header")
        if header is None:
            raise Unidentified("message has no Header")
        _, to = self._parties(bericht, header)  # describe() without the keys: all it needs
        return Delivery(to, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        """The retour of a received heenbericht; for a 323, the 325 only if our rules rejected
        it (an accepted 323 goes to the back-office, whose verdict becomes the 325 through the
        ``declaratie-antwoord`` mapping)."""
        assert envelope.message_type is not None
        bericht = _bericht(envelope.message_type)
        if bericht.retour is None:
            return None
        today = self._today().isoformat()
        identificatie = retour.identificatie_retour(envelope.message_id)
        if not bericht.retour.is_retour:
            if not findings:
                return None
            if doc.getroot().find(f".//{{{bericht.namespace}}}Prestatie") is None:
                # a large declaratie reached the worker as its skeleton: the 325 lists its
                # prestaties, so read it whole this once
                doc = parse(envelope.body, len(envelope.body) + 1)
            declaratie = codec.decode_message(doc.getroot(), bericht)
            message = retour.reject_declaratie(declaratie, findings, identificatie, today)
        else:
            made = retour.build_retour(
                bericht,
                codec.decode_message(doc.getroot(), bericht),
                findings,
                today,
                identificatie,
            )
            if made is None:
                return None
            message = made
        body = codec.encode_message(bericht.retour, message)
        return Answer(body, tuple(retour.retourcodes(message)))

    def transport(self, to: str) -> Transport | None:
        return self._routes.to(to)

    def deadlines(self) -> list[Deadline]:
        """The standard's answer and reporting times (capability ``Deadlines``; ``gateway/ops``)."""
        return deadline_table.deadlines()

    def grants(
        self,
        state: State,
        holder: str,
        subject: str,
        grantor: str | None = None,
        product: str | None = None,
    ) -> list[Grant]:
        """The toewijzingen aanbieder ``holder`` received for a client (capability ``Grants``)."""
        return grants.received(state, holder, subject, grantor, product, self._today())

    def monitor_rows(self) -> IStandaardenFolder:
        """Monitor facts from the toewijzingen, starts, stops and prestaties in the domain
        tables (capability ``TableReports``)."""
        return IStandaardenFolder()


# The elements collect_keys looks at, in any namespace (lxml filters them in C).
_KEY_TAGS = tuple(f"{{*}}{name}" for name in ("Bsn", *_KEYS, *_REFERENTIES))


def collect_keys(element: etree._Element, keys: dict[str, set[str]], subjects: set[str]) -> None:
    """Business keys and BSNs below ``element`` (message namespace elements only)."""
    for child in element.iter(*_KEY_TAGS):
        name = child.tag.rsplit("}", 1)[-1]
        if name == "Bsn":
            subjects.add(child.text or "")
        elif name in _KEYS:
            keys.setdefault(_KEYS[name], set()).add(child.text or "")
        elif name in _REFERENTIES:
            keys.setdefault("ReferentieNummer", set()).add(child.text or "")


class RecordSink:
    """Takes a 323/325 one ``Client`` at a time: rules, business keys and subjects, flat memory.

    The head (Header and the non-repeating part) is complete when the first record ends, since
    it comes before ``Clienten`` in document order; it is decoded then, and the rules' message-
    and part-scoped checks on it run before the first record's.
    """

    def __init__(self, adapter: IStandaardenAdapter, bericht: Bericht, state: State) -> None:
        self.adapter = adapter
        self.bericht = bericht
        self.state = state
        self.checker: Checker | None = None
        self.keys: dict[str, set[str]] = {}
        self.subjects: set[str] = set()
        self.head: dict[str, Any] = {}
        self.rows: domain.Made = {}  # the records' rows

    def _start(self, root: etree._Element) -> Checker:
        head, _ = split(self.bericht, codec.decode_message(root, self.bericht))
        self.head = head
        history = History(self.state, self.bericht.standard)
        return Checker(self.bericht, head, history, self.adapter._today(), self.adapter.refdata)

    def record(self, element: etree._Element) -> None:
        if self.checker is None:
            self.checker = self._start(element.getroottree().getroot())
        collect_keys(element, self.keys, self.subjects)
        node, index = decode_record_indexed(element, self.bericht, self.checker.next_path())
        part = self.checker.record(node, index)
        domain.record_rows(self.bericht, self.head, part, self.rows)

    def finish(self, skeleton: etree._ElementTree) -> tuple[list[Finding], Description]:
        """Findings and description; ``skeleton`` is the document without its records."""
        root = skeleton.getroot()
        if self.checker is None:
            self.checker = self._start(root)
        description = self.adapter.describe(
            skeleton, MessageType(self.bericht.standard, self.bericht.code, VERSION)
        )
        keys = {k: set(v) for k, v in description.keys.items()}
        for name, values in self.keys.items():
            keys.setdefault(name, set()).update(values)
        header = root.find(f"{{{self.bericht.namespace}}}Header")
        assert header is not None
        rows = {t: [*self.rows.get(t, ()), *r] for t, r in description.rows.items()}
        for table, more in self.rows.items():
            rows.setdefault(table, more)
        full = self.adapter._description(
            self.bericht, header, keys, set(description.subjects) | self.subjects, rows
        )
        return self.checker.finish(), full
