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
# an example no local run saw, skips the "too slow" health checks that load trips, and
# runs at most CI_MAX_EXAMPLES examples per test (the suite must stay within CI's budget;
# local runs explore more and differently each time). A test's own
# @settings(max_examples=...) wins over the profile's, up to that cap in `ci`.
_NO_TIMING_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
#: the most examples a property test or state machine runs in the `ci` profile
CI_MAX_EXAMPLES = 50
settings.register_profile("default", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_NO_TIMING_CHECKS,
    max_examples=CI_MAX_EXAMPLES,
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "default")
)


def capped_for_ci(own: settings) -> settings:
    """``own`` (a test's settings) with at most CI_MAX_EXAMPLES examples in `ci`."""
    if settings.get_current_profile_name() != "ci" or own.max_examples <= CI_MAX_EXAMPLES:
        return own
    return settings(own, max_examples=CI_MAX_EXAMPLES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply :func:`capped_for_ci` to every @given test and state machine collected.

    Hypothesis reads a @given test's settings from the attribute its decorator sets when
    the test runs, and a state machine's ``TestCase`` from its ``settings`` attribute.
    """
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(own, settings):
            test._hypothesis_internal_use_settings = capped_for_ci(own)  # type: ignore[union-attr]
        machine = getattr(item, "cls", None)
        if isinstance(getattr(machine, "settings", None), settings):
            machine.settings = capped_for_ci(machine.settings)  # type: ignore[union-attr]


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
