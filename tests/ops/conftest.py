"""Operations test fixtures."""

# Both ledger backends (SQLite and the real PostgreSQL) for the tests that take ``backend``.
from tests.ledger.conftest import backend  # noqa: F401
