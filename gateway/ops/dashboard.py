"""The dashboard: server-rendered pages under ``/ui`` (Jinja2 templates in
``ops/templates/``).

The overview first (``/ui/``, ``ops/overview.py``), then the failures (``/ui/failures``: parked,
refused/rejected, retrying, overdue), search by business keys (and by
BSN, posted, hashed before the lookup), a message's full history with the retour it got, its
payload for payload-viewers (each view recorded), replay and discard for operators, bulk replay
of a filtered set as a job with its progress. List pages show codes, routes and business keys
only: no BSN, no names.

Sign-in: with mutual TLS the proxy's certificate header identifies the browser; otherwise the
API key is entered once and kept in an HttpOnly, SameSite=Strict cookie. Every form carries a
token tied to the identity (``auth.csrf_token``).

The pages are one module-level router (:data:`ui`); each handler takes the signed-in caller (with
the role it needs), the gateway and the operations as FastAPI dependencies.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gateway.bus.publisher import PublishError
from gateway.ledger import Query, Status
from gateway.ops import messages as ops
from gateway.ops import overview
from gateway.ops import replay as jobs
from gateway.ops.auth import SESSION_COOKIE, Identity, Role, csrf_token
from gateway.ops.messages import NotAllowed, NotFound
from gateway.ops.runtime import AppGateway, AppOperations, operations

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_FILTERS = ("status", "code", "party", "key", "value", "since", "until")
# Entry detail worth showing in a history (never payloads; errors are readable, without values).
_DETAIL = (
    "stage", "to", "reference", "retour_id", "codes", "error", "reason", "attempt", "retry_in",
    "by", "previous", "job", "rule", "due", "identity", "source", "mapping", "errors",
)  # fmt: skip


class SignIn(Exception):
    """Raised by a page whose caller is not signed in: answered with a redirect (``mount``)."""


async def sign_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/ui/login", 303)


def _detail(entry: Any) -> list[tuple[str, str]]:
    out = []
    for name in _DETAIL:
        value = entry.detail.get(name)
        if value not in (None, "", []):
            out.append(
                (name, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            )
    for finding in entry.detail.get("findings", []) or []:
        out.append(
            ("finding", f"{finding.get('rule')} {finding.get('code')}: {finding.get('text')}")
        )
    return out


def _keys(history: list[Any]) -> list[tuple[str, str]]:
    seen: dict[str, set[str]] = {}
    for entry in history:
        for name, values in entry.keys.items():
            if name != "bsn":
                seen.setdefault(name, set()).update(values)
    return [(name, ", ".join(sorted(values))) for name, values in sorted(seen.items())]


async def _form(request: Request) -> dict[str, str]:
    try:
        body = (await request.body()).decode()
    except UnicodeDecodeError:
        raise HTTPException(400, "the form is not UTF-8") from None
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _signed_in(role: Role) -> Any:
    """A dependency: the signed-in caller having ``role`` (else the sign-in page, or 403)."""

    def caller(request: Request, runtime: AppOperations) -> Identity:
        found = runtime.auth.identify(request)
        if found is None:
            raise SignIn
        if not found.has(role):
            raise HTTPException(403, f"{found.name} lacks the role {role.value}")
        return found

    return Depends(caller)


Viewer = Annotated[Identity, _signed_in(Role.VIEWER)]


def _form_of(role: Role) -> Any:
    """A dependency: the signed-in caller having ``role`` and the form it posted, whose token
    must be the caller's (else 403)."""

    signed_in = _signed_in(role)

    async def checked(
        request: Request, gateway: AppGateway, who: Identity = signed_in
    ) -> tuple[Identity, dict[str, str]]:
        form = await _form(request)
        if not hmac.compare_digest(form.get("csrf", ""), _csrf(gateway, who)):
            raise HTTPException(403, "the form is stale or not from this dashboard; reload it")
        return who, form

    return Depends(checked)


Posted = tuple[Identity, dict[str, str]]
ViewerForm = Annotated[Posted, _form_of(Role.VIEWER)]
PayloadViewerForm = Annotated[Posted, _form_of(Role.PAYLOAD_VIEWER)]
OperatorForm = Annotated[Posted, _form_of(Role.OPERATOR)]


