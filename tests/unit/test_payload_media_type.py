"""A payload is sent back with the content type it was handed in with, when that is one: the
sender chose it, so anything else (not a media type, not Latin-1) becomes octet-stream."""

from __future__ import annotations

import pytest

from gateway.ops.messages import media_type


@pytest.mark.parametrize(
    "recorded",
    ["application/xml", "text/xml; charset=UTF-8", "application/vnd.ketenpoort+json"],
)
def test_a_media_type_is_kept(recorded: str) -> None:
    assert media_type(recorded) == recorded


@pytest.mark.parametrize(
    "recorded", ["", "}", "xml", "text/xml\r\nX-Evil: 1", "tëxt/xml", "a/\U0003d256"]
)
def test_anything_else_is_octet_stream(recorded: str) -> None:
    assert media_type(recorded) == "application/octet-stream"
