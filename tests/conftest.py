"""Shared fixtures: a real PostgreSQL server for the tests marked `postgres`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postgres import PostgresUnavailable, temporary_cluster


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A `postgresql+psycopg://` URL to an empty database on a throwaway local cluster.

    Fails (never skips) when the server is missing: the PostgreSQL tests must run in CI.
    """
    try:
        with temporary_cluster() as url:
            yield url
    except PostgresUnavailable as error:
        pytest.fail(f"PostgreSQL test server unavailable: {error}", pytrace=False)
