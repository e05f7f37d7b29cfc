"""The rules engine: small pure functions tied to a rule code and a retourcode, run in scopes.

A message is seen as a *head* and a stream of *records*. For the 323 (declaratie) and the 325
(declaratie-antwoord) the records are the ``Client`` elements under ``Clienten`` and the head is
everything else (Header, Declaratie without its clients); for every other message the head is
the whole message and there are no records. Rules come in three scopes:

- ``Scope.MESSAGE``: ``fn(msg)`` sees the head only (``msg.data``);
- ``Scope.PART``: ``fn(msg, part)`` runs on the head and again on every record; it looks up
  classes with ``part.find("Prestatie")`` and so never sees more than one client at a time;
- ``Scope.FOLD``: ``fn(msg)`` returns a :class:`Fold` that is fed every record and yields its
  hits at the end (totals, uniqueness within the message).

A rule yields ``(class path, text)``; paths are class paths from the root without ``Bericht``,
``[n]`` (1-based) on repeatable elements: ``Declaratie/Clienten/Client[2]/Prestaties/
Prestatie[1]``. Texts never carry personal data.

The same engine checks a whole canonical dict (:func:`check`) or a stream of records
(:class:`Checker`); both give the same findings in the same order, by construction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from lxml import etree

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from gateway.adapter import Finding

Hit = tuple[str, str]  # (class path, readable text without personal data)


class Level(StrEnum):
    """Controleniveau (IV032/IV088)."""

    XSLT = "bericht inhoud (xslt)"  # level 2: retourcode 0001, header-only retour
    BERICHTOVERSTIJGEND = "berichtoverstijgend"  # level 3: own code on the failing class
    EXTERNE_BRON = "externe bron"  # level 4: own code on the failing class


class Scope(StrEnum):
    MESSAGE = "message"
    PART = "part"
    FOLD = "fold"


class Fold(Protocol):
    def add(self, part: Part) -> Iterable[Hit]: ...

    def done(self) -> Iterable[Hit]: ...


@dataclass(frozen=True)
class Rule:
    id: str
    retourcode: str
    level: Level
    messages: frozenset[int] | None  # message numbers it applies to; None = all
    scope: Scope
    fn: Callable[..., Any]
    needs_state: bool = False
    doc: str = ""
    # The classes a PART rule looks at (``part.find`` names); when given, the rule is skipped
    # on a part that has none of them. None: always run.
    classes: frozenset[str] | None = None

    def applies(self, bericht: Bericht) -> bool:
        return self.messages is None or bericht.number in self.messages


RULES: list[Rule] = []


@dataclass(frozen=True)
class Lookahead:
    """Warms the ledger caches for a chunk of records before their rules run: ``fn(msg, parts)``
    collects the keys the rules will ask for (the ToewijzingNummers of the next clients) and has
    ``msg.state`` fetch them in one query. It yields no hits; the rules stay as they are and
    give the same verdicts with or without it, only with fewer round trips."""

    messages: frozenset[int]
    fn: Callable[[Any, list[Part]], None]


LOOKAHEADS: list[Lookahead] = []

# Records checked together: the lookahead fetches their ledger facts in one query.
CHUNK = 256


def lookahead(messages: Iterable[int]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a :class:`Lookahead` for these message numbers."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        LOOKAHEADS.append(Lookahead(frozenset(messages), fn))
        return fn

    return register


def rule(
    rule_id: str,
    retourcode: str,
    level: Level,
    messages: Iterable[int] | None = None,
    scope: Scope = Scope.MESSAGE,
    needs_state: bool = False,
    classes: Iterable[str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a rule. Its docstring quotes the rule text in short. ``classes``: see
    :attr:`Rule.classes`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        RULES.append(
            Rule(
                rule_id,
                retourcode,
                level,
                frozenset(messages) if messages is not None else None,
                scope,
                fn,
                needs_state,
                (fn.__doc__ or "").strip(),
                frozenset(classes) if classes is not None else None,
            )
        )
        return fn

    return register


# -- the parts a rule looks at ---------------------------------------------------------------


class Part:
    """The head or one record, with an index of its classes by local name (built once)."""

    __slots__ = ("index", "memo", "name", "node", "path")

    def __init__(
        self,
        node: dict[str, Any],
        path: str = "",
        name: str | None = None,
        index: dict[str, list[tuple[str, dict[str, Any]]]] | None = None,
    ) -> None:
        self.node = node
        self.path = path
        self.name = name  # the record's own element name ("Client"), None for the head
        # Every class in this part by local name, as (path, dict), document order. Given when
        # the decoder built it in the same walk (``gateway.xmlcodec.decode_indexed``).
        if index is None:
            index = {}
            if name is not None:
                index[name] = [(path, node)]
            for path_, name_, node_ in classes(node, path):
                index.setdefault(name_, []).append((path_, node_))
        self.index = index
        # What several rules derive from this part alike (its prestaties with their
        # toewijzingen), worked out once; forgotten with the part.
        self.memo: dict[str, Any] = {}

    @property
    def is_record(self) -> bool:
        return self.name is not None

    def find(self, name: str) -> Sequence[tuple[str, dict[str, Any]]]:
        """Every class with local name ``name`` in this part, as (path, dict), document order."""
        return self.index.get(name, ())

    def has_any(self, names: frozenset[str]) -> bool:
        """Whether any class named in ``names`` occurs in this part."""
        return not names.isdisjoint(self.index)


def classes(node: dict[str, Any], path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every class (dict) below ``node`` as (path, local name, dict), depth first."""
    for name, value in node.items():
        if isinstance(value, list):
            for index, item in enumerate(value, start=1):
                if isinstance(item, dict):
                    here = f"{path}/{name}[{index}]" if path else f"{name}[{index}]"
                    yield here, name, item
                    yield from classes(item, here)
        elif isinstance(value, dict):
            here = f"{path}/{name}" if path else name
            yield here, name, value
            yield from classes(value, here)


