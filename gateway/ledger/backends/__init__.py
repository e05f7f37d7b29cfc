"""Ledger backends: SQLite (embedded default) and PostgreSQL (scale-out)."""
