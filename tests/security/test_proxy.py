"""Forwarded and client-certificate headers count only from ``ops_trusted_proxies``, judged by
the connection's own peer address: the server started as ``ketenpoort run`` starts it applies no
``X-Forwarded-For`` (uvicorn would, from loopback, by default)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from gateway.cli import server_options
from gateway.config import Settings, load_settings
from gateway.ops.auth import Authenticator, identity_line
from tests.integration.busutil import free_port

FINGERPRINT = hashlib.sha256(b"the party's certificate").hexdigest()
KEY = "key-someone-else-0123456789abcdef012345"
CERT_HEADER = "X-Client-Cert-Sha256"


@contextmanager
def _serve(settings: Settings) -> Iterator[str]:
    """A real uvicorn server, started with ``ketenpoort run``'s options, answering who the
    gateway's authenticator takes the caller for."""
    auth = Authenticator.from_settings(settings)
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict[str, str | None]:
        found = auth.identify(request)
        peer = request.client.host if request.client else None
        return {"identity": found.name if found else None, "peer": peer}

    server = uvicorn.Server(uvicorn.Config(app, **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def configured() -> Settings:
    line = identity_line("bo-0363", KEY, [], ["0363"]) + f" cert=sha256:{FINGERPRINT}"
    return dataclasses.replace(
        load_settings(env={}),
        http_host="127.0.0.1",
        http_port=free_port(),
        ops_identities=(line,),
        ops_client_cert_header=CERT_HEADER,
    )


CASES = [
    # trusted proxies, headers sent from 127.0.0.1, identified as
    (("10.9.9.9/32",), {CERT_HEADER: FINGERPRINT}, None),
    (("10.9.9.9/32",), {"X-Forwarded-For": "10.9.9.9", CERT_HEADER: FINGERPRINT}, None),
    (("10.9.9.9/32",), {"Forwarded": "for=10.9.9.9", CERT_HEADER: FINGERPRINT}, None),
    (
        ("10.9.9.9/32",),
        {"X-Forwarded-For": "10.9.9.9", "X-Real-IP": "10.9.9.9", CERT_HEADER: FINGERPRINT},
        None,
    ),
    (("127.0.0.1/32",), {CERT_HEADER: FINGERPRINT}, "bo-0363"),  # a proxy on this host
    (("127.0.0.1/32",), {CERT_HEADER: "00" * 32}, None),
    ((), {CERT_HEADER: FINGERPRINT}, None),
    (("10.9.9.9/32",), {"Authorization": f"Bearer {KEY}"}, "bo-0363"),  # a key counts anywhere
]


@pytest.mark.parametrize(("proxies", "headers", "expected"), CASES, ids=range(len(CASES)))
def test_proxy_headers_count_only_from_a_trusted_peer(
    configured: Settings, proxies: tuple[str, ...], headers: dict[str, str], expected: str | None
) -> None:
    settings = dataclasses.replace(configured, ops_trusted_proxies=proxies)
    with _serve(settings) as base:
        answer = httpx.get(f"{base}/who", headers=headers, timeout=10).json()
        assert answer == {"identity": expected, "peer": "127.0.0.1"}


def test_the_server_applies_no_forwarded_headers(configured: Settings) -> None:
    options = server_options(configured)
    assert options["proxy_headers"] is False
    assert not options["forwarded_allow_ips"]
