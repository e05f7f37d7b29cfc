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
  corrections of earlier messages carry old dates by nature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from adapters.istandaarden.catalogue import STANDARDS, Bericht
from gateway.ops.deadlines import Deadline
from gateway.xmlsafe import parse


def _reported(element: str, container: str) -> Callable[[bytes], Sequence[dt.date]]:
    def dates(payload: bytes) -> Sequence[dt.date]:
        doc = parse(payload, len(payload) + 1)
        out = []
        for record in doc.getroot().iter(f"{{*}}{container}"):
            status = record.findtext("{*}StatusAanlevering")
            value = record.findtext(f"{{*}}{element}")
            if status == "1" and value:
                out.append(dt.date.fromisoformat(value))
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
                text=f"start {code(305)} within 5 werkdagen after the Begindatum",
                starts=(code(305),),
                working_days=5,
                dates=_reported("Begindatum", "StartProduct"),
            )
        )
        rules.append(
            Deadline(
                rule="OP272",
                text=f"stop {code(307)} within 5 werkdagen after the Einddatum",
                starts=(code(307),),
                working_days=5,
                dates=_reported("Einddatum", "StopProduct"),
            )
        )
    return rules
