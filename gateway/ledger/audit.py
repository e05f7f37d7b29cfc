"""Verify the ledger against its signed checkpoints; make and check proofs.

:func:`verify` reads every entry in order, recomputes its leaf from the stored columns,
rebuilds the Merkle tree and compares the root at every checkpoint's size with the signed one.
Any changed, deleted, inserted or reordered entry changes a leaf, and so every later root; a
cut-off tail leaves a checkpoint larger than the ledger. Payloads are checked against the hash
their entries commit to.

Retention may change rows, and only by a signed erasure (``erasure.py``): an emptied payload
must be listed by a validly signed ``erased`` entry of a message carrying it; a redacted entry
must be listed, with its private digest, by a validly signed ``erased`` entry of its message
recorded after it, and must show nothing of its private part. An unredacted entry's stored
private digest, if any, must be that of its columns. Entries of the earlier leaf format
(``records.LEGACY_FORMAT``, before erasures were signed) may carry unsigned erasures; none of
them may follow an entry of the current format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from hashlib import sha256
from typing import Any

from gateway.ledger import (
    Entry,
    Event,
    MessageState,
    counts,
    domain,
    domain_check,
    erasure,
    merkle,
    payloads,
)
from gateway.ledger.checkpoint import Checkpoint, Verifier, signature_ok
from gateway.ledger.records import (
    COLUMNS,
    FORMAT,
    LEGACY_FORMAT,
    REDACTED,
    private_digest,
    row_leaf,
)
from gateway.ledger.sql import ANSWER_KEY, DESCRIBED, SqlLedger
from gateway.ledger.state import advance, answered


@dataclass
class Report:
    size: int = 0
    checkpoints: int = 0  # signed checkpoints checked against the recomputed tree
    covered: int = 0  # entries covered by the latest valid checkpoint
    redacted: int = 0
    erasures: int = 0  # erased entries whose signature was checked and found valid
    legacy: int = 0  # entries of the earlier leaf format (before erasures were signed)
    payloads: int = 0
    payloads_erased: int = 0
    states: int = 0  # messages whose state was rebuilt from their entries and compared
    states_not_rebuilt: int = 0  # redacted, or recorded before entries carried what it needs
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"entries: {self.size}",
            f"checkpoints checked: {self.checkpoints}; entries covered by the latest: "
            f"{self.covered}; not yet covered: {self.size - self.covered}",
            f"payloads checked: {self.payloads}; erased by retention: {self.payloads_erased}",
            f"entries redacted by retention: {self.redacted}; signed erasures: {self.erasures}",
            f"message states rebuilt and compared: {self.states}; not rebuildable (redacted, "
            f"or recorded before entries carried the description): {self.states_not_rebuilt}",
        ]
        if self.legacy:
            out.append(
                f"entries of the earlier format {LEGACY_FORMAT} (erasures unsigned): {self.legacy}"
            )
        out += [f"PROBLEM: {p}" for p in self.problems]
        out.append(
            "ledger verified: OK"
            if self.ok
            else f"ledger NOT verified: {len(self.problems)} problem(s)"
        )
        return out


def _merge_checkpoints(
    stored: list[Checkpoint], exported: Iterable[Checkpoint], report: Report
) -> dict[int, Checkpoint]:
    by_size = {c.size: c for c in stored}
    for c in exported:
        mine = by_size.get(c.size)
        if mine is None:
            report.problems.append(f"exported checkpoint of size {c.size} is not in the database")
            by_size[c.size] = c
        elif (mine.root, mine.signature) != (c.root, c.signature):
            report.problems.append(
                f"checkpoint of size {c.size} in the database differs from the exported one"
            )
            by_size[c.size] = c  # the exported copy is the anchor
    return by_size


def verify(
    ledger: SqlLedger,
    *,
    verifier: Verifier | None = None,
    exported: Iterable[Checkpoint] = (),
    check_payloads: bool = True,
    check_states: bool = True,
    max_problems: int = 100,
    tables: Mapping[str, domain.Tabulates] | None = None,
) -> Report:
    """Recompute the tree, check the checkpoints, payloads and derived data; with ``tables``
    (the adapters keeping domain tables, by standard: ``Registry.tabulating``) also make the
    domain tables' rows again, a message at a time, and compare (:func:`_check_domain`)."""
    report = Report()
    verifier = verifier or ledger.options.signer
    checkpoints = _merge_checkpoints(ledger.checkpoints(), exported, report)
    _check_signatures(checkpoints.values(), verifier, report)
    erasures = _Erasures(verifier)
    size = _walk(ledger, checkpoints, erasures, report, max_problems)
    if size is None:  # stopped: too many problems
        return report
    report.size = size
    report.erasures = erasures.signed
    _check_ends(checkpoints, size, erasures, report, max_problems)
    if check_payloads:
        _check_payloads(ledger, report, erasures.payloads)
    _check_derived(ledger, report, check_states, max_problems)
    _check_domain(ledger, report, tables, max_problems)
    return report


