"""Ketenpoort core: a message's path through the gateway, knowing no standard.

Standards live in ``adapters/``; the core only sees envelopes, routes, attempts and ledger
entries. Read ``docs/architecture.md`` for the path in order.
"""

__version__ = "0.1.0"
