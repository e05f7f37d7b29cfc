# ruff: noqa: E501  (case tables, one case a line)
"""Property tests: for every one of the 28 messages, a document generated from the model decodes
to a canonical dict and encodes back to an equivalent XML that is valid against our XSD and the
public one; and the registry identifies raw bytes or refuses them with a clear reason."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from adapters.istandaarden.catalogue import by_code
from adapters.istandaarden.engine import Part
from adapters.lib.istandaard import codec
from gateway.adapter import Registry, Unidentified
from gateway.identify import identify_bytes
from gateway.xmlsafe import XmlRejected
from tests.istd_world import adapter
from tests.unit.test_schemas import (
    ALL_MESSAGES,
    _msg_id,
    _nsmap,
    lxml_schema,
    message_strategy,
    oracle_xsd,
    to_xml,
)


def _canonical(doc: etree._Element) -> str:
    """C14N 2.0 without whitespace-only text and with prefixes normalised."""
    return etree.canonicalize(
        etree.tostring(doc, encoding="unicode"), strip_text=True, rewrite_prefixes=True
    )


@pytest.mark.usefixtures("reference")
@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=_msg_id)
def test_decode_encode_round_trip_is_exact_and_valid(msg) -> None:
    bericht = by_code(msg.name)
    ours = etree.XMLSchema(etree.parse(str(bericht.schema_path)))
    oracle = oracle_xsd(msg.standard, msg.name)
    assert oracle is not None
    public = lxml_schema(oracle)

    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(message_strategy(msg))
    def round_trip(node) -> None:
        source = to_xml(node, _nsmap(msg)).getroot()
        data = codec.decode_message(source, bericht)
        indexed, index = codec.decode_message_indexed(source, bericht)
        assert indexed == data
        assert index == Part(data).index  # the decoder's index is the one the rules would build
        encoded = codec.encode_message(bericht, data)
        again = etree.fromstring(encoded)
        assert codec.decode_message(again, bericht) == data  # every text exactly as it was
        assert _canonical(again) == _canonical(source)  # same elements, order and values
        assert encoded.startswith(b"<?xml") and b"\r\n" in encoded and b"\n\n" not in encoded
        assert ours.validate(again.getroottree()), ours.error_log
        assert public.validate(again.getroottree()), public.error_log

    round_trip()


@pytest.fixture
def registry() -> Registry:
    return Registry([adapter()])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/wmo323/schema">', "WMO323"),
        (b'<?xml version="1.0"?>\n<Bericht xmlns="http://www.istandaarden.nl/ijw/3_2/jw302/schema"/>', "JW302"),
    ],
)  # fmt: skip
def test_identify_raw_bytes_from_the_first_element(registry, body: bytes, expected: str) -> None:
    _, message_type = identify_bytes(body, registry, 10**6)
    assert (message_type.standard, message_type.code, message_type.version) == (
        by_code(expected).standard,
        expected,
        "3.2",
    )


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        (b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_1/wmo301/schema"/>', Unidentified,
         "iwmo 3.1 is not supported; supported: 3.2"),
        (b'<b:Bericht xmlns:b="http://www.istandaarden.nl/ijw/2_4/jw301/schema"/>', Unidentified,
         "ijw 2.4 is not supported"),
        (b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/wmo303/schema"/>', Unidentified,
         "iwmo 3.2 has no message 303"),
        (b'<b:Root xmlns:b="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"/>', Unidentified,
         "root element is Root; expected Bericht"),
        (b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"/>',
         Unidentified, "not an iWmo/iJw message"),
        (b'<x xmlns="urn:other"/>', Unidentified, "no adapter knows documents in namespace urn:other"),
        (b"plain text", XmlRejected, "not well-formed"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a/>', XmlRejected, "DOCTYPE"),
        (b"<a/>" + b" " * 100, XmlRejected, "limit is 50 bytes"),
    ],
)  # fmt: skip
def test_identify_refuses_with_a_clear_reason(registry, body: bytes, error, reason: str) -> None:
    for _ in range(2):  # a refusal is not remembered: the second time gives the same reason
        with pytest.raises(error, match=reason):
            identify_bytes(body, registry, 50 if b" " * 100 in body else 10**6)


def test_identify_remembers_a_root_name_it_identified(registry) -> None:
    wmo = b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"/>'
    jw = b'<Bericht xmlns="http://www.istandaarden.nl/ijw/3_2/jw301/schema"/>'
    first = identify_bytes(wmo, registry, 10**6)
    assert identify_bytes(wmo, registry, 10**6) == first
    assert identify_bytes(jw, registry, 10**6)[1].code == "JW301"
    assert identify_bytes(wmo, registry, 10**6)[1].code == "WMO301"