def _check_signatures(
    checkpoints: Iterable[Checkpoint], verifier: Verifier | None, report: Report
) -> None:
    for c in checkpoints:
        if verifier is None:
            report.problems.append("no key to check checkpoint signatures with")
            break
        if not signature_ok(c, verifier):
            report.problems.append(f"checkpoint of size {c.size} has no valid signature")


def _walk(
    ledger: SqlLedger,
    checkpoints: dict[int, Checkpoint],
    erasures: _Erasures,
    report: Report,
    max_problems: int,
) -> int | None:
    """Every entry in order: its leaf, format, private part and erasures checked, the tree
    rebuilt and compared at each checkpoint. The number of entries; None when it stopped
    (``max_problems``)."""
    frontier = merkle.Frontier()
    expected = 1
    form = FORMAT  # the format of the entry before: tried first
    modern = False  # an entry of the current format was seen: no earlier format after it
    for row in ledger.scan(f"SELECT {COLUMNS} FROM entries ORDER BY seq"):
        seq = row[0]
        if seq != expected:
            report.problems.append(f"entries {expected}..{seq - 1} are missing (seq jumps)")
            expected = seq
        leaf, found = _leaf(row, form)
        if found is None:
            report.problems.append(f"entry {seq} does not match its leaf hash (changed)")
        else:
            form = found
            found, modern = _in_format(seq, found, modern, report)
        report.problems += _private_problems(row)
        _take_erasure(row, found, erasures, report)
        frontier.append(leaf)
        expected += 1
        _check_checkpoint(frontier, checkpoints, report)
        if len(report.problems) >= max_problems:
            report.problems.append("stopped: too many problems")
            return None
    return frontier.size


def _in_format(seq: int, found: str, modern: bool, report: Report) -> tuple[str | None, bool]:
    """The entry's format as taken in (None: an earlier format after the current one, added
    afterwards: what it says is not taken in), and whether the current format was seen."""
    if found == FORMAT:
        return found, True
    report.legacy += 1
    if modern:
        report.problems.append(
            f"entry {seq} is in the earlier format {LEGACY_FORMAT}, after entries "
            f"of {FORMAT} (added afterwards)"
        )
        return None, modern
    return found, modern


def _take_erasure(row: Any, form: str | None, erasures: _Erasures, report: Report) -> None:
    """A redacted entry waits for its erasure; an erasure is checked and taken in."""
    if row[16]:
        report.redacted += 1
        erasures.redacted(row[0], row[1], row[15])
    elif row[3] == Event.ERASED.value:
        report.problems += erasures.erasure(row[0], row[1], json.loads(row[11]), form)


def _check_checkpoint(
    frontier: merkle.Frontier, checkpoints: dict[int, Checkpoint], report: Report
) -> None:
    """The tree so far against the checkpoint signed at its size, if there is one."""
    signed = checkpoints.get(frontier.size)
    if signed is None:
        return
    report.checkpoints += 1
    if frontier.root() != signed.root:
        report.problems.append(
            f"the tree of the first {signed.size} entries does not have the signed root "
            f"of checkpoint {signed.size} ({signed.at})"
        )
    else:
        report.covered = signed.size


def _check_ends(
    checkpoints: dict[int, Checkpoint],
    size: int,
    erasures: _Erasures,
    report: Report,
    max_problems: int,
) -> None:
    """After the last entry: no checkpoint larger than the ledger (a cut-off tail), no redacted
    entry without a signed erasure listing it."""
    for signed in sorted(checkpoints):
        if signed > size:
            report.problems.append(
                f"checkpoint {signed} signed {signed} entries but the ledger has {size} "
                "(entries removed from the end)"
            )
    for seq in sorted(erasures.pending)[:max_problems]:
        report.problems.append(
            f"entry {seq} is redacted without a recorded erasure (no signed erasure lists it)"
        )


