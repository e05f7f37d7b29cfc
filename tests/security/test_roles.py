"""Roles x routes: every operations route answers 401 without credentials, 403 to an identity
lacking its role, and lets the ones having it through; the message routes let only identities
with parties send."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import EXAMPLES
from tests.security.conftest import Doors, as_

pytestmark = pytest.mark.integration

SOME_ID = str(uuid.uuid4())
# method, path, JSON body, the least role that may (None: an identity with parties)
ROUTES: list[tuple[str, str, object, str | None]] = [
    ("GET", "/v1/messages", None, "viewer"),
    ("POST", "/v1/messages/search", {"code": "WMO301"}, "viewer"),
    ("GET", f"/v1/messages/{SOME_ID}", None, "viewer"),
    ("GET", f"/v1/messages/{SOME_ID}/payload", None, "payload-viewer"),
    ("POST", f"/v1/messages/{SOME_ID}/replay", {"reason": "t"}, "operator"),
    ("POST", f"/v1/messages/{SOME_ID}/discard", {"reason": "t"}, "operator"),
    ("POST", "/v1/replay-jobs", {"reason": "t", "start": False}, "operator"),
    ("GET", "/v1/replay-jobs", None, "viewer"),
    ("GET", f"/v1/replay-jobs/{SOME_ID}", None, "viewer"),
    ("POST", f"/v1/replay-jobs/{SOME_ID}/resume", None, "operator"),
    ("GET", "/v1/deadlines", None, "viewer"),
    ("GET", "/v1/overview", None, "viewer"),
    # the overview's links: answered late, due today (the search, by status)
    ("GET", "/v1/messages?status=answered", None, "viewer"),
    ("GET", "/v1/messages?status=awaiting-answer", None, "viewer"),
    ("GET", "/metrics", None, "viewer"),
    ("GET", "/v1/monitor?peildatum=2026-03-31", None, "beleid"),
    ("GET", "/v1/monitor?peildatum=2026-03-31&format=csv", None, "beleid"),
    ("POST", "/v1/messages/inbound", None, None),
    ("POST", "/v1/messages/outbound", None, None),
    ("POST", "/v1/messages/inbound/batch", {"messages": []}, None),
    # The toewijzingen a caller's own party codes received (internal names the aanbieder).
    ("GET", "/v1/toewijzingen?bsn=999990019&aanbieder=0363", None, None),
    ("POST", "/v1/toewijzingen/search", {"bsn": "999990019", "aanbieder": "0363"}, None),
]
# who, the roles it has (an identity with parties but no role: bo-0363; internal: parties=*)
WHO = {
    "bo-0363": set(),
    "internal": set(),
    "viewer": {"viewer"},
    "pv": {"viewer", "payload-viewer"},
    "op": {"viewer", "operator"},
    "admin": {"viewer", "payload-viewer", "operator", "admin", "beleid"},
    # policy staff: the monitor (aggregates) and nothing else
    "beleid": {"beleid"},
}
SENDERS = {"bo-0363", "internal"}


def _call(doors: Doors, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    """The status; 0 for a 403 that is a recorded sender refusal (the caller was let in, the
    message names a sender it may not send as)."""
    if body is None and path.startswith("/v1/messages/") and method == "POST":
        content = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
        response = doors.client.request(method, path, content=content, headers=headers)
    else:
        response = doors.client.request(method, path, json=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code == 403 and response.json().get("forbidden") is True:
        return 0
    return response.status_code


@pytest.mark.parametrize(
    ("method", "path", "body", "role"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_roles_x_routes(
    doors: Doors, method: str, path: str, body: object, role: str | None
) -> None:
    assert _call(doors, method, path, body, {}) == 401
    assert _call(doors, method, path, body, {"Authorization": "Bearer not-a-key"}) == 401
    for who, roles in WHO.items():
        status = _call(doors, method, path, body, as_(who))
        allowed = who in SENDERS if role is None else role in roles
        if allowed:
            assert status not in (401, 403), (who, status)
        else:
            assert status == 403, (who, status)


def test_toewijzingen_are_asked_only_as_ones_own_party(doors: Doors) -> None:
    """An identity asks for the toewijzingen of its own party codes only: naming another is
    refused; without a name it is answered for its own (here: none received)."""
    route = "/v1/toewijzingen?bsn=999990019"
    assert doors.client.get(route + "&aanbieder=0599", headers=as_("bo-0363")).status_code == 403
    answer = doors.client.get(route, headers=as_("bo-0599"))
    assert answer.status_code == 200 and answer.json() == {"toewijzingen": []}
    assert doors.client.get(route, headers=as_("internal")).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/ui/messages?status=bogus",
        "/v1/messages?status=answered&since=not-a-date",
        "/v1/messages?status=%00%ff",
    ],
)
def test_bad_query_values_on_the_overviews_links_are_4xx(doors: Doors, path: str) -> None:
    response = doors.client.get(path, headers=as_("viewer"))
    assert 400 <= response.status_code < 500, (path, response.status_code)
