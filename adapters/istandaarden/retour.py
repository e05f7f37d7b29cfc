"""Retourberichten exactly as the standard says (iwmo-ijw.md §4-§6, IV028, IV032, IV088).

- The retour's header is the heenbericht's header copied unchanged (Afzender/Ontvanger are not
  swapped), with BerichtCode set to the retour's code, plus IdentificatieRetour,
  DagtekeningRetour and XsdVersieRetour (from our retour XSD's appinfo).
- Heenbericht fully approved: header only, no RetourCodes.
- An xslt-level rule fired (retourcode 0001): header only, RetourCode 0001 on the header.
- A berichtoverstijgend or externe-bron rule fired: the header carries its own code(s) or 0200;
  a body class with an error is returned whole, and every class in it gets RetourCodes: the
  specific code(s) where a rule fired on that class, 0200 elsewhere.
- A class below a class with an error is not assessed: 0233 (IV028/IV088), unless a rule fired
  on it too.
- A message that fails the XSD gets no retour at all (a transport-level error instead: the
  ledger records the rejection at stage ``schema``; issue #6 sends the Fo01 with StUF055).
- 323 is answered by a 325 (declaratie-antwoord), a business message made from the back-office
  verdict: :func:`build_declaratie_antwoord` and :func:`complete_declaratie_antwoord`.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from adapters.istandaarden.catalogue import Bericht, by_code
from adapters.lib.istandaard.codec import shape, xsd_versions
from gateway.adapter import Finding
from gateway.xmlcodec import Shape

XSLT_CODE = "0001"
NO_REMARK = "0200"
NOT_ASSESSED = "0233"
FULLY_GRANTED = "8001"


def identificatie_retour(heenbericht_message_id: str) -> str:
    """12 characters derived from the heenbericht's message id: the same retour twice is one."""
    return hashlib.sha256(f"retour:{heenbericht_message_id}".encode()).hexdigest()[:12].upper()


def _codes(
    shape_: Shape,
    node: dict[str, Any],
    path: str,
    codes: dict[str, list[str]],
    below_error: bool = False,
) -> None:
    """Add RetourCodes to ``node`` and every class below it, as the retour shape allows: the
    class's own codes, else 0233 below a class with an error, else 0200."""
    names = {c.name for c in shape_.children}
    own = codes.get(path) if "RetourCodes" in names else None
    for child in shape_.children:
        if child.is_leaf or child.name not in node or child.name == "RetourCodes":
            continue
        values = node[child.name]
        items = values if child.repeat else [values]
        for index, item in enumerate(items, start=1):
            here = f"{path}/{child.name}" + (f"[{index}]" if child.repeat else "")
            _codes(child, item, here, codes, below_error or bool(own))
    if "RetourCodes" in names:
        node.pop("RetourCodes", None)
        fallback = NOT_ASSESSED if below_error else NO_REMARK
        node["RetourCodes"] = {"RetourCode": own or [fallback]}


def build_retour(
    bericht: Bericht,
    heenbericht: dict[str, Any],
    findings: Sequence[Finding],
    today: str,
    identificatie: str,
) -> dict[str, Any] | None:
    """The retour (canonical dict) for a received heenbericht, or None if it gets none here."""
    retour = bericht.retour
    if retour is None or not retour.is_retour:
        return None
    header = copy.deepcopy(heenbericht["Header"])
    header["BerichtCode"] = retour.berichtcode
    header["IdentificatieRetour"] = identificatie
    header["DagtekeningRetour"] = today
    header["XsdVersieRetour"] = xsd_versions(retour)
    message: dict[str, Any] = {"Header": header}
    if not findings:
        return message
    if any(f.code == XSLT_CODE for f in findings):
        header["RetourCodes"] = {"RetourCode": [XSLT_CODE]}
        return message

    codes: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        if f.code not in codes[f.path]:
            codes[f.path].append(f.code)
    header["RetourCodes"] = {"RetourCode": codes.get("Header") or [NO_REMARK]}
    retour_shape = shape(retour)
    for body_class in retour_shape.children:
        name = body_class.name
        if name == "Header" or name not in heenbericht:
            continue
        if not any(p == name or p.startswith((f"{name}/", f"{name}[")) for p in codes):
            continue  # only classes with an error are returned (IV028, OP065)
        node = copy.deepcopy(heenbericht[name])
        _codes(body_class, node, name, codes)
        message[name] = node
    return message


# -- the declaratie-antwoord (325) ------------------------------------------------------------


def _signed(amount: dict[str, Any] | None, value: str = "Bedrag") -> int:
    amount = amount or {}
    number = int(amount.get(value, 0))
    return -number if amount.get("DebetCredit") == "C" else number


def _amount(total: int) -> dict[str, str]:
    return {"TotaalBedrag": str(abs(total)), "DebetCredit": "C" if total < 0 else "D"}