@functools.cache
def _steps(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("/"))


def get(node: dict[str, Any] | None, dotted: str) -> Any:
    """``get(product, "Product/Code")``: the value or None."""
    value: Any = node
    for part in _steps(dotted):
        if value.__class__ is not dict:
            return None
        value = value.get(part)
    return value


def date(value: Any) -> dt.date | None:
    """An ``xs:date`` text as a date; None when absent or not a real date."""
    if not isinstance(value, str):
        return None
    return _iso_date(value[:10])


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parent(path: str) -> str:
    """The class path one level up (``A/B[1]/C`` -> ``A/B[1]``)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def overlaps(b1: Any, e1: Any, b2: Any, e2: Any) -> bool:
    """Whether two periods (open end allowed) share a day."""
    s1, s2 = date(b1), date(b2)
    f1, f2 = date(e1) or dt.date.max, date(e2) or dt.date.max
    if s1 is None or s2 is None:
        return False
    return s1 <= f2 and s2 <= f1


@functools.lru_cache(maxsize=1024)
def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month (a declaratie asks it for every prestatie)."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier (28 February for a 29 February that year lacks);
    ``date.min`` when that lies before year 1 (an xs:date may be 0001-01-01)."""
    if day.year <= years:
        return dt.date.min
    year = day.year - years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def regie_key(node: dict[str, Any]) -> tuple[Any, ...]:
    """Logical key of a StartProduct / StopProduct (IV008)."""
    key: tuple[Any, ...] = (
        node.get("ToewijzingNummer"),
        repr(node.get("Product")),
        node.get("Begindatum"),
    )
    if "RedenBeeindiging" in node:
        key += (node.get("RedenBeeindiging"), node.get("Einddatum"))
    return key


# -- running the rules -----------------------------------------------------------------------


