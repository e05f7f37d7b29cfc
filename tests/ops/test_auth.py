"""Identities, credentials and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import HTTPException
from starlette.requests import Request

from gateway.config import ConfigError, load_settings
from gateway.ops.auth import (
    ANONYMOUS,
    Authenticator,
    Role,
    check_exposure,
    identity_line,
    key_hash,
    parse_identities,
    parse_identity,
)

KEY = "a-long-random-api-key-for-the-back-office"

# beyond a local-only gateway the published default BSN key is refused (test_config)
OWN_KEY = {"KETENPOORT_BSN_HASH_KEY": "a long secret of our own"}


def _request(
    headers: dict[str, str] | None = None, client: str = "10.0.0.9", **scope: object
) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/messages",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": (client, 5000),
            **scope,
        }
    )


def test_an_identity_line_and_its_roles() -> None:
    who = parse_identity(f"backoffice key=sha256:{key_hash(KEY)} parties=0599+0600 roles=viewer")
    assert who.parties == {"0599", "0600"} and who.may_send_as == {"0599", "0600"}
    assert who.has(Role.VIEWER) and not who.has(Role.PAYLOAD_VIEWER)
    admin = parse_identity(f"root key=sha256:{key_hash('x')} roles=admin")
    assert all(admin.has(r) for r in Role) and admin.may_send_as == frozenset()
    operator = parse_identity(f"op key=sha256:{key_hash('y')} roles=operator")
    assert operator.has(Role.VIEWER) and not operator.has(Role.PAYLOAD_VIEWER)
    internal = parse_identity(f"internal key=sha256:{key_hash('z')} parties=*")
    assert internal.may_send_as is None
    assert internal.relaying("0363") is None  # without the relay right: its own parties
    relay = parse_identity(f"ebms cert=sha256:{'a' * 64} relay=yes")
    assert relay.relay and relay.may_send_as == frozenset()  # as itself: nobody
    assert relay.relaying("0363") == {"0363"}  # through an endpoint: the transport's zender
    assert who.relaying("0363") == {"0599", "0600"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("anna roles=operator", "needs a key"),
        ("anna key=md5:abc", "sha256:<64 hex digits>"),
        (f"anna key=sha256:{'0' * 64} roles=boss", "unknown role"),
        (f"anna key=sha256:{'0' * 64} colour=blue", "unknown field"),
        (f"anna key=sha256:{'0' * 64} relay=maybe", "relay must be yes or no"),
    ],
)
def test_bad_identity_lines_are_refused_with_the_reason(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_identity(line)
    with pytest.raises(ConfigError, match=problem):
        load_settings(env={**OWN_KEY, "KETENPOORT_OPS_IDENTITIES": line})


def test_identities_from_the_environment_and_unique_names() -> None:
    line = identity_line("anna", KEY, ["operator", "payload-viewer"], [])
    settings = load_settings(
        env={
            **OWN_KEY,
            "KETENPOORT_OPS_IDENTITIES": f"{line},{identity_line('bo', 'k2', [], ['0599'])}",
        }
    )
    assert [i.name for i in parse_identities(settings.ops_identities)] == ["anna", "bo"]
    with pytest.raises(ValueError, match="unique"):
        parse_identities([line, line])


def test_api_key_by_header_bearer_or_cookie() -> None:
    auth = Authenticator([parse_identity(identity_line("bo", KEY, ["viewer"], ["0599"]))])
    assert auth.identify(_request({"Authorization": f"Bearer {KEY}"})).name == "bo"  # type: ignore[union-attr]
    assert auth.identify(_request({"X-API-Key": KEY})).name == "bo"  # type: ignore[union-attr]
    assert auth.identify(_request({"Cookie": f"kp_session={KEY}"})).name == "bo"  # type: ignore[union-attr]
    assert auth.identify(_request({"X-API-Key": "guess"})) is None
    with pytest.raises(HTTPException) as missing:
        auth.require(_request())
    assert missing.value.status_code == 401
    with pytest.raises(HTTPException) as lacking:
        auth.require(_request({"X-API-Key": KEY}), Role.OPERATOR)
    assert lacking.value.status_code == 403 and "operator" in lacking.value.detail


def _certificate() -> tuple[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zorg.example.nl")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return pem, cert.fingerprint(hashes.SHA256()).hex()


def test_client_certificate_from_a_trusted_proxy_header_or_the_tls_scope() -> None:
    pem, fingerprint = _certificate()
    aanbieder = parse_identity(f"zorg cert=sha256:{fingerprint} parties=12345678")
    auth = Authenticator([aanbieder], "X-Client-Cert-Sha256", ["10.0.0.0/24"])
    shown = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()  # nginx style
    assert auth.identify(_request({"X-Client-Cert-Sha256": shown})) == aanbieder
    # the same header from anywhere else is not believed
    assert (
        auth.identify(_request({"X-Client-Cert-Sha256": fingerprint}, client="192.0.2.7")) is None
    )
    tls = {"extensions": {"tls": {"client_cert_chain": [pem]}}}
    assert auth.identify(_request(client="192.0.2.7", **tls)) == aanbieder


def test_without_identities_the_api_is_open_and_only_on_loopback() -> None:
    assert Authenticator([]).identify(_request()) is ANONYMOUS
    check_exposure(load_settings(env={}))
    with pytest.raises(ValueError, match="no ops_identities"):
        check_exposure(load_settings(env={**OWN_KEY, "KETENPOORT_HTTP_HOST": "0.0.0.0"}))
    line = identity_line("bo", KEY, [], ["0599"])
    check_exposure(
        load_settings(
            env={**OWN_KEY, "KETENPOORT_HTTP_HOST": "0.0.0.0", "KETENPOORT_OPS_IDENTITIES": line}
        )
    )
