"""Who is calling: identities, their credentials, roles and the parties they may send as.

An identity is configured as one line (setting ``ops_identities``, TOML list or comma-separated
environment variable)::

    "<name> key=sha256:<hex> cert=sha256:<hex> roles=<role>+<role> parties=<code>+<code>"

- ``key=sha256:<hex>``: the SHA-256 of an API key (the key itself is never configured; keys are
  random 32-byte tokens, so a plain hash is enough). Sent as ``Authorization: Bearer <key>`` or
  ``X-API-Key: <key>``; the dashboard keeps it in an HttpOnly, SameSite=Strict cookie.
- ``cert=sha256:<hex>``: the SHA-256 fingerprint of a client certificate (mutual TLS). The
  TLS-terminating proxy verifies the certificate and passes its fingerprint in the header named by
  ``ops_client_cert_header``, believed only from ``ops_trusted_proxies``; a server that terminates
  TLS itself and fills the ASGI ``tls`` extension (``client_cert_chain``) is read directly.
- ``roles``: ``viewer`` (lists, histories, no payloads), ``payload-viewer`` (also payloads; each
  view is recorded in the ledger), ``operator`` (also replay and discard), ``admin`` (all of it).
- ``parties``: the codes it may send as (a gemeente's back-office its CBS gemeentecode, an
  aanbieder its AGB code); ``*`` for a trusted internal system that may send as anyone. A message
  whose sender (the adapter's ``Description.sender``: the party that really sends it) is not one
  of them is refused with HTTP 403 and recorded as rejected at stage ``sender``.

Without any identity configured the API is open: every caller is ``anonymous`` with every role
and may send as anyone. ``check_exposure`` refuses that unless the server listens on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import HTTPException, Request

from gateway.logs import get_logger

log = get_logger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    PAYLOAD_VIEWER = "payload-viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


# What each role includes besides itself.
_IMPLIES = {
    Role.ADMIN: {Role.VIEWER, Role.PAYLOAD_VIEWER, Role.OPERATOR},
    Role.OPERATOR: {Role.VIEWER},
    Role.PAYLOAD_VIEWER: {Role.VIEWER},
    Role.VIEWER: set(),
}
ANY_PARTY = "*"
SESSION_COOKIE = "kp_session"


@dataclass(frozen=True)
class Identity:
    name: str
    roles: frozenset[Role] = frozenset()
    parties: frozenset[str] = frozenset()
    key_hashes: frozenset[str] = field(default=frozenset(), repr=False)
    cert_fingerprints: frozenset[str] = field(default=frozenset(), repr=False)

    def has(self, role: Role) -> bool:
        return any(role == r or role in _IMPLIES[r] for r in self.roles)

    @property
    def may_send_as(self) -> frozenset[str] | None:
        """The parties it may send as; None: anyone (``*``)."""
        return None if ANY_PARTY in self.parties else self.parties


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
        else:
            raise ValueError(f"identity {name}: unknown field {field_name!r}")
    if not keys and not certs:
        raise ValueError(f"identity {name}: needs a key=sha256:... or a cert=sha256:...")
    return Identity(name, frozenset(roles), frozenset(parties), frozenset(keys), frozenset(certs))


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


class Authenticator:
    """Finds the identity of a request (API key, session cookie or client certificate)."""

    def __init__(
        self,
        identities: Iterable[Identity],
        cert_header: str = "",
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.identities = list(identities)
        self.open = not self.identities
        self._by_key = {h: i for i in self.identities for h in i.key_hashes}
        self._by_cert = {f: i for i in self.identities for f in i.cert_fingerprints}
        self.cert_header = cert_header.lower()
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    @classmethod
    def from_settings(cls, settings: object) -> Authenticator:
        return cls(
            parse_identities(getattr(settings, "ops_identities", ())),
            getattr(settings, "ops_client_cert_header", ""),
            getattr(settings, "ops_trusted_proxies", ()),
        )

    def by_key(self, key: str) -> Identity | None:
        digest = key_hash(key)
        for known, identity in self._by_key.items():
            if hmac.compare_digest(known, digest):
                return identity
        return None

    def _from_proxy(self, request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def _certificate(self, request: Request) -> str | None:
        tls = request.scope.get("extensions", {}).get("tls", {})
        chain = tls.get("client_cert_chain") or []
        if chain:
            cert = x509.load_pem_x509_certificate(chain[0].encode())
            return cert.fingerprint(hashes.SHA256()).hex()
        if self.cert_header and self._from_proxy(request):
            value = request.headers.get(self.cert_header)
            if value:
                return value.replace(":", "").strip().lower()
        return None

    def identify(self, request: Request) -> Identity | None:
        """The caller's identity, or None when it presented nothing we know."""
        if self.open:
            return ANONYMOUS
        fingerprint = self._certificate(request)
        if fingerprint and fingerprint in self._by_cert:
            return self._by_cert[fingerprint]
        authorization = request.headers.get("authorization", "")
        key = (
            authorization[7:].strip()
            if authorization.lower().startswith("bearer ")
            else request.headers.get("x-api-key") or request.cookies.get(SESSION_COOKIE)
        )
        return self.by_key(key) if key else None

    def require(self, request: Request, role: Role | None = None) -> Identity:
        """The caller's identity having ``role`` (None: any identity); else 401 or 403."""
        identity = self.identify(request)
        if identity is None:
            log.warning("auth.unauthenticated", path=request.url.path)
            raise HTTPException(
                401,
                "authentication required: an API key (Authorization: Bearer <key>) or a "
                "client certificate",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if role is not None and not identity.has(role):
            log.warning("auth.forbidden", identity=identity.name, role=role.value)
            raise HTTPException(403, f"{identity.name} lacks the role {role.value}")
        return identity

    def require_sender(self, request: Request) -> Identity:
        """The caller's identity, which must be allowed to send messages (else 401 / 403).

        Every way in over HTTP asks this, the adapters' receiving endpoints included (the ebMS
        adapter relaying what the GGk or JUBES sent needs an identity with ``parties=*``).
        """
        identity = self.require(request)
        if identity.may_send_as is not None and not identity.may_send_as:
            log.warning("auth.may_not_send", identity=identity.name)
            raise HTTPException(403, f"{identity.name} may not send messages (it has no parties)")
        return identity


def check_exposure(settings: object) -> None:
    """Refuse an open API (no identities) on anything but a loopback address."""
    host = str(getattr(settings, "http_host", "127.0.0.1"))
    if getattr(settings, "ops_identities", ()):
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"http_host is {host} but no ops_identities are configured: the API would be open "
            "to anyone; configure identities (README, Operations) or listen on 127.0.0.1"
        )


def csrf_token(secret: str, identity: Identity) -> str:
    """A form token tying a dashboard form to the identity (with SameSite=Strict cookies)."""
    return hmac.new(secret.encode(), f"csrf:{identity.name}".encode(), "sha256").hexdigest()
