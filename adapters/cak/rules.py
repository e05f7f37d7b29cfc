"""Rules on iEb 4.0 messages (after the XSD), each tied to a code as the iEb retourcodes are:

- CS002 (0001): the Bsn passes the 11-proef.
- 8848: the Dagtekening is not after today.
- IEB01 (0001, ours): EbStopdatum is not before EbStartdatum.
- IEB02 (0001, ours): an eerste aanlevering (StatusAanlevering 1) uses an EbStartNummer the
  gemeente has not used before in another message (EbStartNummer links start and stop; it must
  be unique).
- IEB03 (0001, ours): an EbKostprijs starts within the period (EbStartdatum .. EbStopdatum).

Retours (406/408) are the CAK's verdicts and get no rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.cak.catalogue import KLASSE
from adapters.lib.istandaard.messages import Message, parse_date
from gateway.adapter import Finding, State
from gateway.ledger import EARLIER
from gateway.logs import passes_elfproef


def check(message: Message, data: dict[str, Any], state: State, today: dt.date) -> list[Finding]:
    if message.is_retour:
        return []
    findings = []
    header = data["Header"]
    if parse_date(header["BerichtIdentificatie"]["Dagtekening"]) > today:
        findings.append(Finding("8848", "8848", "Header", "Dagtekening is after today"))
    client = data["Client"]
    if not passes_elfproef(client["Bsn"]):
        findings.append(Finding("CS002", "0001", "Client", "Bsn does not pass the 11-proef"))
    klasse = KLASSE[message.code]
    bijdrage = client[klasse]
    path = f"Client/{klasse}"
    stop = bijdrage.get("EbStopdatum")
    if stop and parse_date(stop) < parse_date(bijdrage["EbStartdatum"]):
        findings.append(Finding("IEB01", "0001", path, "EbStopdatum is before EbStartdatum"))
    if bijdrage["StatusAanlevering"] == "1":
        # the same message recorded twice (a start derived at once from two toewijzingen, with
        # one message id and BerichtIdentificatie) is not a second use of its number
        ident = header["BerichtIdentificatie"]["Identificatie"]
        itself = {e.message_id for e in state.find("BerichtIdentificatie", ident)}
        used = [
            e
            for e in state.find("EbStartNummer", bijdrage["EbStartNummer"])
            if e.event in EARLIER
            and e.sender == header["Afzender"]
            and e.code == message.code
            and e.message_id not in itself
        ]
        if used:
            findings.append(
                Finding("IEB02", "0001", path, "EbStartNummer was used before for a first start")
            )
    kostprijs = bijdrage.get("EbKostprijs")
    if kostprijs:
        begin = parse_date(kostprijs["KostprijsStartdatum"])
        if begin < parse_date(bijdrage["EbStartdatum"]) or (stop and begin > parse_date(stop)):
            findings.append(
                Finding(
                    "IEB03",
                    "0001",
                    f"{path}/EbKostprijs",
                    "KostprijsStartdatum is outside EbStartdatum .. EbStopdatum",
                )
            )
    return findings