def _check_domain(
    ledger: SqlLedger,
    report: Report,
    tables: Mapping[str, domain.Tabulates] | None,
    max_problems: int,
) -> None:
    """The domain tables against the rows the verdict entries' payloads give (a message whose
    payload was erased or whose entries were redacted is not judged); none without ``tables``."""
    if not tables:
        return
    report.problems += domain_check.problems(ledger, tables, max_problems)


def _leaf(row: Any, form: str) -> tuple[bytes, str | None]:
    """The row's leaf and the format it matches its stored leaf hash in (None: neither)."""
    stored = bytes(row[14])
    first = row_leaf(row, form)
    if first == stored:
        return first, form
    other = LEGACY_FORMAT if form == FORMAT else FORMAT
    return (stored, other) if row_leaf(row, other) == stored else (first, None)


def _private_problems(row: Any) -> list[str]:
    """A redacted row shows nothing of its private part; an unredacted row's stored private
    digest, if it has one, is the digest of its columns."""
    seq = row[0]
    if row[16]:
        problems = []
        if (row[9], row[10], row[11], row[13]) != REDACTED:
            problems.append(
                f"entry {seq} is redacted but still shows parties, detail or keys (forged)"
            )
        if row[3] == Event.ERASED.value:
            problems.append(f"entry {seq} is an erasure, and erasures are never redacted")
        return problems
    if row[15] is not None and row[15] != private_digest(row[9], row[10], row[11], row[13]):
        return [f"entry {seq} has a private digest that does not match its columns (changed)"]
    return []


class _Erasures:
    """What the erasures recorded so far allow, gathered in entry order (:func:`verify`)."""

    def __init__(self, verifier: Verifier | None) -> None:
        self.verifier = verifier
        self.pending: dict[int, tuple[str, str]] = {}  # redacted, not yet allowed: (id, digest)
        self.by_message: dict[str, list[int]] = {}
        self.payloads: dict[str, set[str]] = {}  # payload digest -> messages erasing it
        self.signed = 0
        self.keyless = False

    def redacted(self, seq: int, message_id: str, digest: str | None) -> None:
        self.pending[seq] = (message_id, str(digest))
        self.by_message.setdefault(message_id, []).append(seq)

    def erasure(
        self, seq: int, message_id: str, detail: dict[str, Any], form: str | None
    ) -> list[str]:
        """Take in the erased entry ``seq``; returns the problems with it."""
        problems: list[str] = []
        if erasure.SIGNATURE in detail:
            if self.verifier is None:
                if not self.keyless:
                    problems.append("no key to check erasure signatures with")
                self.keyless = True
                return problems
            if not erasure.signature_ok(self.verifier, message_id, detail):
                return [f"erasure entry {seq} has no valid signature (not made by retention)"]
            self.signed += 1
            for listed, digest in sorted(erasure.redacted_entries(detail).items()):
                problem = self._allow(seq, message_id, listed, digest)
                if problem:
                    problems.append(problem)
        elif form != LEGACY_FORMAT:
            return [f"erasure entry {seq} is not signed (not made by retention)"]
        elif detail.get("redacted"):  # before erasures were signed: the message's earlier rows
            for listed in self.by_message.pop(message_id, []):
                self.pending.pop(listed, None)
        for digest in detail.get("payloads") or ():
            self.payloads.setdefault(str(digest), set()).add(message_id)
        return problems

    def _allow(self, seq: int, message_id: str, listed: int, digest: str) -> str | None:
        if listed >= seq:
            return f"erasure entry {seq} lists entry {listed}, which is not before it"
        found = self.pending.get(listed)
        if found is None:
            return None  # not redacted (an erasure whose redaction did not happen): fine
        if found[0] != message_id:
            return f"erasure entry {seq} lists entry {listed}, which is of another message"
        if found[1] != digest:
            return (
                f"entry {listed} is redacted with another private digest than erasure entry "
                f"{seq} lists"
            )
        del self.pending[listed]
        return None


def verify_derived(ledger: SqlLedger, *, max_problems: int = 100) -> Report:
    """Only the derived data: the key index, the message states and the counts (part of
    :func:`verify`)."""
    report = Report()
    _check_derived(ledger, report, True, max_problems)
    return report


def _check_derived(
    ledger: SqlLedger, report: Report, check_states: bool, max_problems: int
) -> None:
    _check_key_index(ledger, report, max_problems)
    if check_states:
        _check_states(ledger, report, max_problems)


