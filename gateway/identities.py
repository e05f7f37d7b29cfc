"""Identities: who may call the gateway, with which roles, sending as which parties; parsed from
the setting ``ops_identities``, one line each (the format: ``gateway/ops/auth.py``, which finds
the identity of a request). A module of its own, importing nothing of the gateway, so that the
settings can check the lines without importing the operations."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    PAYLOAD_VIEWER = "payload-viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    # Policy staff: the social-domain monitor (aggregates, ``ops/monitor.py``) and nothing else.
    POLICY = "beleid"


# What each role includes besides itself.
_IMPLIES = {
    Role.ADMIN: {Role.VIEWER, Role.PAYLOAD_VIEWER, Role.OPERATOR, Role.POLICY},
    Role.OPERATOR: {Role.VIEWER},
    Role.PAYLOAD_VIEWER: {Role.VIEWER},
    Role.VIEWER: set(),
    Role.POLICY: set(),
}
ANY_PARTY = "*"


@dataclass(frozen=True)
class Identity:
    name: str
    roles: frozenset[Role] = frozenset()
    parties: frozenset[str] = frozenset()
    key_hashes: frozenset[str] = field(default=frozenset(), repr=False)
    cert_fingerprints: frozenset[str] = field(default=frozenset(), repr=False)
    # May relay for others (``relay=yes``, gateway/ops/auth.py): sends as its transport
    # envelope's zender.
    relay: bool = False

    def has(self, role: Role) -> bool:
        return any(role == r or role in _IMPLIES[r] for r in self.roles)

    @property
    def may_send_as(self) -> frozenset[str] | None:
        """The parties it may send as; None: anyone (``*``)."""
        return None if ANY_PARTY in self.parties else self.parties

    def relaying(self, zender: str) -> frozenset[str] | None:
        """Who a message it hands in through a channel endpoint may come from, the transport
        envelope naming ``zender``: with the relay right, exactly that zender; else its own
        parties (as on every door)."""
        return frozenset({zender}) if self.relay else self.may_send_as


ANONYMOUS = Identity("anonymous", frozenset(Role), frozenset({ANY_PARTY}))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new API key (43 URL-safe characters, 256 random bits)."""
    return secrets.token_urlsafe(32)


def _hex(value: str, what: str) -> str:
    algorithm, _, digest = value.partition(":")
    digest = digest.replace(":", "").lower()
    if (
        algorithm != "sha256"
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ValueError(f"{what} must be sha256:<64 hex digits>")
    return digest


def parse_identity(line: str) -> Identity:
    name, *parts = line.split()
    roles: set[Role] = set()
    parties: set[str] = set()
    keys: set[str] = set()
    certs: set[str] = set()
    relay = False
    for part in parts:
        field_name, sep, value = part.partition("=")
        if not sep or not value:
            raise ValueError(f"identity {name}: expected name=value, got {part!r}")
        values = [v for v in value.split("+") if v]
        if field_name == "roles":
            try:
                roles.update(Role(v) for v in values)
            except ValueError:
                raise ValueError(
                    f"identity {name}: unknown role in {value!r}; roles are "
                    + ", ".join(r.value for r in Role)
                ) from None
        elif field_name == "parties":
            parties.update(values)
        elif field_name == "key":
            keys.add(_hex(value, f"identity {name}: key"))
        elif field_name == "cert":
            certs.add(_hex(value, f"identity {name}: cert"))
        elif field_name == "relay":
            if value not in ("yes", "no"):
                raise ValueError(f"identity {name}: relay must be yes or no")
            relay = value == "yes"
        else:
            raise ValueError(f"identity {name}: unknown field {field_name!r}")
    if not keys and not certs:
        raise ValueError(f"identity {name}: needs a key=sha256:... or a cert=sha256:...")
    return Identity(
        name, frozenset(roles), frozenset(parties), frozenset(keys), frozenset(certs), relay
    )


def parse_identities(lines: Iterable[str]) -> list[Identity]:
    identities = [parse_identity(line) for line in lines if line.strip()]
    names = [i.name for i in identities]
    if len(set(names)) != len(names):
        raise ValueError("identity names must be unique")
    return identities


def identity_line(name: str, key: str, roles: Sequence[str], parties: Sequence[str]) -> str:
    line = f"{name} key=sha256:{key_hash(key)}"
    if roles:
        line += " roles=" + "+".join(roles)
    if parties:
        line += " parties=" + "+".join(parties)
    parse_identity(line)  # the line it prints is one the settings accept
    return line


def caller_name(caller: Identity) -> str:
    """The name recorded on the envelope for a caller ("" for the anonymous caller of an open,
    local-only gateway, as for the other doors without an identity)."""
    return "" if caller is ANONYMOUS else caller.name


def id_scope(caller: Identity) -> tuple[str, ...]:
    """What a channel endpoint adds to the parts it derives a message id from (zender and
    referentienummer): nothing for an identity that speaks for others (the relay, ``*``, the
    anonymous caller of a local-only gateway), whose ids are the counterparts'; the identity's
    name for any other, so that a message it may not send never takes the id the genuine one
    will have (it would answer that one as a duplicate)."""
    return () if caller.relay or caller.may_send_as is None else (caller.name,)
