"""``GET /v1/toewijzingen`` (and ``POST /v1/toewijzingen/search``, the BSN in the body): the
grants a care provider received, for its own systems to ask "what may I start or bill" before
sending.

Only for the caller's own party codes (the identity's ``parties``, ``gateway/ops/auth.py``): an
identity sending as AGB 12345678 sees the grants to 12345678 and nobody else's; one that may send
as anyone (``parties=*``) names the ``aanbieder`` it asks for. The BSN is looked up through the
ledger's keyed hash and never logged or echoed back; the answer carries no names or addresses.
The standards that know grants answer (capability ``Grants``, ``gateway/adapter.py``); the core
only checks the caller and lists what they tell.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.app import Gateway
from gateway.logs import get_logger
from gateway.openapi import Contract
from gateway.ops.runtime import operations

log = get_logger(__name__)


class GrantOut(BaseModel):
    """One toewijzing in its current version."""

    number: str = Field(description="ToewijzingNummer")
    standard: str = Field(description="iwmo or ijw")
    grantor: str = Field(description="the gemeente that granted it (gemeentecode)")
    holder: str = Field(description="the aanbieder it was granted to (AGB code)")
    product: str | None = Field(description="product code; null: the whole categorie")
    category: str | None = Field(description="product categorie")
    starts: str = Field(description="Ingangsdatum")
    ends: str | None = Field(description="Einddatum; null: open-ended")
    status: str = Field(description="current, ended (Einddatum passed) or withdrawn (deleted)")
    scope: dict[str, str] = Field(description="volume, eenheid, frequentie, or budget")
    granted_on: str = Field(description="Toewijzingsdatum of the current version")


class GrantList(BaseModel):
    toewijzingen: list[GrantOut]


_Code = Annotated[str | None, Field(pattern=r"^[0-9A-Za-z]{1,16}$")]


class GrantQuestion(BaseModel):
    """Whose toewijzingen: one client's, optionally of one gemeente, for one product, of one of
    the caller's AGB codes (default: each it sends as)."""

    model_config = ConfigDict(extra="forbid")

    bsn: str = Field(pattern=r"^[0-9]{9}$", description="the client's BSN (matched by keyed hash)")
    gemeente: _Code = None
    productcode: _Code = None
    aanbieder: _Code = None


def router(gateway: Gateway) -> APIRouter:
    api = APIRouter()
    auth = operations(gateway).auth
    contract = Contract(secured=not auth.open)
    listed = {200: ("the toewijzingen, current version each", GrantList)}

    async def answer(request: Request, asked: GrantQuestion) -> dict[str, Any]:
        identity = auth.require_sender(request)
        own = identity.may_send_as
        aanbieder = asked.aanbieder
        if aanbieder is not None and own is not None and aanbieder not in own:
            log.warning("grants.not_own", identity=identity.name)
            raise HTTPException(403, f"{identity.name} may not ask for aanbieder {aanbieder}")
        if aanbieder is None and own is None:
            raise HTTPException(400, f"{identity.name} sends as anyone: name the aanbieder")
        holders = sorted(own if aanbieder is None and own is not None else {str(aanbieder)})

        def find() -> list[dict[str, Any]]:
            return [
                dataclasses.asdict(grant)
                for adapter in gateway.registry.granting()
                for holder in holders
                for grant in adapter.grants(
                    gateway.ledger, holder, asked.bsn, asked.gemeente, asked.productcode
                )
            ]

        found = await run_in_threadpool(find)
        log.info("grants.asked", identity=identity.name, found=len(found))
        return {"toewijzingen": found}

    @api.get("/v1/toewijzingen", tags=["messages"], **contract.route(400, 503, bodies=listed))
    async def toewijzingen(
        request: Request,
        bsn: Annotated[str, Query(description="the client's BSN (matched by keyed hash)")],
        gemeente: Annotated[str | None, Query(description="only this gemeente's")] = None,
        productcode: Annotated[str | None, Query(description="only what allows it")] = None,
        aanbieder: Annotated[
            str | None,
            Query(description="the AGB code asked for; default: each the caller sends as"),
        ] = None,
    ) -> dict[str, Any]:
        """The toewijzingen the caller's own AGB code(s) received for one client."""
        try:
            asked = GrantQuestion(
                bsn=bsn, gemeente=gemeente, productcode=productcode, aanbieder=aanbieder
            )
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise HTTPException(400, f"{problem['loc'][0]}: {problem['msg']}") from None
        return await answer(request, asked)

    @api.post(
        "/v1/toewijzingen/search", tags=["messages"], **contract.route(400, 503, bodies=listed)
    )
    async def search_toewijzingen(request: Request, asked: GrantQuestion) -> dict[str, Any]:
        """The same question with the BSN in the body (out of URLs and proxies' access logs)."""
        return await answer(request, asked)

    return api
