import pytest

from gateway.xmlsafe import XmlRejected, parse

LIMIT = 1024 * 1024


def test_parses_plain_xml() -> None:
    tree = parse(b"<a><b>1</b></a>", LIMIT)
    assert tree.getroot().findtext("b") == "1"


def test_refuses_external_entities(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    xxe = f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><a>&x;</a>'
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        parse(xxe.encode(), LIMIT)


def test_refuses_entity_expansion_bombs() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b"]><l>&c;&c;&c;</l>"
    )
    with pytest.raises(XmlRejected):
        parse(bomb, LIMIT)


def test_refuses_oversize_and_empty_and_malformed() -> None:
    with pytest.raises(XmlRejected, match="limit is 10 bytes"):
        parse(b"<a>0123456789</a>", 10)
    with pytest.raises(XmlRejected, match="empty"):
        parse(b"  ", LIMIT)
    with pytest.raises(XmlRejected, match="not well-formed"):
        parse(b"<a><b></a>", LIMIT)


def test_no_network_for_external_dtd() -> None:
    doc = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>'
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        parse(doc, LIMIT)
