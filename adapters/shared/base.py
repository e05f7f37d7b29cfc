"""What most standards share: their messages are always read whole (:class:`WholeMessages`)."""

from __future__ import annotations

from gateway.adapter import RecordSink, State, Unidentified
from gateway.envelope import MessageType


class WholeMessages:
    """No message of these standards is large enough to be read record by record."""

    def record_tag(self, message_type: MessageType) -> str | None:
        return None

    def stream(self, message_type: MessageType, state: State) -> RecordSink:
        raise Unidentified(f"{message_type} is read whole, never streamed")
