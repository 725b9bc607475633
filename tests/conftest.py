"""Shared fixtures: a real PostgreSQL server for the tests marked `postgres`; and one
Hypothesis profile, derandomised, so a property test draws the same examples every run
(a failure in CI is a failure here too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("tessera", derandomize=True, deadline=None)
settings.load_profile("tessera")

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
