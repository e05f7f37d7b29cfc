"""What every HTTP endpoint uses, the gateway's own (``ingress/http.py``, ``ops/``) and the
adapters' receiving endpoints alike: the caller's identity through a FastAPI dependency, the
documentation of a route for the app's settings, reading a body no larger than a limit, and
handing a message to the receiver on a thread (:func:`judged`: a large one waits its turn off
the request pool).

The app keeps its one :class:`~gateway.ops.auth.Authenticator` in ``app.state.auth``
(``ingress/http.make_app``); a route asks for the caller with a parameter typed :data:`Sender`
(or ``Depends(sender)``) and never builds an authenticator of its own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from gateway.identities import ANONYMOUS, Identity, caller_name, id_scope
from gateway.openapi import Contract
from gateway.ops.auth import Authenticator

# What an adapter's endpoint may use of the core's identities (gateway.identities is the core's).
__all__ = [
    "ANONYMOUS",
    "Identity",
    "Sender",
    "TooLarge",
    "caller_name",
    "contract",
    "id_scope",
    "judged",
    "read_body",
]


class TooLarge(Exception):
    """The body is larger than the limit it was read with."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body; :class:`TooLarge` as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


_T = TypeVar("_T")


async def judged(request: Request, large: bool, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` (a receiver's call) on a thread. A ``large`` message (its body larger than
    the receiver's ``stream_above``) waits its turn (``receive.LARGE_AT_ONCE``) on the app's
    threads of its own (``app.state.large_threads``), not holding one of the request pool's
    while it waits: small messages, and the other doors, are not kept waiting behind a month
    end's declaraties, whichever door those came in by."""
    if not large:
        return await run_in_threadpool(fn, *args)
    threads = cast(ThreadPoolExecutor, request.app.state.large_threads)
    return await asyncio.get_running_loop().run_in_executor(threads, functools.partial(fn, *args))


def authenticator(request: Request) -> Authenticator:
    """The app's authenticator (a dependency)."""
    return cast(Authenticator, request.app.state.auth)


def sender(request: Request) -> Identity:
    """The caller, who must be allowed to send messages: else 401 or 403 (a dependency).

    Every way in over HTTP asks this, the adapters' receiving endpoints included."""
    return authenticator(request).require_sender(request)


Sender = Annotated[Identity, Depends(sender)]


def contract(settings: object) -> Contract:
    """The documentation of routes for these settings: secured once identities are configured
    (setting ``ops_identities``; without any the API is open, see ``ops/auth.py``)."""
    return Contract(secured=not Authenticator.from_settings(settings).open)
