"""The Hypothesis profile follows the environment (tests/conftest.py registers them)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


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


@settings(max_examples=500)
@given(st.just(0))
def test_a_property_with_its_own_large_count(zero: int) -> None:
    assert zero == 0


def test_ci_caps_a_tests_own_count_and_other_profiles_keep_it() -> None:
    ran = test_a_property_with_its_own_large_count._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    if settings.get_current_profile_name() == "ci":
        assert ran.max_examples == settings.get_profile("ci").max_examples <= 50
        assert ran.derandomize  # the rest of the test's settings and the profile stay
    else:
        assert ran.max_examples == 500
