"""What a counterpart's answer means for the message it answers.

A Du01 or Fo01 quotes our referentienummer; the transport indexed that reference when it
delivered the message (``Handover.keys``), so the answer finds the message again. A Fo01 puts the
message it answers in the ledger state ``parked`` with the foutcode's meaning
(``faults.py``): operations see which message, why, and whether sending it again can help. A
"send again later" code (IB103) re-sends it by itself after a retry tier's wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.lib.stuf import faults
from adapters.lib.stuf.messages import Fout
from gateway.ledger import Entry, Event, Ledger
from gateway.logs import mask_bsns
from gateway.ops.messages import replay

if TYPE_CHECKING:
    from gateway.adapter import Context
    from gateway.bus.redelivery import Redelivery


def original(ledger: Ledger, key: str, reference: str) -> Entry | None:
    """The first entry indexed under ``key`` = ``reference`` (our delivery of the message)."""
    if not reference:
        return None
    found = ledger.find(key, reference)
    return found[0] if found else None


def record_fault(
    context: Context, message_id: str, counterpart: str, fout: Fout, answer_id: str
) -> dict[str, Any]:
    """Record on message ``message_id`` that ``counterpart`` answered it with ``fout``.

    The message is parked with the foutcode's meaning. When the code says "not now, send again
    later" (e.g. IB103, a release freeze), it is then sent again automatically after the next
    retry tier's wait (:func:`resend_later`), up to ``max_attempts`` times.
    """
    ledger = context.ledger
    history = ledger.history(message_id)
    if any(e.detail.get("answer_id") == answer_id for e in history):
        return dict(next(e.detail for e in history if e.detail.get("answer_id") == answer_id))
    meaning = faults.meaning(fout.code, fout.plek)
    detail: dict[str, Any] = {
        "reason": f"{counterpart} answered with Fo01 {fout.code} ({meaning.state}): {meaning.text}",
        "state": meaning.state,
        "foutcode": fout.code,
        "plek": fout.plek,
        "omschrijving": mask_bsns(fout.omschrijving[:200]),
        "retry": meaning.retry,
        "by": counterpart,
        "answer_id": answer_id,
    }
    ledger.append_event(message_id, Event.PARKED, detail=detail)
    if meaning.retry:
        detail["resent_after"] = resend_later(
            ledger, context.redelivery(), message_id, counterpart, detail["reason"]
        )
    return detail


def resend_later(
    ledger: Ledger, redelivery: Redelivery, message_id: str, counterpart: str, reason: str
) -> str | None:
    """Replay a parked message through the next retry tier; None when its re-sends are used up.

    Counts the automatic re-sends recorded so far: the message goes out at most ``max_attempts``
    times in all (the redelivery policy's tiers and attempts), then stays parked for operations
    (with every Fo01 in its history).
    """
    attempt = 1 + sum(
        1
        for e in ledger.history(message_id)
        if e.event is Event.REPLAYED and e.detail.get("automatic")
    )
    tier = redelivery.tier_after(attempt)
    if tier is None:
        return None
    replay(
        ledger,
        lambda envelope: redelivery.send_later(envelope, attempt),
        message_id,
        who=counterpart,
        reason=reason,
        extra={"automatic": True, "wait": tier.name, "attempt": attempt + 1},
    )
    return tier.name