def _check_states(ledger: SqlLedger, report: Report, max_problems: int, chunk: int = 1000) -> None:
    """Every message's state (the ``messages`` table) must be what its entries make of it, and
    the counts (``counts.py``) what they add up to.

    Operations read failures from that table: a parked message set to "delivered" there would
    hide from the dashboard. Each message's entries are replayed through ``state.advance`` in
    entry order, with what its descriptions said (``detail.described``) and with every retour
    that answered it applied where the ledger applied it (``state.answered``); the result must
    equal the stored row. A message with a redacted entry, or with an entry recorded before
    entries carried ``described``, cannot be rebuilt and is counted, not judged.
    """
    retours: dict[str, list[tuple[int, str, str, str]]] = {}
    for seq, message_id, sender, receiver, detail in ledger.scan(
        "SELECT seq, message_id, sender, receiver, detail FROM entries "
        "WHERE redacted = 0 AND detail LIKE ? ORDER BY seq",
        (f'%"{DESCRIBED}"%',),
    ):
        answers = json.loads(detail).get(DESCRIBED, {}).get("answers")
        if answers:
            retours.setdefault(answers, []).append((seq, message_id, sender, receiver))
    redacted = {
        r[0] for r in ledger.scan("SELECT DISTINCT message_id FROM entries WHERE redacted = 1")
    }
    for (message_id,) in ledger.scan(
        "SELECT m.message_id FROM messages m WHERE NOT EXISTS "
        "(SELECT 1 FROM entries e WHERE e.message_id = m.message_id)"
    ):
        report.problems.append(f"message {message_id} has a state but no entries")
    found = len(report.problems)
    tallied = counts.Rebuilt()  # the counts, from the same histories

    def judge(ids: list[str]) -> bool:
        nonlocal found
        histories, stored = ledger.histories(ids), ledger.states(ids)
        for message_id in ids:
            tallied.add(histories.get(message_id, []))
            if message_id not in stored:
                text: str | None = f"message {message_id} has entries but no state"
            else:
                text = _state_problem(
                    message_id, histories[message_id], stored[message_id], retours, redacted, report
                )
            if text is not None:
                report.problems.append(text)
                found += 1
                if found >= max_problems:
                    return False
        return True

    batch: list[str] = []
    for (message_id,) in ledger.scan("SELECT DISTINCT message_id FROM entries"):
        batch.append(message_id)
        if len(batch) >= chunk:
            if not judge(batch):
                return
            batch = []
    if batch and not judge(batch):
        return
    report.problems += tallied.problems(ledger, max_problems - found)


def _state_problem(
    message_id: str,
    entries: list[Entry],
    stored: MessageState,
    retours: dict[str, list[tuple[int, str, str, str]]],
    redacted: set[str],
    report: Report,
) -> str | None:
    """What is wrong with one message's stored state, or None (also when not rebuildable)."""
    told = [e for e in entries if e.sender or e.receiver]
    if message_id in redacted or any(DESCRIBED not in e.detail for e in told):
        report.states_not_rebuilt += 1
        return None
    # Retours that may have answered it: those answering one of its BerichtIdentificaties.
    values = {v for e in entries for v in e.keys.get(ANSWER_KEY, ())}
    candidates = sorted(
        (seq, retour, sender, receiver, value)
        for value in values
        for seq, retour, sender, receiver in retours.get(value, ())
        if retour != message_id
    )
    state: MessageState | None = None
    keys_seen: set[str] = set()
    pending = iter(candidates)
    candidate = next(pending, None)
    for entry in entries:
        while candidate is not None and candidate[0] < entry.seq:
            state = _answered_by(state, candidate, keys_seen)
            candidate = next(pending, None)
        described = entry.detail.get(DESCRIBED)
        expects = bool(described["expects_answer"]) if described else None
        state = advance(state, entry, expects)
        keys_seen.update(entry.keys.get(ANSWER_KEY, ()))
    while candidate is not None:
        state = _answered_by(state, candidate, keys_seen)
        candidate = next(pending, None)
    report.states += 1
    if stored == state:
        return None
    assert state is not None
    differ = [
        name
        for name in ("status", "verdict", "expects_answer", "answered_by", "route", "sender",
                     "receiver", "first_seq", "last_seq", "first_at", "last_at", "code")
        if getattr(stored, name) != getattr(state, name)
    ]  # fmt: skip
    shown = ", ".join(
        f"{name} {_plain(getattr(stored, name))} where the entries give "
        f"{_plain(getattr(state, name))}"
        for name in differ
        if name in ("status", "verdict", "expects_answer", "answered_by", "route", "code")
    )
    what = shown or ", ".join(differ)
    return f"message {message_id}: its stored state differs from its entries ({what})"


