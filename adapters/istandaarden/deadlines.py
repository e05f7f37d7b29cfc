"""The iWmo/iJw 3.2 deadlines, for the core's deadline monitor (``gateway/ops/deadlines.py``).

Facts (iwmo-ijw.md §6 and §10, from "Regels op berichten iJw/iWmo release 3.2"):

- OP090: every heenbericht gets its retourbericht within 3 werkdagen (the retour copies the
  heenbericht's BerichtIdentificatie in its header);
- OP090x4: a declaratie (323) gets its declaratie-antwoord (325) within 10 werkdagen (the 325
  carries the declaratie's DeclaratieNummer);
- OP274 / OP346: a verzoek om toewijzing (315) or verzoek om wijziging (317) is answered with a
  toewijzing (301) or an antwoordbericht (319) within 5 werkdagen, linked by ReferentieAanbieder;
- OP271 / OP272: a start (305) or stop (307) is sent within 5 werkdagen after the actual start
  (Begindatum) or end (Einddatum) of the care; only new deliveries (StatusAanlevering 1) count,
  corrections of earlier messages carry old dates by nature. A start or stop cannot be sent
  before the toewijzing (301) it concerns arrived (TR019): when the 301 came later than the
  care's start or end, the 5 werkdagen run from its arrival (``after``, by ToewijzingNummer).

Who owes what follows the direction on either side's gateway (``Breach.owed_by``/``ours``): on
an aanbieder's, each received 301 owes our 302, each 305/307 we send is owed in time, each 323
we send is owed its 325 by the gemeente; on a gemeente's the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from adapters.istandaarden.catalogue import STANDARDS, Bericht
from gateway.adapter import Deadline
from gateway.xmlsafe import parse


def _reported(element: str, container: str) -> Callable[[bytes], Sequence[tuple[dt.date, str]]]:
    """Each new record's date, with the ToewijzingNummer it concerns."""

    def dates(payload: bytes) -> Sequence[tuple[dt.date, str]]:
        doc = parse(payload, len(payload) + 1)
        out = []
        for record in doc.getroot().iter(f"{{*}}{container}"):
            status = record.findtext("{*}StatusAanlevering")
            value = record.findtext(f"{{*}}{element}")
            if status == "1" and value:
                nummer = record.findtext("{*}ToewijzingNummer") or ""
                out.append((dt.date.fromisoformat(value), nummer))
        return out

    return dates


def deadlines() -> list[Deadline]:
    rules: list[Deadline] = []
    for standard in STANDARDS:

        def code(number: int, standard: str = standard) -> str:
            return Bericht(standard, number).code

        for number in (301, 305, 307, 315, 317, 319):
            heen = Bericht(standard, number)
            assert heen.retour is not None
            rules.append(
                Deadline(
                    rule="OP090",
                    text=f"retour {heen.retour.code} on a {heen.code} within 3 werkdagen",
                    starts=(heen.code,),
                    working_days=3,
                    answered_by=(heen.retour.code,),
                    key="BerichtIdentificatie",
                )
            )
        rules.append(
            Deadline(
                rule="OP090x4",
                text=f"declaratie-antwoord {code(325)} on a {code(323)} within 10 werkdagen",
                starts=(code(323),),
                working_days=10,
                answered_by=(code(325),),
                key="DeclaratieNummer",
            )
        )
        rules.append(
            Deadline(
                rule="OP274/OP346",
                text=(
                    f"{code(301)} or {code(319)} on a verzoek ({code(315)}/{code(317)}) within 5 "
                    "werkdagen"
                ),
                starts=(code(315), code(317)),
                working_days=5,
                answered_by=(code(301), code(319)),
                key="ReferentieAanbieder",
            )
        )
        rules.append(
            Deadline(
                rule="OP271",
                text=f"start {code(305)} within 5 werkdagen after the Begindatum or its 301",
                starts=(code(305),),
                working_days=5,
                dates=_reported("Begindatum", "StartProduct"),
                key="ToewijzingNummer",
                after=(code(301),),
            )
        )
        rules.append(
            Deadline(
                rule="OP272",
                text=f"stop {code(307)} within 5 werkdagen after the Einddatum or its 301",
                starts=(code(307),),
                working_days=5,
                dates=_reported("Einddatum", "StopProduct"),
                key="ToewijzingNummer",
                after=(code(301),),
            )
        )
    return rules
