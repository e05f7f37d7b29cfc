"""Fetching from VECOZO (REST pull v1): list the waiting messages, download each payload,
check size and checksum, unzip the one XML, record it through ``receive``, then confirm.

Confirmation (``DELETE /berichten/{traceerId}``) comes only after the message is in the ledger,
so nothing is lost: if the confirmation fails the message is fetched again and ``receive``
recognises it (its message id comes from the TraceerId). A download that does not match its
checksum is left unconfirmed and tried again next round; a payload that is no valid VECOZO ZIP
is recorded as refused (raw bytes kept) and confirmed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from adapters.lib.refs import uuid4_for
from adapters.shared.answers import original
from adapters.shared.failures import CounterpartError, Refused, Unavailable
from adapters.shared.http import HttpPolicy, call, status_error
from adapters.vecozo import codec, rules
from adapters.vecozo.transport import NAME, REFERENCE_KEY, session_for
from gateway.adapter import Context
from gateway.door import ANYONE, Given, Speaker, envelope_for
from gateway.envelope import BadId, Direction
from gateway.logs import get_logger

log = get_logger(__name__)

# What a refusal calls the id the afzender chose that becomes the correlation id.
_CONVERSATIE = ("message id", "conversatieId")


@dataclass
class Round:
    fetched: int = 0
    received: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # traceerIds left for the next round
    confirmed: list[str] = field(default_factory=list)


def _ok_json(response: requests.Response) -> Any:
    if response.status_code != 200:
        raise status_error(NAME, response)
    try:
        return response.json()
    except ValueError:
        raise Unavailable(NAME, "malformed reply: the list is not JSON") from None


def _ok_bytes(response: requests.Response) -> bytes:
    if response.status_code != 200:
        raise status_error(NAME, response)
    return response.content


def _ok_confirm(response: requests.Response) -> None:
    if response.status_code not in (200, 202, 204):
        raise status_error(NAME, response)


class VecozoPoller:
    def __init__(
        self,
        context: Context,
        *,
        pull_url: str,
        cert: str = "",
        key: str = "",
        ca: str = "",
        policy: HttpPolicy | None = None,
        limit: int = 250,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.receiver = context.receiver
        self.ledger = context.ledger
        self.max_bytes = context.settings.max_message_bytes
        self.pull_url = pull_url.rstrip("/")
        self.session = session_for(cert, key, ca)
        self.policy = policy or HttpPolicy()
        self.limit = limit
        self.sleep = sleep

    def _call(
        self, send: Callable[[float], requests.Response], judge: Callable[[requests.Response], Any]
    ) -> Any:
        result, _ = call(NAME, send, judge, self.policy, self.sleep)
        return result

    def _same_service(self, url: str) -> bool:
        """Payload URLs come from VECOZO's list; we only follow them to VECOZO's own host (and
        no call follows a redirect: ``adapters/shared/http.py``)."""
        ours, theirs = urlsplit(self.pull_url), urlsplit(url)
        return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)

    def poll_once(self) -> Round:
        outcome = Round()
        listing = self._call(
            lambda t: self.session.get(
                f"{self.pull_url}/berichten",
                params={"limit": self.limit},
                timeout=t,
                allow_redirects=False,
            ),
            _ok_json,
        )
        if not isinstance(listing, list):
            raise Refused(NAME, "the list of waiting messages is not a JSON array")
        for meta in listing:
            outcome.fetched += 1
            traceer = (
                str(meta.get("referentiegegevens", {}).get("traceerId", ""))
                if isinstance(meta, dict)
                else ""
            )
            try:
                self._take(meta, traceer, outcome)
            except CounterpartError as exc:
                log.warning("vecozo.fetch_failed", traceer_id=traceer, error=str(exc))
                outcome.skipped.append(traceer)
        return outcome

    def _take(self, meta: Any, traceer: str, outcome: Round) -> None:
        download = (
            (meta.get("basisgegevens") or {}).get("payload") if isinstance(meta, dict) else None
        )
        url = download.get("url", "") if isinstance(download, dict) else ""
        if not traceer or not url or not self._same_service(url):
            raise Refused(NAME, "metadata without traceerId or with a payload URL elsewhere")
        content = self._call(
            lambda t: self.session.get(url, timeout=t, allow_redirects=False), _ok_bytes
        )
        findings = rules.check_download(content, download)
        if findings:
            log.warning("vecozo.download_mismatch", traceer_id=traceer, problem=findings[0].text)
            outcome.skipped.append(traceer)
            return
        message_id = uuid4_for("vecozo", traceer)
        context: dict[str, Any] = {"transport": "vecozo", "traceerId": traceer}
        try:
            _, xml = codec.unzip_payload(content, self.max_bytes)
            bericht = codec.from_metadata(meta, xml)
        except codec.VecozoCodecError as exc:
            self._refuse(content, message_id, f"VECOZO payload: {exc}", context)
        else:
            context.update(
                conversatieId=bericht.conversatie_id,
                alsAntwoordOp=bericht.als_antwoord_op,
                afzender=bericht.afzender.code,
                berichtsubtype=bericht.berichtsubtype,
                actie=bericht.actie,
            )
            answered = original(self.ledger, REFERENCE_KEY, bericht.als_antwoord_op)
            try:  # the conversatieId, the afzender's choice, becomes the correlation id
                envelope = envelope_for(
                    "vecozo",
                    xml,
                    Direction.INBOUND,
                    # VECOZO authenticated the afzender it names (its certificate): the message
                    # must come from that party (receive's sender check).
                    who=Speaker.vouched(bericht.afzender.code),
                    given=Given(correlation_id=bericht.conversatie_id, names=_CONVERSATIE),
                    message_id=message_id,
                    parent_id=answered.message_id if answered else None,
                )
            except BadId as exc:
                self._refuse(content, message_id, f"VECOZO metadata: {exc}", context)
            else:
                receipt = self.receiver.receive(envelope, context)
                outcome.received.append(receipt.message_id)
        self._call(
            lambda t: self.session.delete(
                f"{self.pull_url}/berichten/{traceer}", timeout=t, allow_redirects=False
            ),
            _ok_confirm,
        )
        outcome.confirmed.append(traceer)

    def _refuse(
        self, content: bytes, message_id: str, reason: str, context: dict[str, Any]
    ) -> None:
        """Record what VECOZO delivered, refused before it was read as a message."""
        refused = envelope_for(
            "vecozo",
            content,
            Direction.INBOUND,
            who=ANYONE,  # not read: no sender to hold it to
            message_id=message_id,
            content_type="application/zip",
        )
        self.receiver.refuse(refused, (reason,), context)

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                outcome = self.poll_once()
                if outcome.fetched:
                    log.info(
                        "vecozo.pulled",
                        fetched=outcome.fetched,
                        confirmed=len(outcome.confirmed),
                        skipped=len(outcome.skipped),
                    )
            except Exception as exc:
                log.warning("vecozo.pull_failed", error=str(exc)[:300])
            stop.wait(interval)
