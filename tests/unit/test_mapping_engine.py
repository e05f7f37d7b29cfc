from pathlib import Path

import pytest

from gateway.adapter import MappingError
from gateway.mapping import apply_mapping, load_mapping

SPEC = """
[mapping]
name = "t"
message = "X1"
version = 2

[fields]
"H/A" = { from = "a" }
"H/B" = { from = "b", default = "@gen" }
"H/C" = { const = "3" }
"P/Naam" = { from = "p.naam", optional = true }
"P/Land" = { from = "p.land", default = "NL", when = "p.naam" }
"D" = { from = "d", format = "date", optional = true }

[lists."R/Item"]
from = "items"
[lists."R/Item".fields]
"N" = { from = "n", format = "int" }
"Cents" = { from = "eur", format = "cents", optional = true }
[lists."R/Item".lists."Sub/S"]
from = "subs"
optional = true
[lists."R/Item".lists."Sub/S".fields]
"V" = { from = "v" }
"""


@pytest.fixture
def spec(tmp_path: Path):
    path = tmp_path / "t.toml"
    path.write_text(SPEC)
    return load_mapping(path)


def test_fills_fields_lists_constants_and_generated_values(spec) -> None:
    data = {"a": 1, "items": [{"n": "7", "subs": [{"v": "x"}, {"v": "y"}]}, {"n": 8, "eur": 1250}]}
    out = apply_mapping(spec, data, {"@gen": "G-1"})
    assert spec.version == 2 and spec.message == "X1"
    assert out == {
        "H": {"A": "1", "B": "G-1", "C": "3"},
        "R": {
            "Item": [
                {"N": "7", "Sub": {"S": [{"V": "x"}, {"V": "y"}]}},
                {"N": "8", "Cents": "1250"},
            ]
        },
    }


def test_optional_group_left_out_and_when_follows_its_source(spec) -> None:
    base = {"a": "1", "items": [{"n": 1}]}
    assert "P" not in apply_mapping(spec, base, {"@gen": "g"})
    with_name = apply_mapping(spec, {**base, "p": {"naam": "Z"}}, {"@gen": "g"})
    assert with_name["P"] == {"Naam": "Z", "Land": "NL"}


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"items": [{"n": 1}]}, "a", "is required"),
        ({"a": 1}, "items", "is required"),
        ({"a": 1, "items": []}, "items", "non-empty list"),
        ({"a": 1, "items": [{"n": "x"}]}, "items[0].n", "not a whole number"),
        ({"a": 1, "items": [{"n": 1, "eur": 12.5}]}, "items[0].eur", "euro-cents"),
        ({"a": 1, "items": [{"n": 1}], "d": "2026-13-01"}, "d", "not a date"),
        ({"a": {"x": 1}, "items": [{"n": 1}]}, "a", "structure"),
        ({"a": 1, "items": [{"n": 1, "subs": [{}]}]}, "items[0].subs[0].v", "is required"),
    ],
)
def test_errors_name_the_field(spec, data, field: str, problem: str) -> None:
    with pytest.raises(MappingError) as caught:
        apply_mapping(spec, data, {"@gen": "g"})
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_bad_mapping_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[mapping]\nname="x"\nmessage="y"\nversion=1\n[fields]\n"A" = { frm = "a" }\n')
    with pytest.raises(ValueError, match="unknown keys"):
        load_mapping(path)
    path.write_text('[mapping]\nname="x"\n')
    with pytest.raises(ValueError, match="needs message"):
        load_mapping(path)


def test_the_json_field_an_element_came_from(spec) -> None:
    from gateway.mapping import source_field

    assert source_field(spec, "H/A") == "a"
    assert source_field(spec, "/H/B") == "b"  # from, with a generated default
    assert source_field(spec, "H/C") is None  # a constant: no JSON field
    assert source_field(spec, "R/Item/N") == "items[0].n"  # no [n]: the first
    assert source_field(spec, "R/Item[3]/Cents") == "items[2].eur"
    assert source_field(spec, "R/Item[2]/Sub/S[4]/V") == "items[1].subs[3].v"
    assert source_field(spec, "R/Item[2]") == "items[1]"
    assert source_field(spec, "R/Item[2]/Unknown") == "items[1]"  # inside an item: the item
    assert source_field(spec, "H") is None and source_field(spec, "Nowhere/X") is None


def test_schema_errors_of_a_mapped_message_name_the_json_field() -> None:
    from gateway.validate import name_sources

    sources = {"Header/Afzender": "gemeente", "Adres/Plaatsnaam": "adres.plaats"}
    errors = (
        "line 7: /Bericht/Header/Afzender: Element 'Afzender': [facet 'pattern'] ...",
        "line 9: /Bericht/Adres: Element 'Adres': Missing child element(s). "
        "Expected is ( Plaatsnaam ).",
        "line 3: /Bericht/Header/BerichtCode: Element 'BerichtCode': ...",  # no JSON field
        "Element 'X': streamed, no line",
    )
    assert name_sources(errors, sources.get) == (
        "line 7: /Bericht/Header/Afzender (JSON gemeente): Element 'Afzender': [facet "
        "'pattern'] ...",
        "line 9: /Bericht/Adres (JSON adres.plaats): Element 'Adres': Missing child element(s)."
        " Expected is ( Plaatsnaam ).",
        errors[2],
        errors[3],
    )
