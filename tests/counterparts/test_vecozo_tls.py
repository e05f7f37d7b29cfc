"""VECOZO mutual TLS, for real: a local HTTPS stand-in that demands a client certificate from a
test CA, and the transport and poller configured with ours. ``responses`` cannot show TLS, so
this stand-in is a real server on 127.0.0.1 (still only a stand-in for VECOZO)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.shared.failures import Unavailable
from adapters.shared.http import HttpPolicy
from adapters.vecozo.transport import VecozoTransport
from gateway.adapter import Delivery
from gateway.envelope import Direction, Envelope, MessageType
from tests.conftest import REFERENCE

JW = REFERENCE / "jaapjunior-ijw-3.2/voorbeeldberichten"
AGB = "22227338"
POLICY = HttpPolicy(attempts=1, backoff=0.001, max_wait=0.01, timeout=5.0)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    folder: Path,
    stem: str,
    common: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    signer_cert, signer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(signer_cert.subject if signer_cert else _name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@dataclass
class StandIn:
    url: str
    folder: Path
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, client CN)


@pytest.fixture
def vecozo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """VECOZO's stand-in: HTTPS with a certificate from its own CA, client certificates from
    the test CA required; answers REST push with 204 and REST pull's list with nothing.

    The environment names a CA bundle that does not trust the stand-in (as containers often set
    REQUESTS_CA_BUNDLE): the CA configured for VECOZO must win over it."""
    ca = _issue(tmp_path, "ca", "Test CA", None, ca=True)
    _issue(tmp_path, "server", "localhost", ca, server=True)
    _issue(tmp_path, "client", f"AGB {AGB}", ca)
    _issue(tmp_path, "stranger", "not ours", None)  # self-signed: no chain to the CA
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(tmp_path / "stranger.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    context.load_verify_locations(tmp_path / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    stand_in = StandIn("", tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def _client(self) -> str:
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            return dict(x[0] for x in peer["subject"])["commonName"]

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stand_in.seen.append((self.path, self._client()))
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            stand_in.seen.append((self.path, self._client()))
            body = json.dumps([]).encode()  # no messages waiting
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stand_in.url = f"https://127.0.0.1:{server.server_address[1]}/rest-push/v1"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def _send(transport: VecozoTransport) -> str:
    envelope = Envelope(
        body=(JW / "JW315.xml").read_bytes(),
        direction=Direction.OUTBOUND,
        message_type=MessageType("ijw", "JW315", "3.2"),
    )
    delivery = Delivery("0344", envelope.body, "application/xml", "JW315.xml")
    return transport.deliver(envelope, delivery).reference


def _transport(stand_in: StandIn, client: str | None, ca: str | None) -> VecozoTransport:
    folder = stand_in.folder
    return VecozoTransport(
        push_url=stand_in.url,
        agb=AGB,
        cert=str(folder / f"{client}.pem") if client else "",
        key=str(folder / f"{client}.key") if client else "",
        ca=str(folder / f"{ca}.pem") if ca else "",
        policy=POLICY,
        sleep=lambda _s: None,
    )


@pytest.mark.usefixtures("reference")
def test_push_presents_our_client_certificate_and_trusts_the_configured_ca(vecozo) -> None:
    reference = _send(_transport(vecozo, "client", "ca"))
    assert reference and vecozo.seen == [("/rest-push/v1/berichten", f"AGB {AGB}")]


@pytest.mark.usefixtures("reference")
@pytest.mark.parametrize(
    ("client", "ca", "why"),
    [
        (None, "ca", "no client certificate: the server ends the handshake"),
        ("stranger", "ca", "a client certificate VECOZO's CA did not issue"),
        ("client", None, "VECOZO's certificate checked against the environment's CAs only"),
        ("client", "stranger", "VECOZO's certificate checked against the wrong CA"),
    ],
)
def test_no_message_leaves_without_both_sides_of_the_tls_check(
    vecozo, client: str | None, ca: str | None, why: str
) -> None:
    with pytest.raises(Unavailable, match="VECOZO"):  # a TLS failure is retried, then parked
        _send(_transport(vecozo, client, ca))
    assert vecozo.seen == [], why


@pytest.mark.usefixtures("reference")
def test_the_poller_uses_the_same_mutual_tls(vecozo, settings) -> None:
    from adapters.vecozo.poller import VecozoPoller

    gateway = SimpleNamespace(receiver=None, ledger=None, settings=settings)  # what it reads
    folder = vecozo.folder
    poller = VecozoPoller(
        gateway,
        pull_url=vecozo.url.replace("rest-push", "rest-pull"),
        cert=str(folder / "client.pem"),
        key=str(folder / "client.key"),
        ca=str(folder / "ca.pem"),
        policy=POLICY,
    )
    assert poller.poll_once().fetched == 0
    assert vecozo.seen == [("/rest-pull/v1/berichten?limit=250", f"AGB {AGB}")]