def complete_declaratie_antwoord(message: dict[str, Any]) -> dict[str, Any]:
    """Fill what the standard computes in a 325 (IV087/IV088, OP303/OP304, TR342):

    - Header RetourCodes 0200 (RetourCodes is 1..1 on the 325 header);
    - a Declaratie-level rejection (codes given on DeclaratieAntwoord): TotaalToegekendBedrag 0
      and no prestaties listed;
    - otherwise only rejected prestaties are listed (a prestatie is granted or rejected whole);
      TotaalToegekendBedrag = TotaalIngediendBedrag minus the rejected prestaties (signed);
      DeclaratieAntwoord 8001 when nothing is rejected, else 0200;
    - a Client with codes of its own: its prestaties get 0233 unless they carry codes; a Client
      without: 0200.
    """
    header = message.setdefault("Header", {})
    header.setdefault("RetourCodes", {"RetourCode": [NO_REMARK]})
    antwoord = message.get("DeclaratieAntwoord")
    if antwoord is None:
        return message
    ingediend = _signed(antwoord.get("TotaalIngediendBedrag"), "TotaalBedrag")
    declaratie_codes = (antwoord.get("RetourCodes") or {}).get("RetourCode") or []
    if declaratie_codes and declaratie_codes != [FULLY_GRANTED]:
        antwoord.pop("Clienten", None)
        toegekend = 0
    else:
        rejected = 0
        clients = (antwoord.get("Clienten") or {}).get("Client") or []
        for client in clients:
            client_codes = (client.get("RetourCodes") or {}).get("RetourCode")
            for prestatie in (client.get("Prestaties") or {}).get("Prestatie", []):
                rejected += _signed(prestatie.get("IngediendBedrag"))
                codes = (prestatie.get("RetourCodes") or {}).get("RetourCode")
                prestatie.pop("RetourCodes", None)
                prestatie["RetourCodes"] = {"RetourCode": codes or [NOT_ASSESSED]}
            client.pop("RetourCodes", None)
            client["RetourCodes"] = {"RetourCode": client_codes or [NO_REMARK]}
        if not clients:
            antwoord.pop("Clienten", None)
        toegekend = ingediend - rejected
        declaratie_codes = [FULLY_GRANTED] if not clients else [NO_REMARK]
    ordered: dict[str, Any] = {
        "DeclaratieNummer": antwoord["DeclaratieNummer"],
        "TotaalIngediendBedrag": antwoord["TotaalIngediendBedrag"],
        "TotaalToegekendBedrag": _amount(toegekend),
    }
    if "Clienten" in antwoord:
        ordered["Clienten"] = antwoord["Clienten"]
    ordered["RetourCodes"] = {"RetourCode": declaratie_codes}
    message["DeclaratieAntwoord"] = ordered
    return message


def build_declaratie_antwoord(
    declaratie: dict[str, Any],
    rejected: dict[str, list[str]],
    identificatie: str,
    today: str,
    client_codes: dict[str, list[str]] | None = None,
    declaratie_codes: list[str] | None = None,
) -> dict[str, Any]:
    """The 325 for a 323 (canonical dicts), from the verdict: ``rejected`` maps a prestatie's
    ReferentieNummer to its codes, ``client_codes`` a Bsn to codes on the Client class (all its
    prestaties are then rejected), ``declaratie_codes`` rejects the declaratie as a whole."""
    client_codes = client_codes or {}
    heen = declaratie["Header"]
    source = declaratie["Declaratie"]
    clients = []
    for client in source["Clienten"]["Client"]:
        own = client_codes.get(client["Bsn"])
        prestaties = []
        for prestatie in client["Prestaties"]["Prestatie"]:
            codes = rejected.get(prestatie["ProductReferentie"]["ReferentieNummer"])
            if codes or own:
                listed = copy.deepcopy(prestatie)
                if codes:
                    listed["RetourCodes"] = {"RetourCode": list(codes)}
                prestaties.append(listed)
        if prestaties:
            entry: dict[str, Any] = {"Bsn": client["Bsn"], "Prestaties": {"Prestatie": prestaties}}
            if own:
                entry["RetourCodes"] = {"RetourCode": list(own)}
            clients.append(entry)
    antwoord: dict[str, Any] = {
        "DeclaratieNummer": source["DeclaratieNummer"],
        "TotaalIngediendBedrag": copy.deepcopy(source["TotaalIngediendBedrag"]),
    }
    if clients:
        antwoord["Clienten"] = {"Client": clients}
    if declaratie_codes:
        antwoord["RetourCodes"] = {"RetourCode": list(declaratie_codes)}
    message = {
        "Header": _antwoord_header(heen, identificatie, today),
        "DeclaratieAntwoord": antwoord,
    }
    return complete_declaratie_antwoord(message)