@dataclass
class Message:
    """What every rule may look at: the head, the context and (for state rules) the ledger."""

    bericht: Bericht
    data: dict[str, Any]  # the head (the whole message when it has no records)
    state: Any  # adapters.istandaarden.history.History
    today: dt.date
    refdata: Any  # adapters.istandaarden.refdata.RefData
    memo: dict[str, Any] = field(default_factory=dict)  # per-message cache for rules

    @functools.cached_property
    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = self.data["Header"]
        return header

    @functools.cached_property
    def dagtekening(self) -> dt.date | None:
        return date(get(self.header, "BerichtIdentificatie/Dagtekening"))


# Where a message keeps its records: message number -> (path of the container, record name).
RECORDS: dict[int, tuple[str, str]] = {
    323: ("Declaratie/Clienten", "Client"),
    325: ("DeclaratieAntwoord/Clienten", "Client"),
}


def decode_record_indexed(
    element: etree._Element, bericht: Bericht, at: str
) -> tuple[dict[str, Any], dict[str, list[tuple[str, dict[str, Any]]]]]:
    """One record element of a streamed message (a ``Client`` of a 323/325) as its dict and,
    from the same walk, the index a :class:`Part` at class path ``at`` would build (so the
    rules' ``part.find`` costs no second walk)."""
    container, name = RECORDS[bericht.number]
    node, found = codec.decode_record_indexed(element, bericht, (*container.split("/"), name), at)
    return node, {name: [(at, node)], **found}


# Streamed when large: only the 323. (A 325 lists only rejected prestaties, and its
# DeclaratieAntwoord/RetourCodes come after the clients, so its head is not complete early.)
STREAMED = frozenset({323})


def record_tag(bericht: Bericht) -> str | None:
    """Clark name of the record element of a streamed message (``{ns}Client``), or None."""
    if bericht.number not in STREAMED:
        return None
    return f"{{{bericht.namespace}}}{RECORDS[bericht.number][1]}"


