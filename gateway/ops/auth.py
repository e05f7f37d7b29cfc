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
  view is recorded in the ledger), ``operator`` (also replay and discard), ``admin`` (all of it);
  ``beleid`` (policy) sees the social-domain monitor (aggregates only) and nothing else.
- ``parties``: the codes it may send as (a gemeente's back-office its CBS gemeentecode, an
  aanbieder its AGB code); ``*`` for a trusted internal system that may send as anyone. A message
  whose sender (the adapter's ``Description.sender``: the party that really sends it) is not one
  of them is refused with HTTP 403 and recorded as rejected at stage ``sender``.
- ``relay=yes``: a channel identity (the ebMS adapter in front of ``/v1/ggk`` or ``/v1/corv``)
  that relays for others: it may send as the party its transport envelope names as zender, and
  then only a message whose inner sender is that zender. Without it, a caller of those endpoints
  may send only as its own ``parties``, as on ``/v1/messages/inbound``.

Doors that cannot authenticate per message (the AMQP ingress, the file drop) are configured with
the identity they speak for (``amqp_ingress_identity``, ``drop_identities``): see :func:`door_for`.

Without any identity configured the API is open: every caller is ``anonymous`` with every role
and may send as anyone. ``check_exposure`` refuses that unless the server listens on loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import HTTPException, Request

from gateway.door import ANYONE, NOBODY, Speaker
from gateway.identities import (
    ANONYMOUS,
    ANY_PARTY,
    Identity,
    Role,
    caller_name,
    id_scope,
    identity_line,
    key_hash,
    new_key,
    parse_identities,
    parse_identity,
)
from gateway.logs import get_logger

log = get_logger(__name__)

# Identities and their parsing live in gateway/identities.py; these names are kept here too.
__all__ = [
    "ANONYMOUS",
    "ANY_PARTY",
    "SESSION_COOKIE",
    "Authenticator",
    "Identity",
    "Role",
    "caller_name",
    "check_exposure",
    "csrf_token",
    "door_for",
    "id_scope",
    "identity_line",
    "key_hash",
    "new_key",
    "parse_identities",
    "parse_identity",
]


SESSION_COOKIE = "kp_session"


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
        adapter relaying what the GGk or JUBES sent needs an identity with ``relay=yes``).
        """
        identity = self.require(request)
        if identity.may_send_as is not None and not identity.may_send_as and not identity.relay:
            log.warning("auth.may_not_send", identity=identity.name)
            raise HTTPException(403, f"{identity.name} may not send messages (it has no parties)")
        return identity


def door_for(settings: object, name: str) -> Speaker:
    """Who a door configured to speak for the identity ``name`` (``amqp_ingress_identity``, a
    drop folder of ``drop_identities``; "" for none) speaks for. Without any identity
    configured (a local-only gateway: ``check_exposure``) it speaks for anyone, as the open
    HTTP API does; with identities, for the one named, or for nobody when none is."""
    identities = parse_identities(getattr(settings, "ops_identities", ()))
    if not identities:
        return ANYONE
    if not name:
        return NOBODY
    for identity in identities:
        if identity.name == name:
            return Speaker(identity.name, identity.may_send_as)
    raise ValueError(f"{name} is not one of ops_identities")


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
