"""The one door to receive: every way in makes its message's envelope with :func:`envelope_for`
and hands it to receive (``Receiver.receive``, ``receive_mapped``, ``refuse``,
``receive_many``).

A way in (an HTTP route or batch, a channel's endpoint or poller, the AMQP ingress, the file
drop, ``ketenpoort send``, ``ketenpoort import``, the demo, the worker's retours and follow-ups)
reads the bytes (no more than its limit), knows who handed them in and what ids the sender
chose or the door derived. Everything else about taking a message in is done here, once:

- the ids a sender chose are checked (:func:`gateway.envelope.checked_id`: a safe id of at most
  128 characters without a BSN; a UUID, normalised, where the door takes only UUIDs), each named
  as the door names it in the refusal (:class:`~gateway.envelope.BadId`); a message without an
  id gets a new one, and its correlation id is its message id when none is given; so is the
  content type a sender gave (:func:`gateway.envelope.checked_content_type`);
- who speaks through the door (:class:`Speaker`: the identity on the envelope and the parties
  it may send as, which receive's sender check holds the message's sender to);
- the door's name (the envelope's ``source``) and the time received.

Receive decides the rest (the sender check, the verdict, a known id answered from its
history). Public: the adapters' endpoints and pollers use it (``[tool.importlinter]``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.envelope import BadId, Direction, Envelope, checked_content_type, checked_id, new_id
from gateway.identities import Identity, caller_name


@dataclass(frozen=True)
class Speaker:
    """Who speaks through a door: the identity's name (on the envelope, in the ledger; "" for
    none) and the parties it may send as (None: anyone; an empty set: nobody)."""

    identity: str = ""
    may_send_as: frozenset[str] | None = None

    @classmethod
    def caller(cls, caller: Identity) -> Speaker:
        """An authenticated caller (an HTTP route, a channel's endpoint): its own parties."""
        return cls(caller_name(caller), caller.may_send_as)

    @classmethod
    def relaying(cls, caller: Identity, zender: str) -> Speaker:
        """A caller handing in what a transport envelope says ``zender`` sent: with the relay
        right (``relay=yes``) exactly that zender, else its own parties."""
        return cls(caller_name(caller), caller.relaying(zender))

    @classmethod
    def vouched(cls, party: str) -> Speaker:
        """No identity of ours, but a counterpart that authenticated ``party`` (VECOZO's
        afzender): the message must come from that party."""
        return cls("", frozenset({party}))


# A door on a gateway without identities (local-only), ``ketenpoort send``, the demo, and a
# refusal before identification (no sender to check): anyone.
ANYONE = Speaker()
# A door configured with no identity while identities exist: it speaks for nobody, and receive
# refuses every message it hands in (stage ``sender``).
NOBODY = Speaker("", frozenset())
# The gateway's own messages (retours, follow-ups, a Fo01 it answers with): any sender.
GATEWAY = Speaker()


@dataclass(frozen=True)
class Given:
    """The ids a sender chose, checked by :func:`envelope_for` (not given: a message id None, a
    correlation id None or ""; an empty message id is no id and refused); ``names``
    are what the door calls them in a refusal; ``uuid``: a message id must be a UUID (the HTTP
    API's idempotency key, documented so), taken in its usual form."""

    message_id: str | None = None
    correlation_id: str | None = None
    names: tuple[str, str] = ("message id", "correlation id")
    uuid: bool = False


NOTHING_GIVEN = Given()


def envelope_for(
    door: str,
    body: bytes,
    direction: Direction,
    *,
    who: Speaker,
    given: Given = NOTHING_GIVEN,
    message_id: str | None = None,
    correlation_id: str = "",
    parent_id: str | None = None,
    content_type: str = "application/xml",
) -> Envelope:
    """The envelope of ``body`` coming in through ``door`` (its ``source``: "http", "amqp",
    "file", "cli", "demo", "import", "ggk", "corv", "vecozo"; "gateway" for the gateway's own),
    handed in by ``who``.

    ``given``: the ids the sender chose, checked (:class:`~gateway.envelope.BadId` naming the
    field, never quoting it). ``message_id``, ``correlation_id``: the ids the door derived from
    what it read (a path and content, a transport envelope's reference), taken as they are, for
    what the sender did not choose. ``parent_id``: the message this one answers or comes from.
    ``content_type``: checked as the ids are (:func:`~gateway.envelope.checked_content_type`),
    as a door may take it from the sender.
    """
    chosen_id = _message_id(given) or message_id or new_id()
    chosen_correlation = _correlation_id(given) or correlation_id
    return Envelope(
        body=body,
        direction=direction,
        message_id=chosen_id,
        correlation_id=chosen_correlation,
        content_type=checked_content_type(content_type),
        source=door,
        parent_id=parent_id,
        identity=who.identity,
        may_send_as=who.may_send_as,
        received_at=datetime.now(UTC),
    )


def _message_id(given: Given) -> str | None:
    if given.message_id is None:
        return None
    name = given.names[0]
    if not given.uuid:
        return checked_id(given.message_id, name)
    try:
        return str(uuid.UUID(given.message_id))
    except ValueError:
        raise BadId(f"{name} must be a UUID") from None


def _correlation_id(given: Given) -> str | None:
    if not given.correlation_id:
        return None
    return checked_id(given.correlation_id, given.names[1])