def _antwoord_header(heen: dict[str, Any], identificatie: str, today: str) -> dict[str, Any]:
    """The 325's own header (heen-style: Afzender the gemeente) naming the 323 it answers."""
    bericht = by_code(f"{'WMO' if heen['BerichtCode'] == '484' else 'JW'}325")
    return {
        "BerichtCode": bericht.berichtcode,
        "BerichtVersie": "3",
        "BerichtSubversie": "2",
        "Afzender": heen["Ontvanger"],
        "Ontvanger": heen["Afzender"],
        "BerichtIdentificatie": {"Identificatie": identificatie, "Dagtekening": today},
        "XsdVersie": xsd_versions(Bericht(bericht.standard, 325)),
        "DeclaratieIdentificatie": copy.deepcopy(heen["BerichtIdentificatie"]),
        "XsdVersieDeclaratie": copy.deepcopy(heen["XsdVersie"]),
    }


_CLIENT = re.compile(r"Declaratie/Clienten/Client\[(\d+)\]")
_PRESTATIE = re.compile(r"Declaratie/Clienten/Client\[(\d+)\]/Prestaties/Prestatie\[(\d+)\]")


def _by_class(findings: Sequence[Finding]) -> dict[tuple[int, ...], list[str]]:
    """The findings' codes per class of a 323: () the Declaratie, (i,) the i-th Client, (i, k)
    its k-th Prestatie (1-based, as in the findings' paths); a finding below a class counts for
    the class (a rule that points at a Prestatie's ProductPeriode rejects the Prestatie)."""
    codes: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for f in findings:
        prestatie, client = _PRESTATIE.match(f.path), _CLIENT.match(f.path)
        if prestatie is not None:
            where: tuple[int, ...] = (int(prestatie[1]), int(prestatie[2]))
        elif client is not None:
            where = (int(client[1]),)
        else:
            where = ()
        if f.code not in codes[where]:
            codes[where].append(f.code)
    return codes


def reject_declaratie(
    declaratie: dict[str, Any], findings: Sequence[Finding], identificatie: str, today: str
) -> dict[str, Any]:
    """The 325 the gateway sends for a 323 its rules rejected (IV032, IV087/IV088): any error
    rejects the whole declaratie, so nothing of it is granted.

    - an in-message (XSLT-level) error: header only, RetourCode 0001;
    - an error on the header alone (a BerichtIdentificatie used before): header only, its code;
    - an error on the Declaratie class: its code there, TotaalToegekendBedrag 0, no prestaties;
    - an error on a Client or Prestatie (TR338, TR307 ...): the rule's code on that class; as
      the 325 lists the rejected prestaties and every one is rejected, all are listed: a
      Prestatie without a code of its own gets 0233 (not assessed), a Client 0200, the
      DeclaratieAntwoord 0200, TotaalToegekendBedrag 0.
    """
    heen = declaratie["Header"]
    header = _antwoord_header(heen, identificatie, today)
    message: dict[str, Any] = {"Header": header}
    header_codes = [f.code for f in findings if f.path == "Header"]
    if any(f.code == XSLT_CODE for f in findings):
        header["RetourCodes"] = {"RetourCode": [XSLT_CODE]}
        return message
    body = [f for f in findings if f.path != "Header"]
    header["RetourCodes"] = {"RetourCode": list(dict.fromkeys(header_codes)) or [NO_REMARK]}
    if not body:
        return message
    codes = _by_class(body)
    source = declaratie["Declaratie"]
    antwoord: dict[str, Any] = {
        "DeclaratieNummer": source["DeclaratieNummer"],
        "TotaalIngediendBedrag": copy.deepcopy(source["TotaalIngediendBedrag"]),
    }
    if () in codes:
        antwoord["RetourCodes"] = {"RetourCode": codes[()]}
    else:
        clients = []
        for i, client in enumerate(source["Clienten"]["Client"], start=1):
            prestaties = []
            for k, prestatie in enumerate(client["Prestaties"]["Prestatie"], start=1):
                listed = copy.deepcopy(prestatie)
                if (i, k) in codes:
                    listed["RetourCodes"] = {"RetourCode": codes[(i, k)]}
                prestaties.append(listed)
            entry: dict[str, Any] = {"Bsn": client["Bsn"], "Prestaties": {"Prestatie": prestaties}}
            if (i,) in codes:
                entry["RetourCodes"] = {"RetourCode": codes[(i,)]}
            clients.append(entry)
        antwoord["Clienten"] = {"Client": clients}
    message["DeclaratieAntwoord"] = antwoord
    return complete_declaratie_antwoord(message)


def retourcodes(message: dict[str, Any]) -> list[str]:
    """Every RetourCode a retour (canonical dict) carries, each once, in order of appearance:
    what the ledger records as sent."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "RetourCodes" and isinstance(value, dict):
                    found.update(dict.fromkeys(value.get("RetourCode") or []))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message)
    return list(found)
