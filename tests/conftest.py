"""Session-wide fixtures shared by every test area."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# The shipped conformance suite asserts inside an installed module; rewrite its asserts
# so failures show the compared values.
pytest.register_assert_rewrite("voxhub.testing.store", "voxhub.testing.store_model")

from voxhub.testing.seaweed import SeaweedServer, start_seaweed  # noqa: E402
from voxhub.testing.server import ServerProcess, start_server  # noqa: E402

# Hypothesis profiles. No profile has a deadline: on 2 shared cores a slow example is
# load, not a bug. `ci` also fixes the examples (derandomize) so a CI run cannot fail on
# an example no local run saw, and skips the "too slow" health checks that load trips.
# A test's own @settings(max_examples=...) still wins over the profile's.
_NO_TIMING_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("default", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_NO_TIMING_CHECKS,
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "default")
)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS S3 server (``weed mini`` on free loopback ports) for the session."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def voxhub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``voxhub serve`` (2 workers, LMDB store) for the session's remote tests."""
    server = start_server(tmp_path_factory.mktemp("served") / "store", workers=2)
    try:
        yield server
    finally:
        server.stop()
