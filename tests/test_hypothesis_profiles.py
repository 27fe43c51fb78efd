"""The Hypothesis profile follows the environment (tests/conftest.py registers them)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def test_the_profile_follows_the_environment() -> None:
    chosen = os.environ.get("HYPOTHESIS_PROFILE") or (
        "ci" if os.environ.get("CI", "").lower() == "true" else "default"
    )
    current = settings()
    assert current.deadline is None  # no profile times examples: load is not a bug
    expected = settings.get_profile(chosen)
    assert current.derandomize == expected.derandomize
    assert current.max_examples == expected.max_examples


def test_the_ci_profile_is_reproducible_and_ignores_slowness() -> None:
    ci = settings.get_profile("ci")
    assert ci.deadline is None
    assert ci.derandomize
    assert HealthCheck.too_slow in ci.suppress_health_check
    assert settings.get_profile("thorough").max_examples >= 1000