def _csrf(gateway: AppGateway, who: Identity) -> str:
    return csrf_token(gateway.settings.bsn_hash_key, who)


def _page(
    request: Request, gateway: AppGateway, name: str, who: Identity, **context: Any
) -> HTMLResponse:
    auth = operations(gateway).auth
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "who": who,
            "open": auth.open,
            "csrf": _csrf(gateway, who),
            "can_replay": who.has(Role.OPERATOR),
            "can_see_payload": who.has(Role.PAYLOAD_VIEWER),
            **context,
        },
    )


def _noticed(message_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/messages/{message_id}?{urlencode({'notice': notice})}", 303)


ui = APIRouter(prefix="/ui", include_in_schema=False)

# -- sign in -------------------------------------------------------------------------------


@ui.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "login.html", {"error": "", "who": None})


@ui.post("/login")
async def login(request: Request, runtime: AppOperations) -> Response:
    form = await _form(request)
    key = form.get("key", "").strip()
    known = runtime.auth.by_key(key)
    if known is None:
        return TEMPLATES.TemplateResponse(
            request, "login.html", {"error": "unknown key", "who": None}, status_code=401
        )
    # policy staff see the monitor only: that is their home
    response = RedirectResponse("/ui/" if known.has(Role.VIEWER) else "/ui/monitor", 303)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@ui.post("/logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse("/ui/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- pages ---------------------------------------------------------------------------------


@ui.get("/")
async def home(request: Request, who: Viewer, gateway: AppGateway) -> HTMLResponse:
    context = await run_in_threadpool(overview.page_context, gateway)
    return _page(request, gateway, "overview.html", who, **context)


@ui.get("/failures")
async def failures(
    request: Request, who: Viewer, gateway: AppGateway, runtime: AppOperations
) -> HTMLResponse:
    ledger = gateway.ledger

    def read() -> dict[str, Any]:
        return {
            "parked": ops.search(ledger, Query(status=Status.PARKED, limit=50)),
            "failed": ops.search(ledger, Query(status=Status.FAILED, limit=50)),
            "retrying": ops.search(ledger, Query(status=Status.RETRYING, limit=50)),
            "overdue": runtime.breaches(),
            "jobs": jobs.jobs(ledger, limit=5),
        }

    return _page(request, gateway, "home.html", who, **(await run_in_threadpool(read)))


@ui.get("/messages")
async def search(request: Request, who: Viewer, gateway: AppGateway) -> HTMLResponse:
    params = {k: request.query_params.get(k, "") for k in _FILTERS}
    return await _results(request, gateway, who, params, None)


@ui.post("/messages/by-bsn")
async def search_bsn(request: Request, posted: ViewerForm, gateway: AppGateway) -> HTMLResponse:
    who, form = posted
    params = {k: form.get(k, "") for k in _FILTERS}
    return await _results(request, gateway, who, params, form.get("bsn", "").strip() or None)


def _query(params: dict[str, str], bsn: str | None) -> Query:
    keys = {}
    if params["key"] and params["value"]:
        if params["key"].lower() == "bsn":
            raise HTTPException(400, "search by BSN with the BSN form")
        keys[params["key"]] = params["value"]
    if bsn:
        keys["bsn"] = bsn
    try:
        return Query(
            status=Status(params["status"]) if params["status"] else None,
            code=params["code"] or None,
            party=params["party"] or None,
            keys=keys,
            since=params["since"] or None,
            until=params["until"] or None,
            limit=200,
        )
    except ValueError:
        raise HTTPException(400, "unknown status") from None


async def _results(
    request: Request,
    gateway: AppGateway,
    who: Identity,
    params: dict[str, str],
    bsn: str | None,
) -> HTMLResponse:
    found = await run_in_threadpool(ops.search, gateway.ledger, _query(params, bsn))
    replayable = [s for s in found if s.status in ops.REPLAYABLE]
    return _page(
        request,
        gateway,
        "messages.html",
        who,
        messages=found,
        params=params,
        by_bsn=bool(bsn),
        statuses=[s.value for s in Status],
        replayable=len(replayable),
        bulk_allowed=not bsn and params["status"] in {s.value for s in ops.REPLAYABLE},
    )


@ui.get("/messages/{message_id}")
async def message(
    request: Request, message_id: str, who: Viewer, gateway: AppGateway
) -> HTMLResponse:
    try:
        found = await run_in_threadpool(ops.get, gateway.ledger, message_id)
    except NotFound:
        raise HTTPException(404, "no such message") from None
    try:
        ops.check_replayable(found.state)
        replay_note = ""
    except NotAllowed as exc:
        replay_note = str(exc)
    return _page(
        request,
        gateway,
        "message.html",
        who,
        m=found,
        keys=_keys(found.history),
        detail=_detail,
        replay_note=replay_note,
        notice=request.query_params.get("notice", ""),
    )


@ui.post("/messages/{message_id}/payload")
async def payload(
    request: Request, message_id: str, posted: PayloadViewerForm, gateway: AppGateway
) -> HTMLResponse:
    who, _ = posted
    try:
        found = await run_in_threadpool(ops.payloads, gateway.ledger, message_id, who.name)
    except NotFound:
        raise HTTPException(404, "no such message") from None
    shown = [(p.event, p.content_type, p.body.decode("utf-8", "replace")) for p in found]
    return _page(request, gateway, "payload.html", who, message_id=message_id, payloads=shown)


@ui.post("/messages/{message_id}/replay")
async def replay(message_id: str, posted: OperatorForm, gateway: AppGateway) -> Response:
    who, form = posted
    try:
        await run_in_threadpool(
            ops.replay,
            gateway.ledger,
            gateway.publish,
            message_id,
            who.name,
            form.get("reason", ""),
        )
        notice = "replayed"
    except NotFound:
        raise HTTPException(404, "no such message") from None
    except NotAllowed as exc:
        notice = f"not replayed: {exc}"
    except PublishError:
        notice = "not replayed: the broker did not take it; try again"
    return _noticed(message_id, notice)


@ui.post("/messages/{message_id}/discard")
async def discard(message_id: str, posted: OperatorForm, gateway: AppGateway) -> Response:
    who, form = posted
    try:
        ops.discard(gateway.ledger, message_id, who.name, form.get("reason", ""))
        notice = "discarded"
    except NotFound:
        raise HTTPException(404, "no such message") from None
    except NotAllowed as exc:
        notice = f"not discarded: {exc}"
    return _noticed(message_id, notice)


def _job_filter(form: dict[str, str]) -> jobs.Filter:
    keys = {form["key"]: form["value"]} if form.get("key") and form.get("value") else {}
    return jobs.Filter(
        status=form.get("status") or Status.PARKED.value,
        code=form.get("code") or None,
        party=form.get("party") or None,
        keys=keys,
        since=form.get("since") or None,
        until=form.get("until") or None,
    )


def _start(gateway: AppGateway, job_id: str, who: Identity) -> None:
    rate = gateway.settings.ops_replay_rate
    jobs.start(gateway.ledger, gateway.publish, job_id, who.name, rate)


@ui.post("/replay-jobs")
async def create_job(posted: OperatorForm, gateway: AppGateway) -> Response:
    who, form = posted
    try:
        job = await run_in_threadpool(
            jobs.create, gateway.ledger, who.name, _job_filter(form), form.get("reason", "")
        )
    except NotAllowed as exc:
        raise HTTPException(409, str(exc)) from None
    _start(gateway, job.job_id, who)
    return RedirectResponse(f"/ui/replay-jobs/{job.job_id}", 303)


@ui.get("/replay-jobs/{job_id}")
async def job(request: Request, job_id: str, who: Viewer, gateway: AppGateway) -> HTMLResponse:
    ledger = gateway.ledger
    try:
        found = await run_in_threadpool(jobs.load, ledger, job_id)
    except NotFound:
        raise HTTPException(404, "no such job") from None
    states = await run_in_threadpool(lambda: [ledger.state(m) for m in found.selection[:500]])
    running = jobs.is_running(job_id)
    return _page(request, gateway, "job.html", who, job=found, running=running, states=states)


@ui.post("/replay-jobs/{job_id}/resume")
async def resume(job_id: str, posted: OperatorForm, gateway: AppGateway) -> Response:
    who, _ = posted
    if not jobs.is_running(job_id):
        _start(gateway, job_id, who)
    return RedirectResponse(f"/ui/replay-jobs/{job_id}", 303)