def _plain(value: Any) -> str:
    return repr(value.value if isinstance(value, Enum) else value)


def _answered_by(
    state: MessageState | None, candidate: tuple[int, str, str, str, str], keys_seen: set[str]
) -> MessageState | None:
    """``state`` after the retour ``candidate`` was recorded, as the ledger applied it then."""
    _, retour, sender, receiver, value = candidate
    if (
        state is not None
        and value in keys_seen
        and state.expects_answer
        and (state.sender, state.receiver) == (receiver, sender)
    ):
        return answered(state, retour)
    return state


def _check_key_index(ledger: SqlLedger, report: Report, max_problems: int) -> None:
    """The business-key index (``entry_keys``) must list exactly the keys each entry carries.

    The entries' keys are committed by their leaves; the index is derived from them and is what
    search and the rules read. A row added to it (a toewijzing that never passed, made findable)
    or removed from it (a message hidden from search) is reported, by entry number and key name
    (never the value). Both sides are read in entry order, streaming.
    """
    index = iter(ledger.scan("SELECT seq, key, value, message_id FROM entry_keys ORDER BY seq"))
    pending = next(index, None)
    found = 0

    def problem(text: str) -> bool:
        nonlocal found
        report.problems.append(text)
        found += 1
        return found >= max_problems

    for seq, message_id, keys in ledger.scan(
        "SELECT seq, message_id, keys FROM entries ORDER BY seq"
    ):
        while pending is not None and pending[0] < seq:
            if problem(
                f"the key index lists {pending[1]} for entry {pending[0]}, which is not an entry"
            ):
                return
            pending = next(index, None)
        listed: set[tuple[str, str]] = set()
        while pending is not None and pending[0] == seq:
            if pending[3] != message_id and problem(
                f"the key index names another message for entry {seq} ({pending[1]})"
            ):
                return
            listed.add((pending[1], pending[2]))
            pending = next(index, None)
        carried = {(k, v) for k, values in json.loads(keys).items() for v in values}
        for key in sorted({k for k, _ in listed - carried}):
            if problem(
                f"the key index lists {key} for entry {seq}, which the entry does not carry"
            ):
                return
        for key in sorted({k for k, _ in carried - listed}):
            if problem(f"entry {seq} carries {key}, which the key index lacks"):
                return
    while pending is not None:
        if problem(
            f"the key index lists {pending[1]} for entry {pending[0]}, which is not an entry"
        ):
            return
        pending = next(index, None)


def _check_payloads(ledger: SqlLedger, report: Report, erased: dict[str, set[str]]) -> None:
    for seq, digest in ledger.scan(
        "SELECT e.seq, e.payload_sha256 FROM entries e LEFT JOIN payloads p "
        "ON p.sha256 = e.payload_sha256 WHERE e.payload_sha256 IS NOT NULL AND p.sha256 IS NULL"
    ):
        report.problems.append(f"payload {digest[:16]}... of entry {seq} is missing")
    carriers: dict[str, set[str]] = {}  # emptied payload -> messages whose entries carry it
    for digest, message_id in ledger.scan(
        "SELECT DISTINCT e.payload_sha256, e.message_id FROM entries e JOIN payloads p "
        "ON p.sha256 = e.payload_sha256 WHERE p.content IS NULL"
    ):
        carriers.setdefault(digest, set()).add(message_id)
    key = ledger.options.payload_key
    for digest, sealing, content in ledger.scan("SELECT sha256, sealing, content FROM payloads"):
        if content is None:
            report.payloads_erased += 1
            if digest not in erased:
                report.problems.append(f"payload {digest[:16]}... is empty without an erasure")
            elif not erased[digest] & carriers.get(digest, set()):
                report.problems.append(
                    f"payload {digest[:16]}... was erased by an erasure of a message that does "
                    "not carry it"
                )
            continue
        report.payloads += 1
        try:
            plain = payloads.open_sealed(sealing, bytes(content), digest, key)
        except payloads.PayloadKeyError as exc:
            report.problems.append(f"payload {digest[:16]}...: {exc}")
            continue
        except Exception as exc:  # corrupt compressed data
            report.problems.append(f"payload {digest[:16]}... is unreadable ({type(exc).__name__})")
            continue
        if sha256(plain).hexdigest() != digest:
            report.problems.append(f"payload {digest[:16]}... does not match its hash (changed)")


# -- proofs ----------------------------------------------------------------------------------


