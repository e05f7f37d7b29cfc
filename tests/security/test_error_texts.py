"""No value of a message in any error text (what the sender is told, what the ledger keeps, what
operations see), and the BSN's keyed hash only for who may see payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree

from gateway.xmlsafe import safe_schema_error
from tests.conftest import EXAMPLES
from tests.security.conftest import Doors, as_

TOEWIJZING = json.loads((EXAMPLES / "toewijzing.json").read_text())
MAPPED = "/v1/messages/outbound/iwmo/toewijzing"


def _with(path: str, value: Any) -> bytes:
    data = json.loads(json.dumps(TOEWIJZING))
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return json.dumps(data).encode()


# field, a value it cannot take, the part of the value no text may show
MAPPING_CASES = [
    ("client.geboortedatum", "02-03-1948", "1948"),
    ("client.geboortedatum", "O'Neill 1948", "Neill"),
    ("client.contacten.0.adres.huisnummer", "12a'b", "12a"),
    ("client.contacten.0.adres.huisnummer", "Kerkstraat 12", "Kerkstraat"),
    ("toewijzingen.0.ingangsdatum", "1 december 2026", "december"),
    ("toewijzingen.0.toewijzingnummer", "BSN999990019", "999990019"),
    ("client.naam.achternaam", "O'Brien-" + "x" * 300, "Brien"),
    ("client.bsn", "12'34'5678", "5678"),
    ("client.geslacht", "v'rouw", "rouw"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("field", "value", "secret"), MAPPING_CASES, ids=range(len(MAPPING_CASES)))
def test_no_value_in_the_errors_of_a_mapped_message(
    doors: Doors, field: str, value: str, secret: str
) -> None:
    response = doors.client.post(
        MAPPED,
        content=_with(field, value),
        headers={"content-type": "application/json", **as_("bo-0363")},
    )
    assert response.status_code == 422, response.text
    receipt = response.json()
    assert receipt["errors"] or receipt["findings"], receipt
    told = json.dumps(receipt)
    assert secret not in told, told
    # nor in what the ledger keeps, nor in what a viewer is shown
    shown = doors.client.get(f"/v1/messages/{receipt['message_id']}", headers=as_("viewer"))
    assert shown.status_code == 200
    assert secret not in shown.text


SCHEMA = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="R"><xs:complexType><xs:sequence>
    <xs:element name="Pattern"><xs:simpleType><xs:restriction base="xs:string">
      <xs:pattern value="[0-9]{9}"/></xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Enum"><xs:simpleType><xs:restriction base="xs:string">
      <xs:enumeration value="01"/><xs:enumeration value="02"/>
    </xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Length"><xs:simpleType><xs:restriction base="xs:string">
      <xs:length value="5"/></xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Date" type="xs:date"/>
    <xs:element name="Number" type="xs:integer"/>
    <xs:element name="Bounded"><xs:simpleType><xs:restriction base="xs:decimal">
      <xs:maxInclusive value="10"/><xs:totalDigits value="3"/>
    </xs:restriction></xs:simpleType></xs:element>
  </xs:sequence><xs:attribute name="a" type="xs:date"/></xs:complexType>
  <xs:unique name="u"><xs:selector xpath="*"/><xs:field xpath="@k"/></xs:unique>
  </xs:element>
</xs:schema>"""

# Each value is made of "Qq" parts around apostrophes: no text may show any of it.
VALUES = [
    "O'Qq",
    "Qq12'34'Qq",
    "Qq' is not accepted by the pattern 'Qq",  # the tail libxml2 writes, inside the value
    "Qq' is not a valid value of the atomic type 'Qq",
    "Qq' is not an element of the set 'Qq",
    "Qq" * 35_000,  # libxml2 cuts its message short: the tail it would match is gone
    "'Qq",
    "Qq\n'Qq'",
]
ELEMENTS = ["Pattern", "Enum", "Length", "Date", "Number", "Bounded", "@a"]


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_schema_errors_quote_no_value_apostrophes_and_all(element: str, value: str) -> None:
    schema = etree.XMLSchema(etree.fromstring(SCHEMA))
    fields = {"Pattern": "123456789", "Enum": "01", "Length": "abcde", "Date": "2026-01-01"}
    fields |= {"Number": "1", "Bounded": "1"}
    attribute = ""
    if element == "@a":
        attribute = value
    else:
        fields[element] = value
    root = etree.Element("R")
    if attribute:
        root.set("a", attribute)
    for name, text in fields.items():
        etree.SubElement(root, name).text = text
    doc = etree.fromstring(etree.tostring(root), etree.XMLParser(huge_tree=True))
    assert not schema.validate(doc)
    texts = [safe_schema_error(e) for e in schema.error_log]
    assert texts
    for text in texts:
        assert "Qq" not in text and len(text) < 1000, text[:300]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "sees"), [("viewer", False), ("op", False), ("pv", True), ("admin", True)]
)
def test_the_bsn_hash_is_shown_only_to_who_may_see_payloads(
    doors: Doors, who: str, sees: bool
) -> None:
    response = doors.client.post(
        MAPPED,
        content=json.dumps(TOEWIJZING).encode(),
        headers={"content-type": "application/json", **as_("bo-0363")},
    )
    assert response.status_code == 202, response.text
    message_id = response.json()["message_id"]
    shown = doors.client.get(f"/v1/messages/{message_id}", headers=as_(who))
    assert shown.status_code == 200
    keys = [entry["keys"] for entry in shown.json()["history"]]
    assert any(keys), keys  # the other business keys are there for everyone
    assert any("bsn" in k for k in keys) is sees
