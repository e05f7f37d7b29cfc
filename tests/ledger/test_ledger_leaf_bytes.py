"""An entry's leaf and private digest are hashed over canonical JSON; the fast writer of the
flat lists (:func:`gateway.ledger.records.canonical_flat`) must give the very bytes the generic
encoder gives, or every ledger written before would stop verifying."""

from __future__ import annotations

import json
from hashlib import sha256

from hypothesis import example, given
from hypothesis import strategies as st

from gateway.ledger.records import canonical, canonical_flat, leaf_data, private_digest

FLAT = st.lists(st.one_of(st.text(), st.integers(), st.none()), max_size=14)


# Values a sender may bring into a leaf or a detail: quotes and backslashes that would close a
# string or escape the next one, separators, control and line-separator characters, unicode.
HOSTILE = ['a","b', "\\", '\\"', '"],["x', "\x00\x1f\x7f", "\u2028\u2029", "\u00e9\U0001f600", ""]


@given(FLAT)
@example(HOSTILE)
@example(['a"', "b"])
@example(["a", '"b'])
def test_flat_lists_are_written_as_the_generic_encoder_writes_them(values: list[object]) -> None:
    assert canonical_flat(values) == canonical(values)
    assert canonical_flat(tuple(values)) == canonical(values)


@given(FLAT)
@example(HOSTILE)
@example(["1", None, ""])
def test_a_leaf_reads_back_as_its_values_so_no_two_lists_share_one(values: list[object]) -> None:
    """Two different entries never give the same leaf bytes: the bytes read back as exactly
    the values written (a value cannot close its string and forge the next column)."""
    assert json.loads(canonical_flat(values)) == values


@given(st.lists(st.one_of(st.booleans(), st.floats(allow_nan=False), st.text()), min_size=1))
def test_anything_else_goes_to_the_generic_encoder(values: list[object]) -> None:
    assert canonical_flat(values) == canonical(values)


def test_a_leaf_is_the_json_list_of_its_columns() -> None:
    data = leaf_data(7, "m-1", "c\u00e9", "received", "2026-12-03T19:00:00+00:00", "r", "iwmo",
                     "WMO301", "3.2", None, "ab" * 32)  # fmt: skip
    assert json.loads(data) == ["ketenpoort/2", 7, "m-1", "c\u00e9", "received",
                                "2026-12-03T19:00:00+00:00", "r", "iwmo", "WMO301", "3.2", None,
                                "ab" * 32]  # fmt: skip
    assert "\u00e9".encode() in data  # not escaped: ensure_ascii is off
    # A known digest: the bytes hashed are those of ledgers written before.
    assert private_digest("0363", "12345678", "{}", "{}") == (
        sha256(b'["0363","12345678","{}","{}"]').hexdigest()
    )
