"""The iPgb 2.0 messages. Documented: JW501 (TKB, Vektis BerichtCode 460), a retour "502" and
the BAB "507". Not public, so OURS: the BerichtCodes 461 and 462 and the JW prefix of 502/507
(only ``jw501`` is confirmed). They live in our XSDs (``schemas/ipgb/2.0``) and here."""

from __future__ import annotations

from adapters.lib.istandaard.messages import Message

STANDARD = "ipgb"
RELEASE = "2.0"
BERICHT_VERSIE, BERICHT_SUBVERSIE = "2", "0"
SVB = "SVB"

JW501 = Message(STANDARD, RELEASE, "JW501", "460", "Toekenningsbericht", "JW502")
JW502 = Message(STANDARD, RELEASE, "JW502", "461", "Retour toekenningsbericht", is_retour=True)
JW507 = Message(STANDARD, RELEASE, "JW507", "462", "Budgetafsluitbericht")
CATALOGUE = {m.code: m for m in (JW501, JW502, JW507)}