def split(bericht: Bericht, data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A whole canonical dict as (head, records)."""
    if bericht.number not in RECORDS:
        return data, []
    container, name = RECORDS[bericht.number]
    outer, inner = container.split("/")
    body = data.get(outer)
    if not isinstance(body, dict) or inner not in body:
        return data, []
    records = body[inner].get(name, [])
    head = dict(data)
    head[outer] = {k: v for k, v in body.items() if k != inner}
    return head, records


_BY_MESSAGE: dict[tuple[Bericht, int], dict[Scope, tuple[Rule, ...]]] = {}


def rules_for(bericht: Bericht) -> dict[Scope, tuple[Rule, ...]]:
    """The registered rules that apply to a message, by scope (worked out once per message)."""
    key = (bericht, len(RULES))
    found = _BY_MESSAGE.get(key)
    if found is None:
        chosen = [r for r in RULES if r.applies(bericht)]
        found = _BY_MESSAGE[key] = {s: tuple(r for r in chosen if r.scope is s) for s in Scope}
    return found


class PartPlan:
    """The part rules of a message compiled against the classes a part holds: a rule that
    names its classes (:attr:`Rule.classes`) runs only on a part with one of them. Worked out
    once per set of class names (a few per message type), so a part costs one lookup instead
    of a test per rule."""

    _LIMIT = 1024  # distinct class-name sets kept (a message type has a handful)

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._by_names: dict[frozenset[str], tuple[Rule, ...]] = {}

    def for_part(self, part: Part) -> tuple[Rule, ...]:
        names = frozenset(part.index)
        chosen = self._by_names.get(names)
        if chosen is None:
            if len(self._by_names) >= self._LIMIT:
                self._by_names.clear()
            chosen = self._by_names[names] = tuple(
                r for r in self.rules if r.classes is None or not r.classes.isdisjoint(names)
            )
        return chosen


_PART_PLANS: dict[tuple[Bericht, int], PartPlan] = {}


def part_plan(bericht: Bericht) -> PartPlan:
    """The :class:`PartPlan` of every registered part rule that applies to ``bericht``."""
    key = (bericht, len(RULES))
    plan = _PART_PLANS.get(key)
    if plan is None:
        plan = _PART_PLANS[key] = PartPlan(rules_for(bericht)[Scope.PART])
    return plan


class Checker:
    """Runs the rules of one message: the head first, then records in order, then the folds.

    Records are taken in chunks of ``chunk``: a chunk's lookaheads run first (one ledger query
    for the whole chunk), then every rule on each record of it, in order, so the findings are
    those of one record at a time. ``rules`` defaults to every registered rule that applies to
    the message.
    """

    def __init__(
        self,
        bericht: Bericht,
        head: dict[str, Any],
        state: Any,
        today: dt.date,
        refdata: Any,
        rules: Iterable[Rule] | None = None,
        head_index: dict[str, list[tuple[str, dict[str, Any]]]] | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.message = Message(bericht, head, state, today, refdata)
        self._chunk = chunk
        self._pending: list[Part] = []
        self._lookaheads = (
            [a.fn for a in LOOKAHEADS if bericht.number in a.messages] if state is not None else []
        )
        if rules is None:
            by_scope = rules_for(bericht)
            self._plan = part_plan(bericht)
        else:
            chosen = [r for r in rules if r.applies(bericht)]
            by_scope = {s: tuple(r for r in chosen if r.scope is s) for s in Scope}
            self._plan = PartPlan(by_scope[Scope.PART])
        self._folds = [(r, r.fn(self.message)) for r in by_scope[Scope.FOLD]]
        self.findings: list[Finding] = []
        self._count = 0
        for r in by_scope[Scope.MESSAGE]:
            self._collect(r, r.fn(self.message))
        head_part = Part(head, index=head_index)
        self._run_part_rules(head_part)
        container = RECORDS.get(bericht.number)
        self._base = container[0] if container else ""
        self._name = container[1] if container else ""

    def _collect(self, r: Rule, hits: Iterable[Hit] | None) -> None:
        for path, text in hits or ():
            self.findings.append(Finding(rule=r.id, code=r.retourcode, path=path, text=text))

    def next_path(self) -> str:
        """The class path the next record gets (``Declaratie/Clienten/Client[3]``)."""
        return f"{self._base}/{self._name}[{self._count + 1}]"

    def record(
        self, node: dict[str, Any], index: dict[str, list[tuple[str, dict[str, Any]]]] | None = None
    ) -> Part:
        """Take one record (a ``Client`` of a 323/325); checked, and forgotten, with its chunk.
        ``index``: its class index at :meth:`next_path`, if decoded with it. Returns its part
        (what the rules work out from it is kept there for others to read)."""
        part = Part(node, self.next_path(), self._name, index)
        self._count += 1
        self._pending.append(part)
        if len(self._pending) >= self._chunk:
            self._flush()
        return part

    def _flush(self) -> None:
        parts, self._pending = self._pending, []
        if not parts:
            return
        for fn in self._lookaheads:
            fn(self.message, parts)
        for part in parts:
            self._run_part_rules(part)
            for r, fold in self._folds:
                self._collect(r, fold.add(part))

    def _run_part_rules(self, part: Part) -> None:
        message, findings = self.message, self.findings
        for r in self._plan.for_part(part):
            for path, text in r.fn(message, part) or ():
                findings.append(Finding(rule=r.id, code=r.retourcode, path=path, text=text))

    def finish(self) -> list[Finding]:
        self._flush()
        for r, fold in self._folds:
            self._collect(r, fold.done())
        return self.findings


def check(
    bericht: Bericht,
    data: dict[str, Any],
    state: Any,
    today: dt.date,
    refdata: Any,
    rules: Iterable[Rule] | None = None,
    index: dict[str, list[tuple[str, dict[str, Any]]]] | None = None,
    chunk: int = CHUNK,
) -> list[Finding]:
    """Every rule on a whole canonical dict (the simple path; same verdicts as streaming).

    ``index``: the class index the decoder built with ``data``
    (:func:`gateway.xmlcodec.decode_indexed`); used for a message without records. ``chunk``:
    records per lookahead (1: one at a time)."""
    head, records = split(bericht, data)
    head_index = index if head is data else None
    checker = Checker(bericht, head, state, today, refdata, rules, head_index, chunk)
    for record in records:
        checker.record(record)
    return checker.finish()
