"""Unique, valid WMO301 toewijzingen of about 3 KB (tests and ``bench/throughput.py``)."""

from __future__ import annotations

from pathlib import Path

_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "WMO301-ontvangen.xml"
_PRODUCT_START = b"      <wmo301:ToegewezenProduct>"
_PRODUCTS_END = b"    </wmo301:ToegewezenProducten>"


def _template() -> bytes:
    text = _EXAMPLE.read_bytes()
    start = text.index(_PRODUCT_START)
    end = text.index(_PRODUCTS_END)
    product = text[start:end]
    second = product.replace(b"770001", b"{T2}").replace(b"01A01", b"01A02")
    text = text[:end] + second + text[end:]
    return text.replace(b"770001", b"{T1}").replace(b"RTD2026-0001", b"{ID}")


_TEMPLATE = _template()


def wmo301(number: int) -> bytes:
    """WMO301 number ``number``: its own BerichtIdentificatie and ToewijzingNummers."""
    return (
        _TEMPLATE.replace(b"{ID}", f"KP{number:010d}".encode())
        .replace(b"{T1}", str(1_000_000 + 2 * number).encode())
        .replace(b"{T2}", str(1_000_001 + 2 * number).encode())
    )
