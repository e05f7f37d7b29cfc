"""What a counterpart's answer means for the message it answers.

A Du01 or Fo01 quotes our referentienummer; the transport indexed that reference when it
delivered the message (``Handover.keys``), so the answer finds the message again. A Fo01 puts the
message it answers in the ledger state ``parked`` with the foutcode's meaning
(``faults.py``): operations see which message, why, and whether sending it again can help.
"""

from __future__ import annotations

from typing import Any

from adapters.shared import faults
from adapters.shared.stuf import Fout
from gateway.ledger import Entry, Event, Ledger
from gateway.receive import envelope_from_ledger


def original(ledger: Ledger, key: str, reference: str) -> Entry | None:
    """The first entry indexed under ``key`` = ``reference`` (our delivery of the message)."""
    if not reference:
        return None
    found = ledger.find(key, reference)
    return found[0] if found else None


def record_fault(
    ledger: Ledger, message_id: str, counterpart: str, fout: Fout, answer_id: str
) -> dict[str, Any]:
    """Record on message ``message_id`` that ``counterpart`` answered it with ``fout``."""
    history = ledger.history(message_id)
    if any(e.detail.get("answer_id") == answer_id for e in history):
        return dict(next(e.detail for e in history if e.detail.get("answer_id") == answer_id))
    meaning = faults.meaning(fout.code, fout.plek)
    detail: dict[str, Any] = {
        "reason": f"{counterpart} answered with Fo01 {fout.code} ({meaning.state}): {meaning.text}",
        "state": meaning.state,
        "foutcode": fout.code,
        "plek": fout.plek,
        "omschrijving": fout.omschrijving[:200],
        "retry": meaning.retry,
        "by": counterpart,
        "answer_id": answer_id,
    }
    ledger.append(envelope_from_ledger(ledger, message_id), Event.PARKED, detail=detail)
    return detail