def _checkpoint_for(
    ledger: SqlLedger, size: int | None, at_least: int
) -> tuple[int, Checkpoint | None]:
    checkpoints = ledger.checkpoints()
    if size is None:
        covering = [c for c in checkpoints if c.size >= at_least]
        if covering:
            return covering[-1].size, covering[-1]
        return ledger.tree_size(), None
    return size, next((c for c in checkpoints if c.size == size), None)


def inclusion(ledger: SqlLedger, seq: int, size: int | None = None) -> dict[str, Any]:
    """Proof that entry ``seq`` is in the tree of ``size`` entries (default: the latest
    checkpoint covering it, else the whole ledger)."""
    return inclusions(ledger, [seq], size)[0]


def inclusions(ledger: SqlLedger, seqs: list[int], size: int | None = None) -> list[dict[str, Any]]:
    """:func:`inclusion` for several entries, reading the tree once."""
    size, checkpoint = _checkpoint_for(ledger, size, max(seqs))
    leaves = ledger.leaf_hashes(size)
    if len(leaves) < size:  # a proof "against" a tree the ledger never had would not hold
        raise ValueError(f"the ledger has {len(leaves)} entries, not {size}")
    root = merkle.root(leaves).hex()
    proofs = []
    for seq in seqs:
        if not 1 <= seq <= len(leaves):
            raise ValueError(f"entry {seq} is not in a tree of {len(leaves)} entries")
        proofs.append(
            {
                "entry": seq,
                "leaf_index": seq - 1,
                "tree_size": size,
                "leaf_hash": leaves[seq - 1].hex(),
                "root": root,
                "path": [p.hex() for p in merkle.inclusion_proof(seq - 1, leaves)],
                "checkpoint": json.loads(checkpoint.to_json()) if checkpoint else None,
            }
        )
    return proofs


def consistency(ledger: SqlLedger, old_size: int, new_size: int | None = None) -> dict[str, Any]:
    """Proof that the tree of ``old_size`` entries is a prefix of the one of ``new_size``."""
    new_size, new_checkpoint = _checkpoint_for(ledger, new_size, old_size)
    _, old_checkpoint = _checkpoint_for(ledger, old_size, old_size)
    leaves = ledger.leaf_hashes(new_size)
    if not 0 <= old_size <= new_size <= len(leaves):
        raise ValueError(f"no consistency proof from {old_size} to {new_size} entries")
    return {
        "old_size": old_size,
        "new_size": new_size,
        "old_root": merkle.root(leaves, 0, old_size).hex(),
        "new_root": merkle.root(leaves).hex(),
        "path": [p.hex() for p in merkle.consistency_proof(old_size, leaves)],
        "old_checkpoint": json.loads(old_checkpoint.to_json()) if old_checkpoint else None,
        "new_checkpoint": json.loads(new_checkpoint.to_json()) if new_checkpoint else None,
    }


def check_inclusion(proof: dict[str, Any], verifier: Verifier | None = None) -> list[str]:
    """What is wrong with an inclusion proof (empty: it holds). With a verifier, the root must
    also be that of a validly signed checkpoint of the same size."""
    problems = []
    root = bytes.fromhex(proof["root"])
    if not merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["path"]],
        root,
    ):
        problems.append("the path does not lead from the leaf to the root")
    problems += _check_signed(proof.get("checkpoint"), proof["tree_size"], root, verifier)
    return problems


def check_consistency(proof: dict[str, Any], verifier: Verifier | None = None) -> list[str]:
    problems = []
    old_root, new_root = bytes.fromhex(proof["old_root"]), bytes.fromhex(proof["new_root"])
    if not merkle.verify_consistency(
        proof["old_size"],
        proof["new_size"],
        [bytes.fromhex(p) for p in proof["path"]],
        old_root,
        new_root,
    ):
        problems.append("the old tree is not a prefix of the new tree")
    problems += _check_signed(proof.get("old_checkpoint"), proof["old_size"], old_root, verifier)
    problems += _check_signed(proof.get("new_checkpoint"), proof["new_size"], new_root, verifier)
    return problems


def _check_signed(
    data: dict[str, Any] | None, size: int, root: bytes, verifier: Verifier | None
) -> list[str]:
    if verifier is None:
        return []
    if data is None:
        return [f"no signed checkpoint of size {size}"]
    checkpoint = Checkpoint.from_json(json.dumps(data))
    if checkpoint.size != size or checkpoint.root != root:
        return [f"the checkpoint of size {checkpoint.size} is for another tree"]
    if not signature_ok(checkpoint, verifier):
        return [f"the checkpoint of size {size} has no valid signature"]
    return []
