"""What receive answers for a message: its receipt, the same for every door (the HTTP routes,
a batch's results, the AMQP ingress's ``reply_to``, the file drop's ``.receipt.json``, the
adapters' endpoints). Public: an adapter's endpoint answers its caller from it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from gateway.adapter import Finding

ACCEPTED = "accepted"  # valid; recorded; published
REJECTED = "rejected"  # schema-valid but the standard's rules fired; recorded
REFUSED = "refused"  # not XML, not identifiable, not schema-valid, or not mappable; recorded
# (or judging it failed on the gateway's side: ``Receipt.internal``)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    correlation_id: str
    route: str
    status: str
    published: bool = False
    message_type: str | None = None
    errors: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duplicate: bool = False
    # Refused because the sender named in the message is not who handed it in (HTTP 403).
    forbidden: bool = False
    # Refused, not recorded: the message id was taken by another identity before (HTTP 409).
    conflict: bool = False
    # Refused because judging it failed on the gateway's side (a bug in a rule, a failed ledger
    # read; stage ``internal``): recorded, nothing known to be wrong with it (HTTP 500; a
    # counterpart's fault answer says the receiver could not process it, not that it is wrong).
    internal: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Field by field (what ``dataclasses.asdict`` gives, without its deep copy of every
        # value: a batch answer makes one per message).
        data = {f.name: getattr(self, f.name) for f in _RECEIPT_FIELDS}
        data["findings"] = [
            {f.name: getattr(x, f.name) for f in _FINDING_FIELDS} for x in self.findings
        ]
        data["errors"] = list(self.errors)
        return data


_RECEIPT_FIELDS = fields(Receipt)
_FINDING_FIELDS = fields(Finding)
