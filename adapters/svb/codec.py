"""iPgb 2.0 message XML <-> canonical dict, driven by our XSDs in ``schemas/ipgb/2.0`` (built
from documented facts; see the schemas' own comments)."""

from __future__ import annotations

from adapters.shared.istandaard import decode_message, encode_message, shape, xsd_versies

__all__ = ["decode_message", "encode_message", "shape", "xsd_versies"]
