"""Errors any part of the core may raise about the configuration, without importing the
settings (``config.py`` re-exports them): the ledger refusing a key file, say."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing, unknown or of the wrong type."""
